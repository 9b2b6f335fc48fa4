{{ config(materialized='state_table', scope='link_owner') }}
-- depends_on: {{ ref('stg_audit__build_loads') }}
{#
    Every link between an identifier (customer id, email hash, anonymous id) and a customer, one row per identifier
    and the record that makes the link (its link_owner): the current version of a customer in the customer master
    (`customer:<customer_id>`), or a conversion (`conversion:<conversion_id>`: an email or anonymous id seen at
    checkout). int_customer_identifiers_linked resolves each identifier from these.

    Incremental (state_table, scope link_owner): a night adds the links of the conversions it loaded and replaces
    the links of every customer it delivered a new version of with those of the customer's current version (the
    last one loaded), so a changed email drops the old link.
#}
with

customer_versions as (

    select * from {{ ref('stg_internal__customer_versions') }}
    {%- if is_state_incremental() %}
    where customer_id in (
        select delivered.customer_id
        from {{ ref('stg_internal__customer_versions') }} as delivered
        where delivered.load_id in {{ new_load_ids('customers') }}
    )
    {%- endif %}

),

customers as (

    select ranked.*
    from (
        select
            customer_versions.*,
            row_number() over (
                partition by customer_versions.customer_id
                order by
                    customer_versions.loaded_at desc,
                    customer_versions.source_file desc,
                    customer_versions.source_row_number desc
            ) as version_rank
        from customer_versions
    ) as ranked
    where ranked.version_rank = 1

),

conversions as (

    select * from {{ ref('stg_internal__conversions') }}
    {%- if is_state_incremental() %}
    where load_id in {{ new_load_ids('conversions') }}
    {%- endif %}

),

identifier_links as (

    select
        'customer:' || customers.customer_id as link_owner,
        'customer_id' as identifier_type,
        customers.customer_id as identifier_value,
        customers.customer_id
    from customers
    union all
    select
        'customer:' || customers.customer_id as link_owner,
        'email_sha256' as identifier_type,
        customers.email_sha256 as identifier_value,
        customers.customer_id
    from customers
    where customers.email_sha256 is not null
    union all
    select
        'customer:' || customers.customer_id as link_owner,
        'anonymous_id' as identifier_type,
        customers.anonymous_id as identifier_value,
        customers.customer_id
    from customers
    where customers.anonymous_id is not null
    union all
    select
        'conversion:' || conversions.conversion_id as link_owner,
        'customer_id' as identifier_type,
        conversions.customer_id as identifier_value,
        conversions.customer_id
    from conversions
    union all
    select
        'conversion:' || conversions.conversion_id as link_owner,
        'email_sha256' as identifier_type,
        conversions.email_sha256 as identifier_value,
        conversions.customer_id
    from conversions
    where conversions.email_sha256 is not null
    union all
    select
        'conversion:' || conversions.conversion_id as link_owner,
        'anonymous_id' as identifier_type,
        conversions.anonymous_id as identifier_value,
        conversions.customer_id
    from conversions
    where conversions.anonymous_id is not null

),

final as (

    select
        identifier_links.link_owner,
        identifier_links.identifier_type || ':' || identifier_links.identifier_value as identifier_key,
        identifier_links.identifier_type,
        identifier_links.identifier_value,
        identifier_links.customer_id
    from identifier_links

)

select * from final

{#
    Identity graph: every identifier the host knows (email hash, anonymous id, customer id) linked to one customer.
    Links come from the customer master and from conversions (an email or anonymous id seen at checkout). When one
    identifier is linked to several customers, the lowest customer_id wins, so that resolution is deterministic.
#}
with

customers as (

    select * from {{ ref('stg_internal__customers') }}

),

conversions as (

    select * from {{ ref('stg_internal__conversions') }}

),

identifier_links as (

    select
        'customer_id' as identifier_type,
        customers.customer_id as identifier_value,
        customers.customer_id
    from customers
    union all
    select
        'email_sha256' as identifier_type,
        customers.email_sha256 as identifier_value,
        customers.customer_id
    from customers
    where customers.email_sha256 is not null
    union all
    select
        'anonymous_id' as identifier_type,
        customers.anonymous_id as identifier_value,
        customers.customer_id
    from customers
    where customers.anonymous_id is not null
    union all
    select
        'customer_id' as identifier_type,
        conversions.customer_id as identifier_value,
        conversions.customer_id
    from conversions
    union all
    select
        'email_sha256' as identifier_type,
        conversions.email_sha256 as identifier_value,
        conversions.customer_id
    from conversions
    where conversions.email_sha256 is not null
    union all
    select
        'anonymous_id' as identifier_type,
        conversions.anonymous_id as identifier_value,
        conversions.customer_id
    from conversions
    where conversions.anonymous_id is not null

),

final as (

    select
        identifier_links.identifier_type || ':' || identifier_links.identifier_value as identifier_key,
        identifier_links.identifier_type,
        identifier_links.identifier_value,
        min(identifier_links.customer_id) as customer_id,
        count(distinct identifier_links.customer_id) as linked_customers
    from identifier_links
    group by identifier_links.identifier_type, identifier_links.identifier_value

)

select * from final

{{ config(materialized='state_table', scope='identifier_key', scope_from=['int_identifier_links']) }}
{#
    Identity graph: every identifier the host knows (email hash, anonymous id, customer id) linked to one customer.
    Links come from the customer master and from conversions (an email or anonymous id seen at checkout;
    int_identifier_links). When one identifier is linked to several customers, the lowest customer_id wins, so that
    resolution is deterministic.

    Incremental (state_table, scope identifier_key): an identifier is resolved again when tonight's build added or
    removed one of its links.
#}
with

identifier_links as (

    select * from {{ ref('int_identifier_links') }}
    {%- if is_state_incremental() %}
    where identifier_key in ({{ state_scope_keys() }})
    {%- endif %}

),

final as (

    select
        identifier_links.identifier_key,
        identifier_links.identifier_type,
        identifier_links.identifier_value,
        min(identifier_links.customer_id) as customer_id,
        count(distinct identifier_links.customer_id) as linked_customers
    from identifier_links
    group by
        identifier_links.identifier_key,
        identifier_links.identifier_type,
        identifier_links.identifier_value

)

select * from final

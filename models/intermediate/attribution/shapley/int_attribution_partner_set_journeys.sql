{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    The journeys of each customer, converting or not (int_attribution_journey_touches), counted by partner set: one
    row per customer key and partner set, the set identified by its fingerprint (the bit_xor of its members'
    64-bit hashes, attribution_partner_fingerprint; order and repeats ignored) with its size, the customer's
    journeys with exactly that set and how many of them converted. int_attribution_partner_sets sums them over
    customers into the Shapley model's characteristic function.

    Incremental (state_table, scope customer_key): the customers whose touches or conversions changed tonight are
    counted again.
#}
with

journey_touches as (

    select * from {{ ref('int_attribution_journey_touches') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

journeys as (

    select
        journey_touches.customer_key,
        journey_touches.is_converting,
        bit_xor(distinct {{ attribution_partner_fingerprint('journey_touches.partner_id') }})
            as partner_set_fingerprint,
        count(distinct journey_touches.partner_id) as partner_count
    from journey_touches
    group by
        journey_touches.customer_key,
        journey_touches.is_converting,
        journey_touches.journey_key,
        journey_touches.journey_segment

),

final as (

    select
        journeys.customer_key,
        journeys.partner_set_fingerprint,
        cast(max(journeys.partner_count) as integer) as partner_count,
        cast(sum(case when journeys.is_converting then 1 else 0 end) as bigint) as conversions,
        cast(count(*) as bigint) as journeys
    from journeys
    group by
        journeys.customer_key,
        journeys.partner_set_fingerprint

)

select * from final

{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    Every partner touch of a customer who converted at least once, with the conversion that follows it: the
    sequence number (int_conversions_converted.conversion_sequence) of the customer's first non-refund conversion
    strictly after the touch, null when no conversion follows. A touch at the very instant of a conversion counts as
    after it.

    This splits each customer's timeline into segments that end at a conversion; paths and non-converting journeys
    are built from these segments. Built with one window over the customer's touches and conversions sorted by time
    (conversions first on equal times), not with a join of every touch to every conversion, so that it stays linear
    in the number of touches. Touches of customer keys that never converted are not here (they cannot be on a path);
    int_attribution_journey_touches reads them from int_touchpoints_resolved directly.

    Incremental (state_table, scope customer_key): the customers whose touches or conversions changed tonight
    (their rows in int_touchpoints_resolved or int_conversions_converted were written or retired) are segmented
    again; every other customer's segments cannot have changed.
#}
with

touchpoints as (

    select * from {{ ref('int_touchpoints_resolved') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

conversions as (

    select * from {{ ref('int_conversions_converted') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

attributable_conversions as (

    select
        conversions.conversion_id,
        conversions.customer_key,
        conversions.conversion_sequence,
        conversions.converted_at
    from conversions
    where not conversions.is_refund

),

converting_customers as (

    select distinct attributable_conversions.customer_key
    from attributable_conversions

),

customer_touches as (

    select
        touchpoints.touchpoint_id,
        touchpoints.partner_id,
        touchpoints.campaign_id,
        touchpoints.customer_key,
        touchpoints.occurred_at
    from touchpoints
    inner join converting_customers
        on touchpoints.customer_key = converting_customers.customer_key

),

timeline as (

    select
        customer_touches.customer_key,
        customer_touches.occurred_at as event_at,
        1 as event_order,
        customer_touches.touchpoint_id as event_id,
        customer_touches.partner_id,
        customer_touches.campaign_id,
        cast(null as integer) as conversion_sequence
    from customer_touches

    union all

    select
        attributable_conversions.customer_key,
        attributable_conversions.converted_at as event_at,
        0 as event_order,
        attributable_conversions.conversion_id as event_id,
        cast(null as varchar) as partner_id,
        cast(null as varchar) as campaign_id,
        attributable_conversions.conversion_sequence
    from attributable_conversions

),

timeline_scanned as (

    select
        timeline.*,
        -- sequence numbers grow with time, so the smallest one at or after a touch is the next conversion's
        min(timeline.conversion_sequence) over (
            partition by timeline.customer_key
            order by timeline.event_at, timeline.event_order, timeline.event_id
            rows between current row and unbounded following
        ) as next_conversion_sequence
    from timeline

),

final as (

    select
        timeline_scanned.event_id as touchpoint_id,
        timeline_scanned.partner_id,
        timeline_scanned.campaign_id,
        timeline_scanned.customer_key,
        timeline_scanned.event_at as occurred_at,
        cast(timeline_scanned.next_conversion_sequence as integer) as next_conversion_sequence
    from timeline_scanned
    where timeline_scanned.event_order = 1

)

select * from final

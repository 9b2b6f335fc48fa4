{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    The first-order Markov chain's transitions, counted per customer: one row per customer key, from-state and
    to-state. Each journey of the customer (int_attribution_journey_touches) is read as (start) -> its partners in
    time order -> (conversion) or (null), with consecutive repeats of the same partner collapsed: A A B A becomes
    (start) A B A (end), i.e. the transitions (start)->A, A->B, B->A, A->(end). Every journey adds one transition
    out of (start) and one into (conversion) or (null). int_attribution_markov_transitions sums them over customers.

    Incremental (state_table, scope customer_key): the customers whose touches or conversions changed tonight are
    counted again; the chain's totals then move by the difference, without reading the other customers' journeys.
#}
with

journey_touches as (

    select * from {{ ref('int_attribution_journey_touches') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

neighbours as (

    select
        journey_touches.customer_key,
        journey_touches.is_converting,
        journey_touches.partner_id,
        lag(journey_touches.partner_id) over (
            partition by journey_touches.is_converting, journey_touches.journey_key, journey_touches.journey_segment
            order by journey_touches.occurred_at, journey_touches.touchpoint_id
        ) as previous_partner_id,
        lead(journey_touches.partner_id) over (
            partition by journey_touches.is_converting, journey_touches.journey_key, journey_touches.journey_segment
            order by journey_touches.occurred_at, journey_touches.touchpoint_id
        ) as next_partner_id
    from journey_touches

),

step_counts as (

    select
        neighbours.customer_key,
        neighbours.partner_id,
        neighbours.previous_partner_id is null as is_journey_start,
        neighbours.next_partner_id,
        neighbours.is_converting,
        count(*) as touches
    from neighbours
    where neighbours.previous_partner_id is null
        or neighbours.next_partner_id is null
        or neighbours.next_partner_id <> neighbours.partner_id
    group by
        neighbours.customer_key,
        neighbours.partner_id,
        neighbours.previous_partner_id is null,
        neighbours.next_partner_id,
        neighbours.is_converting

),

transitions as (

    select
        step_counts.customer_key,
        '(start)' as from_state,
        step_counts.partner_id as to_state,
        step_counts.touches as transitions
    from step_counts
    where step_counts.is_journey_start

    union all

    select
        step_counts.customer_key,
        step_counts.partner_id as from_state,
        step_counts.next_partner_id as to_state,
        step_counts.touches as transitions
    from step_counts
    where step_counts.next_partner_id is not null
        and step_counts.next_partner_id <> step_counts.partner_id

    union all

    select
        step_counts.customer_key,
        step_counts.partner_id as from_state,
        case when step_counts.is_converting then '(conversion)' else '(null)' end as to_state,
        step_counts.touches as transitions
    from step_counts
    where step_counts.next_partner_id is null

),

final as (

    select
        transitions.customer_key,
        transitions.from_state,
        transitions.to_state,
        cast(sum(transitions.transitions) as bigint) as transitions
    from transitions
    group by
        transitions.customer_key,
        transitions.from_state,
        transitions.to_state

)

select * from final

{#
    The first-order Markov chain over partner journeys, as transition counts between states. Each journey
    (int_attribution_journey_touches) is read as (start) -> its partners in time order -> (conversion) or (null),
    with consecutive repeats of the same partner collapsed: A A B A becomes (start) A B A (end), i.e. the transitions
    (start)->A, A->B, B->A, A->(end). Every journey adds one transition out of (start) and one into (conversion) or
    (null).

    transition_probability is the share of the from-state's transitions that go to the to-state; the removal
    effects (int_attribution_markov_removal_effects) are solved exactly from these.
#}
with

journey_touches as (

    select * from {{ ref('int_attribution_journey_touches') }}

),

neighbours as (

    select
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
        neighbours.partner_id,
        neighbours.previous_partner_id is null,
        neighbours.next_partner_id,
        neighbours.is_converting

),

transitions as (

    select
        '(start)' as from_state,
        step_counts.partner_id as to_state,
        step_counts.touches as transitions
    from step_counts
    where step_counts.is_journey_start

    union all

    select
        step_counts.partner_id as from_state,
        step_counts.next_partner_id as to_state,
        step_counts.touches as transitions
    from step_counts
    where step_counts.next_partner_id is not null
        and step_counts.next_partner_id <> step_counts.partner_id

    union all

    select
        step_counts.partner_id as from_state,
        case when step_counts.is_converting then '(conversion)' else '(null)' end as to_state,
        step_counts.touches as transitions
    from step_counts
    where step_counts.next_partner_id is null

),

transitions_summed as (

    select
        transitions.from_state,
        transitions.to_state,
        sum(transitions.transitions) as transitions
    from transitions
    group by
        transitions.from_state,
        transitions.to_state

),

final as (

    select
        transitions_summed.from_state || '>' || transitions_summed.to_state as transition_id,
        transitions_summed.from_state,
        transitions_summed.to_state,
        cast(transitions_summed.transitions as bigint) as transitions,
        cast(transitions_summed.transitions as float8) / sum(transitions_summed.transitions) over (
            partition by transitions_summed.from_state
        ) as transition_probability
    from transitions_summed

)

select * from final

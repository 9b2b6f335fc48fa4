{{ config(materialized='state_table', scope='from_state', scope_from=['int_attribution_markov_customer_transitions']) }}
{#
    The first-order Markov chain over partner journeys, as transition counts between states: the per-customer
    counts of int_attribution_markov_customer_transitions (which states how journeys become transitions) summed
    over all customers. transition_probability is the share of the from-state's transitions that go to the
    to-state; the removal effects (int_attribution_markov_removal_effects) are solved exactly from these.

    Incremental (state_table, scope from_state): the counts of every from-state that tonight's changed customers
    touch are the counts before tonight plus the customers' new counts minus their old ones (an exact integer
    difference), and that state's probabilities are computed again; other states keep theirs.
#}
with

counts as (

    {%- if is_state_incremental() %}
    select
        previous_totals.from_state,
        previous_totals.to_state,
        previous_totals.transitions
    from {{ state_relation(this) }} as previous_totals
    where previous_totals.from_state in ({{ state_scope_keys() }})

    union all

    select
        written.from_state,
        written.to_state,
        written.transitions
    from {{ state_delta(ref('int_attribution_markov_customer_transitions')) }} as written

    union all

    select
        retired.from_state,
        retired.to_state,
        -retired.transitions as transitions
    from {{ state_removed(ref('int_attribution_markov_customer_transitions')) }} as retired
    {%- else %}
        select * from {{ ref('int_attribution_markov_customer_transitions') }}
    {%- endif %}

),

transitions_summed as (

    select
        counts.from_state,
        counts.to_state,
        sum(counts.transitions) as transitions
    from counts
    group by
        counts.from_state,
        counts.to_state
    having sum(counts.transitions) > 0

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

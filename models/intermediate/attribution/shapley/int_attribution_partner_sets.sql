{{ config(
    materialized='state_table',
    scope='partner_set_fingerprint',
    scope_from=['int_attribution_partner_set_journeys'],
) }}
{#
    Observed partner sets and their conversion rates: the characteristic function of the Shapley model.

    Every journey (int_attribution_journey_touches, converting or not) has a partner set, the distinct partners on it
    (order and repeats ignored), identified by its fingerprint: the bit_xor of its members' 64-bit hashes
    (attribution_partner_fingerprint), which needs no sorting of millions of journeys. For each set S seen:
        conversions(S) = converting journeys whose partner set is exactly S
        journeys(S)    = all journeys whose partner set is exactly S
        conversion_rate(S) = conversions(S) / journeys(S)
    summed over the per-customer counts of int_attribution_partner_set_journeys. Sets that converted at least once
    also get their size (partner_count); their readable keys are in int_attribution_shapley_values.

    Incremental (state_table, scope partner_set_fingerprint): the counts of every set that tonight's changed
    customers touch are the counts before tonight plus the customers' new counts minus their old ones.
#}
with

counts as (

    {%- if is_state_incremental() %}
    select
        previous_sets.partner_set_fingerprint,
        previous_sets.partner_count,
        previous_sets.conversions,
        previous_sets.journeys
    from {{ state_relation(this) }} as previous_sets
    where previous_sets.partner_set_fingerprint in ({{ state_scope_keys() }})

    union all

    select
        written.partner_set_fingerprint,
        written.partner_count,
        written.conversions,
        written.journeys
    from {{ state_delta(ref('int_attribution_partner_set_journeys')) }} as written

    union all

    select
        retired.partner_set_fingerprint,
        retired.partner_count,
        -retired.conversions as conversions,
        -retired.journeys as journeys
    from {{ state_removed(ref('int_attribution_partner_set_journeys')) }} as retired
    {%- else %}
        select * from {{ ref('int_attribution_partner_set_journeys') }}
    {%- endif %}

),

sets as (

    select
        counts.partner_set_fingerprint,
        max(counts.partner_count) as partner_count,
        sum(counts.conversions) as conversions,
        sum(counts.journeys) as journeys
    from counts
    group by counts.partner_set_fingerprint
    having sum(counts.journeys) > 0

),

final as (

    select
        sets.partner_set_fingerprint,
        cast(case when sets.conversions > 0 then sets.partner_count end as integer) as partner_count,
        cast(sets.conversions as bigint) as conversions,
        cast(sets.journeys as bigint) as journeys,
        cast(sets.conversions as float8) / sets.journeys as conversion_rate
    from sets

)

select * from final

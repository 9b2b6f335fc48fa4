{#
    Observed partner sets and their conversion rates: the characteristic function of the Shapley model.

    Every journey (int_attribution_journey_touches, converting or not) has a partner set, the distinct partners on it
    (order and repeats ignored), identified by its fingerprint: the bit_xor of its members' 64-bit hashes
    (attribution_partner_fingerprint), which needs no sorting of millions of journeys. For each set S seen:
        conversions(S) = converting journeys whose partner set is exactly S
        journeys(S)    = all journeys whose partner set is exactly S
        conversion_rate(S) = conversions(S) / journeys(S)
    Sets that converted at least once also get their size from the conversion paths (int_attribution_path_partner_sets);
    their readable keys are in int_attribution_shapley_values.
#}
with

journey_touches as (

    select * from {{ ref('int_attribution_journey_touches') }}

),

path_partner_sets as (

    select * from {{ ref('int_attribution_path_partner_sets') }}

),

journeys as (

    select
        journey_touches.is_converting,
        bit_xor(distinct {{ attribution_partner_fingerprint('journey_touches.partner_id') }})
            as partner_set_fingerprint
    from journey_touches
    group by
        journey_touches.is_converting,
        journey_touches.journey_key,
        journey_touches.journey_segment

),

sets as (

    select
        journeys.partner_set_fingerprint,
        sum(case when journeys.is_converting then 1 else 0 end) as conversions,
        count(*) as journeys
    from journeys
    group by journeys.partner_set_fingerprint

),

converting_sets as (

    select distinct
        path_partner_sets.partner_set_fingerprint,
        path_partner_sets.partner_count
    from path_partner_sets

),

final as (

    select
        sets.partner_set_fingerprint,
        converting_sets.partner_count,
        cast(sets.conversions as bigint) as conversions,
        cast(sets.journeys as bigint) as journeys,
        cast(sets.conversions as float8) / sets.journeys as conversion_rate
    from sets
    left join converting_sets
        on sets.partner_set_fingerprint = converting_sets.partner_set_fingerprint

)

select * from final

{#
    attribution_partner_fingerprint: the hash value itself is the engine's own, so what is checked is what the
    Shapley model relies on: the same partner always gets the same fingerprint, different partners get different
    ones, and the bit_xor of the distinct members' fingerprints names a set whatever the order and repeats of its
    members, and differs between different sets. Returns the properties that do not hold.
#}
with

journey_touches as (

    -- journey j1 meets P2, P1, P2; j2 meets P1, P2; j3 only P1; j4 P1, P2, P3; j5 only P3
    select
        'j1' as journey_id,
        'P2' as partner_id
    union all
    select
        'j1' as journey_id,
        'P1' as partner_id
    union all
    select
        'j1' as journey_id,
        'P2' as partner_id
    union all
    select
        'j2' as journey_id,
        'P1' as partner_id
    union all
    select
        'j2' as journey_id,
        'P2' as partner_id
    union all
    select
        'j3' as journey_id,
        'P1' as partner_id
    union all
    select
        'j4' as journey_id,
        'P3' as partner_id
    union all
    select
        'j4' as journey_id,
        'P1' as partner_id
    union all
    select
        'j4' as journey_id,
        'P2' as partner_id
    union all
    select
        'j5' as journey_id,
        'P3' as partner_id

),

partner_fingerprints as (

    select
        journey_touches.partner_id,
        min({{ attribution_partner_fingerprint('journey_touches.partner_id') }}) as lowest_fingerprint,
        max({{ attribution_partner_fingerprint('journey_touches.partner_id') }}) as highest_fingerprint
    from journey_touches
    group by journey_touches.partner_id

),

touches_distinct as (

    select distinct
        journey_touches.journey_id,
        journey_touches.partner_id
    from journey_touches

),

set_fingerprints as (

    select
        touches_distinct.journey_id,
        bit_xor({{ attribution_partner_fingerprint('touches_distinct.partner_id') }}) as set_fingerprint
    from touches_distinct
    group by touches_distinct.journey_id

),

checks as (

    select
        'the same partner always has the same fingerprint' as case_name,
        count(*) = 3
        and min(
            case
                when partner_fingerprints.lowest_fingerprint = partner_fingerprints.highest_fingerprint then 1
                else 0
            end
        ) = 1 as is_passed
    from partner_fingerprints
    union all
    select
        'three partners, three fingerprints' as case_name,
        count(distinct partner_fingerprints.lowest_fingerprint) = 3 as is_passed
    from partner_fingerprints
    union all
    select
        'P2, P1, P2 is the same set as P1, P2' as case_name,
        j1.set_fingerprint = j2.set_fingerprint as is_passed
    from set_fingerprints as j1
    inner join set_fingerprints as j2
        on j1.journey_id = 'j1' and j2.journey_id = 'j2'
    union all
    select
        'P1, P2 is not the set of P1 alone' as case_name,
        j2.set_fingerprint <> j3.set_fingerprint as is_passed
    from set_fingerprints as j2
    inner join set_fingerprints as j3
        on j2.journey_id = 'j2' and j3.journey_id = 'j3'
    union all
    select
        'P3, P1, P2 is neither P1, P2 nor P3 alone' as case_name,
        j4.set_fingerprint <> j2.set_fingerprint and j4.set_fingerprint <> j5.set_fingerprint as is_passed
    from set_fingerprints as j4
    inner join set_fingerprints as j2
        on j4.journey_id = 'j4' and j2.journey_id = 'j2'
    inner join set_fingerprints as j5
        on j5.journey_id = 'j5'
    union all
    select
        'a single partner set is that partner''s fingerprint' as case_name,
        j3.set_fingerprint = partner_fingerprints.lowest_fingerprint as is_passed
    from set_fingerprints as j3
    inner join partner_fingerprints
        on j3.journey_id = 'j3' and partner_fingerprints.partner_id = 'P1'

),

final as (

    select checks.case_name
    from checks
    where not coalesce(checks.is_passed, false)
    union all
    -- a property whose journeys went missing would not be checked at all
    select 'all six properties were checked' as case_name
    from checks
    having count(*) <> 6

)

select * from final

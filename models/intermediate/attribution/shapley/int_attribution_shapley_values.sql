{#
    Shapley values of the partners of every converting partner set.

    Characteristic function (Zhao, Mahboobi & Bagheri, 2018, "Shapley Value Methods for Attribution Modeling in
    Online Advertising", arXiv:1804.05327, section 3): the worth of a coalition S of partners is the sum of the
    observed conversion rates of the partner sets it contains,
        v(S) = sum over T subset of S of r(T),   r(T) = conversion_rate of journeys whose partner set is exactly T
    (int_attribution_partner_sets, looked up by the set's fingerprint; 0 for a set never seen or never converting).
    v is a sum of unanimity games, so the
    Shapley value of partner j in the game on a path's partner set P is exactly
        phi_j(P) = sum over T subset of P with j in T of r(T) / |T|
    and sum_j phi_j(P) = v(P). A conversion whose path has partner set P gives partner j the share phi_j(P) / v(P)
    (shapley_share); the share is then split equally among j's touches on the path.

    Exact: for |P| <= var attribution_shapley_max_exact_partners (default 10) every one of the 2^|P| - 1 coalitions
    T of P is enumerated (as bit masks over P's members) and looked up.
    Approximation above that size (is_exact = false): only the coalitions of one and two partners and P itself are
    looked up, i.e. observed converting sets of 3..|P|-1 partners inside P are left out; deterministic, O(|P|^2).
    Every member still receives r(P)/|P| > 0 from P itself, so shares are always defined.
#}
{%- set settings = attribution_settings() %}
{%- set max_exact = settings.shapley_max_exact_partners %}

with

partner_sets as (

    select * from {{ ref('int_attribution_partner_sets') }}

),

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

path_partner_sets as (

    select * from {{ ref('int_attribution_path_partner_sets') }}

),

set_rates as (

    select
        partner_sets.partner_set_fingerprint,
        partner_sets.conversion_rate
    from partner_sets
    where partner_sets.conversions > 0

),

-- the members of every partner set of a conversion path (each is a converting set), and its readable key
set_members as (

    select distinct
        path_partner_sets.partner_set_fingerprint,
        paths.partner_id
    from paths
    inner join path_partner_sets
        on paths.conversion_id = path_partner_sets.conversion_id

),

set_keys as (

    select
        set_members.partner_set_fingerprint,
        {{ dbt.listagg('set_members.partner_id', "','", 'order by set_members.partner_id') }} as partner_set_key
    from set_members
    group by set_members.partner_set_fingerprint

),

members as (

    select
        set_keys.partner_set_key,
        set_members.partner_set_fingerprint,
        set_members.partner_id,
        row_number() over (
            partition by set_members.partner_set_fingerprint
            order by set_members.partner_id
        ) as member_rank,
        count(*) over (partition by set_members.partner_set_fingerprint) as partner_count
    from set_members
    inner join set_keys
        on set_members.partner_set_fingerprint = set_keys.partner_set_fingerprint

),

masks as (

    {{ integer_series(1, 2 ** max_exact - 1) }}

),

-- exact sets: every non-empty coalition, as a bit mask whose bit k (from 1) holds the member of rank k
exact_coalition_members as (

    select
        members.partner_set_key,
        cast(masks.n as varchar) as coalition_label,
        members.partner_id
    from members
    inner join masks
        on masks.n < power(2, members.partner_count)
        and cast(floor(masks.n / power(2, members.member_rank - 1)) as bigint) % 2 = 1
    where members.partner_count <= {{ max_exact }}

),

approximate_sets as (

    select members.*
    from members
    where members.partner_count > {{ max_exact }}

),

approximate_coalition_members as (

    select
        approximate_sets.partner_set_key,
        'single:' || cast(approximate_sets.member_rank as varchar) as coalition_label,
        approximate_sets.partner_id
    from approximate_sets

    union all

    select
        first_members.partner_set_key,
        'pair:' || cast(first_members.member_rank as varchar) || ':' || cast(second_members.member_rank as varchar)
            as coalition_label,
        pair_members.partner_id
    from approximate_sets as first_members
    inner join approximate_sets as second_members
        on first_members.partner_set_key = second_members.partner_set_key
        and first_members.member_rank < second_members.member_rank
    inner join approximate_sets as pair_members
        on first_members.partner_set_key = pair_members.partner_set_key
        and pair_members.member_rank in (first_members.member_rank, second_members.member_rank)

    union all

    select
        approximate_sets.partner_set_key,
        'all' as coalition_label,
        approximate_sets.partner_id
    from approximate_sets

),

coalition_members as (

    select * from exact_coalition_members
    union all
    select * from approximate_coalition_members

),

coalitions as (

    select
        coalition_members.partner_set_key,
        coalition_members.coalition_label,
        bit_xor({{ attribution_partner_fingerprint('coalition_members.partner_id') }}) as coalition_fingerprint,
        count(*) as coalition_size
    from coalition_members
    group by
        coalition_members.partner_set_key,
        coalition_members.coalition_label

),

coalition_worths as (

    select
        coalitions.partner_set_key,
        coalitions.coalition_label,
        coalitions.coalition_size,
        set_rates.conversion_rate
    from coalitions
    inner join set_rates
        on coalitions.coalition_fingerprint = set_rates.partner_set_fingerprint

),

values_summed as (

    select
        coalition_members.partner_set_key,
        coalition_members.partner_id,
        sum(coalition_worths.conversion_rate / coalition_worths.coalition_size) as shapley_value,
        count(*) as coalitions_counted
    from coalition_members
    inner join coalition_worths
        on coalition_members.partner_set_key = coalition_worths.partner_set_key
        and coalition_members.coalition_label = coalition_worths.coalition_label
    group by
        coalition_members.partner_set_key,
        coalition_members.partner_id

),

final as (

    select
        values_summed.partner_set_key || '|' || values_summed.partner_id as shapley_value_id,
        values_summed.partner_set_key,
        members.partner_set_fingerprint,
        values_summed.partner_id,
        cast(members.partner_count as integer) as partner_count,
        members.partner_count <= {{ max_exact }} as is_exact,
        cast(values_summed.coalitions_counted as integer) as coalitions_counted,
        cast(values_summed.shapley_value as float8) as shapley_value,
        cast(
            values_summed.shapley_value
            / sum(values_summed.shapley_value) over (partition by values_summed.partner_set_key)
            as float8
        ) as shapley_share
    from values_summed
    inner join members
        on values_summed.partner_set_key = members.partner_set_key
        and values_summed.partner_id = members.partner_id

)

select * from final

{#
    Volume tiers of every agreement version, one row per tier. The agreement states them as `threshold:rate_pct`
    pairs separated by `|` (threshold in the agreement currency, rate in percent), e.g. `0:10|50000:12|100000:15`.
    At most var payout_max_volume_tiers tiers per agreement are read.
#}
with

agreements as (

    select * from {{ ref('int_agreements_ranged') }}

),

tier_positions as (

    {% for position in range(1, var('payout_max_volume_tiers', 10) + 1) -%}
        select {{ position }} as tier_position
        {% if not loop.last %}union all
        {% endif -%}
    {%- endfor %}

),

tier_pairs as (

    select
        agreements.agreement_id,
        agreements.agreement_version,
        tier_positions.tier_position,
        trim({{ dbt.split_part('agreements.volume_tiers', "'|'", 'tier_positions.tier_position') }}) as tier_pair
    from agreements
    cross join tier_positions
    where agreements.volume_tiers is not null

),

parsed as (

    select
        tier_pairs.agreement_id,
        tier_pairs.agreement_version,
        tier_pairs.tier_position,
        cast({{ dbt.split_part('tier_pairs.tier_pair', "':'", 1) }} as decimal(18, 6)) as threshold,
        cast({{ dbt.split_part('tier_pairs.tier_pair', "':'", 2) }} as decimal(18, 6)) / 100 as tier_rate
    from tier_pairs
    where tier_pairs.tier_pair is not null
        and tier_pairs.tier_pair <> ''

),

final as (

    select
        parsed.agreement_id || ':' || cast(parsed.agreement_version as varchar)
        || ':' || cast(parsed.tier_position as varchar) as agreement_tier_id,
        parsed.agreement_id,
        parsed.agreement_version,
        cast(parsed.tier_position as integer) as tier_position,
        cast(parsed.threshold as decimal(18, 6)) as threshold,
        {{ decimal_from_double('parsed.tier_rate', 18, 6) }} as tier_rate
    from parsed

)

select * from final

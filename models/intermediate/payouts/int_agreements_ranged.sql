{#
    Every agreement version with the date range in which it is in force, [valid_from, valid_to), and the attribution
    settings its payouts are computed under. A version is in force from its effective_from until its effective_to or,
    when a later version of the same agreement starts earlier than that, until the later version starts: a newer
    version supersedes an older one, so exactly one version of an agreement is in force on any day.
#}
with

agreements as (

    select * from {{ ref('stg_internal__agreements') }}

),

superseded as (

    select
        agreements.*,
        min(agreements.effective_from) over (
            partition by agreements.agreement_id
            order by agreements.agreement_version
            rows between 1 following and unbounded following
        ) as next_version_from
    from agreements

),

ranged as (

    select
        superseded.*,
        cast(superseded.effective_from as date) as valid_from,
        cast(
            case
                when superseded.next_version_from is not null
                    and superseded.next_version_from < coalesce(superseded.effective_to, cast('9999-12-31' as date))
                    then superseded.next_version_from
                else coalesce(superseded.effective_to, cast('9999-12-31' as date))
            end as date
        ) as valid_to
    from superseded

),

final as (

    select
        ranged.agreement_id || ':' || cast(ranged.agreement_version as varchar) as agreement_version_id,
        ranged.agreement_id,
        cast(ranged.agreement_version as integer) as agreement_version,
        ranged.partner_id,
        ranged.payout_attribution_model,
        ranged.currency,
        ranged.volume_tiers,
        {{ decimal_from_double('ranged.revenue_share_rate', 18, 6) }} as revenue_share_rate,
        {{ decimal_from_double('ranged.referral_commission_rate', 18, 6) }} as referral_commission_rate,
        cast(coalesce(ranged.referral_months, 0) as integer) as referral_months,
        {{ decimal_from_double('ranged.cost_share_rate', 18, 6) }} as cost_share_rate,
        cast(ranged.payout_cap as decimal(18, 6)) as payout_cap,
        cast(
            coalesce(ranged.lookback_days, {{ var('attribution_lookback_days') }}) as integer
        ) as attribution_lookback_days,
        cast({{ var('attribution_half_life_days') }} as decimal(9, 3)) as attribution_half_life_days,
        cast({{ var('attribution_position_first_weight') }} as decimal(9, 6)) as attribution_position_first_weight,
        cast({{ var('attribution_position_last_weight') }} as decimal(9, 6)) as attribution_position_last_weight,
        'model=' || ranged.payout_attribution_model
        || ';lookback_days=' || cast(
            coalesce(ranged.lookback_days, {{ var('attribution_lookback_days') }}) as varchar
        )
        || ';half_life_days={{ var("attribution_half_life_days") }}'
        || ';position_weights={{ var("attribution_position_first_weight") }}'
        || '/{{ var("attribution_position_last_weight") }}'
        {%- set max_touches = var("attribution_max_touches", none) %}
        || ';max_touches={{ "all" if max_touches is none else max_touches }}'
        || ';reset_after_conversion={{ var("attribution_reset_after_conversion", true) | string | lower }}'
            as attribution_settings,
        ranged.effective_from,
        ranged.effective_to,
        ranged.valid_from,
        ranged.valid_to
    from ranged
    where ranged.valid_from < ranged.valid_to

)

select * from final

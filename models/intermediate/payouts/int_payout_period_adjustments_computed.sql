{#
    Period-level payout lines that SHOULD exist given today's data, per agreement and month (the month a commission
    belongs to, original_period_month):

    - tier_adjustment: the month's revenue-share volume under the agreement (attributed revenue in the agreement
      currency of all its revenue_share bases dated in the month, across versions, before refunds) selects the tier:
      the tier with the highest threshold <= volume. The tier rate applies to the WHOLE month's volume, from the first
      unit, not marginally: revenue-share lines are paid at revenue_share_rate, and one tier_adjustment line per
      version in force in the month adds (tier_rate - revenue_share_rate) x that version's volume. A version without
      tiers, or whose tiers the volume does not reach, has no tier line. Refunds do not move the tier.
    - cap_adjustment: when the month's net total (revenue share + referral commission + reversals + tier adjustments
      belonging to the month) exceeds payout_cap, one line of (payout_cap - total) brings it down to the cap. The cap
      is that of the latest version in force during the month (the terms as they stand at month end); no cap when it
      is null.
#}
with

commissions as (

    select * from {{ ref('int_payout_commissions_computed') }}

),

agreements as (

    select * from {{ ref('int_agreements_ranged') }}

),

tiers as (

    select * from {{ ref('int_agreement_tiers_parsed') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

version_volumes as (

    select
        commissions.agreement_id,
        commissions.agreement_version,
        commissions.original_period_month,
        sum(commissions.basis_amount) as version_volume
    from commissions
    where commissions.line_type = 'revenue_share'
    group by
        commissions.agreement_id,
        commissions.agreement_version,
        commissions.original_period_month

),

period_volumes as (

    select
        version_volumes.agreement_id,
        version_volumes.original_period_month,
        sum(version_volumes.version_volume) as period_volume
    from version_volumes
    group by
        version_volumes.agreement_id,
        version_volumes.original_period_month

),

tiers_reached as (

    select
        version_volumes.agreement_id,
        version_volumes.agreement_version,
        version_volumes.original_period_month,
        version_volumes.version_volume,
        period_volumes.period_volume,
        tiers.threshold,
        tiers.tier_rate,
        row_number() over (
            partition by
                version_volumes.agreement_id, version_volumes.agreement_version,
                version_volumes.original_period_month
            order by tiers.threshold desc, tiers.tier_position desc
        ) as tier_rank
    from version_volumes
    inner join period_volumes
        on version_volumes.agreement_id = period_volumes.agreement_id
        and version_volumes.original_period_month = period_volumes.original_period_month
    inner join tiers
        on version_volumes.agreement_id = tiers.agreement_id
        and version_volumes.agreement_version = tiers.agreement_version
        and tiers.threshold <= period_volumes.period_volume

),

tier_bases as (

    select
        'tier_adjustment|' || tiers_reached.agreement_id
        || '|' || cast(tiers_reached.agreement_version as varchar)
        || '|' || cast(tiers_reached.original_period_month as varchar) as basis_id,
        'tier_adjustment' as line_type,
        tiers_reached.agreement_id,
        tiers_reached.agreement_version,
        tiers_reached.original_period_month,
        tiers_reached.tier_rate - agreements.revenue_share_rate as basis_rate,
        tiers_reached.version_volume as basis_amount,
        {{ decimal_from_double(
            'cast(tiers_reached.tier_rate - agreements.revenue_share_rate as float8)
            * cast(tiers_reached.version_volume as float8)',
            18, 6
        ) }} as amount
    from tiers_reached
    inner join agreements
        on tiers_reached.agreement_id = agreements.agreement_id
        and tiers_reached.agreement_version = agreements.agreement_version
    where tiers_reached.tier_rank = 1

),

period_totals as (

    select
        period_lines.agreement_id,
        period_lines.original_period_month,
        sum(period_lines.amount) as period_total
    from (
        select
            commissions.agreement_id,
            commissions.original_period_month,
            commissions.amount
        from commissions
        union all
        select
            tier_bases.agreement_id,
            tier_bases.original_period_month,
            tier_bases.amount
        from tier_bases
    ) as period_lines
    group by
        period_lines.agreement_id,
        period_lines.original_period_month

),

month_end_versions as (

    select
        period_totals.agreement_id,
        period_totals.original_period_month,
        period_totals.period_total,
        agreements.agreement_version,
        agreements.payout_cap,
        row_number() over (
            partition by period_totals.agreement_id, period_totals.original_period_month
            order by agreements.valid_from desc, agreements.agreement_version desc
        ) as version_rank
    from period_totals
    inner join agreements
        on period_totals.agreement_id = agreements.agreement_id
        and agreements.valid_from <= {{ dbt.last_day('period_totals.original_period_month', 'month') }}
        and agreements.valid_to > period_totals.original_period_month

),

cap_bases as (

    select
        'cap_adjustment|' || month_end_versions.agreement_id
        || '|' || cast(month_end_versions.original_period_month as varchar) as basis_id,
        'cap_adjustment' as line_type,
        month_end_versions.agreement_id,
        month_end_versions.agreement_version,
        month_end_versions.original_period_month,
        cast(null as decimal(18, 6)) as basis_rate,
        month_end_versions.period_total as basis_amount,
        cast(month_end_versions.payout_cap - month_end_versions.period_total as decimal(18, 6)) as amount
    from month_end_versions
    where month_end_versions.version_rank = 1
        and month_end_versions.payout_cap is not null
        and month_end_versions.period_total > month_end_versions.payout_cap

),

period_bases as (

    select * from tier_bases
    union all
    select * from cap_bases

),

period_lines as (

    select
        period_bases.basis_id,
        period_bases.line_type,
        cast(null as varchar) as reversed_line_type,
        agreements.partner_id,
        period_bases.agreement_id,
        period_bases.agreement_version,
        cast(null as varchar) as conversion_id,
        cast(null as varchar) as refunded_conversion_id,
        period_bases.original_period_month,
        cast({{ dbt.last_day('period_bases.original_period_month', 'month') }} as date) as basis_date,
        cast(period_bases.basis_rate as decimal(18, 6)) as basis_rate,
        cast(period_bases.basis_amount as decimal(18, 6)) as basis_amount,
        period_bases.amount,
        agreements.currency,
        agreements.payout_attribution_model as attribution_model,
        agreements.attribution_lookback_days,
        agreements.attribution_half_life_days,
        agreements.attribution_position_first_weight,
        agreements.attribution_position_last_weight,
        agreements.attribution_settings
    from period_bases
    inner join agreements
        on period_bases.agreement_id = agreements.agreement_id
        and period_bases.agreement_version = agreements.agreement_version
    where period_bases.amount <> 0

),

final as (

    select
        period_lines.basis_id,
        period_lines.line_type,
        period_lines.reversed_line_type,
        period_lines.partner_id,
        period_lines.agreement_id,
        period_lines.agreement_version,
        period_lines.conversion_id,
        period_lines.refunded_conversion_id,
        period_lines.original_period_month,
        period_lines.basis_date,
        period_lines.basis_rate,
        period_lines.basis_amount,
        period_lines.amount,
        period_lines.currency,
        {{ decimal_from_double('exchange_rates.rate_to_reporting', 18, 10) }} as exchange_rate,
        {{ decimal_from_double('cast(period_lines.amount as float8) * exchange_rates.rate_to_reporting', 18, 6) }}
            as amount_reporting,
        period_lines.attribution_model,
        period_lines.attribution_lookback_days,
        period_lines.attribution_half_life_days,
        period_lines.attribution_position_first_weight,
        period_lines.attribution_position_last_weight,
        period_lines.attribution_settings
    from period_lines
    inner join exchange_rates
        on period_lines.currency = exchange_rates.currency
        and period_lines.basis_date >= exchange_rates.valid_from
        and period_lines.basis_date < exchange_rates.valid_to

)

select * from final

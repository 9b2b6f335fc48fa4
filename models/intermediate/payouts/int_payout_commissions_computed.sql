{#
    What each partner SHOULD be owed per conversion, given today's data: one row per commission basis.

    - revenue_share: for every non-refund conversion and every partner with an agreement version in force on the
      conversion date (valid_from <= converted_on < valid_to), the partner's attributed revenue under the model that
      version names (payout_attribution_model), converted into the agreement currency at the conversion date's rate,
      times revenue_share_rate.
    - referral_commission: the partner(s) credited with a customer's FIRST conversion (conversion_sequence = 1),
      under the model their agreement version in force that day names, referred that customer (judged once, when the
      referral happens). Every non-refund conversion of the customer with
      first_converted_at <= converted_at < first_converted_at + referral_months calendar months (the window includes
      its first instant and excludes its last; the first conversion itself is inside; a month added to the 31st
      ends on the last day of a shorter month) pays referral_commission_rate x the referrer's credit on the first
      conversion x the conversion's revenue. The rate and the window length come from the agreement version in force
      on the date of the conversion being paid.
    - reversal: a refund reverses, pro rata, every revenue_share and referral_commission basis of the conversion it
      refunds: amount = -refunded share x the original basis amount, where refunded share = refund revenue / original
      revenue (in the original currency), cumulated over successive partial refunds and capped at 100 %. A reversal
      belongs to the refund's month and keeps the agreement version and settings of the line it reverses.

    Amounts are in the agreement currency (`currency`); amount_reporting converts them at the basis date's rate.
#}
with

credits as (

    select * from {{ ref('int_attribution_credits_unioned') }}

),

conversions as (

    select * from {{ ref('int_conversions_converted') }}

),

agreements as (

    select * from {{ ref('int_agreements_ranged') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

paid_conversions as (

    select
        conversions.conversion_id,
        conversions.customer_id,
        conversions.currency,
        conversions.revenue_local,
        conversions.revenue,
        conversions.conversion_sequence,
        conversions.converted_at,
        conversions.converted_on
    from conversions
    where not conversions.is_refund

),

conversion_days as (

    select distinct conversions.converted_on
    from conversions

),

-- Versions and exchange rates are ranges; they are resolved once per day that has conversions, so that every join
-- over conversions and credits below is an equality join (range joins against millions of rows are slow).
agreement_days as (

    select
        agreements.agreement_version_id,
        agreements.agreement_id,
        agreements.partner_id,
        agreements.payout_attribution_model,
        conversion_days.converted_on
    from agreements
    inner join conversion_days
        on conversion_days.converted_on >= agreements.valid_from
        and conversion_days.converted_on < agreements.valid_to

),

rate_days as (

    select
        exchange_rates.currency,
        conversion_days.converted_on as rate_date,
        exchange_rates.rate_to_reporting
    from exchange_rates
    inner join conversion_days
        on conversion_days.converted_on >= exchange_rates.valid_from
        and conversion_days.converted_on < exchange_rates.valid_to

),

-- each partner's credit on each conversion under the model of its agreement version in force that day (credits
-- under other models are dropped before aggregating, so the credits table is read once)
credits_in_force as (

    select
        credits.conversion_id,
        credits.converted_on,
        agreement_days.agreement_version_id,
        agreement_days.agreement_id,
        sum(credits.credit) as credit,
        sum(credits.attributed_revenue) as attributed_revenue
    from credits
    inner join agreement_days
        on credits.partner_id = agreement_days.partner_id
        and credits.attribution_model = agreement_days.payout_attribution_model
        and credits.converted_on = agreement_days.converted_on
    where credits.credit <> 0
    group by
        credits.conversion_id,
        credits.converted_on,
        agreement_days.agreement_version_id,
        agreement_days.agreement_id

),

revenue_share_bases as (

    select
        'revenue_share' as line_type,
        credits_in_force.conversion_id,
        credits_in_force.converted_on as basis_date,
        credits_in_force.agreement_version_id,
        agreements.revenue_share_rate as basis_rate,
        {{ decimal_from_double('credits_in_force.attributed_revenue', 18, 6) }} as basis_amount_reporting
    from credits_in_force
    inner join paid_conversions
        on credits_in_force.conversion_id = paid_conversions.conversion_id
    inner join agreements
        on credits_in_force.agreement_version_id = agreements.agreement_version_id
    where agreements.revenue_share_rate > 0

),

first_conversions as (

    select
        paid_conversions.customer_id,
        paid_conversions.conversion_id as first_conversion_id,
        paid_conversions.converted_at as first_converted_at
    from paid_conversions
    where paid_conversions.conversion_sequence = 1

),

-- who referred each customer: the partners credited on its first conversion, under the model their agreement
-- named on that day (the referral is judged once, when it happens)
referrers as (

    select
        first_conversions.customer_id,
        first_conversions.first_converted_at,
        credits_in_force.agreement_id,
        credits_in_force.credit
    from first_conversions
    inner join credits_in_force
        on first_conversions.first_conversion_id = credits_in_force.conversion_id

),

-- each referrer with the customer's later conversions; DISTINCT (a no-op on these keys) keeps the engine from
-- pairing every conversion with every agreement day before it pairs it with its referrer
referred_conversions as (

    select distinct
        referrers.agreement_id,
        referrers.credit,
        referrers.first_converted_at,
        paid_conversions.conversion_id,
        paid_conversions.revenue,
        paid_conversions.converted_at,
        paid_conversions.converted_on
    from referrers
    inner join paid_conversions
        on referrers.customer_id = paid_conversions.customer_id
    where paid_conversions.converted_at >= referrers.first_converted_at

),

referral_bases as (

    select
        'referral_commission' as line_type,
        referred_conversions.conversion_id,
        referred_conversions.converted_on as basis_date,
        agreements.agreement_version_id,
        agreements.referral_commission_rate as basis_rate,
        {{ decimal_from_double(
            'cast(referred_conversions.credit as float8) * cast(referred_conversions.revenue as float8)',
            18, 6
        ) }} as basis_amount_reporting
    from referred_conversions
    inner join agreement_days
        on referred_conversions.agreement_id = agreement_days.agreement_id
        and referred_conversions.converted_on = agreement_days.converted_on
    inner join agreements
        on agreement_days.agreement_version_id = agreements.agreement_version_id
    where agreements.referral_commission_rate > 0
        and agreements.referral_months > 0
        and referred_conversions.converted_at < {{ dbt.dateadd(
            'month', 'agreements.referral_months', 'referred_conversions.first_converted_at'
        ) }}

),

commission_bases as (

    select * from revenue_share_bases
    union all
    select * from referral_bases

),

commission_lines as (

    select
        commission_bases.line_type
        || '|' || agreements.agreement_id
        || '|' || cast(agreements.agreement_version as varchar)
        || '|' || commission_bases.conversion_id as basis_id,
        commission_bases.line_type,
        cast(null as varchar) as reversed_line_type,
        agreements.partner_id,
        agreements.agreement_id,
        agreements.agreement_version,
        commission_bases.conversion_id,
        cast(null as varchar) as refunded_conversion_id,
        commission_bases.basis_date,
        commission_bases.basis_rate,
        {{ decimal_from_double(
            'commission_bases.basis_amount_reporting / rate_days.rate_to_reporting',
            18, 6
        ) }} as basis_amount,
        {{ decimal_from_double(
            'cast(commission_bases.basis_rate as float8) * commission_bases.basis_amount_reporting
            / rate_days.rate_to_reporting',
            18, 6
        ) }} as amount,
        agreements.currency,
        {{ decimal_from_double('rate_days.rate_to_reporting', 18, 10) }} as exchange_rate,
        agreements.payout_attribution_model as attribution_model,
        agreements.attribution_lookback_days,
        agreements.attribution_half_life_days,
        agreements.attribution_position_first_weight,
        agreements.attribution_position_last_weight,
        agreements.attribution_settings
    from commission_bases
    inner join agreements
        on commission_bases.agreement_version_id = agreements.agreement_version_id
    inner join rate_days
        on agreements.currency = rate_days.currency
        and commission_bases.basis_date = rate_days.rate_date

),

refunds as (

    select
        conversions.conversion_id as refund_conversion_id,
        conversions.refunded_conversion_id,
        conversions.converted_on as refunded_on,
        case
            when conversions.currency = originals.currency then abs(conversions.revenue_local)
            else abs(conversions.revenue) * originals.revenue_local / nullif(originals.revenue, 0)
        end as refunded_revenue_local,
        originals.revenue_local as original_revenue_local,
        conversions.converted_at
    from conversions
    inner join paid_conversions as originals
        on conversions.refunded_conversion_id = originals.conversion_id
    where conversions.is_refund
        and originals.revenue_local > 0

),

refunds_cumulated as (

    select
        refunds.*,
        sum(refunds.refunded_revenue_local) over (
            partition by refunds.refunded_conversion_id
            order by refunds.converted_at, refunds.refund_conversion_id
            rows between unbounded preceding and current row
        ) as refunded_through
    from refunds

),

refund_shares as (

    select
        refunds_cumulated.refund_conversion_id,
        refunds_cumulated.refunded_conversion_id,
        refunds_cumulated.refunded_on,
        (
            least(refunds_cumulated.refunded_through, refunds_cumulated.original_revenue_local)
            - least(
                refunds_cumulated.refunded_through - refunds_cumulated.refunded_revenue_local,
                refunds_cumulated.original_revenue_local
            )
        ) / refunds_cumulated.original_revenue_local as refunded_share
    from refunds_cumulated

),

reversal_lines as (

    select
        'reversal|' || commission_lines.line_type
        || '|' || commission_lines.agreement_id
        || '|' || cast(commission_lines.agreement_version as varchar)
        || '|' || refund_shares.refund_conversion_id as basis_id,
        'reversal' as line_type,
        commission_lines.line_type as reversed_line_type,
        commission_lines.partner_id,
        commission_lines.agreement_id,
        commission_lines.agreement_version,
        refund_shares.refund_conversion_id as conversion_id,
        refund_shares.refunded_conversion_id,
        refund_shares.refunded_on as basis_date,
        commission_lines.basis_rate,
        {{ decimal_from_double(
            '-refund_shares.refunded_share * cast(commission_lines.basis_amount as float8)',
            18, 6
        ) }}
            as basis_amount,
        {{ decimal_from_double(
            '-refund_shares.refunded_share * cast(commission_lines.amount as float8)',
            18, 6
        ) }} as amount,
        commission_lines.currency,
        {{ decimal_from_double('rate_days.rate_to_reporting', 18, 10) }} as exchange_rate,
        commission_lines.attribution_model,
        commission_lines.attribution_lookback_days,
        commission_lines.attribution_half_life_days,
        commission_lines.attribution_position_first_weight,
        commission_lines.attribution_position_last_weight,
        commission_lines.attribution_settings
    from refund_shares
    inner join commission_lines
        on refund_shares.refunded_conversion_id = commission_lines.conversion_id
    inner join rate_days
        on commission_lines.currency = rate_days.currency
        and refund_shares.refunded_on = rate_days.rate_date
    where refund_shares.refunded_share > 0

),

all_lines as (

    select * from commission_lines
    union all
    select * from reversal_lines

),

final as (

    select
        all_lines.basis_id,
        all_lines.line_type,
        all_lines.reversed_line_type,
        all_lines.partner_id,
        all_lines.agreement_id,
        all_lines.agreement_version,
        all_lines.conversion_id,
        all_lines.refunded_conversion_id,
        {{ month_start('all_lines.basis_date') }} as original_period_month,
        all_lines.basis_date,
        cast(all_lines.basis_rate as decimal(18, 6)) as basis_rate,
        all_lines.basis_amount,
        all_lines.amount,
        all_lines.currency,
        all_lines.exchange_rate,
        {{ decimal_from_double('cast(all_lines.amount as float8) * cast(all_lines.exchange_rate as float8)', 18, 6) }}
            as amount_reporting,
        all_lines.attribution_model,
        all_lines.attribution_lookback_days,
        all_lines.attribution_half_life_days,
        all_lines.attribution_position_first_weight,
        all_lines.attribution_position_last_weight,
        all_lines.attribution_settings
    from all_lines
    where all_lines.amount <> 0

)

select * from final

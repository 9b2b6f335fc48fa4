{#
    Reconciliation of payouts with agreements (gate 2): for every partner, agreement currency and month, the ledger's
    revenue-share lines (booked before plus booked now, counted in the month they belong to) equal the agreement's
    revenue_share_rate times the revenue attributed to the partner under the agreement's attribution model, version
    in force on each conversion date, within a cent. Computed here straight from the credits and the agreements,
    not from the payout models. Fails with one row per partner and month that does not reconcile.
#}
with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

agreements as (

    select * from {{ ref('int_agreements_ranged') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

payouts as (

    select * from {{ ref('fct_partner_payouts') }}

),

owed as (

    select
        agreements.partner_id,
        agreements.currency,
        {{ month_start('conversions.converted_on') }} as month,
        sum(
            cast(agreements.revenue_share_rate as float8) * credits.attributed_revenue
            / exchange_rates.rate_to_reporting
        ) as owed_amount
    from credits
    inner join conversions
        on credits.conversion_id = conversions.conversion_id
    inner join agreements
        on credits.partner_id = agreements.partner_id
        and credits.attribution_model = agreements.payout_attribution_model
        and conversions.converted_on >= agreements.valid_from
        and conversions.converted_on < agreements.valid_to
    inner join exchange_rates
        on agreements.currency = exchange_rates.currency
        and conversions.converted_on >= exchange_rates.valid_from
        and conversions.converted_on < exchange_rates.valid_to
    where not conversions.is_refund
    group by
        agreements.partner_id,
        agreements.currency,
        {{ month_start('conversions.converted_on') }}

),

paid as (

    select
        payouts.partner_id,
        payouts.currency,
        payouts.original_period_month as month,
        sum(payouts.amount) as paid_amount
    from payouts
    where payouts.line_type = 'revenue_share'
    group by
        payouts.partner_id,
        payouts.currency,
        payouts.original_period_month

),

compared as (

    select
        coalesce(owed.partner_id, paid.partner_id) as partner_id,
        coalesce(owed.currency, paid.currency) as currency,
        coalesce(owed.month, paid.month) as month,
        coalesce(owed.owed_amount, 0) as owed_amount,
        coalesce(paid.paid_amount, 0) as paid_amount
    from owed
    full outer join paid
        on owed.partner_id = paid.partner_id
        and owed.currency = paid.currency
        and owed.month = paid.month

)

select compared.*
from compared
where abs(compared.owed_amount - compared.paid_amount) > 0.01

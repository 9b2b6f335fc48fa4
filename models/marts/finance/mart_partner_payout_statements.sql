{#
    One payout statement per partner, month and currency: what the partner is paid for the month, by line type,
    including adjustments for earlier, locked months that were booked into this one. A partner manager sends this,
    with the lines and their touch trail from mart_partner_payout_statement_lines.
#}
with

payouts as (

    select * from {{ ref('fct_partner_payouts') }}

),

partners as (

    select * from {{ ref('dim_partners') }}

),

totals as (

    select
        payouts.partner_id,
        payouts.period_month,
        payouts.currency,
        min(payouts.status) as status,
        min(payouts.locks_on) as locks_on,
        min(payouts.paid_on) as paid_on,
        min(payouts.status_as_of) as status_as_of,
        sum(case when payouts.line_type = 'revenue_share' then payouts.amount else 0 end) as revenue_share_amount,
        sum(case when payouts.line_type = 'referral_commission' then payouts.amount else 0 end)
            as referral_commission_amount,
        sum(case when payouts.line_type = 'tier_adjustment' then payouts.amount else 0 end) as tier_adjustment_amount,
        sum(case when payouts.line_type = 'cap_adjustment' then payouts.amount else 0 end) as cap_adjustment_amount,
        sum(case when payouts.line_type = 'reversal' then payouts.amount else 0 end) as reversal_amount,
        sum(case when payouts.is_adjustment then payouts.amount else 0 end) as earlier_periods_adjustment_amount,
        sum(payouts.amount) as payable_amount,
        sum(payouts.amount_reporting) as payable_amount_reporting,
        count(*) as lines_count,
        count(distinct payouts.conversion_id) as conversions_count
    from payouts
    group by
        payouts.partner_id,
        payouts.period_month,
        payouts.currency

),

final as (

    select
        totals.partner_id || '|' || cast(totals.period_month as varchar) || '|' || totals.currency as statement_id,
        totals.partner_id,
        partners.partner_name,
        totals.period_month,
        totals.currency,
        cast(totals.status as varchar) as status,
        totals.locks_on,
        totals.paid_on,
        totals.status_as_of,
        cast(totals.revenue_share_amount as decimal(18, 2)) as revenue_share_amount,
        cast(totals.referral_commission_amount as decimal(18, 2)) as referral_commission_amount,
        cast(totals.tier_adjustment_amount as decimal(18, 2)) as tier_adjustment_amount,
        cast(totals.cap_adjustment_amount as decimal(18, 2)) as cap_adjustment_amount,
        cast(totals.reversal_amount as decimal(18, 2)) as reversal_amount,
        cast(totals.earlier_periods_adjustment_amount as decimal(18, 2)) as earlier_periods_adjustment_amount,
        cast(totals.payable_amount as decimal(18, 2)) as payable_amount,
        cast(totals.payable_amount_reporting as decimal(18, 2)) as payable_amount_reporting,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(totals.lines_count as integer) as lines_count,
        cast(totals.conversions_count as integer) as conversions_count
    from totals
    left join partners
        on totals.partner_id = partners.partner_id

)

select * from final

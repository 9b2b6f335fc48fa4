{#
    No month pays more than its cap: for every agreement and month (the month lines belong to, adjustments booked
    later included), the net total of the ledger's lines does not exceed the payout_cap of the version in force at
    the month's end (within a cent). Fails with one row per agreement and month over its cap.
#}
with

payouts as (

    select * from {{ ref('fct_partner_payouts') }}

),

agreements as (

    select * from {{ ref('int_agreements_ranged') }}

),

month_totals as (

    select
        payouts.agreement_id,
        payouts.original_period_month as month,
        sum(payouts.amount) as month_total
    from payouts
    group by
        payouts.agreement_id,
        payouts.original_period_month

),

month_caps as (

    select
        month_totals.agreement_id,
        month_totals.month,
        month_totals.month_total,
        agreements.payout_cap,
        row_number() over (
            partition by month_totals.agreement_id, month_totals.month
            order by agreements.valid_from desc, agreements.agreement_version desc
        ) as version_rank
    from month_totals
    inner join agreements
        on month_totals.agreement_id = agreements.agreement_id
        and agreements.valid_from <= {{ dbt.last_day('month_totals.month', 'month') }}
        and agreements.valid_to > month_totals.month

)

select month_caps.*
from month_caps
where month_caps.version_rank = 1
    and month_caps.payout_cap is not null
    and month_caps.month_total > month_caps.payout_cap + 0.01

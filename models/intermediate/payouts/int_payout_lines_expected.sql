{#
    Everything the payout rules say SHOULD have been booked given today's data, one row per basis (what a payout
    line is about: a conversion's revenue share or referral commission, a refund's reversal, a month's tier or cap
    adjustment). The lines a run books are the differences between this and the ledger (fct_payout_lines_proposed).
#}
with

commissions as (

    select * from {{ ref('int_payout_commissions_computed') }}

),

period_adjustments as (

    select * from {{ ref('int_payout_period_adjustments_computed') }}

),

final as (

    select * from commissions
    union all
    select * from period_adjustments

)

select * from final

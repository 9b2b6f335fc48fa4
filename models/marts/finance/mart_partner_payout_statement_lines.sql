{#
    The lines of every payout statement with the touch trail behind each attributed line: one row per payout line
    and partner touch that earned it (touches with zero credit under the line's model are left out). The trail of a line is the partner's touches credited, under the line's
    attribution model, on the conversion the line pays for:
      revenue_share        the conversion itself;
      referral_commission  the customer's first conversion (the referral that opened the commission window);
      reversal             the same trail as the line it reverses (the refunded conversion, or its customer's first);
      tier/cap adjustments no touch (period-level lines; touch columns are null).
#}
with

payouts as (

    select * from {{ ref('fct_partner_payouts') }}

),

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

-- only the credits a payout line can point at: the partner's touches, under a model its agreements pay on
payout_models as (

    select distinct
        payouts.partner_id,
        payouts.attribution_model
    from payouts

),

credits_paid_on as (

    select
        credits.conversion_id,
        credits.partner_id,
        credits.attribution_model,
        credits.touchpoint_id,
        credits.credit,
        credits.attributed_revenue
    from credits
    inner join payout_models
        on credits.partner_id = payout_models.partner_id
        and credits.attribution_model = payout_models.attribution_model
    where credits.credit <> 0

),

first_conversions as (

    select
        conversions.customer_id,
        conversions.conversion_id as first_conversion_id
    from conversions
    where conversions.conversion_sequence = 1

),

trail_targets as (

    select
        payouts.*,
        case
            when payouts.line_type = 'revenue_share' then payouts.conversion_id
            when payouts.line_type = 'referral_commission' then first_conversions.first_conversion_id
            when payouts.line_type = 'reversal' and payouts.reversed_line_type = 'revenue_share'
                then payouts.refunded_conversion_id
            when payouts.line_type = 'reversal' and payouts.reversed_line_type = 'referral_commission'
                then first_conversions.first_conversion_id
        end as trail_conversion_id
    from payouts
    left join conversions as paid_conversions
        on coalesce(payouts.refunded_conversion_id, payouts.conversion_id) = paid_conversions.conversion_id
    left join first_conversions
        on paid_conversions.customer_id = first_conversions.customer_id

),

trails as (

    select
        trail_targets.*,
        credits_paid_on.touchpoint_id,
        credits_paid_on.credit as touch_credit,
        credits_paid_on.attributed_revenue as touch_attributed_revenue
    from trail_targets
    left join credits_paid_on
        on trail_targets.trail_conversion_id = credits_paid_on.conversion_id
        and trail_targets.partner_id = credits_paid_on.partner_id
        and trail_targets.attribution_model = credits_paid_on.attribution_model

),

final as (

    select
        trails.payout_line_id || '|' || coalesce(trails.touchpoint_id, '-') as statement_line_id,
        trails.partner_id || '|' || cast(trails.period_month as varchar) || '|' || trails.currency as statement_id,
        trails.payout_line_id,
        trails.partner_id,
        trails.period_month,
        trails.original_period_month,
        trails.is_adjustment,
        trails.line_type,
        trails.reversed_line_type,
        trails.agreement_id,
        trails.agreement_version,
        trails.conversion_id,
        trails.refunded_conversion_id,
        trails.basis_rate,
        trails.basis_amount,
        cast(trails.amount as decimal(18, 6)) as amount,
        trails.currency,
        trails.status,
        trails.attribution_model,
        trails.attribution_settings,
        trails.trail_conversion_id,
        trails.touchpoint_id,
        touchpoints.occurred_at as touch_occurred_at,
        touchpoints.campaign_id as touch_campaign_id,
        touchpoints.channel as touch_channel,
        touchpoints.touch_type,
        cast(trails.touch_credit as float8) as touch_credit,
        {{ decimal_from_double('trails.touch_attributed_revenue', 18, 6) }} as touch_attributed_revenue,
        trails.booked_in_run,
        trails.booked_at
    from trails
    left join touchpoints
        on trails.touchpoint_id = touchpoints.touchpoint_id

)

select * from final

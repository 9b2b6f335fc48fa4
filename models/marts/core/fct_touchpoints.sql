-- A table on PostgreSQL: row-level security (governance/shared_outputs.yml) applies to tables only.
{{ config(materialized=('table' if target.type == 'postgres' else 'view')) }}
with

touchpoints as (

    select * from {{ ref('int_touchpoints_resolved') }}

),

final as (

    select
        touchpoints.touchpoint_id,
        touchpoints.partner_id,
        touchpoints.campaign_id,
        touchpoints.customer_id,
        touchpoints.customer_key,
        touchpoints.account_domain,
        touchpoints.identifier_type,
        touchpoints.channel,
        touchpoints.channel_group,
        touchpoints.touch_type,
        touchpoints.funnel_stage,
        touchpoints.utm_source,
        touchpoints.utm_medium,
        touchpoints.utm_campaign,
        touchpoints.referral_code,
        touchpoints.touch_weight,
        touchpoints.is_customer_resolved,
        touchpoints.is_paid_channel,
        touchpoints.occurred_at,
        touchpoints.occurred_on
    from touchpoints

)

select * from final

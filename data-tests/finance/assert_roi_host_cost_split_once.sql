{#
    Cost sharing conserves the pool: for every campaign and month, the host costs set against its partners add up to
    the host's share of the joint cost exactly once (per attribution model), and host plus partners' shares never
    exceed the pool. Fails with one row per campaign, month and model that does not add up.
#}
with

roi as (

    select * from {{ ref('mart_partner_roi') }}

),

per_campaign as (

    select
        roi.campaign_id,
        roi.month,
        roi.attribution_model,
        max(roi.campaign_joint_cost) as campaign_joint_cost,
        max(roi.host_cost_share_rate) as host_cost_share_rate,
        sum(roi.host_cost) as host_cost,
        sum(roi.partner_cost) as partner_cost
    from roi
    where roi.campaign_id is not null
        and roi.campaign_joint_cost > 0
    group by
        roi.campaign_id,
        roi.month,
        roi.attribution_model

)

select per_campaign.*
from per_campaign
where
    -- in double: two decimals multiply within 18 digits, and a pool of billions at a six-digit rate would overflow
    abs(
        cast(per_campaign.host_cost as float8)
        - cast(per_campaign.campaign_joint_cost as float8) * cast(per_campaign.host_cost_share_rate as float8)
    ) > 0.01
    or per_campaign.host_cost + per_campaign.partner_cost > per_campaign.campaign_joint_cost + 0.01

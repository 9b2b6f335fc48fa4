{#
    Return on joint campaigns for the host, per partner, campaign, month and attribution model, in the reporting
    currency (conversions at the conversion date's rate, costs at the cost date's rate).

    attributed_* come from fct_attribution_credits (conversions dated in the month; refunds are never attributed, so
    attributed_conversions, the sum of credit, counts conversions); the cost is the host's share of
    the campaign's joint costs of the month, split equally among the campaign's participating partners
    (int_campaign_costs_shared documents the pooling and splitting). Then
      roi  = (attributed_gross_margin - host_cost) / host_cost
      roas = attributed_revenue / host_cost
      cost_per_attributed_conversion = host_cost / attributed_conversions
    When host_cost is zero or there is no cost at all (touches without a campaign, campaigns nobody reported costs
    for, costs fully carried by partners), cost_status = 'no_cost' and roi, roas and cost per conversion are null:
    never a division error and never a silent zero. Otherwise cost_status = 'costed'.
#}
with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

campaign_costs as (

    select * from {{ ref('int_campaign_costs_shared') }}

),

attributed as (

    select
        credits.partner_id,
        credits.campaign_id,
        {{ month_start('credits.converted_on') }} as month,
        credits.attribution_model,
        sum(credits.credit) as attributed_conversions,
        sum(credits.attributed_revenue) as attributed_revenue,
        sum(credits.attributed_gross_margin) as attributed_gross_margin
    from credits
    where credits.credit <> 0
    group by
        credits.partner_id,
        credits.campaign_id,
        {{ month_start('credits.converted_on') }},
        credits.attribution_model

),

attribution_models as (

    select distinct credits.attribution_model
    from credits

),

costs_per_model as (

    select
        campaign_costs.partner_id,
        campaign_costs.campaign_id,
        campaign_costs.cost_month as month,
        attribution_models.attribution_model,
        campaign_costs.campaign_joint_cost,
        campaign_costs.participants_count,
        campaign_costs.host_cost_share_rate,
        campaign_costs.partner_cost,
        campaign_costs.host_cost
    from campaign_costs
    cross join attribution_models

),

combined as (

    select
        coalesce(attributed.partner_id, costs_per_model.partner_id) as partner_id,
        coalesce(attributed.campaign_id, costs_per_model.campaign_id) as campaign_id,
        coalesce(attributed.month, costs_per_model.month) as month,
        coalesce(attributed.attribution_model, costs_per_model.attribution_model) as attribution_model,
        coalesce(attributed.attributed_conversions, 0) as attributed_conversions,
        coalesce(attributed.attributed_revenue, 0) as attributed_revenue,
        coalesce(attributed.attributed_gross_margin, 0) as attributed_gross_margin,
        coalesce(costs_per_model.campaign_joint_cost, 0) as campaign_joint_cost,
        costs_per_model.participants_count,
        costs_per_model.host_cost_share_rate,
        coalesce(costs_per_model.partner_cost, 0) as partner_cost,
        coalesce(costs_per_model.host_cost, 0) as host_cost
    from attributed
    full outer join costs_per_model
        on attributed.partner_id = costs_per_model.partner_id
        and attributed.campaign_id = costs_per_model.campaign_id
        and attributed.month = costs_per_model.month
        and attributed.attribution_model = costs_per_model.attribution_model

),

final as (

    select
        combined.partner_id || '|' || coalesce(combined.campaign_id, '-') || '|' || cast(combined.month as varchar)
        || '|' || combined.attribution_model as partner_roi_id,
        combined.partner_id,
        combined.campaign_id,
        combined.month,
        combined.attribution_model,
        cast(combined.attributed_conversions as float8) as attributed_conversions,
        {{ decimal_from_double('combined.attributed_revenue', 18, 4) }} as attributed_revenue,
        {{ decimal_from_double('combined.attributed_gross_margin', 18, 4) }} as attributed_gross_margin,
        cast(combined.campaign_joint_cost as decimal(18, 4)) as campaign_joint_cost,
        cast(combined.participants_count as integer) as campaign_participants_count,
        cast(combined.host_cost_share_rate as decimal(18, 6)) as host_cost_share_rate,
        cast(combined.partner_cost as decimal(18, 4)) as partner_cost,
        cast(combined.host_cost as decimal(18, 4)) as host_cost,
        cast(case when combined.host_cost > 0 then 'costed' else 'no_cost' end as varchar) as cost_status,
        cast(
            case
                when combined.host_cost > 0
                    then (combined.attributed_gross_margin - combined.host_cost) / combined.host_cost
            end as float8
        ) as roi,
        cast(
            case when combined.host_cost > 0 then combined.attributed_revenue / combined.host_cost end as float8
        ) as roas,
        {{ decimal_from_double(
            'case
                when combined.host_cost > 0 and combined.attributed_conversions > 0
                    then combined.host_cost / combined.attributed_conversions
            end',
            18, 4
        ) }} as cost_per_attributed_conversion,
        '{{ var("reporting_currency") }}' as reporting_currency
    from combined

)

select * from final

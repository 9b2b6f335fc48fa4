with

campaigns as (

    select * from {{ ref('stg_internal__campaigns') }}

),

campaign_partners as (

    select * from {{ ref('stg_internal__campaign_partners') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

participation as (

    select
        campaign_partners.campaign_id,
        count(*) as partners_count,
        sum(campaign_partners.cost_share_rate) as partner_cost_share_rate,
        min(case when campaign_partners.partner_role = 'lead' then campaign_partners.partner_id end) as lead_partner_id
    from campaign_partners
    group by campaign_partners.campaign_id

),

final as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_type,
        campaigns.start_date,
        campaigns.end_date,
        campaigns.currency,
        cast(campaigns.budget as decimal(18, 4)) as budget,
        {{ decimal_from_double('campaigns.budget * exchange_rates.rate_to_reporting', 18, 4) }} as budget_reporting,
        cast(coalesce(participation.partners_count, 0) as integer) as partners_count,
        participation.lead_partner_id,
        {{ decimal_from_double(
            '1 - coalesce(participation.partner_cost_share_rate, 0)',
            18, 6
        ) }} as host_cost_share_rate
    from campaigns
    left join participation
        on campaigns.campaign_id = participation.campaign_id
    left join exchange_rates
        on campaigns.currency = exchange_rates.currency
        and campaigns.start_date >= exchange_rates.valid_from
        and campaigns.start_date < exchange_rates.valid_to

)

select * from final

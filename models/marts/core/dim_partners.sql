with

partners as (

    select * from {{ ref('stg_internal__partners') }}

),

agreements as (

    select * from {{ ref('stg_internal__agreements') }}

),

campaign_partners as (

    select * from {{ ref('stg_internal__campaign_partners') }}

),

current_agreements as (

    select
        agreements.*,
        row_number() over (
            partition by agreements.partner_id
            order by agreements.effective_from desc, agreements.agreement_version desc
        ) as recency_rank
    from agreements
    where agreements.effective_from <= current_date

),

campaign_counts as (

    select
        campaign_partners.partner_id,
        count(*) as campaigns_count
    from campaign_partners
    group by campaign_partners.partner_id

),

final as (

    select
        partners.partner_id,
        partners.partner_name,
        partners.partner_type,
        partners.partner_tier,
        partners.country_code,
        partners.joined_on,
        current_agreements.agreement_id as current_agreement_id,
        current_agreements.agreement_version as current_agreement_version,
        current_agreements.payout_attribution_model,
        current_agreements.currency as payout_currency,
        {{ decimal_from_double('current_agreements.revenue_share_rate', 18, 6) }} as revenue_share_rate,
        cast(coalesce(campaign_counts.campaigns_count, 0) as integer) as campaigns_count
    from partners
    left join current_agreements
        on partners.partner_id = current_agreements.partner_id
        and current_agreements.recency_rank = 1
    left join campaign_counts
        on partners.partner_id = campaign_counts.partner_id

)

select * from final

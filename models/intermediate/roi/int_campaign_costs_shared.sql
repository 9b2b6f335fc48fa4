{#
    Joint campaign costs after cost sharing, per campaign, participating partner and month, in the reporting
    currency (each cost converted at its cost date's rate).

    Pooling: every cost reported against a campaign in a month, by the host (internal feed) or by any partner, goes
    into one joint pool (campaign_joint_cost), whoever reported it and whichever partner the row names.
    Splitting: each participating partner carries its cost_share_rate of the pool (partner_cost); the host carries
    the rest, host_cost_share_rate = 1 - sum of the partners' shares (floored at 0). The host's part is split
    equally among the campaign's participants (its campaign_partners rows, plus any partner named on its cost rows),
    so that summing host_cost over a campaign's partners gives the host's share of the pool exactly once:
      host_cost = campaign_joint_cost x host_cost_share_rate / participants_count.
#}
with

costs as (

    select * from {{ ref('stg_partner_feeds__costs') }}

),

campaign_partners as (

    select * from {{ ref('stg_internal__campaign_partners') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

costs_converted as (

    select
        costs.campaign_id,
        costs.partner_id,
        {{ month_start('costs.cost_date') }} as cost_month,
        costs.reported_by,
        cast(costs.amount as float8) * exchange_rates.rate_to_reporting as amount_reporting
    from costs
    inner join exchange_rates
        on costs.currency = exchange_rates.currency
        and costs.cost_date >= exchange_rates.valid_from
        and costs.cost_date < exchange_rates.valid_to

),

campaign_pools as (

    select
        costs_converted.campaign_id,
        costs_converted.cost_month,
        sum(costs_converted.amount_reporting) as campaign_joint_cost,
        sum(case when costs_converted.reported_by = 'host' then costs_converted.amount_reporting else 0 end)
            as host_reported_cost
    from costs_converted
    group by
        costs_converted.campaign_id,
        costs_converted.cost_month

),

campaign_shares as (

    select
        campaign_partners.campaign_id,
        sum(campaign_partners.cost_share_rate) as partners_cost_share_rate
    from campaign_partners
    group by campaign_partners.campaign_id

),

participants as (

    select
        campaign_pools.campaign_id,
        campaign_pools.cost_month,
        campaign_partners.partner_id
    from campaign_pools
    inner join campaign_partners
        on campaign_pools.campaign_id = campaign_partners.campaign_id
    union
    select
        costs_converted.campaign_id,
        costs_converted.cost_month,
        costs_converted.partner_id
    from costs_converted

),

participant_counts as (

    select
        participants.campaign_id,
        participants.cost_month,
        count(*) as participants_count
    from participants
    group by
        participants.campaign_id,
        participants.cost_month

),

partner_reported as (

    select
        costs_converted.campaign_id,
        costs_converted.cost_month,
        costs_converted.partner_id,
        sum(costs_converted.amount_reporting) as partner_reported_cost
    from costs_converted
    where costs_converted.reported_by = 'partner'
    group by
        costs_converted.campaign_id,
        costs_converted.cost_month,
        costs_converted.partner_id

),

shared as (

    select
        participants.campaign_id,
        participants.partner_id,
        participants.cost_month,
        campaign_pools.campaign_joint_cost,
        campaign_pools.host_reported_cost,
        coalesce(partner_reported.partner_reported_cost, 0) as partner_reported_cost,
        participant_counts.participants_count,
        coalesce(campaign_partners.cost_share_rate, 0) as partner_cost_share_rate,
        case
            when coalesce(campaign_shares.partners_cost_share_rate, 0) >= 1 then 0
            else 1 - coalesce(campaign_shares.partners_cost_share_rate, 0)
        end as host_cost_share_rate
    from participants
    inner join campaign_pools
        on participants.campaign_id = campaign_pools.campaign_id
        and participants.cost_month = campaign_pools.cost_month
    inner join participant_counts
        on participants.campaign_id = participant_counts.campaign_id
        and participants.cost_month = participant_counts.cost_month
    left join partner_reported
        on participants.campaign_id = partner_reported.campaign_id
        and participants.cost_month = partner_reported.cost_month
        and participants.partner_id = partner_reported.partner_id
    left join campaign_partners
        on participants.campaign_id = campaign_partners.campaign_id
        and participants.partner_id = campaign_partners.partner_id
    left join campaign_shares
        on participants.campaign_id = campaign_shares.campaign_id

),

final as (

    select
        shared.campaign_id || '|' || shared.partner_id || '|' || cast(shared.cost_month as varchar)
            as campaign_partner_month_id,
        shared.campaign_id,
        shared.partner_id,
        shared.cost_month,
        {{ decimal_from_double('shared.campaign_joint_cost', 18, 4) }} as campaign_joint_cost,
        {{ decimal_from_double('shared.host_reported_cost', 18, 4) }} as host_reported_cost,
        {{ decimal_from_double('shared.partner_reported_cost', 18, 4) }} as partner_reported_cost,
        cast(shared.participants_count as integer) as participants_count,
        {{ decimal_from_double('shared.partner_cost_share_rate', 18, 6) }} as partner_cost_share_rate,
        {{ decimal_from_double('shared.host_cost_share_rate', 18, 6) }} as host_cost_share_rate,
        {{ decimal_from_double('cast(shared.partner_cost_share_rate as float8) * shared.campaign_joint_cost', 18, 4) }}
            as partner_cost,
        {{ decimal_from_double(
            'cast(shared.host_cost_share_rate as float8) * shared.campaign_joint_cost / shared.participants_count',
            18, 4
        ) }} as host_cost
    from shared

)

select * from final

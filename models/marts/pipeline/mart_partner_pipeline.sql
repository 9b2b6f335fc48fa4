{#
    Co-selling pipeline per partner and month, in the reporting currency. Involvement (sourced or influenced, never
    both for one opportunity and partner) comes from int_opportunity_partners_classified.

    Pipeline counts and amounts belong to the month the opportunity was created (amount at the creation date's
    rate); deals won or lost, bookings, win rates and times to close to the month it closed (bookings at the close
    date's rate). With closed = won + lost:
      win_rate                    = deals won / deals closed (null when none closed)
      avg_deal_size               = bookings / deals won (null when none won)
      avg_days_to_close_*         = mean days from creation to close of the deals WON in the month: with this
                                    partner involved, and (benchmark, the same for every partner) without any partner
      deal_velocity_per_day       = opportunities created x win_rate x avg_deal_size / avg_days_to_close_with_partner
                                    (the classic sales-velocity formula: expected bookings per day of this partner's
                                    new pipeline; null when any factor is missing)
#}
with

involvements as (

    select * from {{ ref('int_opportunity_partners_classified') }}

),

opportunities as (

    select * from {{ ref('stg_internal__opportunities') }}

),

created as (

    select
        involvements.partner_id,
        {{ month_start('involvements.created_at') }} as month,
        sum(case when involvements.involvement = 'sourced' then 1 else 0 end) as sourced_opportunities_created,
        sum(case when involvements.involvement = 'influenced' then 1 else 0 end) as influenced_opportunities_created,
        sum(case when involvements.involvement = 'sourced' then involvements.amount_reporting else 0 end)
            as sourced_pipeline_amount,
        sum(case when involvements.involvement = 'influenced' then involvements.amount_reporting else 0 end)
            as influenced_pipeline_amount
    from involvements
    group by
        involvements.partner_id,
        {{ month_start('involvements.created_at') }}

),

closed as (

    select
        involvements.partner_id,
        {{ month_start('involvements.closed_at') }} as month,
        sum(case when involvements.involvement = 'sourced' and involvements.is_won then 1 else 0 end)
            as sourced_deals_won,
        sum(case when involvements.involvement = 'influenced' and involvements.is_won then 1 else 0 end)
            as influenced_deals_won,
        sum(case when involvements.involvement = 'sourced' and not involvements.is_won then 1 else 0 end)
            as sourced_deals_lost,
        sum(case when involvements.involvement = 'influenced' and not involvements.is_won then 1 else 0 end)
            as influenced_deals_lost,
        sum(
            case
                when involvements.involvement = 'sourced' and involvements.is_won
                    then involvements.closed_amount_reporting
                else 0
            end
        ) as sourced_bookings_amount,
        sum(
            case
                when involvements.involvement = 'influenced' and involvements.is_won
                    then involvements.closed_amount_reporting
                else 0
            end
        ) as influenced_bookings_amount,
        avg(
            case
                when involvements.is_won
                    then {{ days_between('involvements.created_at', 'involvements.closed_at') }}
            end
        ) as avg_days_to_close_with_partner
    from involvements
    where involvements.is_closed
        and involvements.closed_at is not null
    group by
        involvements.partner_id,
        {{ month_start('involvements.closed_at') }}

),

involved_opportunities as (

    select distinct involvements.opportunity_id
    from involvements

),

without_partner as (

    select
        {{ month_start('opportunities.closed_at') }} as month,
        avg(
            case
                when opportunities.is_won
                    then {{ days_between('opportunities.created_at', 'opportunities.closed_at') }}
            end
        ) as avg_days_to_close_without_partner,
        sum(case when opportunities.is_won then 1 else 0 end) as deals_won,
        count(*) as deals_closed
    from opportunities
    left join involved_opportunities
        on opportunities.opportunity_id = involved_opportunities.opportunity_id
    where involved_opportunities.opportunity_id is null
        and opportunities.is_closed
        and opportunities.closed_at is not null
    group by {{ month_start('opportunities.closed_at') }}

),

combined as (

    select
        coalesce(created.partner_id, closed.partner_id) as partner_id,
        coalesce(created.month, closed.month) as month,
        coalesce(created.sourced_opportunities_created, 0) as sourced_opportunities_created,
        coalesce(created.influenced_opportunities_created, 0) as influenced_opportunities_created,
        coalesce(created.sourced_pipeline_amount, 0) as sourced_pipeline_amount,
        coalesce(created.influenced_pipeline_amount, 0) as influenced_pipeline_amount,
        coalesce(closed.sourced_deals_won, 0) as sourced_deals_won,
        coalesce(closed.influenced_deals_won, 0) as influenced_deals_won,
        coalesce(closed.sourced_deals_lost, 0) as sourced_deals_lost,
        coalesce(closed.influenced_deals_lost, 0) as influenced_deals_lost,
        coalesce(closed.sourced_bookings_amount, 0) as sourced_bookings_amount,
        coalesce(closed.influenced_bookings_amount, 0) as influenced_bookings_amount,
        closed.avg_days_to_close_with_partner
    from created
    full outer join closed
        on created.partner_id = closed.partner_id
        and created.month = closed.month

),

measured as (

    select
        combined.*,
        combined.sourced_opportunities_created + combined.influenced_opportunities_created as opportunities_created,
        combined.sourced_deals_won + combined.influenced_deals_won as deals_won,
        combined.sourced_deals_won + combined.influenced_deals_won
        + combined.sourced_deals_lost + combined.influenced_deals_lost as deals_closed,
        combined.sourced_bookings_amount + combined.influenced_bookings_amount as bookings_amount
    from combined

),

rated as (

    select
        measured.*,
        case
            when measured.sourced_deals_won + measured.sourced_deals_lost > 0
                then 1.0 * measured.sourced_deals_won / (measured.sourced_deals_won + measured.sourced_deals_lost)
        end as sourced_win_rate,
        case
            when measured.influenced_deals_won + measured.influenced_deals_lost > 0
                then 1.0 * measured.influenced_deals_won
                    / (measured.influenced_deals_won + measured.influenced_deals_lost)
        end as influenced_win_rate,
        case when measured.deals_closed > 0 then 1.0 * measured.deals_won / measured.deals_closed end as win_rate,
        case when measured.deals_won > 0 then measured.bookings_amount / measured.deals_won end as avg_deal_size
    from measured

),

final as (

    select
        rated.partner_id || '|' || cast(rated.month as varchar) as partner_pipeline_id,
        rated.partner_id,
        rated.month,
        cast(rated.sourced_opportunities_created as integer) as sourced_opportunities_created,
        cast(rated.influenced_opportunities_created as integer) as influenced_opportunities_created,
        cast(rated.sourced_pipeline_amount as decimal(18, 4)) as sourced_pipeline_amount,
        cast(rated.influenced_pipeline_amount as decimal(18, 4)) as influenced_pipeline_amount,
        cast(rated.sourced_deals_won as integer) as sourced_deals_won,
        cast(rated.influenced_deals_won as integer) as influenced_deals_won,
        cast(rated.sourced_deals_lost as integer) as sourced_deals_lost,
        cast(rated.influenced_deals_lost as integer) as influenced_deals_lost,
        cast(rated.sourced_bookings_amount as decimal(18, 4)) as sourced_bookings_amount,
        cast(rated.influenced_bookings_amount as decimal(18, 4)) as influenced_bookings_amount,
        cast(rated.sourced_win_rate as float8) as sourced_win_rate,
        cast(rated.influenced_win_rate as float8) as influenced_win_rate,
        cast(rated.win_rate as float8) as win_rate,
        {{ decimal_from_double('rated.avg_deal_size', 18, 4) }} as avg_deal_size,
        cast(rated.avg_days_to_close_with_partner as float8) as avg_days_to_close_with_partner,
        cast(without_partner.avg_days_to_close_without_partner as float8) as avg_days_to_close_without_partner,
        cast(
            case
                when without_partner.deals_closed > 0
                    then 1.0 * without_partner.deals_won / without_partner.deals_closed
            end as float8
        ) as win_rate_without_partner,
        {{ decimal_from_double(
            'case
                when rated.avg_days_to_close_with_partner > 0
                    then rated.opportunities_created * rated.win_rate * rated.avg_deal_size
                        / rated.avg_days_to_close_with_partner
            end',
            18, 4
        ) }} as deal_velocity_per_day,
        '{{ var("reporting_currency") }}' as reporting_currency
    from rated
    left join without_partner
        on rated.month = without_partner.month

)

select * from final

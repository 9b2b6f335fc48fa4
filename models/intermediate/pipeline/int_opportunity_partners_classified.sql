{#
    Each partner's involvement in each B2B opportunity, one row per opportunity and involved partner, mutually
    exclusive:
      sourced     the partner holds an approved deal registration that was valid when the opportunity was created
                  (registration_status = 'approved' and registered_at <= created_at < registration_expires_at);
      influenced  otherwise, the partner touched the account (a touch whose account_domain is the opportunity's)
                  between the opportunity's creation and its close, both included (until the as-of date while open).
    A partner neither sourced nor influenced is not involved and has no row. Amounts are in the reporting currency:
    pipeline at the creation date's rate, bookings at the close date's rate.
#}
with

opportunities as (

    select * from {{ ref('stg_internal__opportunities') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_resolved') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

opportunities_converted as (

    select
        opportunities.*,
        coalesce(
            opportunities.closed_at,
            cast({{ dbt.dateadd('day', 1, payout_as_of_date()) }} as timestamp)
        ) as influence_window_end,
        cast(opportunities.amount as float8) * created_rates.rate_to_reporting as amount_reporting,
        cast(opportunities.amount as float8) * closed_rates.rate_to_reporting as closed_amount_reporting
    from opportunities
    left join exchange_rates as created_rates
        on opportunities.currency = created_rates.currency
        and cast(opportunities.created_at as date) >= created_rates.valid_from
        and cast(opportunities.created_at as date) < created_rates.valid_to
    left join exchange_rates as closed_rates
        on opportunities.currency = closed_rates.currency
        and cast(opportunities.closed_at as date) >= closed_rates.valid_from
        and cast(opportunities.closed_at as date) < closed_rates.valid_to

),

sourced as (

    select
        opportunities_converted.opportunity_id,
        opportunities_converted.registering_partner_id as partner_id
    from opportunities_converted
    where opportunities_converted.registering_partner_id is not null
        and opportunities_converted.registration_status = 'approved'
        and opportunities_converted.registered_at <= opportunities_converted.created_at
        and opportunities_converted.created_at < opportunities_converted.registration_expires_at

),

account_touches as (

    select
        opportunities_converted.opportunity_id,
        touchpoints.partner_id,
        count(*) as touches_count,
        min(touchpoints.occurred_at) as first_touch_at
    from opportunities_converted
    inner join touchpoints
        on opportunities_converted.account_domain = touchpoints.account_domain
        and touchpoints.occurred_at >= opportunities_converted.created_at
        and touchpoints.occurred_at <= opportunities_converted.influence_window_end
    group by
        opportunities_converted.opportunity_id,
        touchpoints.partner_id

),

involvements as (

    select
        coalesce(sourced.opportunity_id, account_touches.opportunity_id) as opportunity_id,
        coalesce(sourced.partner_id, account_touches.partner_id) as partner_id,
        case when sourced.partner_id is not null then 'sourced' else 'influenced' end as involvement,
        coalesce(account_touches.touches_count, 0) as touches_count,
        account_touches.first_touch_at
    from sourced
    full outer join account_touches
        on sourced.opportunity_id = account_touches.opportunity_id
        and sourced.partner_id = account_touches.partner_id

),

final as (

    select
        involvements.opportunity_id || '|' || involvements.partner_id as opportunity_partner_id,
        involvements.opportunity_id,
        involvements.partner_id,
        cast(involvements.involvement as varchar) as involvement,
        cast(involvements.touches_count as integer) as touches_count,
        involvements.first_touch_at,
        opportunities_converted.stage,
        opportunities_converted.is_won,
        opportunities_converted.is_closed,
        opportunities_converted.currency,
        cast(opportunities_converted.amount as decimal(18, 4)) as amount,
        {{ decimal_from_double('opportunities_converted.amount_reporting', 18, 4) }} as amount_reporting,
        {{ decimal_from_double('opportunities_converted.closed_amount_reporting', 18, 4) }} as closed_amount_reporting,
        opportunities_converted.created_at,
        opportunities_converted.closed_at
    from involvements
    inner join opportunities_converted
        on involvements.opportunity_id = opportunities_converted.opportunity_id

)

select * from final

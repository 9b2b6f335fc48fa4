{#
    The lookback that applies to a partner's touches for conversions on a given day: the lookback_days of the
    partner's agreement version in force on that day ([effective_from, effective_to)), else the project default
    (var attribution_lookback_days). When several agreements of one partner are in force on the same day, the one
    that took effect last wins (ties: the higher version, then the higher agreement id).

    One row per partner and conversion day for partners with an agreement in force that day; partners without one
    simply use the default (the path model falls back to it).
#}
{%- set settings = attribution_settings() %}

with

conversions as (

    select * from {{ ref('int_conversions_converted') }}

),

agreements as (

    select * from {{ ref('stg_internal__agreements') }}

),

conversion_days as (

    select distinct conversions.converted_on
    from conversions
    where not conversions.is_refund

),

agreements_in_force as (

    select
        agreements.partner_id,
        conversion_days.converted_on,
        agreements.agreement_id,
        agreements.agreement_version,
        agreements.lookback_days,
        row_number() over (
            partition by agreements.partner_id, conversion_days.converted_on
            order by agreements.effective_from desc, agreements.agreement_version desc, agreements.agreement_id desc
        ) as force_rank
    from conversion_days
    inner join agreements
        on conversion_days.converted_on >= agreements.effective_from
        and (agreements.effective_to is null or conversion_days.converted_on < agreements.effective_to)

),

final as (

    select
        agreements_in_force.partner_id || '|' || cast(agreements_in_force.converted_on as varchar) as partner_day_id,
        agreements_in_force.partner_id,
        agreements_in_force.converted_on,
        agreements_in_force.agreement_id,
        agreements_in_force.agreement_version,
        cast(
            coalesce(agreements_in_force.lookback_days, {{ settings.lookback_days }}) as integer
        ) as lookback_days,
        case
            when agreements_in_force.lookback_days is not null then 'agreement' else 'default'
        end as lookback_source
    from agreements_in_force
    where agreements_in_force.force_rank = 1

)

select * from final

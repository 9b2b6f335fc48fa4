{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    Candidate (conversion, touch) pairs: each non-refund conversion with every touch of the same customer before it
    that could be on its path under the current settings or any point of the sensitivity grid, i.e. no older than
    the longest lookback in play (var attribution_lookback_days, the sensitivity lookbacks and the lookback_days of
    every agreement version, in force on a conversion day or not, so that a conversion's candidates do not depend
    on which other days have conversions).

    - "Before" is strictly before: a touch at the very instant of the conversion counts towards the next one.
    - With attribution_reset_after_conversion = true (the default) a touch belongs only to the conversion that
      follows it (touches before an earlier conversion of the customer do not count again); with false it may count
      for every later conversion of the customer inside the window.
    - is_in_window applies the current settings: the touch is at most lookback_days days (lookback_days x 24 h)
      before the conversion, where lookback_days is the partner's agreement lookback in force on the conversion date
      (int_attribution_partner_lookbacks) or else the project default.
    - revenue and gross_margin are the conversion's, in the reporting currency (int_conversions_converted), carried
      along so that credits turn into money without another join.
    - candidate_rank_from_end numbers a conversion's candidates from the most recent (1) backwards, by time and then
      touch id, so that any uniform lookback L selects a suffix of it (used by the sensitivity grid).

    Incremental (state_table, scope customer_key): the pairs of the customers whose touches or conversions changed
    tonight are formed again.
#}
{%- set settings = attribution_settings() %}

with

touches as (

    select * from {{ ref('int_attribution_touches_segmented') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

conversions as (

    select * from {{ ref('int_conversions_converted') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

partner_lookbacks as (

    select * from {{ ref('int_attribution_partner_lookbacks') }}

),

agreements as (

    select * from {{ ref('stg_internal__agreements') }}

),

attributable_conversions as (

    select
        conversions.conversion_id,
        conversions.customer_key,
        conversions.conversion_sequence,
        conversions.converted_at,
        conversions.converted_on,
        cast(conversions.revenue as float8) as revenue,
        cast(conversions.gross_margin as float8) as gross_margin
    from conversions
    where not conversions.is_refund

),

candidate_window as (

    select
        greatest(
            {{ settings.candidate_lookback_days }},
            coalesce(max(agreements.lookback_days), 0)
        ) as lookback_days
    from agreements

),

pairs as (

    select
        attributable_conversions.conversion_id,
        touches.touchpoint_id,
        touches.partner_id,
        touches.campaign_id,
        touches.customer_key,
        attributable_conversions.conversion_sequence,
        touches.occurred_at,
        attributable_conversions.converted_at,
        attributable_conversions.converted_on,
        attributable_conversions.revenue,
        attributable_conversions.gross_margin,
        {{ days_between('touches.occurred_at', 'attributable_conversions.converted_at') }} as age_days
    from touches
    inner join attributable_conversions
        on touches.customer_key = attributable_conversions.customer_key
        {%- if settings.reset_after_conversion %}
            and touches.next_conversion_sequence = attributable_conversions.conversion_sequence
        {%- else %}
        and touches.next_conversion_sequence <= attributable_conversions.conversion_sequence
        {%- endif %}
    cross join candidate_window
    where {{ days_between('touches.occurred_at', 'attributable_conversions.converted_at') }}
        <= candidate_window.lookback_days

),

windowed as (

    select
        pairs.*,
        cast(coalesce(partner_lookbacks.lookback_days, {{ settings.lookback_days }}) as integer) as lookback_days,
        coalesce(partner_lookbacks.lookback_source, 'default') as lookback_source,
        row_number() over (
            partition by pairs.conversion_id
            order by pairs.occurred_at desc, pairs.touchpoint_id desc
        ) as candidate_rank_from_end
    from pairs
    left join partner_lookbacks
        on pairs.partner_id = partner_lookbacks.partner_id
        and pairs.converted_on = partner_lookbacks.converted_on

),

final as (

    select
        windowed.conversion_id,
        windowed.touchpoint_id,
        windowed.partner_id,
        windowed.campaign_id,
        windowed.customer_key,
        windowed.conversion_sequence,
        windowed.occurred_at,
        windowed.converted_at,
        windowed.converted_on,
        windowed.revenue,
        windowed.gross_margin,
        cast(windowed.age_days as float8) as age_days,
        windowed.lookback_days,
        windowed.lookback_source,
        windowed.age_days <= windowed.lookback_days as is_in_window,
        cast(windowed.candidate_rank_from_end as integer) as candidate_rank_from_end
    from windowed

)

select * from final

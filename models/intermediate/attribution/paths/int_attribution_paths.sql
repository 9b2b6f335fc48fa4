{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    Conversion paths under the current settings: one row per (conversion, touch) on the path. A path is the customer's
    touches inside the window (int_attribution_touch_pairs.is_in_window), ordered by time with ties broken by touch
    id, keeping only the last var attribution_max_touches of them when that is set. All seven models credit exactly
    these rows.

    touch_position runs 1..path_length from the oldest touch; rank_from_end runs 1..path_length from the most recent.
    partner_touch_count is how many touches the same partner has on the path (Markov and Shapley credit a partner
    and split it equally among its touches); path_partner_count is the number of distinct partners on the path.

    Incremental (state_table, scope customer_key): the paths of the customers whose touches or conversions changed
    tonight are built again (customer_key is kept for that).
#}
{%- set settings = attribution_settings() %}

with

pairs as (

    select * from {{ ref('int_attribution_touch_pairs') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

touches_in_window as (

    select
        pairs.conversion_id,
        pairs.touchpoint_id,
        pairs.customer_key,
        pairs.partner_id,
        pairs.campaign_id,
        pairs.occurred_at,
        pairs.converted_at,
        pairs.converted_on,
        pairs.revenue,
        pairs.gross_margin,
        pairs.age_days,
        pairs.lookback_days,
        pairs.lookback_source,
        row_number() over (
            partition by pairs.conversion_id
            order by pairs.occurred_at desc, pairs.touchpoint_id desc
        ) as rank_from_end,
        count(*) over (partition by pairs.conversion_id) as touches_in_window
    from pairs
    where pairs.is_in_window

),

touches_kept as (

    select
        touches_in_window.*,
        {%- if settings.max_touches is none %}
            touches_in_window.touches_in_window as path_length
        {%- else %}
        least(touches_in_window.touches_in_window, {{ settings.max_touches }}) as path_length
        {%- endif %}
    from touches_in_window
    {%- if settings.max_touches is not none %}
    where touches_in_window.rank_from_end <= {{ settings.max_touches }}
    {%- endif %}

),

partner_touches as (

    select
        touches_kept.conversion_id,
        touches_kept.partner_id,
        count(*) as partner_touch_count
    from touches_kept
    group by
        touches_kept.conversion_id,
        touches_kept.partner_id

),

path_partners as (

    select
        partner_touches.conversion_id,
        count(*) as path_partner_count
    from partner_touches
    group by partner_touches.conversion_id

),

final as (

    select
        touches_kept.conversion_id,
        touches_kept.touchpoint_id,
        touches_kept.customer_key,
        touches_kept.partner_id,
        touches_kept.campaign_id,
        touches_kept.occurred_at,
        touches_kept.converted_at,
        touches_kept.converted_on,
        touches_kept.revenue,
        touches_kept.gross_margin,
        touches_kept.age_days,
        touches_kept.lookback_days,
        touches_kept.lookback_source,
        cast(touches_kept.path_length - touches_kept.rank_from_end + 1 as integer) as touch_position,
        cast(touches_kept.rank_from_end as integer) as rank_from_end,
        cast(touches_kept.path_length as integer) as path_length,
        cast(touches_kept.touches_in_window as integer) as touches_in_window,
        cast(partner_touches.partner_touch_count as integer) as partner_touch_count,
        cast(path_partners.path_partner_count as integer) as path_partner_count
    from touches_kept
    inner join partner_touches
        on touches_kept.conversion_id = partner_touches.conversion_id
        and touches_kept.partner_id = partner_touches.partner_id
    inner join path_partners
        on touches_kept.conversion_id = path_partners.conversion_id

)

select * from final

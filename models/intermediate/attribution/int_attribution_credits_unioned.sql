{{ config(materialized='view') }}
{#
    Who gets credit for each conversion, under all seven models side by side, on the same paths: one row per
    conversion, touch of its path and model (every touch of the path is listed under every model, with credit 0 where
    a model gives it none, e.g. the middle touches under first_touch). Credits of a conversion sum to 1 per model;
    attributed revenue and gross margin are the credit times the conversion's amounts in the reporting currency
    (var reporting_currency), so they sum back to the conversion's amounts. Conversions with no eligible touch are
    not here: they are reported as unattributed in mart_partner_attribution. Refunds are never attributed (payouts
    reverse them).

    A plain union, as a view, of the stored rule-based credits (int_attribution_credits_rule_based, incremental) and
    the int_attribution_credits_<model> views of the models fitted on all journeys (Markov, Shapley), which carry
    the path columns along: fct_attribution_credits publishes it, and the payout commissions read it here, so that
    no intermediate model depends on a mart. The Markov and Shapley credits of every conversion change whenever new
    journeys arrive, so they are computed from the paths when read rather than stored.
#}
{%- set settings = attribution_settings() %}

with

credits as (

    select * from {{ ref('int_attribution_credits_rule_based') }}
    {%- for model_name in attribution_model_names() if model_name not in attribution_path_only_model_names() %}
        union all
        select * from {{ ref('int_attribution_credits_' ~ model_name) }}
    {%- endfor %}

),

final as (

    select
        -- ids
        credits.conversion_id,
        credits.touchpoint_id,
        credits.attribution_model,
        credits.partner_id,
        credits.campaign_id,

        -- credit and money (reporting currency)
        credits.credit,
        credits.credit * credits.revenue as attributed_revenue,
        credits.credit * credits.gross_margin as attributed_gross_margin,

        -- the path
        cast(credits.touch_position as integer) as touch_position,
        cast(credits.path_length as integer) as path_length,
        cast(credits.partner_touch_count as integer) as partner_touch_count,

        -- the settings that produced the credit
        cast(credits.lookback_days as integer) as lookback_days,
        credits.lookback_source = 'agreement' as is_agreement_lookback,
        cast({{ settings.half_life_days }} as float8) as half_life_days,
        cast({{ settings.position_first_weight }} as float8) as position_first_weight,
        cast({{ settings.position_last_weight }} as float8) as position_last_weight,
        cast({{ 'null' if settings.max_touches is none else settings.max_touches }} as integer) as max_touches,
        {{ 'true' if settings.reset_after_conversion else 'false' }} as reset_after_conversion,

        -- timestamps
        credits.occurred_at as touch_occurred_at,
        credits.converted_at,
        credits.converted_on

    from credits

)

select * from final

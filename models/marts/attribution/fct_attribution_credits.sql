-- A table on PostgreSQL: row-level security (governance/shared_outputs.yml) applies to tables only.
{{ config(materialized=('table' if target.type == 'postgres' else 'view')) }}
{#
    Who gets credit for each conversion, under all seven models side by side, on the same paths: one row per
    conversion, touch of its path and model, with the credit, the attributed revenue and gross margin and the
    settings that produced them (int_attribution_credits_unioned, which states the rules), as the contract
    publishes it. A view: the rule-based credits are stored incrementally, the Markov and Shapley credits are
    computed from the paths and the night's removal effects and Shapley values when read.
#}
with

credits as (

    select * from {{ ref('int_attribution_credits_unioned') }}

),

final as (

    select
        credits.conversion_id,
        credits.touchpoint_id,
        credits.attribution_model,
        credits.partner_id,
        credits.campaign_id,
        credits.credit,
        credits.attributed_revenue,
        credits.attributed_gross_margin,
        credits.touch_position,
        credits.path_length,
        credits.partner_touch_count,
        credits.lookback_days,
        credits.is_agreement_lookback,
        credits.half_life_days,
        credits.position_first_weight,
        credits.position_last_weight,
        credits.max_touches,
        credits.reset_after_conversion,
        credits.touch_occurred_at,
        credits.converted_at,
        credits.converted_on
    from credits

)

select * from final

{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    The credits of the rule-based models (first_touch, last_touch, linear, time_decay, position_based: macro
    attribution_path_only_model_names), stored: one row per conversion, touch of its path and model, exactly the
    rows of their int_attribution_credits_<model> views. A conversion's rule-based credits depend on its path alone,
    so they are kept from night to night.

    Incremental (state_table, scope customer_key): the credits of the customers whose paths were built again are
    computed again; every other conversion keeps its stored credits.
#}
with

credits as (

    {%- for model_name in attribution_path_only_model_names() %}
        select * from {{ ref('int_attribution_credits_' ~ model_name) }}
        {%- if is_state_incremental() %}
        where customer_key in ({{ state_scope_keys() }})
        {%- endif %}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select * from credits

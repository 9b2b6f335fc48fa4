{#
    The columns of a path touch (int_attribution_paths) that every int_attribution_credits_<model> view passes
    through beside its credit, so that fct_attribution_credits is a plain union of the seven views, without joining
    millions of credit rows back to their paths. `relation` is the CTE or alias the columns are read from.
#}
{% macro attribution_path_columns(relation) -%}
    {%- set columns = [
        'conversion_id', 'touchpoint_id', 'customer_key', 'partner_id', 'campaign_id', 'touch_position', 'path_length',
        'partner_touch_count', 'lookback_days', 'lookback_source', 'occurred_at', 'converted_at', 'converted_on',
        'revenue', 'gross_margin'
    ] -%}
    {%- for column in columns %}
        {{ relation }}.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

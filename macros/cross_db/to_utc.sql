{#
    A timestamp with time zone as a plain timestamp in UTC: every `<event>_at` column after staging is UTC.
#}
{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc', 'partnerlens')(column)) }}
{%- endmacro %}

{% macro default__to_utc(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}

{% macro postgres__to_utc(column) -%}
    ({{ column }} at time zone 'UTC')
{%- endmacro %}

{% macro spark__to_utc(column) -%}
    to_utc_timestamp({{ column }}, current_timezone())
{%- endmacro %}

{#
    Fractional days from `start_at` to `end_at` (positive when end_at is later).
#}
{% macro days_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('days_between', 'partnerlens')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__days_between(start_at, end_at) -%}
    (epoch({{ end_at }}) - epoch({{ start_at }})) / 86400.0
{%- endmacro %}

{% macro postgres__days_between(start_at, end_at) -%}
    (extract(epoch from ({{ end_at }} - {{ start_at }})) / 86400.0)
{%- endmacro %}

{% macro spark__days_between(start_at, end_at) -%}
    ((unix_timestamp({{ end_at }}) - unix_timestamp({{ start_at }})) / 86400.0)
{%- endmacro %}

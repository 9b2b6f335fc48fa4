{#
    A timestamp or date shifted by a whole number of days (the number may be a column).
#}
{% macro add_days(value, days) -%}
    {{ return(adapter.dispatch('add_days', 'partnerlens')(value, days)) }}
{%- endmacro %}

{% macro default__add_days(value, days) -%}
    ({{ value }} + cast({{ days }} as integer) * interval 1 day)
{%- endmacro %}

{% macro postgres__add_days(value, days) -%}
    ({{ value }} + cast({{ days }} as integer) * interval '1 day')
{%- endmacro %}

{% macro spark__add_days(value, days) -%}
    ({{ value }} + make_interval(0, 0, 0, cast({{ days }} as int)))
{%- endmacro %}

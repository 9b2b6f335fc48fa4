{#
    First day of the month of a date or timestamp, as a date: the key of a payout period and of monthly marts.
#}
{% macro month_start(value) -%}
    cast({{ dbt.date_trunc('month', value) }} as date)
{%- endmacro %}

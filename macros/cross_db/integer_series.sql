{#
    A relation with one integer column `n` holding lower_bound, lower_bound + 1, ..., upper_bound (both inclusive).
    Use it in a from clause: `from ({{ integer_series(1, 1023) }}) as numbers`.
#}
{% macro integer_series(lower_bound, upper_bound) -%}
    {{ return(adapter.dispatch('integer_series', 'partnerlens')(lower_bound, upper_bound)) }}
{%- endmacro %}

{% macro default__integer_series(lower_bound, upper_bound) -%}
    select cast(range as bigint) as n from range({{ lower_bound }}, {{ upper_bound }} + 1)
{%- endmacro %}

{% macro postgres__integer_series(lower_bound, upper_bound) -%}
    select cast(n as bigint) as n from generate_series({{ lower_bound }}, {{ upper_bound }}) as series (n)
{%- endmacro %}

{% macro spark__integer_series(lower_bound, upper_bound) -%}
    select cast(n as bigint) as n from (select explode(sequence({{ lower_bound }}, {{ upper_bound }})) as n) as series
{%- endmacro %}

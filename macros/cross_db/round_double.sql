{#
    A double rounded to `places` decimals, as a double. PostgreSQL rounds only numerics: there the value goes through
    numeric and back.
#}
{% macro round_double(value, places) -%}
    {{ return(adapter.dispatch('round_double', 'partnerlens')(value, places)) }}
{%- endmacro %}

{% macro default__round_double(value, places) -%}
    round({{ value }}, {{ places }})
{%- endmacro %}

{% macro postgres__round_double(value, places) -%}
    cast(round(cast({{ value }} as numeric), {{ places }}) as float8)
{%- endmacro %}

{% macro spark__round_double(value, places) -%}
    round({{ value }}, {{ places }})
{%- endmacro %}

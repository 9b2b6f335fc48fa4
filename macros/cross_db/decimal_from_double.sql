{#
    A double as decimal(precision, scale), rounded the way DuckDB casts a double: the double times 10^scale, in
    double arithmetic, rounded to the nearest integer with halves away from zero. PostgreSQL's own float8 to numeric
    cast first prints the double to 15 significant digits, so a product such as 14850 x 0.006839 (the double
    101.55914999999999...) would become 101.5592 there and 101.5591 on DuckDB; through this macro both give 101.5591.
    Use it wherever the value being cast is a double on DuckDB (a product or quotient with a double, an avg); a
    decimal cast to another scale rounds alike on every engine and needs no macro.
#}
{% macro decimal_from_double(value, precision, scale) -%}
    {{ return(adapter.dispatch('decimal_from_double', 'partnerlens')(value, precision, scale)) }}
{%- endmacro %}

{% macro default__decimal_from_double(value, precision, scale) -%}
    cast({{ value }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro postgres__decimal_from_double(value, precision, scale) -%}
    {%- set scaled = '(cast(' ~ value ~ ' as float8) * cast(' ~ (10 ** scale) ~ ' as float8))' -%}
    cast(
        cast(
            case
                when abs({{ scaled }} - trunc({{ scaled }})) = 0.5 then trunc({{ scaled }}) + sign({{ scaled }})
                else round({{ scaled }})
            end as bigint
        ) * cast('1e-{{ scale }}' as numeric) as numeric({{ precision }}, {{ scale }})
    )
{%- endmacro %}

{% macro spark__decimal_from_double(value, precision, scale) -%}
    cast({{ value }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

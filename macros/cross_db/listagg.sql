{#
    dbt's listagg on Spark, overridden: dbt-spark ignores the order by clause, so the string would depend on the order in
    which a shuffle delivered the rows. Here the values are collected with their sort key as structs, sorted and
    joined, which gives the string DuckDB's and PostgreSQL's `string_agg(... order by ...)` give (one ascending key).
#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set key = order_by_clause | trim | replace('order by ', '') | replace('ORDER BY ', '') -%}
        array_join(
            transform(array_sort(collect_list(struct({{ key }} as k, {{ measure }} as v))), x -> x.v),
            {{ delimiter_text }}
        )
    {%- else -%}
        array_join(collect_list({{ measure }}), {{ delimiter_text }})
    {%- endif -%}
{%- endmacro %}

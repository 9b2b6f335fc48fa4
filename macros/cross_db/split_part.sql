{#
    dbt's split_part on PostgreSQL, overridden (dbt_project.yml dispatches the dbt namespace to this project first):
    dbt-postgres compares the part number with 0 in Jinja, so it only takes a literal, while the agreement tiers pass a
    column. PostgreSQL's own split_part takes any integer expression; a negative literal still counts from the end as
    in dbt. DuckDB keeps dbt's implementation; Spark uses this one (below).
#}
{% macro postgres__split_part(string_text, delimiter_text, part_number) -%}
    {%- if part_number is number and part_number < 0 -%}
        {{ dbt._split_part_negative(string_text, delimiter_text, part_number) }}
    {%- else -%}
        split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
    {%- endif -%}
{%- endmacro %}

{#
    Spark: dbt-spark's split_part also compares the part number in Jinja; Spark's own split_part (3.3+) takes any
    integer expression, as PostgreSQL's does, so the PostgreSQL version serves both.
#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    {{ postgres__split_part(string_text, delimiter_text, part_number) }}
{%- endmacro %}

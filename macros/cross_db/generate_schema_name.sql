{#
    Schema naming. Models land in the schema their folder names (staging, intermediate, reference) rather than
    dbt's default <target_schema>_<custom>, so that the warehouse reads the same on every engine. The marts folder is
    special: it is built into the candidate schema given by var('marts_schema'), which the orchestrator publishes
    into `marts` only after the quality gates pass (write-audit-publish).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ var('marts_schema', 'marts_candidate') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

{#
    Schema naming. Models land in the schema their folder names (staging, reference) rather than dbt's default
    <target_schema>_<custom>, so that the warehouse reads the same on every engine. The intermediate and marts folders
    are special: everything a night builds from its data goes into the candidate schema given by var('marts_schema'),
    which the orchestrator publishes into `marts` only after the quality gates pass (write-audit-publish), so that a
    published version keeps every table its marts read. (The rows of incremental models persist in the state schema,
    var('state_schema'); their views are in the candidate schema too: see the state_table materialization.)
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim in ('marts', 'intermediate') -%}
        {{ var('marts_schema', 'marts_candidate') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

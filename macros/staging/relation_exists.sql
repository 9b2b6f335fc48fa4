{#
    True when `relation` can be read in this invocation: a real table or view that exists in the warehouse, or the
    fixture a dbt unit test puts in its place (a CTE). Lets a model read a table that only appears later (the payout
    ledger, created by the first publish) while still declaring it as a source, so that the DAG shows the dependency.
#}
{% macro relation_exists(relation) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if relation.is_cte -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}

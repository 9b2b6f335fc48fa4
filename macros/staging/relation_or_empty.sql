{#
    A select of `columns` ((name, type) pairs), each cast to its type, from `relation` when it can be read in this
    invocation (relation_exists), else an empty relation with the same columns and types. Staging reads a table
    that only appears later through it (the payout ledger, created by the first publish; the ground truth, loaded
    only beside synthetic data), so the models above see the same typed columns either way.
#}
{% macro relation_or_empty(relation, columns) -%}
    {%- if relation_exists(relation) %}
    select
        {%- for name, data_type in columns %}
        cast({{ name }} as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {%- else %}
    select
        {%- for name, data_type in columns %}
        cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}

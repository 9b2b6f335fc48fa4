{#
    The payout ledger as it stood at the last publish: every line ever booked, read from `ledger.payout_lines`, which
    only the publish step appends to. Before the first publish the ledger does not exist yet and this is an empty
    relation with the ledger's columns and types (macro payout_line_columns).
#}
{{ config(materialized='view') }}

{%- set ledger = source('ledger', 'payout_lines') %}
{%- set columns = payout_line_columns() %}

with

{% if relation_exists(ledger) -%}

ledger as (

    select * from {{ ledger }}

),

final as (

    select
        {%- for name, data_type in columns %}
        cast(ledger.{{ name }} as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from ledger

)

{%- else -%}

final as (

    select
        {%- for name, data_type in columns %}
        cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0

)

{%- endif %}

select * from final

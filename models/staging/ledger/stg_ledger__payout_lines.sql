{#
    The payout ledger as it stood at the last publish: every line ever booked, read from `ledger.payout_lines`, which
    only the publish step appends to, with the ledger's columns and types (macro payout_line_columns). Before the
    first publish the ledger does not exist yet and this is an empty relation with the same columns.
#}
{%- set columns = payout_line_columns() %}

with

source as (

    {{ relation_or_empty(source('ledger', 'payout_lines'), columns) }}

),

renamed as (

    select
        {%- for name, data_type in columns %}
            {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from source

)

select * from renamed

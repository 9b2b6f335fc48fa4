{{ config(materialized='view') }}
{#
    Conversions in the reporting currency with their per-customer sequence (int_conversions_converted, which states
    the rules), as the contract publishes them.
#}
with

conversions as (

    select * from {{ ref('int_conversions_converted') }}

),

final as (

    select
        conversions.conversion_id,
        conversions.customer_id,
        conversions.customer_key,
        conversions.refunded_conversion_id,
        conversions.conversion_type,
        conversions.currency,
        conversions.revenue_local,
        conversions.gross_margin_local,
        conversions.exchange_rate,
        conversions.revenue,
        conversions.gross_margin,
        conversions.is_refund,
        conversions.is_customer_opted_out,
        conversions.conversion_sequence,
        conversions.converted_at,
        conversions.converted_on,
        conversions.customer_first_converted_at
    from conversions

)

select * from final

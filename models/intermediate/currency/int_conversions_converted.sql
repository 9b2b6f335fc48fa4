{{ config(materialized='state_table', scope='customer_id') }}
-- depends_on: {{ ref('stg_audit__build_loads') }}
{#
    Conversions in the reporting currency, converted at the rate in force on the conversion date. Non-refund
    conversions are numbered per customer (conversion_sequence) so that "first conversion" rules (referral windows)
    and path resets have a stable order: by time, ties by conversion_id.

    Incremental (state_table, scope customer_id): every conversion of a customer is computed again when tonight's
    loads hold a conversion of that customer (a late conversion renumbers the later ones) or a new version of the
    customer (the opt-out flag).
#}
with

{%- if is_state_incremental() %}

changed_customers as (

    select delivered.customer_id
    from {{ ref('stg_internal__conversions') }} as delivered
    where delivered.load_id in {{ new_load_ids('conversions') }}
    union
    select delivered.customer_id
    from {{ ref('stg_internal__customer_versions') }} as delivered
    where delivered.load_id in {{ new_load_ids('customers') }}

),
{%- endif %}

conversions as (

    select * from {{ ref('stg_internal__conversions') }}
    {%- if is_state_incremental() %}
    where customer_id in (select changed_customers.customer_id from changed_customers)
    {%- endif %}

),

customer_versions as (

    select * from {{ ref('stg_internal__customer_versions') }}
    {%- if is_state_incremental() %}
    where customer_id in (select changed_customers.customer_id from changed_customers)
    {%- endif %}

),

-- the current version of each customer: the last one loaded
customers as (

    select ranked.*
    from (
        select
            customer_versions.*,
            row_number() over (
                partition by customer_versions.customer_id
                order by
                    customer_versions.loaded_at desc,
                    customer_versions.source_file desc,
                    customer_versions.source_row_number desc
            ) as version_rank
        from customer_versions
    ) as ranked
    where ranked.version_rank = 1

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_ranged') }}

),

converted as (

    select
        conversions.*,
        exchange_rates.rate_to_reporting
    from conversions
    left join exchange_rates
        on conversions.currency = exchange_rates.currency
        and cast(conversions.converted_at as date) >= exchange_rates.valid_from
        and cast(conversions.converted_at as date) < exchange_rates.valid_to

),

sequenced as (

    select
        converted.*,
        case when not converted.is_refund then
                row_number() over (
                    partition by converted.customer_id, converted.is_refund
                    order by converted.converted_at, converted.conversion_id
                )
        end as conversion_sequence,
        min(case when not converted.is_refund then converted.converted_at end) over (
            partition by converted.customer_id
        ) as customer_first_converted_at
    from converted

),

final as (

    select
        sequenced.conversion_id,
        sequenced.customer_id,
        sequenced.customer_id as customer_key,
        sequenced.refunded_conversion_id,
        sequenced.conversion_type,
        sequenced.currency,
        cast(sequenced.revenue as decimal(18, 4)) as revenue_local,
        cast(sequenced.gross_margin as decimal(18, 4)) as gross_margin_local,
        cast(sequenced.rate_to_reporting as float8) as exchange_rate,
        {{ decimal_from_double('sequenced.revenue * sequenced.rate_to_reporting', 18, 4) }} as revenue,
        {{ decimal_from_double('sequenced.gross_margin * sequenced.rate_to_reporting', 18, 4) }} as gross_margin,
        sequenced.is_refund,
        coalesce(customers.is_opted_out, false) as is_customer_opted_out,
        cast(sequenced.conversion_sequence as integer) as conversion_sequence,
        sequenced.converted_at,
        cast(sequenced.converted_at as date) as converted_on,
        sequenced.customer_first_converted_at
    from sequenced
    left join customers
        on sequenced.customer_id = customers.customer_id

)

select * from final

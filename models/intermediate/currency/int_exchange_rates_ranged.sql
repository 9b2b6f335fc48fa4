{#
    Exchange rates into the reporting currency, as ranges: a rate applies to amounts dated in [valid_from, valid_to).
    The seed states every currency against USD; the rate into the reporting currency divides by the reporting
    currency's own USD rate of the same period.
#}
with

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

reporting_rates as (

    select
        currency_rates.valid_from,
        currency_rates.rate_to_usd
    from currency_rates
    where currency_rates.currency = '{{ var("reporting_currency") }}'

),

rates_ranged as (

    select
        currency_rates.currency,
        cast(currency_rates.valid_from as date) as valid_from,
        cast(
            coalesce(
                lead(currency_rates.valid_from) over (
                    partition by currency_rates.currency order by currency_rates.valid_from
                ),
                cast('9999-12-31' as date)
            ) as date
        ) as valid_to,
        cast(currency_rates.rate_to_usd as float8) / cast(reporting_rates.rate_to_usd as float8) as rate_to_reporting
    from currency_rates
    inner join reporting_rates
        on currency_rates.valid_from = reporting_rates.valid_from

),

final as (

    select
        currency || ':' || cast(valid_from as varchar) as exchange_rate_id,
        currency,
        valid_from,
        valid_to,
        rate_to_reporting
    from rates_ranged

)

select * from final

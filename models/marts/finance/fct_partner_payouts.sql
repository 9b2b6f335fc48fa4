{#
    The payout ledger as published: every line booked by earlier runs (ledger.payout_lines) plus the lines this run
    books (fct_payout_lines_proposed, appended to the ledger by the same publish that serves this table).

    Status is derived here, from the month a line is booked into and the run's as-of date (var payout_as_of_date,
    default today), so that ledger rows are never updated:
      pending  until the period locks,
      locked   from locks_on = last day of the month + var payout_lock_days,
      paid     from paid_on  = last day of the month + var payout_paid_days.
#}
{%- set as_of = payout_as_of_date() %}

with

booked as (

    select * from {{ ref('stg_ledger__payout_lines') }}

),

proposed as (

    select * from {{ ref('fct_payout_lines_proposed') }}

),

ledger_lines as (

    {%- set columns = payout_line_columns() %}

    select
        {% for name, data_type in columns -%}
            booked.{{ name }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from booked
    union all
    select
        {% for name, data_type in columns -%}
            proposed.{{ name }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from proposed

),

period_dates as (

    select
        periods.period_month,
        cast({{ dbt.dateadd(
            'day', var('payout_lock_days'), dbt.last_day('periods.period_month', 'month')
        ) }} as date) as locks_on,
        cast({{ dbt.dateadd(
            'day', var('payout_paid_days'), dbt.last_day('periods.period_month', 'month')
        ) }} as date) as paid_on
    from (select distinct ledger_lines.period_month from ledger_lines) as periods

),

dated as (

    select
        ledger_lines.*,
        period_dates.locks_on,
        period_dates.paid_on,
        {{ as_of }} as status_as_of
    from ledger_lines
    inner join period_dates
        on ledger_lines.period_month = period_dates.period_month

),

final as (

    select
        dated.payout_line_id,
        dated.basis_id,
        dated.partner_id,
        dated.agreement_id,
        dated.agreement_version,
        dated.conversion_id,
        dated.refunded_conversion_id,
        dated.line_type,
        dated.reversed_line_type,
        dated.period_month,
        dated.original_period_month,
        dated.is_adjustment,
        dated.basis_date,
        dated.basis_rate,
        dated.basis_amount,
        dated.amount,
        dated.currency,
        dated.exchange_rate,
        dated.amount_reporting,
        dated.reporting_currency,
        cast(
            case
                when dated.status_as_of >= dated.paid_on then 'paid'
                when dated.status_as_of >= dated.locks_on then 'locked'
                else 'pending'
            end as varchar
        ) as status,
        dated.locks_on,
        dated.paid_on,
        cast(dated.status_as_of as date) as status_as_of,
        dated.attribution_model,
        dated.attribution_lookback_days,
        dated.attribution_half_life_days,
        dated.attribution_position_first_weight,
        dated.attribution_position_last_weight,
        dated.attribution_settings,
        dated.as_of_date as booked_as_of_date,
        dated.booked_in_run,
        dated.booked_at
    from dated

)

select * from final

{#
    MetricFlow's time spine: one row per day from 2020-01-01 through 2035-12-31 (5,844 days), so that metrics can be
    grouped by metric_time at any grain from day to year. Widen the range here if the data reaches beyond it.
#}
with

days as (

    select {{ add_days("cast('2020-01-01' as date)", 'numbers.n') }} as date_day
    from ({{ integer_series(0, 5843) }}) as numbers

),

final as (

    select cast(days.date_day as date) as date_day
    from days

)

select * from final

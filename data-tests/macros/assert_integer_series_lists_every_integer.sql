{#
    integer_series: one row per integer from lower_bound to upper_bound, both included. Checked on 1..5 value by
    value, on the single value 0..0, and on 0..1023 (the coalition masks of ten partners) by count, sum
    (1023 x 1024 / 2 = 523776), minimum and maximum. Returns the cases that fail.
#}
with

series_one_to_five as (

    select series.n from ({{ integer_series(1, 5) }}) as series

),

expected_one_to_five as (

    select 1 as n
    union all
    select 2 as n
    union all
    select 3 as n
    union all
    select 4 as n
    union all
    select 5 as n

),

one_to_five_mismatches as (

    select
        'integer_series(1, 5): value '
        || cast(coalesce(series_one_to_five.n, expected_one_to_five.n) as {{ dbt.type_string() }})
        || case when series_one_to_five.n is null then ' missing' else ' unexpected' end as case_name
    from series_one_to_five
    full outer join expected_one_to_five
        on series_one_to_five.n = expected_one_to_five.n
    where series_one_to_five.n is null or expected_one_to_five.n is null

),

series_summaries as (

    select
        'integer_series(1, 5)' as case_name,
        count(*) as values_count,
        sum(series.n) as values_sum,
        min(series.n) as min_value,
        max(series.n) as max_value,
        5 as expected_count,
        15 as expected_sum,
        1 as expected_min,
        5 as expected_max
    from ({{ integer_series(1, 5) }}) as series
    union all
    select
        'integer_series(0, 0)' as case_name,
        count(*) as values_count,
        sum(series.n) as values_sum,
        min(series.n) as min_value,
        max(series.n) as max_value,
        1 as expected_count,
        0 as expected_sum,
        0 as expected_min,
        0 as expected_max
    from ({{ integer_series(0, 0) }}) as series
    union all
    select
        'integer_series(0, 1023)' as case_name,
        count(*) as values_count,
        sum(series.n) as values_sum,
        min(series.n) as min_value,
        max(series.n) as max_value,
        1024 as expected_count,
        523776 as expected_sum,
        0 as expected_min,
        1023 as expected_max
    from ({{ integer_series(0, 1023) }}) as series

),

summary_mismatches as (

    select series_summaries.case_name
    from series_summaries
    where series_summaries.values_count <> series_summaries.expected_count
        or series_summaries.values_sum <> series_summaries.expected_sum
        or series_summaries.min_value <> series_summaries.expected_min
        or series_summaries.max_value <> series_summaries.expected_max

),

final as (

    select one_to_five_mismatches.case_name from one_to_five_mismatches
    union all
    select summary_mismatches.case_name from summary_mismatches

)

select * from final

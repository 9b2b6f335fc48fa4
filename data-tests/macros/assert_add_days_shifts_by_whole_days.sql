{#
    add_days: a date or timestamp shifted by a whole number of days, forwards or back, the number given as a literal
    or a column. Returns the cases whose result differs from the hand-computed one.
#}
with

cases as (

    select
        'a date, a week on' as case_name,
        cast('2025-03-01' as date) as start_on,
        7 as shift_days,
        cast('2025-03-08' as date) as expected_on
    union all
    select
        'over 29 February of a leap year' as case_name,
        cast('2024-02-28' as date) as start_on,
        2 as shift_days,
        cast('2024-03-01' as date) as expected_on
    union all
    select
        'back, into the previous year' as case_name,
        cast('2025-01-02' as date) as start_on,
        -3 as shift_days,
        cast('2024-12-30' as date) as expected_on
    union all
    select
        'no shift' as case_name,
        cast('2025-06-15' as date) as start_on,
        0 as shift_days,
        cast('2025-06-15' as date) as expected_on
    union all
    select
        'the last day of the time spine' as case_name,
        cast('2020-01-01' as date) as start_on,
        5843 as shift_days,
        cast('2035-12-31' as date) as expected_on

),

shifted as (

    select
        cases.case_name,
        cases.expected_on,
        cast({{ add_days('cases.start_on', 'cases.shift_days') }} as date) as actual_on
    from cases

),

timestamp_shifted as (

    select
        'a timestamp keeps its time of day' as case_name,
        cast('2025-03-31 22:30:00' as timestamp) as expected_at,
        {{ add_days("cast('2025-03-30 22:30:00' as timestamp)", 1) }} as actual_at

),

final as (

    select
        shifted.case_name,
        cast(shifted.expected_on as {{ dbt.type_string() }}) as expected_value,
        cast(shifted.actual_on as {{ dbt.type_string() }}) as actual_value
    from shifted
    where shifted.actual_on is distinct from shifted.expected_on
    union all
    select
        timestamp_shifted.case_name,
        cast(timestamp_shifted.expected_at as {{ dbt.type_string() }}) as expected_value,
        cast(timestamp_shifted.actual_at as {{ dbt.type_string() }}) as actual_value
    from timestamp_shifted
    where timestamp_shifted.actual_at is distinct from timestamp_shifted.expected_at

)

select * from final

{#
    days_between: fractional days from the first timestamp to the second, negative when the second is earlier.
    Returns the cases whose result is more than 1e-9 days from the hand-computed one.
#}
with

cases as (

    select
        'a day and a half' as case_name,
        cast('2025-01-01 00:00:00' as timestamp) as start_at,
        cast('2025-01-02 12:00:00' as timestamp) as end_at,
        1.5 as expected_days
    union all
    select
        'backwards: negative' as case_name,
        cast('2025-01-02 12:00:00' as timestamp) as start_at,
        cast('2025-01-01 00:00:00' as timestamp) as end_at,
        -1.5 as expected_days
    union all
    select
        'six hours' as case_name,
        cast('2025-03-01 00:00:00' as timestamp) as start_at,
        cast('2025-03-01 06:00:00' as timestamp) as end_at,
        0.25 as expected_days
    union all
    select
        'across 29 February of a leap year' as case_name,
        cast('2024-02-28 00:00:00' as timestamp) as start_at,
        cast('2024-03-01 00:00:00' as timestamp) as end_at,
        2.0 as expected_days
    union all
    select
        'one second' as case_name,
        cast('2025-07-01 23:59:59' as timestamp) as start_at,
        cast('2025-07-02 00:00:00' as timestamp) as end_at,
        1.0 / 86400 as expected_days
    union all
    select
        'the same instant' as case_name,
        cast('2025-07-01 08:00:00' as timestamp) as start_at,
        cast('2025-07-01 08:00:00' as timestamp) as end_at,
        0.0 as expected_days

),

measured as (

    select
        cases.case_name,
        cases.expected_days,
        {{ days_between('cases.start_at', 'cases.end_at') }} as actual_days
    from cases

),

final as (

    select
        measured.case_name,
        measured.expected_days,
        measured.actual_days
    from measured
    where not coalesce(abs(measured.actual_days - measured.expected_days) < 1e-9, false)

)

select * from final

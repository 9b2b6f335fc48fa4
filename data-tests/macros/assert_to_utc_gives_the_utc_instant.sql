{#
    to_utc: a timestamp with time zone, written here with its UTC offset, becomes the plain timestamp of the same
    instant in UTC. Returns the cases whose result differs from the hand-computed one.
#}
with

cases as (

    select
        'two hours east of UTC' as case_name,
        cast('2025-03-14 23:30:00+02:00' as timestamp with time zone) as input_at,
        cast('2025-03-14 21:30:00' as timestamp) as expected_at
    union all
    select
        'five hours west of UTC, into the next day and year' as case_name,
        cast('2024-12-31 21:15:00-05:00' as timestamp with time zone) as input_at,
        cast('2025-01-01 02:15:00' as timestamp) as expected_at
    union all
    select
        'a half-hour offset' as case_name,
        cast('2025-06-01 12:00:00+05:30' as timestamp with time zone) as input_at,
        cast('2025-06-01 06:30:00' as timestamp) as expected_at
    union all
    select
        'already UTC' as case_name,
        cast('2025-06-01 12:00:00+00:00' as timestamp with time zone) as input_at,
        cast('2025-06-01 12:00:00' as timestamp) as expected_at
    union all
    select
        'null stays null' as case_name,
        cast(null as timestamp with time zone) as input_at,
        cast(null as timestamp) as expected_at

),

converted as (

    select
        cases.case_name,
        cases.expected_at,
        {{ to_utc('cases.input_at') }} as actual_at
    from cases

),

final as (

    select
        converted.case_name,
        converted.expected_at,
        converted.actual_at
    from converted
    where converted.actual_at is distinct from converted.expected_at

)

select * from final

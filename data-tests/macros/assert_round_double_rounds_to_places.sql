{#
    round_double: a double rounded to a number of decimals, still a double. 2/3 to 12 places is 0.666666666667;
    1 + 1e-14 to 12 places is exactly 1 (the noise the Spearman correlation is rounded against); -1.23456789 to 4
    places is -1.2346; a half rounds away from zero (2.5 to 0 places is 3). Returns the cases more than 1e-15 off.
#}
with

cases as (

    select
        '2/3 to 12 places' as case_name,
        cast(2 as float8) / 3 as input_value,
        {{ round_double('cast(2 as float8) / 3', 12) }} as actual_value,
        0.666666666667 as expected_value
    union all
    select
        '1 + 1e-14 to 12 places' as case_name,
        cast(1 as float8) + cast('1e-14' as float8) as input_value,
        {{ round_double("cast(1 as float8) + cast('1e-14' as float8)", 12) }} as actual_value,
        1.0 as expected_value
    union all
    select
        'negative, 4 places' as case_name,
        cast(-1.23456789 as float8) as input_value,
        {{ round_double('cast(-1.23456789 as float8)', 4) }} as actual_value,
        -1.2346 as expected_value
    union all
    select
        'a half to 0 places' as case_name,
        cast(2.5 as float8) as input_value,
        {{ round_double('cast(2.5 as float8)', 0) }} as actual_value,
        3.0 as expected_value

),

final as (

    select cases.case_name
    from cases
    where abs(cast(cases.actual_value as float8) - cast(cases.expected_value as float8)) > 1e-15
        or cases.actual_value is null

)

select * from final

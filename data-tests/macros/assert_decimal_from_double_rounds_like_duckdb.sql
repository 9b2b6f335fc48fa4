{#
    decimal_from_double: a double to a decimal as DuckDB casts it (the double times 10^scale, rounded half away
    from zero). 14850 x 0.006839 is the double 101.55914999999999..., so 101.5591 (a cast that prints the double to
    15 digits first reads 101.559150000000 and gives 101.5592); 0.03125 is exactly half-way at 4 places and rounds
    away from zero, to 0.0313 and -0.0313; 0.00015 is the double 0.000149999..., whose product with 10^4 is
    1.4999999999999998, so 0.0001; 2.5 at 0 places is 3; 1000000000.123456789 at 6 places keeps every digit,
    1000000000.123457. Returns the cases that differ.
#}
with

cases as (

    select
        'product below half-way' as case_name,
        {{ decimal_from_double('cast(14850 as float8) * cast(0.006839 as float8)', 18, 4) }} as actual_value,
        cast('101.5591' as decimal(18, 4)) as expected_value
    union all
    select
        'half-way, positive' as case_name,
        {{ decimal_from_double('cast(0.03125 as float8)', 18, 4) }} as actual_value,
        cast('0.0313' as decimal(18, 4)) as expected_value
    union all
    select
        'half-way, negative' as case_name,
        {{ decimal_from_double('cast(-0.03125 as float8)', 18, 4) }} as actual_value,
        cast('-0.0313' as decimal(18, 4)) as expected_value
    union all
    select
        'just below half-way' as case_name,
        {{ decimal_from_double('cast(0.00015 as float8)', 18, 4) }} as actual_value,
        cast('0.0001' as decimal(18, 4)) as expected_value
    union all
    select
        'no decimals' as case_name,
        {{ decimal_from_double('cast(2.5 as float8)', 18, 0) }} as actual_value,
        cast('3' as decimal(18, 4)) as expected_value
    union all
    select
        'sixteen digits' as case_name,
        {{ decimal_from_double("cast('1000000000.123456789' as float8)", 18, 6) }} as actual_value,
        cast('1000000000.123457' as decimal(18, 6)) as expected_value

),

final as (

    select cases.case_name
    from cases
    where cases.actual_value is null
        or cases.actual_value <> cases.expected_value

)

select * from final

{#
    dbt.split_part with the part number in a column, as the agreement tiers read them: the parts of '0:10|50000:12'
    split on '|' are '0:10', '50000:12' and, past the end, no part: '' on PostgreSQL, null on DuckDB (dbt-duckdb
    indexes string_split), which the agreement tiers treat alike. On PostgreSQL this goes through the project's
    postgres__split_part (dbt's own takes only a literal part number). Returns the cases that differ.
#}
with

positions as (

    select
        1 as part_position,
        '0:10' as expected_part
    union all
    select
        2 as part_position,
        '50000:12' as expected_part
    union all
    select
        3 as part_position,
        '' as expected_part

),

split as (

    select
        positions.part_position,
        positions.expected_part,
        {{ dbt.split_part("'0:10|50000:12'", "'|'", 'positions.part_position') }} as actual_part
    from positions

),

final as (

    select cast(split.part_position as {{ dbt.type_string() }}) as case_name
    from split
    where coalesce(split.actual_part, '') <> split.expected_part

)

select * from final

{{ config(materialized='view') }}
{#
    Last touch: the most recent touch before the conversion (touch_position = path_length) gets the whole
    conversion; every other touch of the path is listed with credit 0.
#}
with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

final as (

    select
        {{ attribution_path_columns('paths') }},
        'last_touch' as attribution_model,
        cast(
            {{ attribution_heuristic_credit('last_touch', 'paths.rank_from_end', 'paths.path_length') }} as float8
        ) as credit
    from paths

)

select * from final

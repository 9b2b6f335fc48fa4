{{ config(materialized='view') }}
{#
    First touch: the oldest touch of the path (touch_position 1) gets the whole conversion; every other touch of the
    path is listed with credit 0.
#}
with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

final as (

    select
        {{ attribution_path_columns('paths') }},
        'first_touch' as attribution_model,
        cast(
            {{ attribution_heuristic_credit('first_touch', 'paths.rank_from_end', 'paths.path_length') }} as float8
        ) as credit
    from paths

)

select * from final

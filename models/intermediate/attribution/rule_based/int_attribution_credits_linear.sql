{{ config(materialized='view') }}
{#
    Linear: every touch of the path gets 1 / path_length.
#}
with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

final as (

    select
        {{ attribution_path_columns('paths') }},
        'linear' as attribution_model,
        cast(
            {{ attribution_heuristic_credit('linear', 'paths.rank_from_end', 'paths.path_length') }} as float8
        ) as credit
    from paths

)

select * from final

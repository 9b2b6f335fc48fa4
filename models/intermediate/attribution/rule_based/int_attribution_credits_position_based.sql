{{ config(materialized='view') }}
{#
    Position based (U-shaped): one touch gets 100 %, two touches 50 % each; otherwise the first touch gets var
    attribution_position_first_weight (default 0.4), the last var attribution_position_last_weight (default 0.4) and
    the touches in between share the rest, 1 - first - last, equally.
#}
{%- set settings = attribution_settings() %}

with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

final as (

    select
        {{ attribution_path_columns('paths') }},
        'position_based' as attribution_model,
        cast(
            {{ attribution_heuristic_credit(
                'position_based', 'paths.rank_from_end', 'paths.path_length',
                first_weight=settings.position_first_weight, last_weight=settings.position_last_weight
            ) }} as float8
        ) as credit
    from paths

)

select * from final

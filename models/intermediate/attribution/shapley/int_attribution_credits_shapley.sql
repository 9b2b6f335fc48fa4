{{ config(materialized='view') }}
{#
    Shapley: each conversion is split among the distinct partners of its path by their Shapley shares for the path's
    partner set (int_attribution_shapley_values, which documents the characteristic function), and a partner's
    share is split equally among its touches on the path.
#}
with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

path_partner_sets as (

    select * from {{ ref('int_attribution_path_partner_sets') }}

),

shapley_values as (

    select * from {{ ref('int_attribution_shapley_values') }}

),

final as (

    select
        {{ attribution_path_columns('paths') }},
        'shapley' as attribution_model,
        cast(shapley_values.shapley_share / paths.partner_touch_count as float8) as credit
    from paths
    inner join path_partner_sets
        on paths.conversion_id = path_partner_sets.conversion_id
    inner join shapley_values
        on path_partner_sets.partner_set_fingerprint = shapley_values.partner_set_fingerprint
        and paths.partner_id = shapley_values.partner_id

)

select * from final

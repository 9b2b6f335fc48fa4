{{ config(materialized='view') }}
{#
    Markov: each conversion is split among the distinct partners on its path in proportion to their removal effects
    (int_attribution_markov_removal_effects), and a partner's part is split equally among its touches on the path:
        credit(touch of partner p) = RE(p) / sum of RE(q) over the distinct partners q of the path / touches of p.
    The sum over touches of RE(p) / partner_touch_count is exactly the sum over distinct partners. Should every
    partner of a path have a removal effect of 0 (not possible for a partner seen on a converting path, but guarded),
    the partners share equally.
#}
with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

removal_effects as (

    select * from {{ ref('int_attribution_markov_removal_effects') }}

),

touch_weights as (

    select
        paths.*,
        coalesce(removal_effects.removal_effect, 0) / paths.partner_touch_count as touch_weight
    from paths
    left join removal_effects
        on paths.partner_id = removal_effects.partner_id

),

path_weights as (

    select
        touch_weights.*,
        sum(touch_weights.touch_weight) over (partition by touch_weights.conversion_id) as path_weight
    from touch_weights

),

final as (

    select
        {{ attribution_path_columns('path_weights') }},
        'markov' as attribution_model,
        cast(
            case
                when path_weights.path_weight > 0 then path_weights.touch_weight / path_weights.path_weight
                else 1.0 / path_weights.path_partner_count / path_weights.partner_touch_count
            end as float8
        ) as credit
    from path_weights

)

select * from final

{{ config(materialized='view') }}
{#
    Time decay: a touch age_days before the conversion weighs 2^(-age_days / half_life) (var
    attribution_half_life_days, default 7); credits are the weights normalised to sum to 1 per conversion.

    The weights are computed relative to the path's most recent touch, 2^(-(age - min_age) / half_life), which
    changes nothing after normalisation but keeps the largest weight at 1, so no sum can underflow to zero however
    long the lookback or short the half-life.
#}
{%- set settings = attribution_settings() %}

with

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

weighted as (

    select
        paths.*,
        power(
            2.0,
            -(paths.age_days - min(paths.age_days) over (partition by paths.conversion_id))
            / {{ settings.half_life_days }}
        ) as decay_weight
    from paths

),

final as (

    select
        {{ attribution_path_columns('weighted') }},
        'time_decay' as attribution_model,
        cast(
            {{ attribution_heuristic_credit(
                'time_decay', 'weighted.rank_from_end', 'weighted.path_length',
                decay_weight='weighted.decay_weight',
                decay_total='sum(weighted.decay_weight) over (partition by weighted.conversion_id)'
            ) }} as float8
        ) as credit
    from weighted

)

select * from final

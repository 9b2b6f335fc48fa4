{#
    Conservation of credit and money, in one pass over fct_attribution_credits (the largest table of the build).
    For every conversion with a path and every one of the seven models:
      - the credits of its touches sum to exactly one conversion (within 1e-9), each credit in [0, 1];
      - the attributed revenue and gross margin sum to the conversion's revenue and gross margin (within 1e-9);
      - every touch of the path is credited once: as many rows as the path has touches, with positions summing to
        1 + 2 + ... + path_length (paths are unique per conversion and touch, tested on int_attribution_paths, so this
        is the key check of (conversion_id, touchpoint_id, attribution_model) without a costly distinct count);
      - the conversion exists in fct_conversions, and the model is one of the seven.
    And every conversion with a path is credited by all seven models. Returns the offending rows.
#}
{%- set model_names = attribution_model_names() %}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

path_partner_sets as (

    select * from {{ ref('int_attribution_path_partner_sets') }}

),

per_model as (

    select
        credits.conversion_id,
        credits.attribution_model,
        sum(credits.credit) as credit_sum,
        min(credits.credit) as credit_min,
        max(credits.credit) as credit_max,
        sum(credits.attributed_revenue) as attributed_revenue,
        sum(credits.attributed_gross_margin) as attributed_gross_margin,
        count(*) as credit_rows,
        min(credits.path_length) as path_length_min,
        max(credits.path_length) as path_length,
        sum(credits.touch_position) as position_sum
    from credits
    group by
        credits.conversion_id,
        credits.attribution_model

),

model_problems as (

    select
        per_model.conversion_id,
        per_model.attribution_model,
        case
            when conversions.conversion_id is null then 'conversion not in fct_conversions'
            when per_model.attribution_model not in (
                    '{{ model_names | join("', '") }}'
                ) then 'unknown model'
            when abs(per_model.credit_sum - 1) > 1e-9 then 'credits sum to ' || cast(per_model.credit_sum as varchar)
            when per_model.credit_min < 0 or per_model.credit_max > 1 + 1e-9 then 'a credit outside [0, 1]'
            when abs(per_model.attributed_revenue - cast(conversions.revenue as float8)) > 1e-9
                then 'attributed revenue differs from the conversion revenue'
            when abs(per_model.attributed_gross_margin - cast(conversions.gross_margin as float8)) > 1e-9
                then 'attributed gross margin differs from the conversion gross margin'
            when per_model.credit_rows <> per_model.path_length
                or per_model.path_length_min <> per_model.path_length
                or per_model.position_sum <> per_model.path_length * (per_model.path_length + 1) / 2
                then 'the credited touches are not the path, each once'
        end as problem
    from per_model
    left join conversions
        on per_model.conversion_id = conversions.conversion_id

),

models_per_conversion as (

    select
        per_model.conversion_id,
        count(*) as models
    from per_model
    group by per_model.conversion_id

),

coverage_problems as (

    select
        path_partner_sets.conversion_id,
        cast(null as varchar) as attribution_model,
        'credited by ' || cast(coalesce(models_per_conversion.models, 0) as varchar)
        || ' of {{ model_names | length }} models' as problem
    from path_partner_sets
    left join models_per_conversion
        on path_partner_sets.conversion_id = models_per_conversion.conversion_id
    where coalesce(models_per_conversion.models, 0) <> {{ model_names | length }}

)

select model_problems.*
from model_problems
where model_problems.problem is not null
union all
select * from coverage_problems

{#
    How well each attribution model recovers the true partner effects of the synthetic generator
    (stg_ground_truth__partner_effects), so the demo can say which model to trust on this data. Empty when there is
    no ground truth (real data).

    For each model, over every partner in the ground truth or credited by the model:
      model_share  = the partner's attributed conversions / all attributed conversions of the model
      true_share   = the partner's true incremental conversions / all (renormalised over the same partners)
    - spearman_rank_correlation: Pearson correlation of the two rankings (average ranks for ties), in [-1, 1];
    - share_mean_absolute_error: mean over partners of |model_share - true_share|;
    - share_total_variation: half the sum of |model_share - true_share|, in [0, 1]: the part of the credit the model
      puts on the wrong partners.
    model_rank orders models by rank correlation (higher first), then by total variation (lower first).
#}
with

partner_attribution as (

    select * from {{ ref('mart_partner_attribution') }}

),

ground_truth as (

    select * from {{ ref('stg_ground_truth__partner_effects') }}

),

attribution_models as (

    {%- for model_name in attribution_model_names() %}
        select '{{ model_name }}' as attribution_model
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

model_credits as (

    select
        partner_attribution.attribution_model,
        partner_attribution.partner_id,
        sum(partner_attribution.attributed_conversions) as attributed_conversions
    from partner_attribution
    where not partner_attribution.is_unattributed
    group by
        partner_attribution.attribution_model,
        partner_attribution.partner_id

),

scored_partners as (

    select ground_truth.partner_id from ground_truth
    union
    select model_credits.partner_id from model_credits
    where exists (select 1 from ground_truth)

),

comparisons as (

    select
        attribution_models.attribution_model,
        scored_partners.partner_id,
        coalesce(model_credits.attributed_conversions, 0) as attributed_conversions,
        coalesce(ground_truth.true_incremental_conversions, 0) as true_incremental_conversions
    from attribution_models
    cross join scored_partners
    left join model_credits
        on attribution_models.attribution_model = model_credits.attribution_model
        and scored_partners.partner_id = model_credits.partner_id
    left join ground_truth
        on scored_partners.partner_id = ground_truth.partner_id

),

shares as (

    select
        comparisons.*,
        comparisons.attributed_conversions
        / nullif(sum(comparisons.attributed_conversions) over (partition by comparisons.attribution_model), 0)
            as model_share,
        comparisons.true_incremental_conversions
        / nullif(
            sum(comparisons.true_incremental_conversions) over (partition by comparisons.attribution_model), 0
        ) as true_share
    from comparisons

),

ranked as (

    select
        shares.*,
        -- average rank of tied values: rank() is the lowest rank of the tie, the tie spans count(*) ranks
        rank() over (partition by shares.attribution_model order by shares.model_share)
        + (count(*) over (partition by shares.attribution_model, shares.model_share) - 1) / 2.0 as model_rank_value,
        rank() over (partition by shares.attribution_model order by shares.true_share)
        + (count(*) over (partition by shares.attribution_model, shares.true_share) - 1) / 2.0 as true_rank_value
    from shares

),

scores as (

    select
        ranked.attribution_model,
        count(*) as partners_scored,
        sum(ranked.attributed_conversions) as attributed_conversions,
        -- undefined (null) when either ranking is constant, e.g. a model that credits nobody; rounded to 12
        -- decimals so that a perfect ordering reads 1 rather than 1 plus floating-point noise
        case
            when var_pop(ranked.model_rank_value) > 0 and var_pop(ranked.true_rank_value) > 0
                then {{ round_double("corr(ranked.model_rank_value, ranked.true_rank_value)", 12) }}
        end as spearman_rank_correlation,
        avg(abs(coalesce(ranked.model_share, 0) - coalesce(ranked.true_share, 0))) as share_mean_absolute_error,
        sum(abs(coalesce(ranked.model_share, 0) - coalesce(ranked.true_share, 0))) / 2.0 as share_total_variation
    from ranked
    group by ranked.attribution_model

),

final as (

    select
        scores.attribution_model,
        cast(scores.partners_scored as integer) as partners_scored,
        cast(scores.attributed_conversions as float8) as attributed_conversions,
        cast(scores.spearman_rank_correlation as float8) as spearman_rank_correlation,
        cast(scores.share_mean_absolute_error as float8) as share_mean_absolute_error,
        cast(scores.share_total_variation as float8) as share_total_variation,
        cast(
            row_number() over (
                order by
                    coalesce(scores.spearman_rank_correlation, -2) desc,
                    scores.share_total_variation asc,
                    scores.attribution_model asc
            ) as integer
        ) as model_rank
    from scores

)

select * from final

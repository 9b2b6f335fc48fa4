{#
    No conversion is lost: for every day with non-refund conversions and every one of the seven models, the
    attributed conversions of all partners plus the unattributed row equal the day's non-refund conversions
    (within 1e-9), and likewise the revenue (within 1e-6: a day sums many amounts). A day or model missing from mart_partner_attribution fails too.
#}
with

conversions as (

    select * from {{ ref('fct_conversions') }}

),

partner_attribution as (

    select * from {{ ref('mart_partner_attribution') }}

),

attribution_models as (

    {%- for model_name in attribution_model_names() %}
        select '{{ model_name }}' as attribution_model
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

expected as (

    select
        conversions.converted_on,
        attribution_models.attribution_model,
        count(*) as conversions,
        sum(cast(conversions.revenue as float8)) as revenue
    from conversions
    cross join attribution_models
    where not conversions.is_refund
    group by
        conversions.converted_on,
        attribution_models.attribution_model

),

reported as (

    select
        partner_attribution.converted_on,
        partner_attribution.attribution_model,
        sum(partner_attribution.attributed_conversions) as conversions,
        sum(partner_attribution.attributed_revenue) as revenue
    from partner_attribution
    group by
        partner_attribution.converted_on,
        partner_attribution.attribution_model

)

select
    coalesce(expected.converted_on, reported.converted_on) as converted_on,
    coalesce(expected.attribution_model, reported.attribution_model) as attribution_model,
    expected.conversions as expected_conversions,
    reported.conversions as reported_conversions,
    expected.revenue as expected_revenue,
    reported.revenue as reported_revenue
from expected
full outer join reported
    on expected.converted_on = reported.converted_on
    and expected.attribution_model = reported.attribution_model
where expected.conversions is null
    or reported.conversions is null
    or abs(expected.conversions - reported.conversions) > 1e-9
    or abs(expected.revenue - reported.revenue) > 1e-6

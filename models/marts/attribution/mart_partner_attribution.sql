{#
    Attributed conversions, revenue and gross margin per partner, conversion day and model, with the conversions
    nobody gets credit for kept beside them: for every day and model there is one row with partner_id
    '__unattributed__' (is_unattributed = true) holding the non-refund conversions of that day that had no eligible
    touch. So for every day and model, the sum of attributed_conversions over all rows, the unattributed row included,
    equals the day's non-refund conversions (conversions_on_day), and likewise for revenue.
#}
{%- set unattributed = '__unattributed__' %}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

attributable_conversions as (

    select
        conversions.conversion_id,
        conversions.converted_on,
        conversions.revenue,
        conversions.gross_margin
    from conversions
    where not conversions.is_refund

),

attribution_models as (

    {%- for model_name in attribution_model_names() %}
        select '{{ model_name }}' as attribution_model
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

daily_totals as (

    select
        attributable_conversions.converted_on,
        count(*) as conversions_on_day,
        sum(attributable_conversions.revenue) as revenue_on_day
    from attributable_conversions
    group by attributable_conversions.converted_on

),

credited_conversions as (

    select distinct credits.conversion_id
    from credits

),

unattributed_conversions as (

    select attributable_conversions.*
    from attributable_conversions
    left join credited_conversions
        on attributable_conversions.conversion_id = credited_conversions.conversion_id
    where credited_conversions.conversion_id is null

),

partner_days as (

    select
        credits.converted_on,
        credits.attribution_model,
        credits.partner_id,
        false as is_unattributed,
        sum(credits.credit) as attributed_conversions,
        sum(credits.attributed_revenue) as attributed_revenue,
        sum(credits.attributed_gross_margin) as attributed_gross_margin,
        count(case when credits.credit > 0 then 1 end) as credited_touches,
        count(distinct case when credits.credit > 0 then credits.conversion_id end) as credited_conversions
    from credits
    group by
        credits.converted_on,
        credits.attribution_model,
        credits.partner_id

),

unattributed_days as (

    select
        unattributed_conversions.converted_on,
        attribution_models.attribution_model,
        '{{ unattributed }}' as partner_id,
        true as is_unattributed,
        cast(count(*) as float8) as attributed_conversions,
        sum(cast(unattributed_conversions.revenue as float8)) as attributed_revenue,
        sum(cast(unattributed_conversions.gross_margin as float8)) as attributed_gross_margin,
        0 as credited_touches,
        0 as credited_conversions
    from unattributed_conversions
    cross join attribution_models
    group by
        unattributed_conversions.converted_on,
        attribution_models.attribution_model

),

all_rows as (

    select * from partner_days
    union all
    select * from unattributed_days

),

final as (

    select
        all_rows.attribution_model || '|' || cast(all_rows.converted_on as varchar) || '|' || all_rows.partner_id
            as partner_attribution_id,
        all_rows.converted_on,
        all_rows.attribution_model,
        all_rows.partner_id,
        all_rows.is_unattributed,
        cast(all_rows.attributed_conversions as float8) as attributed_conversions,
        cast(all_rows.attributed_revenue as float8) as attributed_revenue,
        cast(all_rows.attributed_gross_margin as float8) as attributed_gross_margin,
        cast(all_rows.credited_touches as bigint) as credited_touches,
        cast(all_rows.credited_conversions as bigint) as credited_conversions,
        cast(daily_totals.conversions_on_day as bigint) as conversions_on_day,
        cast(daily_totals.revenue_on_day as float8) as revenue_on_day,
        '{{ var("reporting_currency") }}' as reporting_currency
    from all_rows
    inner join daily_totals
        on all_rows.converted_on = daily_totals.converted_on

)

select * from final

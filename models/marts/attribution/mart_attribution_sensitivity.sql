{#
    How much each partner's credit depends on the choice of model and settings, to settle disputes: one row per
    partner and scenario, with the partner's minimum, maximum and spread over all scenarios repeated on each row.

    Scenarios (varied_setting):
    - model: each of the seven models at the current settings (the totals of mart_partner_attribution, i.e. exactly
      what fct_attribution_credits holds; is_current_settings = true).
    - lookback_days: each lookback L of var attribution_sensitivity_lookback_days, applied to every partner alike
      (agreement lookbacks are set aside, so that all partners are compared on one window), under first_touch,
      last_touch, linear, time_decay and position_based, with the current cap, half-life and position weights.
    - half_life_days: each half-life of var attribution_sensitivity_half_life_days, time_decay on the current paths.
    - position_weights: each [first, last] pair of var attribution_sensitivity_position_weights, position_based on
      the current paths.
    Markov and Shapley appear at the current settings only: they are fitted on all journeys at once, so a grid point
    would mean another chain and another characteristic function per scenario.

    attributed_share is the partner's part of all conversions attributed in that scenario.
#}
{%- set settings = attribution_settings() %}
{%- set lookbacks = settings.sensitivity_lookback_days %}
{%- set half_lives = settings.sensitivity_half_life_days %}
{%- set positions = settings.sensitivity_position_weights %}
{%- set heuristics = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based'] %}
{%- set first_weight = settings.position_first_weight %}
{%- set last_weight = settings.position_last_weight %}
{%- set max_touches_sql = 'null' if settings.max_touches is none else settings.max_touches %}

with

partner_attribution as (

    select * from {{ ref('mart_partner_attribution') }}

),

pairs as (

    select * from {{ ref('int_attribution_touch_pairs') }}

),

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

-- lookback grid: a uniform lookback L keeps a suffix of each conversion's candidates (most recent first)
pairs_weighted as (

    select
        pairs.conversion_id,
        pairs.partner_id,
        pairs.age_days,
        pairs.candidate_rank_from_end,
        pairs.revenue,
        {%- if settings.max_touches is none %}
            true as is_within_cap,
        {%- else %}
        pairs.candidate_rank_from_end <= {{ settings.max_touches }} as is_within_cap,
        {%- endif %}
        power(
            2.0,
            -(pairs.age_days - min(pairs.age_days) over (partition by pairs.conversion_id))
            / {{ settings.half_life_days }}
        ) as decay_weight
    from pairs

),

lookback_paths as (

    select
        pairs_weighted.conversion_id,
        {%- for lookback in lookbacks %}
            sum(
                case when pairs_weighted.is_within_cap and pairs_weighted.age_days <= {{ lookback }} then 1 else 0 end
            ) as length_{{ loop.index }},
            sum(
                case
                    when pairs_weighted.is_within_cap and pairs_weighted.age_days <= {{ lookback }}
                        then pairs_weighted.decay_weight
                end
            ) as decay_total_{{ loop.index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from pairs_weighted
    group by pairs_weighted.conversion_id

),

lookback_partners as (

    select
        pairs_weighted.partner_id,
        {%- for lookback in lookbacks %}
            {%- set lookback_index = loop.index %}
            {%- for model_name in heuristics %}
                {%- set credit = attribution_heuristic_credit(
                    model_name,
                    'pairs_weighted.candidate_rank_from_end',
                    'lookback_paths.length_' ~ lookback_index,
                    'pairs_weighted.decay_weight',
                    'lookback_paths.decay_total_' ~ lookback_index,
                    first_weight,
                    last_weight
                ) %}
                {%- set is_last_column = loop.last and lookback_index == lookbacks | length %}
                sum(
                    case
                        when pairs_weighted.is_within_cap and pairs_weighted.age_days <= {{ lookback }}
                            then
                                {{ credit }}
                        else 0
                    end
                ) as conversions_{{ lookback_index }}_{{ model_name }},
                sum(
                    case
                        when pairs_weighted.is_within_cap and pairs_weighted.age_days <= {{ lookback }}
                            then
                                {{ credit }} * pairs_weighted.revenue
                        else 0
                    end
                ) as revenue_{{ lookback_index }}_{{ model_name }}{% if not is_last_column %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from pairs_weighted
    inner join lookback_paths
        on pairs_weighted.conversion_id = lookback_paths.conversion_id
    group by pairs_weighted.partner_id

),

-- half-life and position-weight grids on the current paths
paths_weighted as (

    select
        paths.conversion_id,
        paths.partner_id,
        paths.touch_position,
        paths.path_length,
        paths.revenue,
        {%- for half_life in half_lives %}
            power(
                2.0,
                -(paths.age_days - min(paths.age_days) over (partition by paths.conversion_id)) / {{ half_life }}
            ) as decay_weight_{{ loop.index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from paths

),

paths_credited as (

    select
        paths_weighted.partner_id,
        paths_weighted.revenue,
        {%- for half_life in half_lives %}
            paths_weighted.decay_weight_{{ loop.index }}
            / sum(paths_weighted.decay_weight_{{ loop.index }}) over (partition by paths_weighted.conversion_id)
                as half_life_credit_{{ loop.index }},
        {%- endfor %}
        {%- for pair in positions %}
        {{ attribution_heuristic_credit(
            'position_based',
            'paths_weighted.path_length - paths_weighted.touch_position + 1',
            'paths_weighted.path_length',
            none, none, pair[0], pair[1]
        ) }} as position_credit_{{ loop.index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from paths_weighted

),

grid_partners as (

    select
        paths_credited.partner_id,
        {%- for half_life in half_lives %}
            sum(paths_credited.half_life_credit_{{ loop.index }}) as half_life_conversions_{{ loop.index }},
            sum(paths_credited.half_life_credit_{{ loop.index }} * paths_credited.revenue)
                as half_life_revenue_{{ loop.index }},
        {%- endfor %}
        {%- for pair in positions %}
            sum(paths_credited.position_credit_{{ loop.index }}) as position_conversions_{{ loop.index }},
            sum(paths_credited.position_credit_{{ loop.index }} * paths_credited.revenue)
                as position_revenue_{{ loop.index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from paths_credited
    group by paths_credited.partner_id

),

model_partners as (

    select
        partner_attribution.partner_id,
        partner_attribution.attribution_model,
        sum(partner_attribution.attributed_conversions) as attributed_conversions,
        sum(partner_attribution.attributed_revenue) as attributed_revenue
    from partner_attribution
    where not partner_attribution.is_unattributed
    group by
        partner_attribution.partner_id,
        partner_attribution.attribution_model

),

all_partners as (

    select distinct pairs.partner_id
    from pairs

),

scenarios as (

    {%- for model_name in attribution_model_names() %}
        select
            all_partners.partner_id,
            'model:{{ model_name }}' as scenario_id,
            'model' as varied_setting,
            '{{ model_name }}' as attribution_model,
            cast(null as integer) as lookback_days,
            true as uses_agreement_lookbacks,
            {{ settings.half_life_days }} as half_life_days,
            {{ first_weight }} as position_first_weight,
            {{ last_weight }} as position_last_weight,
            true as is_current_settings,
            coalesce(model_partners.attributed_conversions, 0) as attributed_conversions,
            coalesce(model_partners.attributed_revenue, 0) as attributed_revenue
        from all_partners
        left join model_partners
            on all_partners.partner_id = model_partners.partner_id
            and model_partners.attribution_model = '{{ model_name }}'

        union all
    {%- endfor %}

    {%- for lookback in lookbacks %}
        {%- set lookback_index = loop.index %}
        {%- for model_name in heuristics %}
            select
                all_partners.partner_id,
                'lookback_days={{ lookback }}:{{ model_name }}' as scenario_id,
                'lookback_days' as varied_setting,
                '{{ model_name }}' as attribution_model,
                {{ lookback }} as lookback_days,
                false as uses_agreement_lookbacks,
                {{ settings.half_life_days }} as half_life_days,
                {{ first_weight }} as position_first_weight,
                {{ last_weight }} as position_last_weight,
                false as is_current_settings,
                coalesce(lookback_partners.conversions_{{ lookback_index }}_{{ model_name }}, 0)
                    as attributed_conversions,
                coalesce(lookback_partners.revenue_{{ lookback_index }}_{{ model_name }}, 0) as attributed_revenue
            from all_partners
            left join lookback_partners
                on all_partners.partner_id = lookback_partners.partner_id

            union all
        {%- endfor %}
    {%- endfor %}

    {%- for half_life in half_lives %}
        select
            all_partners.partner_id,
            'half_life_days={{ half_life }}:time_decay' as scenario_id,
            'half_life_days' as varied_setting,
            'time_decay' as attribution_model,
            cast(null as integer) as lookback_days,
            true as uses_agreement_lookbacks,
            {{ half_life }} as half_life_days,
            {{ first_weight }} as position_first_weight,
            {{ last_weight }} as position_last_weight,
            false as is_current_settings,
            coalesce(grid_partners.half_life_conversions_{{ loop.index }}, 0) as attributed_conversions,
            coalesce(grid_partners.half_life_revenue_{{ loop.index }}, 0) as attributed_revenue
        from all_partners
        left join grid_partners
            on all_partners.partner_id = grid_partners.partner_id

        union all
    {%- endfor %}

    {%- for pair in positions %}
        select
            all_partners.partner_id,
            'position_weights={{ pair[0] }}/{{ pair[1] }}:position_based' as scenario_id,
            'position_weights' as varied_setting,
            'position_based' as attribution_model,
            cast(null as integer) as lookback_days,
            true as uses_agreement_lookbacks,
            {{ settings.half_life_days }} as half_life_days,
            {{ pair[0] }} as position_first_weight,
            {{ pair[1] }} as position_last_weight,
            false as is_current_settings,
            coalesce(grid_partners.position_conversions_{{ loop.index }}, 0) as attributed_conversions,
            coalesce(grid_partners.position_revenue_{{ loop.index }}, 0) as attributed_revenue
        from all_partners
        left join grid_partners
            on all_partners.partner_id = grid_partners.partner_id
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

),

scenarios_shared as (

    select
        scenarios.*,
        scenarios.attributed_conversions
        / nullif(sum(scenarios.attributed_conversions) over (partition by scenarios.scenario_id), 0)
            as attributed_share
    from scenarios

),

final as (

    select
        scenarios_shared.partner_id || '|' || scenarios_shared.scenario_id as partner_scenario_id,
        scenarios_shared.partner_id,
        scenarios_shared.scenario_id,
        scenarios_shared.varied_setting,
        scenarios_shared.attribution_model,
        cast(scenarios_shared.lookback_days as integer) as lookback_days,
        scenarios_shared.uses_agreement_lookbacks,
        cast(scenarios_shared.half_life_days as float8) as half_life_days,
        cast(scenarios_shared.position_first_weight as float8) as position_first_weight,
        cast(scenarios_shared.position_last_weight as float8) as position_last_weight,
        cast({{ max_touches_sql }} as integer) as max_touches,
        scenarios_shared.is_current_settings,
        cast(scenarios_shared.attributed_conversions as float8) as attributed_conversions,
        cast(scenarios_shared.attributed_revenue as float8) as attributed_revenue,
        cast(coalesce(scenarios_shared.attributed_share, 0) as float8) as attributed_share,
        cast(
            min(scenarios_shared.attributed_conversions) over (partition by scenarios_shared.partner_id) as float8
        ) as min_attributed_conversions,
        cast(
            max(scenarios_shared.attributed_conversions) over (partition by scenarios_shared.partner_id) as float8
        ) as max_attributed_conversions,
        cast(
            max(scenarios_shared.attributed_conversions) over (partition by scenarios_shared.partner_id)
            - min(scenarios_shared.attributed_conversions) over (partition by scenarios_shared.partner_id)
            as float8
        ) as attributed_conversions_spread,
        cast(
            min(coalesce(scenarios_shared.attributed_share, 0)) over (partition by scenarios_shared.partner_id)
            as float8
        ) as min_attributed_share,
        cast(
            max(coalesce(scenarios_shared.attributed_share, 0)) over (partition by scenarios_shared.partner_id)
            as float8
        ) as max_attributed_share,
        cast(
            max(coalesce(scenarios_shared.attributed_share, 0)) over (partition by scenarios_shared.partner_id)
            - min(coalesce(scenarios_shared.attributed_share, 0)) over (partition by scenarios_shared.partner_id)
            as float8
        ) as attributed_share_spread
    from scenarios_shared

)

select * from final

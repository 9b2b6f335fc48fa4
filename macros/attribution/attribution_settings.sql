{#
    The attribution settings of this build, read from the vars in dbt_project.yml (override any of them with
    `--vars`), validated once so that a bad value fails the build with a clear message instead of producing odd credits.
    Returns a dict:
      lookback_days                 default lookback window in days (an agreement's lookback_days overrides it)
      half_life_days                time-decay half-life in days
      position_first_weight         position-based weight of the first touch
      position_last_weight          position-based weight of the last touch
      max_touches                   keep only the last N touches of a path, or none for all
      reset_after_conversion        true: a touch before an earlier conversion of the customer does not count
      shapley_max_exact_partners    Shapley values are exact for paths with at most this many distinct partners
      sensitivity_lookback_days     lookback grid of the sensitivity mart
      sensitivity_half_life_days    half-life grid of the sensitivity mart
      sensitivity_position_weights  [first, last] weight pairs of the sensitivity mart
      candidate_lookback_days       the longest lookback any setting or grid point needs (agreements aside)
#}
{% macro attribution_settings() -%}
    {%- set lookback = var('attribution_lookback_days', 30) -%}
    {%- set half_life = var('attribution_half_life_days', 7) -%}
    {%- set first_weight = var('attribution_position_first_weight', 0.4) -%}
    {%- set last_weight = var('attribution_position_last_weight', 0.4) -%}
    {%- set max_touches = var('attribution_max_touches', none) -%}
    {%- set reset = var('attribution_reset_after_conversion', true) -%}
    {%- set shapley_exact = var('attribution_shapley_max_exact_partners', 10) -%}
    {%- set grid_lookbacks = var('attribution_sensitivity_lookback_days', [7, 14, 30, 60, 90]) -%}
    {%- set grid_half_lives = var('attribution_sensitivity_half_life_days', [3, 7, 14, 28]) -%}
    {%- set grid_positions = var('attribution_sensitivity_position_weights', [[0.4, 0.4], [0.3, 0.3], [0.5, 0.3], [0.3, 0.5]]) -%}

    {%- if max_touches is string and max_touches | lower in ['', 'null', 'none', 'all'] -%}
        {%- set max_touches = none -%}
    {%- endif -%}
    {%- if reset is string -%}
        {%- set reset = reset | lower in ['true', '1', 'yes', 'y', 'on'] -%}
    {%- endif -%}

    {%- set problems = [] -%}
    {%- if lookback | int < 1 or lookback | float != lookback | int -%}
        {%- do problems.append('attribution_lookback_days must be a whole number of days >= 1, got ' ~ lookback) -%}
    {%- endif -%}
    {%- if half_life | float <= 0 -%}
        {%- do problems.append('attribution_half_life_days must be > 0, got ' ~ half_life) -%}
    {%- endif -%}
    {%- if first_weight | float < 0 or last_weight | float < 0 or (first_weight | float) + (last_weight | float) > 1.000000001 -%}
        {%- do problems.append(
            'attribution_position_first_weight and attribution_position_last_weight must be >= 0 and sum to at most 1, got '
            ~ first_weight ~ ' and ' ~ last_weight) -%}
    {%- endif -%}
    {%- if max_touches is not none and max_touches | int < 1 -%}
        {%- do problems.append('attribution_max_touches must be null (all touches) or a number >= 1, got ' ~ max_touches) -%}
    {%- endif -%}
    {%- if shapley_exact | int < 1 or shapley_exact | int > 20 -%}
        {%- do problems.append('attribution_shapley_max_exact_partners must be between 1 and 20, got ' ~ shapley_exact) -%}
    {%- endif -%}
    {%- for value in grid_lookbacks if value | int < 1 -%}
        {%- do problems.append('attribution_sensitivity_lookback_days values must be >= 1, got ' ~ value) -%}
    {%- endfor -%}
    {%- for value in grid_half_lives if value | float <= 0 -%}
        {%- do problems.append('attribution_sensitivity_half_life_days values must be > 0, got ' ~ value) -%}
    {%- endfor -%}
    {%- for pair in grid_positions if pair | length != 2 or (pair[0] | float) + (pair[1] | float) > 1.000000001 -%}
        {%- do problems.append('attribution_sensitivity_position_weights must be [first, last] pairs summing to at most 1, got ' ~ pair) -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error('Invalid attribution settings: ' ~ problems | join('; ')) }}
    {%- endif -%}

    {%- set lookbacks = [lookback | int] -%}
    {%- for value in grid_lookbacks -%}{%- do lookbacks.append(value | int) -%}{%- endfor -%}

    {{ return({
        'lookback_days': lookback | int,
        'half_life_days': half_life | float,
        'position_first_weight': first_weight | float,
        'position_last_weight': last_weight | float,
        'max_touches': none if max_touches is none else max_touches | int,
        'reset_after_conversion': reset,
        'shapley_max_exact_partners': shapley_exact | int,
        'sensitivity_lookback_days': grid_lookbacks | map('int') | list,
        'sensitivity_half_life_days': grid_half_lives | map('float') | list,
        'sensitivity_position_weights': grid_positions,
        'candidate_lookback_days': lookbacks | max,
    }) }}
{%- endmacro %}

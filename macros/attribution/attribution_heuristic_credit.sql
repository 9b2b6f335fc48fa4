{#
    The credit of one touch under a rule-based model, as a SQL expression, from its rank on the path counted from
    the most recent touch (1 = last touch) and the path length:
      first_touch     1 for the oldest touch (rank = length), else 0
      last_touch      1 for the most recent touch (rank = 1), else 0
      linear          1 / length
      time_decay      decay_weight / decay_total (the touch's 2^(-age / half-life) over the path's sum)
      position_based  1 for a single touch, 0.5 each for two; else first_weight for the oldest, last_weight for the
                      most recent, and (1 - first_weight - last_weight) / (length - 2) for each touch in between
    The int_attribution_credits_* models and the sensitivity mart use this one definition.
#}
{% macro attribution_heuristic_credit(
    model_name, rank_from_end, path_length, decay_weight=none, decay_total=none, first_weight=none, last_weight=none
) -%}
    {%- if model_name == 'first_touch' -%}
        case when {{ rank_from_end }} = {{ path_length }} then 1.0 else 0.0 end
    {%- elif model_name == 'last_touch' -%}
        case when {{ rank_from_end }} = 1 then 1.0 else 0.0 end
    {%- elif model_name == 'linear' -%}
        1.0 / {{ path_length }}
    {%- elif model_name == 'time_decay' -%}
        {{ decay_weight }} / {{ decay_total }}
    {%- elif model_name == 'position_based' -%}
        case
            when {{ path_length }} = 1 then 1.0
            when {{ path_length }} = 2 then 0.5
            when {{ rank_from_end }} = {{ path_length }} then {{ first_weight }}
            when {{ rank_from_end }} = 1 then {{ last_weight }}
            else (1.0 - {{ first_weight }} - {{ last_weight }}) / ({{ path_length }} - 2)
        end
    {%- else -%}
        {{ exceptions.raise_compiler_error('attribution_heuristic_credit: unknown model ' ~ model_name) }}
    {%- endif -%}
{%- endmacro %}

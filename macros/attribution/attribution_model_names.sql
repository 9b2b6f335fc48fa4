{#
    The attribution models Partnerlens computes, in display order. Each name has a model
    int_attribution_credits_<name> under models/intermediate/attribution; fct_attribution_credits unions them, so a new
    model is a new file plus its name here.
#}
{% macro attribution_model_names() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley']) }}
{%- endmacro %}

{#
    The models whose credits of a conversion depend on its path alone (the rule-based ones): a night stores them
    for the conversions whose paths changed (int_attribution_credits_rule_based, incremental). The others (Markov,
    Shapley) are fitted on all journeys, so their credits are computed from the paths on every read.
#}
{% macro attribution_path_only_model_names() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based']) }}
{%- endmacro %}

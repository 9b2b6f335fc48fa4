{#
    The attribution models Partnerlens computes, in display order. Each name has a model
    int_attribution_credits_<name> under models/intermediate/attribution; fct_attribution_credits unions them, so a new
    model is a new file plus its name here.
#}
{% macro attribution_model_names() -%}
    {{ return(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley']) }}
{%- endmacro %}

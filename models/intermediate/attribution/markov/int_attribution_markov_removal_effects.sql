{#
    Removal effect of each partner, solved exactly from the transition counts (int_attribution_markov_transitions)
    by the macro markov_removal_effects while dbt builds this model: the transition table has a few rows per
    partner, so dbt reads it, solves the chain in Jinja and writes the results as literals. Plain SQL on every engine.
    Before the transition table exists (dbt compile on an empty warehouse) the model is empty.
#}
{{ config(materialized='table') }}

{%- set transitions = ref('int_attribution_markov_transitions') -%}
{%- set effects = [] -%}
{%- if relation_exists(transitions) -%}
    {%- set rows = run_query('select from_state, to_state, transitions from ' ~ transitions) -%}
    {%- set effects = markov_removal_effects(rows.rows) -%}
{%- endif %}

with

removal_effects as (

    {% for effect in effects -%}
        select
            cast({{ sql_string(effect.partner_id) }} as varchar) as partner_id,
            cast('{{ effect.removal_effect }}' as float8) as removal_effect,
            cast('{{ effect.conversion_probability }}' as float8) as conversion_probability,
            cast('{{ effect.conversion_probability_without_partner }}' as float8)
                as conversion_probability_without_partner,
            cast({{ effect.transitions_from_partner }} as bigint) as transitions_from_partner
        {% if not loop.last %}union all
        {% endif -%}
    {%- else -%}
        select
            cast(null as varchar) as partner_id,
            cast(null as float8) as removal_effect,
            cast(null as float8) as conversion_probability,
            cast(null as float8) as conversion_probability_without_partner,
            cast(null as bigint) as transitions_from_partner
        where 1 = 0
    {%- endfor %}

)

select * from removal_effects

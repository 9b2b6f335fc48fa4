{#
    Helpers of the state_table materialization (state_table.sql) and of the models that use it.
#}

{% macro state_build_seq() -%}
    {#- The build this invocation writes: var build_seq (set by the orchestrator), 0 for a plain `dbt build`. -#}
    {{ return(var('build_seq', none) or 0) }}
{%- endmacro %}

{% macro state_relation(relation) -%}
    {#- The physical table behind a state model's view: same name, in schema var('state_schema'). -#}
    {{ return(api.Relation.create(
        database=relation.database,
        schema=var('state_schema', 'state_candidate'),
        identifier=relation.identifier,
        type='table'
    )) }}
{%- endmacro %}

{% macro state_retired_relation(relation) -%}
    {#- The rows of a state model that later builds replaced: <model>__retired beside the physical table. -#}
    {{ return(api.Relation.create(
        database=relation.database,
        schema=var('state_schema', 'state_candidate'),
        identifier=relation.identifier ~ '__retired',
        type='table'
    )) }}
{%- endmacro %}

{% macro is_state_incremental() -%}
    {#- True when the model being built is a state_table that already exists in this generation's state schema and
        the orchestrator asked for an incremental build (var build_seq set, no --full-refresh). -#}
    {%- if not execute or model.config.materialized != 'state_table' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if var('build_seq', none) is none or should_full_refresh() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set physical = state_relation(this) -%}
    {%- set found = adapter.get_relation(
        database=physical.database, schema=physical.schema, identifier=physical.identifier
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}

{% macro state_delta(relation) -%}
    {#- The rows a state model wrote in this build (with their _build_seq). -#}
    (select * from {{ state_relation(relation) }} where _build_seq = {{ state_build_seq() }})
{%- endmacro %}

{% macro state_removed(relation) -%}
    {#- The rows of a state model that this build retired (with _build_seq and _retired_seq). -#}
    (select * from {{ state_retired_relation(relation) }} where _retired_seq = {{ state_build_seq() }})
{%- endmacro %}

{% macro state_changed_keys(models, column) -%}
    {#- The values of `column` on every row that the state models `models` (upstream of the model being built) wrote
        or retired in this build: the keys whose rows changed tonight. -#}
    {%- for name in models %}
        {%- set upstream = this.incorporate(path={'identifier': name}) %}
        select {{ column }} from {{ state_delta(upstream) }} as written_{{ loop.index }}
        union
        select {{ column }} from {{ state_removed(upstream) }} as retired_{{ loop.index }}
        {%- if not loop.last %} union {% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro state_scope_keys() -%}
    {#- The keys (config scope) this incremental build recomputes because an upstream state model (config
        scope_from) changed rows of them; empty when the model has no scope_from. -#}
    {%- set upstream = config.get('scope_from') or [] -%}
    {%- if upstream -%}
        {{ state_changed_keys(upstream, config.get('scope')) }}
    {%- endif -%}
{%- endmacro %}

{% macro new_load_ids(feed) -%}
    {#- The loads of raw.<feed> this build sees for the first time (audit.build_loads, written by the orchestrator
        before dbt runs); every load in a full build. -#}
    (
        select build_loads.load_id
        from {{ ref('stg_audit__build_loads') }} as build_loads
        where build_loads.build_seq = {{ state_build_seq() }}
            and build_loads.feed = '{{ feed }}'
            and build_loads.is_new
    )
{%- endmacro %}

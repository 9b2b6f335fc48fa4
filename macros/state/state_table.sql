{#
    The state_table materialization: a model whose rows persist from night to night and are rebuilt only where this
    night's data changed them, with every published version of it still readable (write-audit-publish).

    Physical storage (schema var('state_schema'), one schema per generation of the state, see README "Incremental
    builds"):
      <model>            the current rows, each with _build_seq, the build that wrote it;
      <model>__retired   rows that a later build replaced or removed, with _build_seq and _retired_seq (the build
                         that retired them).
    What dbt and every reader see is a view of the same name in the night's candidate schema (var('marts_schema')):
    the rows of version N = var('build_seq'), i.e. rows written by build N or earlier and not retired by then:
        select <columns> from <model> where _build_seq <= N
        union all
        select <columns> from <model>__retired where _build_seq <= N and _retired_seq > N
    so a published version keeps showing exactly its rows while a later night writes into the same tables, and a
    failed night is undone by deleting its rows and reinstating what it retired (orchestration/warehouse/state.py).

    Modes:
    - full (no such table yet in this state schema, dbt --full-refresh, or no var build_seq: a plain `dbt build`):
      the model's SQL gives every row; the tables are created afresh.
    - incremental (is_state_incremental()): the model's SQL gives the rows of the keys this night recomputes. Config
      `scope` names the key column; the keys recomputed are those of the model's own rows plus, with `scope_from`
      (a list of state models that have the same column), the keys of every row those models wrote or retired in
      this build (state_scope_keys()). Every current row of those keys is retired and the model's rows are inserted,
      in one transaction, so a key whose rows disappear (a touch re-resolved to another customer) is handled too.
#}
{% materialization state_table, default %}

    {%- set build_seq = state_build_seq() -%}
    {%- set physical = state_relation(this) -%}
    {%- set retired = state_retired_relation(this) -%}
    {%- set batch = this.incorporate(path={'identifier': this.identifier ~ '__batch'}, type='table') -%}
    {%- set target_view = this.incorporate(type='view') -%}
    {%- set incremental = is_state_incremental() -%}
    {%- set scope_column = config.get('scope') -%}
    {%- if incremental and not scope_column -%}
        {{ exceptions.raise_compiler_error("state_table model " ~ this.identifier ~ " needs config scope (its key column)") }}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set existing_target = load_cached_relation(this) -%}
    {%- if existing_target is not none and existing_target.type != 'view' -%}
        {{ adapter.drop_relation(existing_target) }}
    {%- endif -%}
    {%- do adapter.create_schema(physical) -%}

    {%- if incremental %}
        {%- do drop_relation_if_exists(load_cached_relation(batch)) -%}
        {% call statement('state_batch') -%}
            {{ create_table_as(False, batch, sql) }}
        {%- endcall %}
        {%- set columns = adapter.get_columns_in_relation(batch) | map(attribute='quoted') | join(', ') -%}
        {%- set keys_sql = 'select ' ~ adapter.quote(scope_column) ~ ' from ' ~ batch -%}
        {%- set upstream_keys = state_scope_keys() -%}
        {%- if upstream_keys | trim -%}
            {%- set keys_sql = keys_sql ~ ' union ' ~ upstream_keys -%}
        {%- endif -%}
        {% call statement('state_retire') -%}
            insert into {{ retired }} ({{ columns }}, _build_seq, _retired_seq)
            select {{ columns }}, _build_seq, {{ build_seq }}
            from {{ physical }}
            where {{ adapter.quote(scope_column) }} in ({{ keys_sql }})
        {%- endcall %}
        {% call statement('state_delete') -%}
            delete from {{ physical }}
            where {{ adapter.quote(scope_column) }} in ({{ keys_sql }})
        {%- endcall %}
        {% call statement('main') -%}
            insert into {{ physical }} ({{ columns }}, _build_seq)
            select {{ columns }}, {{ build_seq }}
            from {{ batch }}
        {%- endcall %}
    {%- else %}
        {%- do drop_relation_if_exists(load_cached_relation(physical) or physical) -%}
        {%- do drop_relation_if_exists(load_cached_relation(retired) or retired) -%}
        {% call statement('main') -%}
            create table {{ physical }} as
            select model_rows.*, cast({{ build_seq }} as bigint) as _build_seq
            from (
                {{ sql }}
            ) as model_rows
        {%- endcall %}
        {% call statement('state_retired') -%}
            create table {{ retired }} as
            select current_rows.*, cast(null as bigint) as _retired_seq
            from {{ physical }} as current_rows
            where 1 = 0
        {%- endcall %}
        {%- set columns = adapter.get_columns_in_relation(physical)
            | rejectattr('name', 'equalto', '_build_seq') | map(attribute='quoted') | join(', ') -%}
    {%- endif %}

    {% call statement('state_view') -%}
        create or replace view {{ target_view }} as
        select {{ columns }} from {{ physical }} where _build_seq <= {{ build_seq }}
        union all
        select {{ columns }} from {{ retired }} where _build_seq <= {{ build_seq }} and _retired_seq > {{ build_seq }}
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {%- if incremental -%}
        {%- do adapter.drop_relation(batch) -%}
    {%- endif -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_view]}) }}

{% endmaterialization %}

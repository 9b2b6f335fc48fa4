"""The incremental state's bookkeeping on a real DuckDB file: what a night builds, and how a failed one is undone.

The state tables here are written by hand the way the state_table materialization writes them (a table with
_build_seq and its __retired table with _retired_seq), so that every expected row is worked out from the rows put in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import state
from orchestration.warehouse.audit import ensure_audit

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_audit(con)
    state.ensure_state_tables(con)
    yield con
    con.close()


def load(con: duckdb.DuckDBPyConnection, feed: str, load_id: str, status: str = "loaded") -> None:
    con.execute(
        "insert into audit.load_log values (?, 'r', ?, 'P001', ?, 'sha', 1, ?, 1, 1, 0, null, null, ?, ?)",
        [load_id, feed, f"P001/{feed}/{load_id}.csv", status, T0, T0],
    )


def publish(con: duckdb.DuckDBPyConnection, schema: str, minutes: int, outcome: str = "published") -> None:
    con.execute(f'create schema if not exists "{schema}"')
    con.execute(f'create table if not exists "{schema}".dim_partners as select 1 as x')
    con.execute(
        "insert into audit.publish_log values (?, 'r', 'publish', ?, null, '[\"dim_partners\"]', '{}', ?, '', ?)",
        [f"{schema}:{minutes}", schema, outcome, T0 + timedelta(minutes=minutes)],
    )


def plan_and_publish(con, run_id: str, minutes: int, **kwargs) -> state.BuildPlan:
    plan = state.plan_build(con, run_id, **kwargs)
    if plan.mode != state.SKIPPED:  # what the dbt build and the publish step do
        con.execute(f'create schema if not exists "{plan.state_schema}"')
        publish(con, plan.candidate_schema, minutes)
    return plan


RUN_1 = "11111111-0000-0000-0000-000000000000"
RUN_2 = "22222222-0000-0000-0000-000000000000"
RUN_3 = "33333333-0000-0000-0000-000000000000"
RUN_4 = "44444444-0000-0000-0000-000000000000"


def test_the_first_night_is_full_then_new_loads_are_incremental_and_no_new_load_is_skipped(con) -> None:
    load(con, "touchpoints", "t1")
    load(con, "conversions", "c1")
    first = plan_and_publish(con, RUN_1, 1)
    assert first.mode == state.FULL and "no published version" in first.reason
    assert first.state_schema == "state_1111111100000000"
    assert first.new_loads == {"touchpoints": {"t1"}, "conversions": {"c1"}}

    load(con, "touchpoints", "t2")
    load(con, "touchpoints", "t3", status="skipped_duplicate")  # a file seen before: no rows
    second = plan_and_publish(con, RUN_2, 2)
    assert second.mode == state.INCREMENTAL
    assert second.state_schema == first.state_schema and second.base.build_seq == first.build_seq
    assert second.new_loads == {"touchpoints": {"t2"}}
    assert con.execute(
        "select load_id, is_new from audit.build_loads where build_seq = ? order by load_id", [second.build_seq]
    ).fetchall() == [("c1", False), ("t1", False), ("t2", True)]

    third = state.plan_build(con, RUN_3)
    assert third.mode == state.SKIPPED and third.new_loads == {}
    assert third.describe().startswith("nothing new: build and publish skipped")
    assert con.execute("select count(*) from audit.build_loads where build_seq = ?", [third.build_seq]).fetchone() == (
        0,
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("full_refresh", "--full-refresh"),
        ("vars", "the dbt vars changed: attribution_lookback_days"),
        ("agreements", "new agreements were delivered"),
        ("dropped", "are no longer in raw (touchpoints)"),
        ("state_gone", "incremental state of"),
    ],
)
def test_what_makes_a_night_a_full_build(con, change: str, reason: str) -> None:
    load(con, "touchpoints", "t1")
    first = plan_and_publish(con, RUN_1, 1, dbt_vars={"payout_as_of_date": "2026-11-01"})
    kwargs: dict = {"dbt_vars": {"payout_as_of_date": "2026-11-02"}}  # the as-of date alone changes nothing
    assert state.plan_build(con, RUN_4, **kwargs).mode == state.SKIPPED
    if change == "full_refresh":
        kwargs["full_refresh"] = True
    elif change == "vars":
        kwargs["dbt_vars"] = {"attribution_lookback_days": 14}
    elif change == "agreements":
        load(con, "agreements", "a1")
    elif change == "dropped":
        con.execute("insert into audit.quarantine (load_id, feed, status) values ('t1', 'touchpoints', 'dropped')")
    elif change == "state_gone":
        con.execute(f'drop schema "{first.state_schema}"')
    plan = state.plan_build(con, RUN_2, **kwargs)
    assert plan.mode == state.FULL
    assert reason in plan.reason
    assert plan.state_schema == "state_2222222200000000"


def make_state_table(con, schema: str, rows: list[tuple[str, int, int]], retired: list[tuple[str, int, int, int]]):
    """A state table: (key, value, _build_seq) rows and (key, value, _build_seq, _retired_seq) retired rows."""
    con.execute(f'create schema if not exists "{schema}"')
    con.execute(f'create table "{schema}".model (k varchar, v integer, _build_seq bigint)')
    con.execute(
        f'create table "{schema}".model__retired (k varchar, v integer, _build_seq bigint, _retired_seq bigint)'
    )
    if rows:
        con.executemany(f'insert into "{schema}".model values (?, ?, ?)', rows)
    if retired:
        con.executemany(f'insert into "{schema}".model__retired values (?, ?, ?, ?)', retired)


def rows_of(con, schema: str) -> tuple[list, list]:
    return (
        con.execute(f'select * from "{schema}".model order by all').fetchall(),
        con.execute(f'select * from "{schema}".model__retired order by all').fetchall(),
    )


def record_build(con, seq: int, schema: str, candidate: str, mode: str = "incremental") -> None:
    con.execute(
        "insert into audit.builds values (?, 'r', ?, ?, null, ?, '', ?, 0, 0, ?)",
        [seq, candidate, schema, mode, json.dumps({}), T0],
    )


def test_rollback_undoes_the_builds_the_served_version_does_not_include(con) -> None:
    schema = "state_a"
    # build 1 wrote a=1, b=1; build 2 (served) replaced b; build 3 (failed) replaced a and added c
    make_state_table(
        con,
        schema,
        rows=[("b", 2, 2), ("a", 3, 3), ("c", 3, 3)],
        retired=[("b", 1, 1, 2), ("a", 1, 1, 3)],
    )
    for seq in (1, 2, 3):
        record_build(con, seq, schema, f"marts_build_{seq}")
    publish(con, "marts_build_1", 1)
    publish(con, "marts_build_2", 2)
    con.execute('create schema "marts_build_3"')  # built, never published

    assert state.rollback_state(con) == {schema: 2}
    assert rows_of(con, schema) == ([("a", 1, 1), ("b", 2, 2)], [("b", 1, 1, 2)])
    assert state.rollback_state(con) == {schema: 0}  # nothing left to undo


def test_rollback_after_a_restore_discards_the_versions_after_the_served_one(con) -> None:
    schema = "state_a"
    make_state_table(con, schema, rows=[("a", 1, 1), ("b", 2, 2)], retired=[])
    record_build(con, 1, schema, "marts_build_1")
    record_build(con, 2, schema, "marts_build_2")
    publish(con, "marts_build_1", 1)
    publish(con, "marts_build_2", 2)
    con.execute(
        "insert into audit.publish_log values ('x', null, 'restore', 'marts_build_1', 'marts_build_2', "
        "'[\"dim_partners\"]', '{}', 'restored', '', ?)",
        [T0 + timedelta(minutes=3)],
    )
    state.rollback_state(con)
    assert rows_of(con, schema) == ([("a", 1, 1)], [])
    schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert "marts_build_2" not in schemas and "marts_build_1" in schemas


def test_garbage_collection_keeps_what_kept_versions_can_see(con) -> None:
    # generation a: builds 1 (no longer kept: its schema was dropped) and 2; generation b: a failed full build
    make_state_table(con, "state_a", rows=[("a", 2, 2), ("b", 2, 2)], retired=[("a", 0, 0, 1), ("a", 1, 1, 2)])
    make_state_table(con, "state_b", rows=[("a", 3, 3)], retired=[])
    record_build(con, 1, "state_a", "marts_build_1", mode="full")
    record_build(con, 2, "state_a", "marts_build_2")
    record_build(con, 3, "state_b", "marts_build_3", mode="full")
    publish(con, "marts_build_1", 1)
    publish(con, "marts_build_2", 2)
    con.execute('drop schema "marts_build_1" cascade')

    assert state.collect_state_garbage(con) == ["state_b"]
    # build 2 is the oldest version kept: rows retired by build 2 or earlier are visible to no kept version
    assert rows_of(con, "state_a") == ([("a", 2, 2), ("b", 2, 2)], [])

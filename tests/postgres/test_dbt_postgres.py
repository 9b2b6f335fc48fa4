"""Engine parity on a real PostgreSQL 15 server: the macro tests, the loads, the whole nightly build, the marts.

The session's DuckDB nightly run (`built_warehouse`) loaded a generated landing folder and published its marts. The
same landing folder is loaded into a fresh PostgreSQL database by the PostgreSQL loader
(orchestration.feeds.postgres_loads), then `dbt build` runs on the `postgres` target with the same vars as that night
(run id, payout as-of date). What each engine loaded (raw tables, rejected rows, load log) and every mart the DuckDB
run publishes are compared: the same rows, keys and amounts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from partnerlens.compare import compare, published_marts, snapshot, snapshot_postgres
from tests.postgres.conftest import PostgresBuild
from tests.support.dbt import run_dbt
from tests.support.env import PROJECT_DIR
from tests.support.postgres import PostgresCluster

MACRO_TESTS = PROJECT_DIR / "data-tests" / "macros"


def run_results(root: Path) -> dict[str, dict]:
    results = json.loads((root / "dbt_target" / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r for r in results}


@pytest.fixture
def pg_env(postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh database of the session's cluster, as the environment of this process and of its children."""
    env = postgres_cluster.env(postgres_cluster.create_database())
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_macro_tests_pass_on_postgres(pg_env: dict[str, str], tmp_path: Path) -> None:
    """Every cross-engine macro, fed its literal inputs on PostgreSQL, gives the hand-computed results."""
    completed = run_dbt(["build", "--select", "tag:macro_test"], tmp_path, **pg_env)
    assert completed.returncode == 0, completed.stdout[-4000:]
    results = run_results(tmp_path)
    names = {uid.split(".")[2]: r["status"] for uid, r in results.items()}
    assert set(names) == {path.stem for path in MACRO_TESTS.glob("*.sql")}
    assert set(names.values()) == {"pass"}
    compiled = (tmp_path / "dbt_target" / "compiled").rglob("assert_decimal_from_double_rounds_like_duckdb.sql")
    assert "trunc(" in next(compiled).read_text()  # the postgres__ branch ran, not DuckDB's plain cast


#: Columns that differ between any two loads of the same files: when and by which load they were loaded.
LOAD_VOLATILE = {"_loaded_at", "_load_id", "load_id", "rejected_at", "run_id", "started_at", "finished_at"}


def test_postgres_loads_what_duckdb_loads(postgres_build: PostgresBuild, tmp_path: Path) -> None:
    """Every raw table, every rejected row (rule, column, reason, record) and every load-log row (status, counts,
    message) of the PostgreSQL load equals the DuckDB night's, lineage columns included. Only that night's loads
    count: other tests may run the nightly again on the session's warehouse (skipping every file)."""
    import duckdb

    from orchestration.warehouse.postgres import connect, copy_to_duckdb

    with duckdb.connect(str(postgres_build.duckdb_warehouse), read_only=True) as con:
        tables = [
            (schema, table)
            for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' and"
                " (table_schema = 'raw' or (table_schema = 'audit' and table_name in ('load_log', 'rejected_rows')))"
                " order by 1, 2"
            ).fetchall()
        ]
    assert len(tables) >= 12
    duck = duckdb.connect()
    duck.execute(f"attach '{postgres_build.duckdb_warehouse}' as night (read_only)").fetchall()
    pg = connect()
    try:
        for schema, table in tables:
            copy_to_duckdb(pg, schema, table, duck, f'"{schema}__{table}"')
            columns = [
                c
                for (c,) in duck.execute(
                    "select column_name from information_schema.columns where table_catalog = 'night'"
                    " and table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in LOAD_VOLATILE
            ]
            picked = ", ".join(f'"{c}"' for c in columns)
            night_loads = f"select load_id from night.audit.load_log where run_id = '{postgres_build.run_id}'"
            here_loads = f"select load_id from audit__load_log where run_id = '{postgres_build.run_id}'"
            of_night = {"load_log": "run_id = '{run}'", "rejected_rows": "load_id in ({loads})"}.get(
                table, "_load_id in ({loads})" if table != "ground_truth_partner_effects" else "true"
            )
            night = f'select {picked} from night."{schema}"."{table}" where ' + of_night.format(
                run=postgres_build.run_id, loads=night_loads
            )
            here = f'select {picked} from "{schema}__{table}" where ' + of_night.format(
                run=postgres_build.run_id, loads=here_loads
            )
            (only_night,) = duck.execute(f"select count(*) from ({night} except all {here})").fetchall()[0]
            (only_here,) = duck.execute(f"select count(*) from ({here} except all {night})").fetchall()[0]
            (total,) = duck.execute(f"select count(*) from ({night})").fetchall()[0]
            assert (only_night, only_here) == (0, 0), (
                f"{schema}.{table}: {only_night} rows only on DuckDB, {only_here} only on PostgreSQL"
            )
            if schema == "raw":
                assert total > 0, f"{schema}.{table} is empty"
    finally:
        pg.close()
        duck.close()
    assert postgres_build.loads["touchpoints"].rows_loaded > 1000
    assert postgres_build.loads["touchpoints"].rows_rejected > 0


def test_the_nightly_dbt_build_succeeds_on_postgres(postgres_build: PostgresBuild) -> None:
    """Seeds, every staging, intermediate and mart model, and every data test of the nightly pass on PostgreSQL."""
    completed = postgres_build.completed
    assert completed.returncode == 0, completed.stdout[-6000:]
    results = run_results(postgres_build.root)
    manifest = json.loads((postgres_build.root / "dbt_target" / "manifest.json").read_text())
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    seeds = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "seed"}
    assert models | seeds <= set(results)
    assert {results[uid]["status"] for uid in models | seeds} == {"success"}
    tests = [r for uid, r in results.items() if uid.startswith("test.")]
    assert len(tests) > 100
    assert {r["status"] for r in tests} == {"pass"}
    assert "int_attribution_markov_removal_effects" in {uid.split(".")[-1] for uid in models}


def test_every_published_mart_on_postgres_equals_the_duckdb_one(postgres_build: PostgresBuild, tmp_path: Path) -> None:
    """The marts `marts` serves on PostgreSQL after publishing equal the ones DuckDB publishes: the same rows (exact
    counts, the same keys, text, dates and integers exactly), every float within 1e-9 of its size, and every decimal
    within one unit of its last place: a decimal(18,4) rounded from a sum of doubles that lies half-way can round
    either way when the engines add in a different order (DuckDB adds in parallel), as partnerlens.compare says."""
    assert postgres_build.completed.returncode == 0, postgres_build.completed.stdout[-4000:]
    assert postgres_build.published is not None
    import duckdb

    with duckdb.connect(str(postgres_build.duckdb_warehouse), read_only=True) as con:
        marts = published_marts(con)
        counts = {m: con.execute(f'select count(*) from marts."{m}"').fetchone()[0] for m in marts}
    assert len(marts) >= 13
    snapshot(postgres_build.duckdb_warehouse, tmp_path / "duckdb")
    snapshot_postgres("marts", tmp_path / "postgres", marts)
    result = compare(tmp_path / "duckdb", tmp_path / "postgres", tolerance=1e-9)
    assert result.marts == sorted(marts)
    assert result.equal, "\n".join(f"{d.mart}: {d.problem}" for d in result.differences)
    assert counts["fct_attribution_credits"] > 1000 and counts["fct_partner_payouts"] > 0


def test_publishing_books_the_ledger_lines_duckdb_booked(postgres_build: PostgresBuild) -> None:
    """The publish step appended the run's proposed payout lines to ledger.payout_lines, in the same transaction as
    the view swap: the same lines as the DuckDB night booked (booked_at aside)."""
    assert postgres_build.published is not None, postgres_build.completed.stdout[-4000:]
    import duckdb

    from orchestration.warehouse.postgres import connect, copy_to_duckdb

    duck = duckdb.connect()
    duck.execute(f"attach '{postgres_build.duckdb_warehouse}' as night (read_only)").fetchall()
    pg = connect()
    try:
        copy_to_duckdb(pg, "ledger", "payout_lines", duck, "ledger_here")
    finally:
        pg.close()
    columns = [
        c
        for (c,) in duck.execute(
            "select column_name from information_schema.columns where table_catalog = 'night'"
            " and table_schema = 'ledger' and table_name = 'payout_lines' order by ordinal_position"
        ).fetchall()
        if c != "booked_at"
    ]
    picked = ", ".join(f'"{c}"' for c in columns)
    night = f"select {picked} from night.ledger.payout_lines where booked_in_run = '{postgres_build.run_id}'"
    here = f"select {picked} from ledger_here"
    (booked,) = duck.execute(f"select count(*) from ({night})").fetchall()[0]
    (only_night,) = duck.execute(f"select count(*) from ({night} except all {here})").fetchall()[0]
    (only_here,) = duck.execute(f"select count(*) from ({here} except all {night})").fetchall()[0]
    duck.close()
    assert booked > 0
    assert (only_night, only_here) == (0, 0)
    assert postgres_build.published.row_counts["appended:ledger.payout_lines"] == booked

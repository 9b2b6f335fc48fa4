"""Every dbt unit test passes on PostgreSQL too: the hand-worked cases of the attribution, payout, ROI and pipeline
formulas, run by dbt on the `postgres` target against the session's cluster.

As on DuckDB (tests/unit/test_dbt_unit_tests.py), a unit test reads the column types of its inputs from the
warehouse: the raw tables are created empty as the PostgreSQL loader creates them, the seeds are loaded and every
model is built over them (so with zero rows) before `dbt test --select resource_type:unit_test`. A plain `dbt run`
stands in for DuckDB's `dbt run --empty`: dbt-postgres renders the empty version of an aliased source as
`(...) _dbt_limit_subq_<table> as alias`, which PostgreSQL refuses.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.feeds.postgres_loads import ensure_postgres_tables
from tests.support.dbt import run_dbt, unit_test_outcomes
from tests.support.postgres import PostgresCluster


def test_every_unit_test_passes_on_postgres(postgres_cluster: PostgresCluster, tmp_path: Path) -> None:
    database = postgres_cluster.create_database("unit")
    env = postgres_cluster.env(database)
    pg = postgres_cluster.connect(database)
    try:
        ensure_postgres_tables(pg)
    finally:
        pg.close()
    for args in (["seed"], ["run"]):
        completed = run_dbt(args, tmp_path, **env)
        assert completed.returncode == 0, completed.stdout[-4000:]
    completed = run_dbt(["test", "--select", "resource_type:unit_test"], tmp_path, **env)
    assert completed.returncode == 0, completed.stdout[-6000:]
    declared, results = unit_test_outcomes(tmp_path / "dbt_target")
    assert len(declared) >= 40
    assert set(results) == declared
    failed = sorted(name for name, status in results.items() if status != "pass")
    assert not failed, f"unit tests that did not pass on PostgreSQL: {failed}"

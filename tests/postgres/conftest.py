"""The PostgreSQL tests share one throwaway PostgreSQL 15 cluster per test session (tests/support/postgres.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dbt import run_dbt
from tests.support.postgres import PostgresCluster, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running cluster on a loopback port, as an unprivileged user; stopped and removed after the session."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@dataclass
class PostgresBuild:
    completed: subprocess.CompletedProcess
    root: Path
    duckdb_warehouse: Path
    loads: dict
    run_id: str
    published: object
    env: dict[str, str]


@pytest.fixture(scope="session")
def postgres_night(
    built_warehouse, postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresBuild]:
    """The night's landing folder loaded into PostgreSQL, the nightly's dbt build into the run's candidate schema,
    published into `marts` (the gates do not run on PostgreSQL yet). The PARTNERLENS_PG_* environment of its
    database is set only while it is made; `postgres_build` sets it for a test."""
    import duckdb

    from orchestration.feeds.postgres_loads import load_all_postgres
    from orchestration.project import ledger_models, published_models
    from orchestration.warehouse.postgres_publish import publish_candidate_postgres
    from orchestration.warehouse.versions import candidate_schema

    root = tmp_path_factory.mktemp("postgres_build")
    env = postgres_cluster.env(postgres_cluster.create_database("nightly"))
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        (as_of,) = con.execute("select max(status_as_of) from marts.fct_partner_payouts").fetchone()
    run_id = built_warehouse.run_id
    dbt_vars = {"marts_schema": candidate_schema(run_id), "run_id": run_id, "payout_as_of_date": str(as_of)}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        pg = postgres_cluster.connect(env["PARTNERLENS_PG_DATABASE"])
        try:
            loads = load_all_postgres(pg, built_warehouse.landing, run_id=built_warehouse.run_id)
        finally:
            pg.close()
        completed = run_dbt(
            [
                "build",
                "--exclude",
                "resource_type:unit_test tag:macro_test",
                "--vars",
                json.dumps(dbt_vars),
            ],
            root,
            **env,
        )
        published = None
        if completed.returncode == 0:
            pg = postgres_cluster.connect(env["PARTNERLENS_PG_DATABASE"])
            try:
                published = publish_candidate_postgres(pg, run_id, published_models(), ledger_models())
            finally:
                pg.close()
    yield PostgresBuild(completed, root, built_warehouse.warehouse, loads, run_id, published, env)


@pytest.fixture
def postgres_build(postgres_night: PostgresBuild, monkeypatch: pytest.MonkeyPatch) -> PostgresBuild:
    """The session's PostgreSQL night, with its database's PARTNERLENS_PG_* environment set for the test."""
    for key, value in postgres_night.env.items():
        monkeypatch.setenv(key, value)
    return postgres_night

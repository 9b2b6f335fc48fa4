"""A throwaway PostgreSQL 15 cluster for the tests, started and stopped by scripts/postgres_cluster.sh.

The tests that need PostgreSQL fail, never skip, when no server can be started: the message says what to install.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = PROJECT_DIR / "scripts" / "postgres_cluster.sh"


@dataclass(frozen=True)
class PostgresCluster:
    """A running cluster: where it listens and the PARTNERLENS_PG_* environment that reaches its database."""

    directory: Path
    host: str
    port: int
    user: str
    database: str

    def env(self, database: str | None = None) -> dict[str, str]:
        """The environment of dbt and the orchestrator on this cluster's `database` (default: the cluster's own)."""
        return {
            "PARTNERLENS_TARGET": "postgres",
            "PARTNERLENS_PG_HOST": self.host,
            "PARTNERLENS_PG_PORT": str(self.port),
            "PARTNERLENS_PG_USER": self.user,
            "PARTNERLENS_PG_PASSWORD": "",
            "PARTNERLENS_PG_DATABASE": database or self.database,
        }

    def connect(self, database: str | None = None, user: str | None = None):
        import psycopg2

        return psycopg2.connect(
            host=self.host, port=self.port, user=user or self.user, dbname=database or self.database
        )

    def create_database(self, prefix: str = "test") -> str:
        """A new, empty database owned by the cluster's role (C collation, as the cluster's own), created by the
        cluster's superuser `postgres` (the project's role may not create databases)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        con = self.connect(database="postgres", user="postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(
                    f"create database \"{name}\" owner \"{self.user}\" template template0 encoding 'UTF8' locale 'C'"
                )
        finally:
            con.close()
        return name


def _parse_exports(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            values[key] = value
    return values


def start_cluster(*args: str) -> PostgresCluster:
    """Start a cluster with scripts/postgres_cluster.sh (extra args: --dir, --port); fails the test when it cannot."""
    completed = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), "start", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if completed.returncode != 0:
        pytest.fail(
            "could not start a PostgreSQL 15 cluster for the PostgreSQL tests "
            f"(scripts/install_postgres.sh installs the server):\n{completed.stderr}",
            pytrace=False,
        )
    values = _parse_exports(completed.stdout)
    return PostgresCluster(
        directory=Path(values["PARTNERLENS_PG_CLUSTER"]),
        host=values["PARTNERLENS_PG_HOST"],
        port=int(values["PARTNERLENS_PG_PORT"]),
        user=values["PARTNERLENS_PG_USER"],
        database=values["PARTNERLENS_PG_DATABASE"],
    )


def stop_cluster(cluster: PostgresCluster) -> None:
    subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(cluster.directory)], check=True, timeout=120)

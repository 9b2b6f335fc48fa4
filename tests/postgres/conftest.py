"""The PostgreSQL tests share one throwaway PostgreSQL 15 cluster per test session (tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresCluster, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running cluster on a loopback port, as an unprivileged user; stopped and removed after the session."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)

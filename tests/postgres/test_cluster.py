"""The throwaway cluster itself: PostgreSQL 15 as an unprivileged user, on loopback only, with the project's role."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path

import psycopg2
import pytest

from tests.support.postgres import CLUSTER_SCRIPT, PostgresCluster, start_cluster, stop_cluster


def test_the_cluster_is_postgresql_15_on_loopback_as_an_unprivileged_user(postgres_cluster: PostgresCluster) -> None:
    con = postgres_cluster.connect()
    try:
        with con.cursor() as cur:
            cur.execute("select current_setting('server_version_num')::int, inet_server_addr()::text")
            version, address = cur.fetchone()
            cur.execute("select rolsuper, rolcreaterole from pg_roles where rolname = current_user")
            is_superuser, can_create_roles = cur.fetchone()
            cur.execute("select datcollate from pg_database where datname = current_database()")
            (collation,) = cur.fetchone()
            cur.execute("select current_setting('listen_addresses')")
            (listen,) = cur.fetchone()
    finally:
        con.close()
    assert 150000 <= version < 160000
    assert address == "127.0.0.1/32" and listen == "127.0.0.1"
    # the project's role owns its database but is no superuser; it may create the partner roles
    assert (is_superuser, can_create_roles) == (False, True)
    assert collation == "C"
    # the data directory belongs to a user other than root
    owner = (postgres_cluster.directory / "data").stat().st_uid
    assert owner != 0
    if os.getuid() == 0:
        assert pwd.getpwuid(owner).pw_name == os.environ.get("PARTNERLENS_PG_OS_USER", "postgres")


def test_the_script_starts_on_a_given_port_and_stop_removes_the_cluster() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = start_cluster("--port", str(port))
    try:
        assert cluster.port == port
        con = cluster.connect()
        with con.cursor() as cur:
            cur.execute("select 40 + 2")
            assert cur.fetchone() == (42,)
        con.close()
    finally:
        stop_cluster(cluster)
    assert not cluster.directory.exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host=cluster.host, port=port, user=cluster.user, dbname=cluster.database, connect_timeout=5)


def test_a_start_that_fails_says_why_and_leaves_nothing_behind() -> None:
    """Port 1 is privileged: the server cannot listen there, and the folder the script made is removed again."""
    before = set(Path("/tmp").glob("partnerlens-pg.*"))
    completed = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), "start", "--port", "1"], capture_output=True, text=True, timeout=180
    )
    assert completed.returncode == 1
    assert "postgres_cluster: the server did not start on port 1" in completed.stderr
    assert "Permission denied" in completed.stderr  # the server's own words, from its log
    assert completed.stdout == ""  # no PARTNERLENS_PG_* to eval
    assert set(Path("/tmp").glob("partnerlens-pg.*")) == before

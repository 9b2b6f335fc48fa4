"""The served file on small hand-made warehouses (real DuckDB files): what it holds, that it replaces the previous one
whole while a connection to the old one keeps reading the old one, and that a failed write leaves it as it was."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.served import ServedNotFound, ServedWriteError, connect_served, write_served


def publish(con: duckdb.DuckDBPyConnection, schema: str, amounts: list[float], run_id: str) -> None:
    """What a publish leaves in a warehouse, by hand: a versioned schema, the views of `marts` on it, a ledger row per
    amount and the publish log's row."""
    con.execute(f"create schema {schema}")
    con.execute(f"create table {schema}.fct_sales (sale_id integer, amount decimal(18,4), sold_on date)")
    con.executemany(
        f"insert into {schema}.fct_sales values (?, ?, date '2026-01-01' + ?)",
        [(i, a, i) for i, a in enumerate(amounts)],
    )
    con.execute(f"create table {schema}.dim_shops as select 'S' || range as shop_id from range({len(amounts)})")
    con.execute("create schema if not exists marts")
    for table in ("fct_sales", "dim_shops"):
        con.execute(f"create or replace view marts.{table} as select * from {schema}.{table}")
    con.execute("create schema if not exists ledger")
    con.execute("create table if not exists ledger.payout_lines (line_id varchar, amount decimal(18,4))")
    lines = [(f"{run_id}-{i}", amount) for i, amount in enumerate(amounts)]
    con.executemany("insert into ledger.payout_lines values (?, ?)", lines)
    ensure_audit(con)
    con.execute(
        "insert into audit.publish_log values (?, ?, 'publish', ?, null, ?, '{}', 'published', 'published', now())",
        [f"{run_id}:publish", run_id, schema, json.dumps(["dim_shops", "fct_sales"])],
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    publish(con, "marts_build_1", [10.5, 20.25], "run-1")
    yield con
    con.close()


def test_the_served_file_holds_the_marts_as_tables_the_ledger_and_what_it_serves(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    served = tmp_path / "served.duckdb"
    outcome = write_served(warehouse, served)
    assert outcome.path == served and outcome.schema_name == "marts_build_1"
    assert outcome.file_bytes == served.stat().st_size
    assert sorted(os.listdir(tmp_path)) == ["served.duckdb", "warehouse.duckdb", "warehouse.duckdb.wal"]
    with connect_served(served) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"  # tables, not views
        ).fetchall()
        assert tables == [
            ("audit", "publish_log"),
            ("audit", "run_history"),
            ("audit", "served"),
            ("ledger", "payout_lines"),
            ("marts", "dim_shops"),
            ("marts", "fct_sales"),
        ]
        assert con.execute("select count(*) from duckdb_views() where not internal").fetchone()[0] == 0
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'fct_sales' order by ordinal_position"
        ).fetchall()
        assert columns == [("sale_id", "INTEGER"), ("amount", "DECIMAL(18,4)"), ("sold_on", "DATE")]
        assert con.execute("select sum(amount) from marts.fct_sales").fetchone()[0] == pytest.approx(30.75)
        assert con.execute("select count(*) from ledger.payout_lines").fetchone()[0] == 2
        assert con.execute("select schema_name, action, run_id from audit.served").fetchall() == [
            ("marts_build_1", "publish", "run-1")
        ]
        assert con.execute("select run_id, publish_outcome from audit.run_history").fetchall() == [
            ("run-1", "published")
        ]
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table marts.x (a integer)")
    assert outcome.row_counts == {
        "marts.dim_shops": 2,
        "marts.fct_sales": 2,
        "ledger.payout_lines": 2,
        "audit.run_history": 1,
        "audit.publish_log": 1,
    }


def test_a_connection_to_the_old_file_reads_the_old_marts_until_it_reconnects(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    served = tmp_path / "served.duckdb"
    write_served(warehouse, served)
    reader = connect_served(served)
    publish(warehouse, "marts_build_2", [1.0, 2.0, 3.0], "run-2")
    write_served(warehouse, served)
    # still the file it opened: every row of the first version, none of the second
    assert reader.execute("select count(*), sum(amount) from marts.fct_sales").fetchone() == (2, pytest.approx(30.75))
    assert reader.execute("select run_id from audit.served").fetchone()[0] == "run-1"
    reader.close()
    with connect_served(served) as again:
        assert again.execute("select count(*), sum(amount) from marts.fct_sales").fetchone() == (3, pytest.approx(6))
        assert again.execute("select count(*) from ledger.payout_lines").fetchone()[0] == 5
        assert again.execute("select schema_name, run_id from audit.served").fetchone() == ("marts_build_2", "run-2")


def test_a_failed_write_leaves_the_served_file_byte_for_byte_and_no_temporary_file(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    served = tmp_path / "served.duckdb"
    write_served(warehouse, served)
    before = digest(served)
    # a mart whose view no longer reads: the copy fails half-way, after other marts were copied
    warehouse.execute("create table marts_build_1.broken as select 1 as a")
    warehouse.execute("create view marts.zz_broken as select * from marts_build_1.broken")
    warehouse.execute("drop table marts_build_1.broken")
    with pytest.raises(ServedWriteError, match=r"could not be rewritten .*; it was left as it was"):
        write_served(warehouse, served)
    assert digest(served) == before
    assert sorted(os.listdir(tmp_path)) == ["served.duckdb", "warehouse.duckdb", "warehouse.duckdb.wal"]
    # the warehouse connection is usable and nothing of the attempt is attached to it
    assert warehouse.execute("select count(*) from duckdb_databases() where not internal").fetchone()[0] == 1


def test_a_temporary_file_left_by_an_interrupted_write_is_removed_by_the_next(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    served = tmp_path / "served.duckdb"
    (tmp_path / ".served.duckdb.0123456789ab.tmp").write_bytes(b"half a database")
    (tmp_path / ".served.duckdb.0123456789ab.tmp.wal").write_bytes(b"its log")
    write_served(warehouse, served)
    assert sorted(os.listdir(tmp_path)) == ["served.duckdb", "warehouse.duckdb", "warehouse.duckdb.wal"]


def test_no_served_file_says_that_a_run_writes_it(tmp_path: Path) -> None:
    with pytest.raises(ServedNotFound) as error:
        connect_served(tmp_path / "none_served.duckdb")
    assert str(error.value) == (
        f"No served warehouse at {tmp_path / 'none_served.duckdb'}: the nightly job (`partnerlens run`) writes it "
        "when it publishes."
    )
    assert not (tmp_path / "none_served.duckdb").exists()


def test_the_served_file_is_beside_the_warehouse_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.paths import PROJECT_DIR, served_path

    monkeypatch.delenv("PARTNERLENS_SERVED", raising=False)
    monkeypatch.setenv("PARTNERLENS_WAREHOUSE", str(tmp_path / "wh" / "partnerlens.duckdb"))
    assert served_path() == tmp_path / "wh" / "partnerlens_served.duckdb"
    assert served_path(tmp_path / "x.duckdb") == tmp_path / "x_served.duckdb"
    monkeypatch.setenv("PARTNERLENS_SERVED", "elsewhere/bi.duckdb")
    assert served_path() == PROJECT_DIR / "elsewhere" / "bi.duckdb"

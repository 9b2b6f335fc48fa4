"""Erasure: after a full nightly, `partnerlens erase` leaves no identifier of the customer in any table of the
warehouse, the served file or any file the project wrote; a later delivery about it is dropped and counted; the next
nightly passes; the money booked stays."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.feeds.contracts import load_contracts
from orchestration.feeds.loader import load_feed
from partnerlens.cli import main
from tests.support.env import apply_env
from tests.support.warehouse import served_file


def _sha(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()


def _identifiers(con: duckdb.DuckDBPyConnection, customer_id: str) -> set[str]:
    """The customer's identifiers, read from raw and the served marts by the test itself (not by the erasure)."""
    values = {customer_id}
    for table in ("customers", "conversions"):
        for email, anon in con.execute(
            f"select email, anonymous_id from raw.{table} where customer_id = ?", [customer_id]
        ).fetchall():
            if email:
                values.add(_sha(email))
                values.add(email)
            if anon:
                values.add(anon)
    values |= {
        r[0]
        for r in con.execute(
            "select touchpoint_id from marts.fct_touchpoints where customer_id = ?", [customer_id]
        ).fetchall()
    }
    return values


def _scan_database(con: duckdb.DuckDBPyConnection, pattern: re.Pattern) -> list[str]:
    """schema.table.column of every varchar value in the database that holds one of the identifiers."""
    found = []
    columns = con.execute(
        """select c.schema_name, c.table_name, c.column_name from duckdb_columns() c
           join duckdb_tables() t using (database_name, schema_name, table_name)
           where c.database_name = current_database() and c.data_type = 'VARCHAR'"""
    ).fetchall()
    for schema, table, column in columns:
        hits = con.execute(
            f'select count(*) from "{schema}"."{table}" where regexp_matches("{column}", ?)', [pattern.pattern]
        ).fetchone()[0]
        if hits:
            found.append(f"{schema}.{table}.{column}: {hits}")
    return found


def _scan_files(folders: list[Path], pattern: re.Pattern) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            readable = path.is_file() and path.suffix in {".csv", ".html", ".json", ".md", ".txt"}
            if readable and pattern.search(path.read_text(errors="replace")):
                found.append(str(path))
    return found


@pytest.fixture
def nightly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from partnerlens.runner import run_nightly
    from partnerlens.synthetic import generate

    apply_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    end_date = datetime.now(UTC).date() - timedelta(days=1)
    generate(tmp_path / "landing", seed=5, touchpoints=3_000, partners=5, days=60, end_date=end_date)
    assert run_nightly().success
    return tmp_path


def test_erase_removes_every_identifier_and_drops_later_deliveries(nightly: Path) -> None:
    from partnerlens.runner import run_nightly

    root = nightly
    warehouse = root / "warehouse.duckdb"
    assert main(["statements", "--out", str(root / "statements"), "--month", _some_month(warehouse)]) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    # the customer with the most resolved touches that also converted and has an email and an anonymous id
    customer_id = con.execute(
        """select t.customer_id from marts.fct_touchpoints t
           join raw.customers c on c.customer_id = t.customer_id
           where c.email is not null and c.anonymous_id is not null
             and t.customer_id in (select customer_id from marts.fct_conversions)
           group by 1 order by count(*) desc, 1 limit 1"""
    ).fetchone()[0]
    identifiers = _identifiers(con, customer_id)
    conversion_ids = {
        r[0]
        for r in con.execute(
            "select conversion_id from raw.conversions where customer_id = ?", [customer_id]
        ).fetchall()
    }
    ledger_before = con.execute("select count(*), sum(amount) from ledger.payout_lines").fetchone()
    booked_for_customer = con.execute(
        f"select count(*) from ledger.payout_lines where conversion_id in ({','.join('?' * len(conversion_ids))})",
        sorted(conversion_ids),
    ).fetchone()[0]
    con.close()
    assert len(identifiers) >= 4 and conversion_ids
    pattern = re.compile(
        "(^|[^A-Za-z0-9_])(" + "|".join(re.escape(v) for v in sorted(identifiers, key=len, reverse=True)) + ")"
        "($|[^A-Za-z0-9_])"
    )
    outputs = [root / "statements", root / "scorecards", root / "gx_docs"]
    con = duckdb.connect(str(warehouse), read_only=True)
    assert len(_scan_database(con, pattern)) > 5  # the scan finds the customer before the erasure
    con.close()

    assert main(["erase", "--customer-id", customer_id, "--statements", str(root / "statements")]) == 0

    def assert_gone() -> None:
        for path in (warehouse, served_file(warehouse)):
            con = duckdb.connect(str(path), read_only=True)
            try:
                assert _scan_database(con, pattern) == [], path.name
            finally:
                con.close()
        assert _scan_files([p for p in outputs if p.exists()], pattern) == []

    assert_gone()
    con = duckdb.connect(str(warehouse), read_only=True)
    ledger_after = con.execute("select count(*), sum(amount) from ledger.payout_lines").fetchone()
    assert ledger_after == ledger_before  # the money booked stays, line for line
    assert (
        con.execute("select count(*) from ledger.payout_lines where conversion_id like 'erased-%'").fetchone()[0]
        == booked_for_customer
    )
    erasures = con.execute("select subject_hash, requested_by from audit.erasures").fetchall()
    tombstones = con.execute("select kind, count(*) from audit.erasure_tombstones group by 1 order by 1").fetchall()
    con.close()
    assert len(erasures) == 1 and re.fullmatch("[0-9a-f]{64}", erasures[0][0]) and erasures[0][1] == "customer_id"
    assert dict(tombstones)["customer_id"] == 1 and dict(tombstones)["email_sha256"] >= 1
    assert dict(tombstones)["anonymous_id"] >= 1

    # the next nightly passes (a full build, since a customer was erased) and brings nothing of the customer back
    result = run_nightly()
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    mode, reason = con.execute("select mode, reason from audit.builds order by build_seq desc limit 1").fetchone()
    ledger_next = con.execute(
        "select sum(amount) from ledger.payout_lines where conversion_id like 'erased-%'"
    ).fetchone()[0]
    erased_before = con.execute(
        "select count(*) from ledger.payout_lines where conversion_id like 'erased-%'"
    ).fetchone()[0]
    con.close()
    assert mode == "full" and "erased" in reason
    assert erased_before == booked_for_customer  # no reversal of the erased customer's booked lines
    assert ledger_next is not None or booked_for_customer == 0
    assert_gone()

    # a later delivery about the customer is dropped at load, counted, and its values are not kept
    email = next(v for v in identifiers if "@" in v)
    partner = "P001"
    occurred = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = root / "landing" / partner / "touchpoints" / "late_delivery.csv"
    late.write_text(
        "event_id,occurred_at,partner_id,channel,touch_type,email,customer_id,anonymous_id\n"
        f"late-1,{occurred},{partner},email,click,,{customer_id},\n"
        f"late-2,{occurred},{partner},email,click,{email.upper()},,\n"
        f"late-3,{occurred},{partner},email,click,,,someone-else-42\n"
    )
    con = duckdb.connect(str(warehouse))
    try:
        outcome = load_feed(con, load_contracts()["touchpoints"], root / "landing")
        late_result = next(f for f in outcome.files if f.file.endswith("late_delivery.csv"))
        assert (late_result.rows_loaded, late_result.rows_rejected) == (1, 2)
        rejected = con.execute(
            "select rule, raw_record from audit.rejected_rows where source_file like '%late_delivery.csv'"
        ).fetchall()
        assert rejected == [("erased_subject", None), ("erased_subject", None)]
    finally:
        con.close()
    assert_gone()


def _some_month(warehouse: Path) -> str:
    """A month with payout statements (the latest one booked), as YYYY-MM."""
    con = duckdb.connect(str(served_file(warehouse)), read_only=True)
    try:
        month = con.execute("select max(period_month) from marts.mart_partner_payout_statements").fetchone()[0]
    finally:
        con.close()
    return f"{month:%Y-%m}"

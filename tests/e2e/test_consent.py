"""Consent: no file the project writes for partners (governance/shared_outputs.yml, `files:`) names an opted-out
customer, while the host's own totals (fct_conversions) still count them."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.support.env import PROJECT_DIR
from tests.support.warehouse import BuiltWarehouse

SHARED_FILES = yaml.safe_load((PROJECT_DIR / "governance" / "shared_outputs.yml").read_text())["files"]


def _write(name: str, con: duckdb.DuckDBPyConnection, out: Path) -> list[Path]:
    """Write the shared file `name` of the list for every partner (and every month with statements)."""
    if name == "payout_statements":
        from partnerlens.statements import write_statements

        months = [
            r[0]
            for r in con.execute("select distinct period_month from marts.mart_partner_payout_statements").fetchall()
        ]
        return [p for month in months for p in write_statements(con, out, period_month=month)]
    if name == "partner_scorecards":
        from partnerlens.scorecards import write_scorecards

        write_scorecards(con, out)
        return sorted((out / "partners").glob("*.html"))
    raise AssertionError(f"governance/shared_outputs.yml lists {name!r}, which this test does not know how to write")


@pytest.mark.parametrize("shared", SHARED_FILES, ids=[f["name"] for f in SHARED_FILES])
def test_no_shared_file_names_an_opted_out_customer(
    shared: dict, built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    con = duckdb.connect(str(built_warehouse.served), read_only=True)
    try:
        opted_out = {
            r[0]
            for r in con.execute(
                "select distinct customer_id from marts.fct_conversions where is_customer_opted_out"
            ).fetchall()
        }
        touches = {
            r[0]
            for r in con.execute(
                "select touchpoint_id from marts.fct_touchpoints where customer_id in "
                "(select customer_id from marts.fct_conversions where is_customer_opted_out)"
            ).fetchall()
        }
        opted_in_touches = {
            r[0]
            for r in con.execute(
                "select touchpoint_id from marts.mart_partner_payout_statement_lines where touchpoint_id is not null"
            ).fetchall()
        } - touches
        written = _write(shared["name"], con, tmp_path)
    finally:
        con.close()
    assert opted_out and touches, "the generated ecosystem has opted-out customers with partner touches"
    assert written
    identifiers = opted_out | touches
    pattern = re.compile(
        "(^|[^A-Za-z0-9_])(" + "|".join(re.escape(v) for v in sorted(identifiers, key=len, reverse=True)) + ")"
        "($|[^A-Za-z0-9_])"
    )
    text = "\n".join(p.read_text() for p in written)
    assert [m.group(2) for m in pattern.finditer(text)] == []
    if shared["name"] == "payout_statements":
        # the filter is not an empty file: opted-in customers' touch trails are still there
        assert any(t in text for t in opted_in_touches)


def test_host_totals_still_count_opted_out_customers(built_warehouse: BuiltWarehouse) -> None:
    con = built_warehouse.connect()
    try:
        raw_opted_out = con.execute(
            """select count(*) from raw.conversions where customer_id in (
                   select customer_id from raw.customers
                   qualify row_number() over (partition by customer_id order by _loaded_at desc, _source_file desc,
                                              _row_number desc) = 1 and is_opted_out)"""
        ).fetchone()[0]
        host = con.execute("select count(*) from marts.fct_conversions where is_customer_opted_out").fetchone()[0]
    finally:
        con.close()
    assert raw_opted_out > 0 and host == raw_opted_out

"""End to end: a generated ecosystem goes through the real nightly job; the marts are checked against numbers
worked out here from the landed files alone (pandas over the files, not the warehouse's own models)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.support.env import PROJECT_DIR
from tests.support.warehouse import BuiltWarehouse

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def read_feed_file(path: Path) -> pd.DataFrame:
    """A landed file as strings, one row per record, with its 1-based data row number."""
    if path.suffix == ".parquet":
        frame = pq.read_table(path).to_pandas().astype("string")
    elif path.suffix in (".jsonl", ".ndjson"):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        frame = pd.DataFrame([json.loads(line) for line in lines]).astype("string")
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", pd.NA)
    frame["_row_number"] = range(1, len(frame) + 1)
    return frame


def landed(landing: Path, feed: str) -> pd.DataFrame:
    """Every landed file of a feed, with the generator's own list of dirty rows removed."""
    dirty = pd.read_csv(landing / "_ground_truth" / "dirty_rows.csv")
    frames = []
    for path in sorted(landing.glob(f"*/{feed}/*")):
        frame = read_feed_file(path)
        rel = path.relative_to(landing).as_posix()
        bad = set(dirty.loc[(dirty["feed"] == feed) & (dirty["file"] == rel), "row_number"])
        frames.append(frame[~frame["_row_number"].isin(bad)].assign(_file=rel))
    return pd.concat(frames, ignore_index=True)


def records_in_file(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as handle:
        lines = [line for line in handle.read().split(b"\n") if line.strip()]
    return len(lines) - (0 if path.suffix in (".jsonl", ".ndjson") else 1)


def sha256_email(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def test_every_file_reconciles(built_warehouse: BuiltWarehouse) -> None:
    """loaded + rejected = records in the file, for every landed file, counting records independently."""
    con = built_warehouse.connect()
    log = con.execute(
        "select source_file, rows_in_file, rows_loaded, rows_rejected, status from audit.load_log where run_id = ?",
        [built_warehouse.run_id],
    ).df()
    files = [
        p
        for p in built_warehouse.landing.glob("*/*/*")
        if not p.relative_to(built_warehouse.landing).parts[0].startswith("_")
    ]
    assert len(log) == len(files) > 10
    by_file = log.set_index("source_file")
    for path in files:
        row = by_file.loc[path.relative_to(built_warehouse.landing).as_posix()]
        assert row["status"] == "loaded"
        assert row["rows_in_file"] == records_in_file(path)
        assert row["rows_loaded"] + row["rows_rejected"] == row["rows_in_file"]


@pytest.mark.parametrize("feed", ["touchpoints", "conversions", "costs", "customers", "partners", "campaigns"])
def test_raw_holds_exactly_the_clean_rows(built_warehouse: BuiltWarehouse, feed: str) -> None:
    """Every row the generator made dirty is rejected, every other row is loaded."""
    expected = len(landed(built_warehouse.landing, feed))
    con = built_warehouse.connect()
    assert con.execute(f"select count(*) from raw.{feed}").fetchone()[0] == expected
    dirty = pd.read_csv(built_warehouse.landing / "_ground_truth" / "dirty_rows.csv")
    rejected = con.execute("select count(*) from audit.rejected_rows where feed = ?", [feed]).fetchone()[0]
    assert rejected == (dirty["feed"] == feed).sum()


def test_core_marts_match_the_files(built_warehouse: BuiltWarehouse) -> None:
    landing = built_warehouse.landing
    con = built_warehouse.connect()
    partners = landed(landing, "partners")
    campaigns = landed(landing, "campaigns")
    touches = landed(landing, "touchpoints")
    assert con.execute("select count(*) from marts.dim_partners").fetchone()[0] == partners["partner_id"].nunique()
    assert con.execute("select count(*) from marts.dim_campaigns").fetchone()[0] == campaigns["campaign_id"].nunique()
    assert con.execute("select count(*) from marts.fct_touchpoints").fetchone()[0] == len(touches)
    by_partner = con.execute("select partner_id, count(*) from marts.fct_touchpoints group by 1").fetchall()
    assert dict(by_partner) == touches.groupby("partner_id").size().to_dict()


def test_revenue_in_reporting_currency(built_warehouse: BuiltWarehouse) -> None:
    """Net revenue in USD = sum of each clean conversion at its month's rate from the seed, computed here."""
    conversions = landed(built_warehouse.landing, "conversions")
    rates = pd.read_csv(PROJECT_DIR / "seeds" / "currency_rates.csv")
    converted_at = pd.to_datetime(conversions["converted_at"], utc=True, format="ISO8601")
    conversions["valid_from"] = converted_at.dt.strftime("%Y-%m-01")
    merged = conversions.merge(rates, on=["currency", "valid_from"], how="left")
    assert merged["rate_to_usd"].notna().all()
    expected = (merged["revenue"].astype(float) * merged["rate_to_usd"]).sum()
    con = built_warehouse.connect()
    actual, count = con.execute("select sum(revenue), count(*) from marts.fct_conversions").fetchone()
    assert count == len(conversions)
    assert float(actual) == pytest.approx(expected, abs=0.0001 * len(conversions))
    refunds = con.execute("select count(*) from marts.fct_conversions where is_refund").fetchone()[0]
    assert refunds == (conversions["conversion_type"] == "refund").sum()


def test_identity_resolution(built_warehouse: BuiltWarehouse) -> None:
    """A touch resolves when its customer id, email hash or anonymous id is known from customers or conversions."""
    landing = built_warehouse.landing
    customers = landed(landing, "customers")
    conversions = landed(landing, "conversions")
    touches = landed(landing, "touchpoints")
    known_ids = set(customers["customer_id"]) | set(conversions["customer_id"])
    known_hashes = {sha256_email(e) for e in pd.concat([customers["email"], conversions["email"]]).dropna()}
    known_anonymous = set(pd.concat([customers["anonymous_id"], conversions["anonymous_id"]]).dropna())
    touch_hash = touches["email"].map(lambda e: sha256_email(e) if isinstance(e, str) else None)
    touch_hash = touch_hash.fillna(touches["email_sha256"].str.lower())
    resolved = (
        touches["customer_id"].isin(known_ids)
        | touch_hash.isin(known_hashes)
        | touches["anonymous_id"].isin(known_anonymous)
    )
    con = built_warehouse.connect()
    actual = con.execute("select count(*) from marts.fct_touchpoints where is_customer_resolved").fetchone()[0]
    assert actual == resolved.sum()
    assert actual > 0


def test_no_raw_email_outside_raw_and_staging(built_warehouse: BuiltWarehouse) -> None:
    con = built_warehouse.connect()
    # the check could fail: raw data does hold emails
    assert con.execute("select count(*) from raw.touchpoints where email is not null").fetchone()[0] > 0
    columns = con.execute(
        """
        select table_schema, table_name, column_name, data_type from information_schema.columns
        where table_schema not in ('raw', 'staging', 'audit', 'information_schema', 'pg_catalog')
        """
    ).fetchall()
    assert any(schema == "marts" for schema, *_ in columns)
    offenders = []
    for schema, table, column, data_type in columns:
        if re.fullmatch(r"(.*_)?(email|e_mail|phone)(_.*)?", column) and "sha256" not in column:
            offenders.append(f"{schema}.{table}.{column} (column name)")
        if data_type == "VARCHAR":
            hit = con.execute(
                f'select "{column}" from "{schema}"."{table}" where regexp_matches("{column}", ?) limit 1',
                [EMAIL.pattern],
            ).fetchone()
            if hit:
                offenders.append(f"{schema}.{table}.{column}: {hit[0]}")
    assert offenders == []


def test_the_generated_feeds_pass_every_personal_data_rule(built_warehouse: BuiltWarehouse) -> None:
    """No generated identifier or UTM value is refused at load as personal data, and gate 2 judged every mart with an
    identifier or UTM column and found none there either."""
    con = built_warehouse.connect()
    assert con.execute("select count(*) from audit.rejected_rows where rule = 'personal_data'").fetchone()[0] == 0
    judged = dict(
        con.execute(
            """select dataset, outcome from audit.gate_results
               where run_id = ? and check_name = 'no_phone_or_name_values'""",
            [built_warehouse.run_id],
        ).fetchall()
    )
    assert judged["marts.fct_touchpoints"] == "passed" and judged["marts.fct_conversions"] == "passed"
    assert set(judged.values()) == {"passed"}
    messages = con.execute(
        """select message from audit.gate_results
           where run_id = ? and check_name = 'no_phone_or_name_values' and dataset = 'marts.fct_touchpoints'""",
        [built_warehouse.run_id],
    ).fetchone()[0]
    assert "customer_key, utm_source, utm_medium, utm_campaign, referral_code" in messages


def test_second_run_loads_nothing_twice(built_warehouse: BuiltWarehouse) -> None:
    from partnerlens.runner import run_nightly

    def counts() -> dict[str, int]:
        con = built_warehouse.connect()
        try:
            tables = [
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'raw'"
                ).fetchall()
            ]
            return {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables}
        finally:
            con.close()

    before = counts()
    result = run_nightly()
    assert result.success
    con = built_warehouse.connect()
    statuses = con.execute(
        "select status, count(*) from audit.load_log where run_id = ? group by 1", [result.run_id]
    ).fetchall()
    con.close()
    assert dict(statuses).keys() == {"skipped_duplicate"}
    assert counts() == before

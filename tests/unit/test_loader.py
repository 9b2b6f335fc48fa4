"""The feed loader on real files and a real DuckDB warehouse: every contract rule, lineage and the load guarantees.

Each test writes small files by hand (expected outcomes worked out in the comments) and loads them with the real
contracts, unless a rule needs a type no packaged contract uses.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.feeds import files, loader
from orchestration.feeds.contracts import (
    ContractError,
    FeedContract,
    load_contracts,
    load_order,
    parse_contract,
)
from orchestration.feeds.loader import (
    LoadError,
    discover_files,
    ensure_warehouse,
    load_feed,
    load_file,
)

CONTRACTS = load_contracts()

PARTNERS_CSV = (
    "partner_id,partner_name,partner_type,tier,joined_on,country\n"
    "P001,Acme,reseller,gold,2024-01-15,US\n"
    "P002,Globex,referral,silver,2024-03-01,DE\n"
)
CAMPAIGNS_CSV = (
    "campaign_id,campaign_name,campaign_type,start_date,end_date,budget,currency\n"
    "C0001,Spring webinar,webinar,2025-03-01,2025-03-31,5000.00,USD\n"
)
TP_HEADER = "event_id,occurred_at,partner_id,campaign_id,channel,touch_type,email,customer_id"


def tp(
    event: str,
    occurred: str = "2025-03-05T10:00:00Z",
    partner: str = "P001",
    campaign: str = "C0001",
    channel: str = "email",
    touch: str = "click",
    email: str = "ann@example.com",
    customer: str = "",
) -> str:
    """One touchpoints CSV line in TP_HEADER order."""
    return ",".join([event, occurred, partner, campaign, channel, touch, email, customer])


def csv_text(header: str, *lines: str) -> str:
    return "\n".join([header, *lines]) + "\n"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh warehouse file; after each test, every logged file must satisfy loaded + rejected == rows in file."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_warehouse(con, CONTRACTS)
    yield con
    assert_invariants(con)
    con.close()


def assert_invariants(con: duckdb.DuckDBPyConnection) -> None:
    """Counts in load_log add up and match the rows actually in raw.* and audit.rejected_rows."""
    bad = con.execute(
        "SELECT source_file FROM audit.load_log WHERE rows_loaded + rows_rejected <> rows_in_file"
    ).fetchall()
    assert bad == []
    for feed in CONTRACTS:
        mismatched = con.execute(
            f"""SELECT l.source_file, l.rows_loaded, coalesce(r.n, 0)
                FROM audit.load_log AS l
                LEFT JOIN (SELECT _load_id, count(*) AS n FROM raw.{feed} GROUP BY 1) AS r ON r._load_id = l.load_id
                WHERE l.feed = '{feed}' AND l.rows_loaded <> coalesce(r.n, 0)"""
        ).fetchall()
        assert mismatched == []
    mismatched = con.execute(
        """SELECT l.source_file FROM audit.load_log AS l
           LEFT JOIN (SELECT load_id, count(*) AS n FROM audit.rejected_rows GROUP BY 1) AS r USING (load_id)
           WHERE l.rows_rejected <> coalesce(r.n, 0)"""
    ).fetchall()
    assert mismatched == []


def write(landing: Path, rel: str, content: str | bytes) -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load(
    con: duckdb.DuckDBPyConnection, landing: Path, rel: str, content: str | bytes | None = None
) -> loader.FileLoadResult:
    """Write (optionally) and load landing/<source>/<feed>/<file>; the feed and source come from the path."""
    source, feed, _ = rel.split("/", 2)
    path = write(landing, rel, content) if content is not None else landing / rel
    return load_file(con, CONTRACTS[feed], path, source, landing, run_id="test-run")


def seed_master_data(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    assert load(con, landing, "internal/partners/partners.csv", PARTNERS_CSV).rows_loaded == 2
    assert load(con, landing, "internal/campaigns/campaigns.csv", CAMPAIGNS_CSV).rows_loaded == 1


def rejected(con: duckdb.DuckDBPyConnection, file: str | None = None) -> list[tuple]:
    """(row_number, rule, column_name) of rejected rows, optionally of one file, in row order."""
    where = "WHERE source_file = ?" if file else ""
    return con.execute(
        f"SELECT row_number, rule, column_name FROM audit.rejected_rows {where} ORDER BY source_file, row_number",
        [file] if file else [],
    ).fetchall()


def loaded_rows(con: duckdb.DuckDBPyConnection, feed: str, columns: str) -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM raw.{feed} ORDER BY _source_file, _row_number").fetchall()


# ---------------------------------------------------------------------------------------------------------------------
# Good files: types and lineage
# ---------------------------------------------------------------------------------------------------------------------


def test_good_csv_loads_typed_rows_with_lineage(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp("e1"),
        tp("e2", occurred="2025-03-05T12:30:00+02:00", campaign="", channel="webinar", touch="webinar_attendance"),
        tp("e3", email="", customer="CUST-9"),
    )
    result = load(wh, landing, "P001/touchpoints/tp_2025-03-05.csv", content)

    assert (result.status, result.rows_in_file, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 3, 0)
    assert result.file == "P001/touchpoints/tp_2025-03-05.csv"
    assert result.checksum == hashlib.sha256(content.encode()).hexdigest()
    assert result.message == "loaded 3 of 3 rows"
    rows = loaded_rows(
        wh, "touchpoints", "event_id, occurred_at, campaign_id, email, customer_id, _source, _source_file, _row_number"
    )
    assert rows == [
        ("e1", datetime(2025, 3, 5, 10, 0, tzinfo=UTC), "C0001", "ann@example.com", None, "P001", result.file, 1),
        ("e2", datetime(2025, 3, 5, 10, 30, tzinfo=UTC), None, "ann@example.com", None, "P001", result.file, 2),
        ("e3", datetime(2025, 3, 5, 10, 0, tzinfo=UTC), "C0001", None, "CUST-9", "P001", result.file, 3),
    ]
    lineage = wh.execute(
        "SELECT DISTINCT _file_checksum, _load_id, _extra_columns, typeof(occurred_at) FROM raw.touchpoints"
    ).fetchall()
    assert lineage == [(result.checksum, result.load_id, None, "TIMESTAMP WITH TIME ZONE")]
    log = wh.execute(
        "SELECT run_id, feed, source, source_file, file_checksum, file_bytes, status, rows_in_file, rows_loaded, "
        "rows_rejected, extra_columns FROM audit.load_log WHERE load_id = ?",
        [result.load_id],
    ).fetchall()
    expected_log = ("test-run", "touchpoints", "P001", result.file, result.checksum, len(content.encode()))
    assert log == [(*expected_log, "loaded", 3, 3, 0, None)]


def test_good_jsonl_uses_line_numbers_and_keeps_extra_keys(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    lines = [
        # line 1: a purchase, numbers as JSON numbers, an extra key
        '{"conversion_id": "V1", "converted_at": "2025-03-06T09:00:00Z", "customer_id": "CUST-1", '
        '"conversion_type": "purchase", "revenue": 120.5, "currency": "USD", "gross_margin": 60, "coupon": "SPRING"}',
        "",  # line 2: blank, not a row
        # line 3: a refund with negative revenue and the refunded id; optional keys missing
        '{"conversion_id": "V2", "converted_at": "2025-03-07T09:00:00+01:00", "customer_id": "CUST-1", '
        '"conversion_type": "refund", "revenue": "-120.50", "currency": "USD", "gross_margin": -60, '
        '"refunded_conversion_id": "V1"}',
        '["not", "an", "object"]',  # line 4: malformed_record
        '{"conversion_id": "V3", ',  # line 5: invalid JSON -> malformed_record
        # line 6: a required key missing -> required
        '{"conversion_id": "V4", "converted_at": "2025-03-06T09:00:00Z", "conversion_type": "signup", '
        '"revenue": 0, "currency": "USD", "gross_margin": 0}',
    ]
    result = load(wh, landing, "internal/conversions/conv.jsonl", "\n".join(lines) + "\n")

    assert (result.status, result.rows_in_file, result.rows_loaded, result.rows_rejected) == ("loaded", 5, 2, 3)
    assert result.extra_columns == ["coupon"]
    rows = loaded_rows(
        wh, "conversions", "conversion_id, revenue, gross_margin, refunded_conversion_id, _row_number, _extra_columns"
    )
    assert rows == [
        ("V1", Decimal("120.5000"), Decimal("60.0000"), None, 1, '{"coupon":"SPRING"}'),
        ("V2", Decimal("-120.5000"), Decimal("-60.0000"), "V1", 3, None),
    ]
    assert rejected(wh) == [
        (4, "malformed_record", None),
        (5, "malformed_record", None),
        (6, "required", "customer_id"),
    ]
    reasons = [r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY row_number").fetchall()]
    assert reasons == [
        "internal/conversions/conv.jsonl row 4: malformed record: not a JSON object",
        "internal/conversions/conv.jsonl row 5: malformed record: not valid JSON",
        "internal/conversions/conv.jsonl row 6: required column customer_id is empty",
    ]
    raw_record = wh.execute("SELECT raw_record FROM audit.rejected_rows WHERE row_number = 4").fetchone()
    assert raw_record == ('["not", "an", "object"]',)


def test_good_parquet_uses_file_row_numbers(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    path = landing / "P002" / "touchpoints" / "tp.parquet"
    path.parent.mkdir(parents=True)
    # Typed Parquet columns: a real TIMESTAMPTZ, a BIGINT extra column. Row 2 has a channel that is not allowed.
    wh.execute(
        f"""COPY (
            SELECT * FROM (VALUES
                ('x1', TIMESTAMPTZ '2025-03-05 10:00:00+00', 'P002', 'C0001', 'social', 'impression', NULL, 7),
                ('x2', TIMESTAMPTZ '2025-03-05 11:00:00+00', 'P002', NULL, 'fax', 'click', 'a@b.co', 8),
                ('x3', TIMESTAMPTZ '2025-03-05 12:00:00+00', 'P002', NULL, 'search', 'click', 'c@d.co', 9)
            ) AS t(event_id, occurred_at, partner_id, campaign_id, channel, touch_type, email, score)
        ) TO '{path}' (FORMAT parquet)"""
    )
    result = load(wh, landing, "P002/touchpoints/tp.parquet")

    assert (result.status, result.rows_in_file, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 1, 2)
    assert result.extra_columns == ["score"]
    rows = loaded_rows(wh, "touchpoints", "event_id, occurred_at, channel, _row_number, _extra_columns")
    assert rows == [("x3", datetime(2025, 3, 5, 12, tzinfo=UTC), "search", 3, '{"score":"9"}')]
    # x1 has no customer identifier at all; x2's channel is not allowed.
    assert rejected(wh) == [
        (1, "require_one_of", "email, email_sha256, customer_id, anonymous_id"),
        (2, "allowed_values", "channel"),
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Whole-file rejections
# ---------------------------------------------------------------------------------------------------------------------


def test_missing_required_column_rejects_whole_file_and_keeps_rows(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    seed_master_data(wh, landing)
    header = "event_id,partner_id,campaign_id,channel,touch_type,email"  # no occurred_at
    content = "\n".join([header, "e1,P001,C0001,email,click,a@b.co", "e2,P001,C0001,email,click,c@d.co", "e3,P001"])
    result = load(wh, landing, "P001/touchpoints/no_time.csv", content + "\n")

    assert (result.status, result.rows_in_file, result.rows_loaded, result.rows_rejected) == ("rejected_file", 3, 0, 3)
    assert "P001/touchpoints/no_time.csv" in result.message
    assert "occurred_at" in result.message
    assert "missing_column" in result.message
    assert rejected(wh) == [
        (1, "missing_column", "occurred_at"),
        (2, "missing_column", "occurred_at"),
        (3, "missing_column", "occurred_at"),
    ]
    assert wh.execute("SELECT count(*) FROM raw.touchpoints").fetchone() == (0,)
    first = wh.execute("SELECT reason, raw_record FROM audit.rejected_rows WHERE row_number = 1").fetchone()
    assert first is not None
    assert first[0].startswith("P001/touchpoints/no_time.csv row 1: missing_column: required column(s) occurred_at")
    assert json.loads(first[1])["event_id"] == "e1"


def test_feed_delivered_by_the_wrong_kind_of_source_is_rejected(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    # touchpoints are partner feeds: a file under internal/ is rejected whole, its row kept.
    partner_only = load(wh, landing, "internal/touchpoints/tp.csv", csv_text(TP_HEADER, tp("e1")))
    # partners is an internal feed: a partner cannot deliver it.
    internal_only = load(wh, landing, "P001/partners/p.csv", PARTNERS_CSV.replace("Acme", "Acme Inc"))

    assert (partner_only.status, partner_only.rows_in_file, partner_only.rows_rejected) == ("rejected_file", 1, 1)
    assert (internal_only.status, internal_only.rows_in_file, internal_only.rows_rejected) == ("rejected_file", 2, 2)
    assert rejected(wh, "internal/touchpoints/tp.csv") == [(1, "source_mismatch", None)]
    assert rejected(wh, "P001/partners/p.csv") == [(1, "source_mismatch", None), (2, "source_mismatch", None)]
    assert wh.execute("SELECT count(*) FROM raw.partners").fetchone() == (2,)  # only the seeded ones


def test_empty_files_are_rejected(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    results = [
        load(wh, landing, "internal/partners/zero.csv", b""),
        load(wh, landing, "internal/partners/blank.csv", "\n\n"),
        load(wh, landing, "internal/conversions/blank.jsonl", "\n  \n"),
    ]
    assert [(r.status, r.rows_in_file, r.rows_loaded, r.rows_rejected, r.message) for r in results] == [
        ("rejected_file", 0, 0, 0, "empty file")
    ] * 3
    assert rejected(wh) == []


def test_header_only_file_loads_zero_rows(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    result = load(wh, landing, "internal/partners/header_only.csv", PARTNERS_CSV.splitlines()[0] + "\n")
    assert (result.status, result.rows_in_file, result.rows_loaded, result.rows_rejected) == ("loaded", 0, 0, 0)
    assert result.message == "loaded 0 of 0 rows"


def test_unsupported_and_unreadable_files_are_rejected_with_file_format(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    xlsx = load(wh, landing, "internal/partners/partners.xlsx", b"PK\x03\x04 not a sheet")
    broken = load(wh, landing, "internal/partners/partners.parquet", b"PAR1 this is not parquet PAR1")

    assert (xlsx.status, xlsx.rows_in_file, xlsx.rows_loaded, xlsx.rows_rejected) == ("rejected_file", 0, 0, 0)
    assert xlsx.message.startswith("internal/partners/partners.xlsx: file_format: unsupported file type .xlsx")
    assert (broken.status, broken.rows_in_file) == ("rejected_file", 0)
    assert broken.message.startswith("internal/partners/partners.parquet: file_format: not a readable Parquet file")
    statuses = wh.execute("SELECT source_file, status FROM audit.load_log ORDER BY source_file").fetchall()
    assert statuses == [
        ("internal/partners/partners.parquet", "rejected_file"),
        ("internal/partners/partners.xlsx", "rejected_file"),
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Row rules
# ---------------------------------------------------------------------------------------------------------------------


def test_type_failures_including_impossible_dates_and_naive_timestamps(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp("e1", occurred="2026-02-30T10:00:00Z"),  # row 1: impossible date
        tp("e2", occurred="2025-03-05 10:00:00"),  # row 2: no offset
        tp("e3", occurred="yesterday"),  # row 3: not a timestamp
        tp("e4", occurred="2025-03-05T10:00:00.123+05:30"),  # row 4: fine
    )
    result = load(wh, landing, "P001/touchpoints/types.csv", content)

    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 1, 3)
    assert rejected(wh) == [(1, "type", "occurred_at"), (2, "type", "occurred_at"), (3, "type", "occurred_at")]
    reasons = [r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY row_number").fetchall()]
    assert reasons == [
        "P001/touchpoints/types.csv row 1: occurred_at '2026-02-30T10:00:00Z' is not a timestamptz "
        "(expected ISO 8601 with an offset, e.g. 2026-01-31T10:00:00Z)",
        "P001/touchpoints/types.csv row 2: occurred_at '2025-03-05 10:00:00' is not a timestamptz: "
        "it has no time zone offset (add Z or +hh:mm)",
        "P001/touchpoints/types.csv row 3: occurred_at 'yesterday' is not a timestamptz "
        "(expected ISO 8601 with an offset, e.g. 2026-01-31T10:00:00Z)",
    ]
    assert loaded_rows(wh, "touchpoints", "occurred_at") == [(datetime(2025, 3, 5, 4, 30, 0, 123000, tzinfo=UTC),)]

    partners = csv_text(
        PARTNERS_CSV.splitlines()[0],
        "P003,Initech,integration,gold,2024-02-30,US",  # row 1: impossible date
        "P004,Umbrella,integration,gold,2024/02/01,US",  # row 2: wrong date format
        "P005,Hooli,integration,gold,2024-02-29,US",  # row 3: leap day, fine
    )
    result = load(wh, landing, "internal/partners/more.csv", partners)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert rejected(wh, "internal/partners/more.csv") == [(1, "type", "joined_on"), (2, "type", "joined_on")]


def test_not_in_future_allows_clock_skew_only(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    now = datetime.now(UTC)
    soon = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # within the 5 minute skew
    later = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    content = csv_text(TP_HEADER, tp("e1", occurred=soon), tp("e2", occurred=later), tp("e3", occurred="2999-01-01Z"))
    result = load(wh, landing, "P001/touchpoints/future.csv", content)

    # e3's value '2999-01-01Z' is not even a timestamp (no time of day): type comes first.
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert rejected(wh) == [(2, "not_in_future", "occurred_at"), (3, "type", "occurred_at")]
    reason = wh.execute("SELECT reason FROM audit.rejected_rows WHERE row_number = 2").fetchone()
    assert reason is not None and reason[0].startswith(
        f"P001/touchpoints/future.csv row 2: occurred_at '{later}' is in"
    )

    tomorrow_somewhere = (now + timedelta(hours=14)).date()  # still today in the furthest time zone
    too_late = tomorrow_somewhere + timedelta(days=1)
    costs = csv_text(
        "cost_id,cost_date,partner_id,campaign_id,amount,currency,cost_type",
        f"K1,{tomorrow_somewhere},P001,C0001,10,USD,media",
        f"K2,{too_late},P001,C0001,10,USD,media",
    )
    result = load(wh, landing, "P001/costs/costs.csv", costs)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert rejected(wh, "P001/costs/costs.csv") == [(2, "not_in_future", "cost_date")]


def test_negative_amounts_min_and_negative_when(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    costs = csv_text(
        "cost_id,cost_date,partner_id,campaign_id,amount,currency,cost_type",
        "K1,2025-03-01,P001,C0001,-5.00,USD,media",  # row 1: below min 0
        "K2,2025-03-01,P001,C0001,0,USD,media",  # row 2: fine (min is inclusive)
    )
    assert load(wh, landing, "P001/costs/costs.csv", costs).rows_loaded == 1
    header = "conversion_id,converted_at,customer_id,conversion_type,revenue,currency,gross_margin"
    conversions = csv_text(
        header,
        "V1,2025-03-01T10:00:00Z,C1,purchase,-10,USD,-5",  # row 1: purchase below min 0
        "V2,2025-03-01T10:00:00Z,C1,refund,10,USD,5",  # row 2: refund must be <= 0
        "V3,2025-03-01T10:00:00Z,C1,refund,-10,USD,-5",  # row 3: fine
        "V4,2025-03-01T10:00:00Z,C1,refund,0,USD,0",  # row 4: fine
    )
    result = load(wh, landing, "internal/conversions/conv.csv", conversions)

    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    # Ordered by file: 'P001/...' sorts before 'internal/...'.
    assert rejected(wh) == [(1, "min", "amount"), (1, "min", "revenue"), (2, "negative_when", "revenue")]
    reasons = sorted(r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows").fetchall())
    assert reasons == [
        "P001/costs/costs.csv row 1: amount -5.00 is below the minimum 0",
        "internal/conversions/conv.csv row 1: revenue -10 is below the minimum 0",
        "internal/conversions/conv.csv row 2: revenue 10 must be zero or negative when conversion_type is 'refund'",
    ]


def test_allowed_values_pattern_after_and_bounds(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp("e1", channel="fax"),  # row 1: allowed_values
        tp("e2", channel="Email"),  # row 2: allowed values are case sensitive
        tp("e3", email="not-an-email"),  # row 3: pattern
        tp("e4"),  # row 4: fine
    )
    result = load(wh, landing, "P001/touchpoints/values.csv", content)
    assert (result.rows_loaded, result.rows_rejected) == (1, 3)
    assert rejected(wh) == [(1, "allowed_values", "channel"), (2, "allowed_values", "channel"), (3, "pattern", "email")]

    campaigns = csv_text(
        CAMPAIGNS_CSV.splitlines()[0],
        "C0002,Backwards,webinar,2025-04-30,2025-04-01,100,USD",  # row 1: end_date before start_date
        "C0003,Same day,webinar,2025-04-01,2025-04-01,100,USD",  # row 2: fine (>=)
        "C04,Short id,webinar,2025-04-01,2025-04-02,100,USD",  # row 3: pattern ^C[0-9]{4,}$
    )
    result = load(wh, landing, "internal/campaigns/more.csv", campaigns)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert rejected(wh, "internal/campaigns/more.csv") == [(1, "after", "end_date"), (3, "pattern", "campaign_id")]

    agreements = csv_text(
        "agreement_id,version,partner_id,effective_from,revenue_share_pct,referral_commission_pct,referral_months,"
        "cost_share_pct,lookback_days,attribution_model,currency,volume_tiers",
        "A1,1,P001,2025-01-01,10,5,12,50,30,linear,USD,0:10|50000:12",  # row 1: fine
        "A1,0,P001,2025-01-01,10,5,12,50,30,linear,USD,",  # row 2: version below min 1
        "A2,1.5,P001,2025-01-01,10,5,12,50,30,linear,USD,",  # row 3: not an integer
        "A3,1,P001,2025-01-01,101,5,12,50,30,linear,USD,",  # row 4: revenue_share_pct above max 100
        "A4,1,P001,2025-01-01,10,5,12,50,400,linear,USD,",  # row 5: lookback_days above max 365
        "A5,1,P001,2025-01-01,10,5,12,50,30,linear,USD,10%",  # row 6: volume_tiers pattern
    )
    result = load(wh, landing, "internal/agreements/agreements.csv", agreements)
    assert (result.rows_loaded, result.rows_rejected) == (1, 5)
    assert rejected(wh, "internal/agreements/agreements.csv") == [
        (2, "min", "version"),
        (3, "type", "version"),
        (4, "max", "revenue_share_pct"),
        (5, "max", "lookback_days"),
        (6, "pattern", "volume_tiers"),
    ]


def test_unknown_references_and_source_mismatch(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp("e1", campaign="C9999"),  # row 1: unknown campaign
        tp("e2", partner="P002"),  # row 2: file is in P001's folder
        tp("e3", campaign=""),  # row 3: optional reference left empty: fine
    )
    result = load(wh, landing, "P001/touchpoints/refs.csv", content)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert rejected(wh) == [(1, "unknown_reference", "campaign_id"), (2, "source_mismatch", "partner_id")]
    reasons = [r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY row_number").fetchall()]
    assert reasons == [
        "P001/touchpoints/refs.csv row 1: campaign_id 'C9999' not found in raw.campaigns.campaign_id",
        "P001/touchpoints/refs.csv row 2: partner_id 'P002' does not match the source folder 'P001'",
    ]

    # A partner that is not in raw.partners: its own folder, its own id, unknown.
    unknown = load(wh, landing, "P999/touchpoints/t.csv", csv_text(TP_HEADER, tp("e1", partner="P999")))
    assert (unknown.rows_loaded, unknown.rows_rejected) == (0, 1)
    assert rejected(wh, "P999/touchpoints/t.csv") == [(1, "unknown_reference", "partner_id")]

    # costs may come from internal/, where partner_id is not compared with the folder.
    costs = csv_text(
        "cost_id,cost_date,partner_id,campaign_id,amount,currency,cost_type", "K1,2025-03-01,P002,C0001,10,USD,event"
    )
    assert load(wh, landing, "internal/costs/costs.csv", costs).rows_loaded == 1


def test_required_and_require_one_of(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp(""),  # row 1: event_id empty
        tp("e2", email=""),  # row 2: no identifier at all
        tp("e3", email="", customer="CUST-3"),  # row 3: fine
    )
    result = load(wh, landing, "P001/touchpoints/ids.csv", content)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert rejected(wh) == [
        (1, "required", "event_id"),
        (2, "require_one_of", "email, email_sha256, customer_id, anonymous_id"),
    ]


def test_first_failing_rule_in_column_order(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    # Bad occurred_at (column 2) and bad channel (column 5): occurred_at is reported.
    content = csv_text(TP_HEADER, tp("e1", occurred="2025-13-01T00:00:00Z", channel="fax"))
    assert load(wh, landing, "P001/touchpoints/order.csv", content).rows_rejected == 1
    assert rejected(wh) == [(1, "type", "occurred_at")]


def test_boolean_double_and_integer_types(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    contract = parse_contract(
        {
            "feed": "metrics",
            "source_kind": "any",
            "load_mode": "append",
            "key": ["metric_id"],
            "columns": [
                {"name": "metric_id", "type": "varchar", "required": True},
                {"name": "score", "type": "double", "min": 0, "max": 1},
                {"name": "flag", "type": "boolean", "required": True},
                {"name": "n", "type": "integer"},
            ],
        }
    )
    content = csv_text(
        "metric_id,score,flag,n",
        "m1,0.5,yes,42",  # row 1: fine
        "m2,nan,true,1",  # row 2: not a double
        "m3,1.5,false,1",  # row 3: above max
        "m4,0.1,maybe,1",  # row 4: not a boolean
        "m5,1e-1,0,1.0",  # row 5: '1.0' is not an integer
        "m6,,F,-7",  # row 6: fine
    )
    path = write(landing, "internal/metrics/m.csv", content)
    result = load_file(wh, contract, path, "internal", landing)
    assert (result.rows_loaded, result.rows_rejected) == (2, 4)
    assert wh.execute("SELECT metric_id, score, flag, n, _row_number FROM raw.metrics ORDER BY 1").fetchall() == [
        ("m1", 0.5, True, 42, 1),
        ("m6", None, False, -7, 6),
    ]
    assert rejected(wh) == [(2, "type", "score"), (3, "max", "score"), (4, "type", "flag"), (5, "type", "n")]


# ---------------------------------------------------------------------------------------------------------------------
# Duplicate keys and load modes
# ---------------------------------------------------------------------------------------------------------------------


def test_duplicate_keys_in_append_feed_within_and_across_files(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    first = csv_text(
        TP_HEADER, tp("e1"), tp("e2"), tp("e1", channel="social"), tp("e1", occurred="bad"), tp("e1"), tp("e1")
    )
    # e1 row 3 has another channel than row 1 -> conflicting_duplicate; row 4 fails on its type first; rows 5 and 6
    # repeat row 1 exactly -> duplicate_key (a replay), each against row 1, the version kept.
    result = load(wh, landing, "P001/touchpoints/a.csv", first)
    assert (result.rows_loaded, result.rows_rejected) == (2, 4)
    assert rejected(wh, "P001/touchpoints/a.csv") == [
        (3, "conflicting_duplicate", "partner_id, event_id"),
        (4, "type", "occurred_at"),
        (5, "duplicate_key", "partner_id, event_id"),
        (6, "duplicate_key", "partner_id, event_id"),
    ]
    reasons = wh.execute("SELECT reason FROM audit.rejected_rows WHERE rule <> 'type' ORDER BY row_number").fetchall()
    repeat = "a repeat of row 1 of this file"
    assert reasons == [
        (
            "P001/touchpoints/a.csv row 3: conflicting duplicate key (partner_id, event_id) = ('P001', 'e1'): "
            "a repeat of row 1 of this file, in another version: channel 'social' here, 'email' there",
        ),
        *(
            (f"P001/touchpoints/a.csv row {n}: duplicate key (partner_id, event_id) = ('P001', 'e1'): {repeat}",)
            for n in (5, 6)
        ),
    ]

    # Second file: e2 was loaded before, unchanged (append feed: a replayed row); e1 was loaded before and comes again
    # an hour later, with a customer id for its email (a conflict: both versions shown); e3 is new, then repeated.
    second = csv_text(
        TP_HEADER, tp("e2"), tp("e1", occurred="2025-03-05T11:00:00Z", email="", customer="CUST-1"), tp("e3"), tp("e3")
    )
    result = load(wh, landing, "P001/touchpoints/b.csv", second)
    assert (result.rows_loaded, result.rows_rejected) == (1, 3)
    assert rejected(wh, "P001/touchpoints/b.csv") == [
        (1, "duplicate_key", "partner_id, event_id"),
        (2, "conflicting_duplicate", "partner_id, event_id"),
        (4, "duplicate_key", "partner_id, event_id"),
    ]
    reasons = wh.execute(
        "SELECT reason FROM audit.rejected_rows WHERE source_file = 'P001/touchpoints/b.csv' AND row_number <= 2 "
        "ORDER BY row_number"
    ).fetchall()
    assert reasons == [
        (
            "P001/touchpoints/b.csv row 1: duplicate key (partner_id, event_id) = ('P001', 'e2'): "
            "already loaded from P001/touchpoints/a.csv row 2",
        ),
        (
            "P001/touchpoints/b.csv row 2: conflicting duplicate key (partner_id, event_id) = ('P001', 'e1'): "
            "already loaded from P001/touchpoints/a.csv row 1, in another version: "
            "occurred_at '2025-03-05 11:00:00+00' here, '2025-03-05 10:00:00+00' there; "
            "email empty here, 'ann@example.com' there; customer_id 'CUST-1' here, empty there",
        ),
    ]
    # The same event id from another partner is another key.
    other = load(wh, landing, "P002/touchpoints/c.csv", csv_text(TP_HEADER, tp("e1", partner="P002")))
    assert other.rows_loaded == 1
    assert loaded_rows(wh, "touchpoints", "partner_id, event_id, _row_number") == [
        ("P001", "e1", 1),
        ("P001", "e2", 2),
        ("P001", "e3", 3),
        ("P002", "e1", 1),
    ]


def test_snapshot_feed_accepts_new_versions_but_not_repeats_within_a_file(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    header = PARTNERS_CSV.splitlines()[0]
    load(wh, landing, "internal/partners/2025-03-01.csv", PARTNERS_CSV)
    update = csv_text(header, "P001,Acme Corp,reseller,platinum,2024-01-15,US", "P001,Acme,reseller,gold,2024-01-15,US")
    result = load(wh, landing, "internal/partners/2025-03-02.csv", update)

    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    # Two versions of P001 in one snapshot: the first is kept, the second shown beside it.
    assert rejected(wh) == [(2, "conflicting_duplicate", "partner_id")]
    assert wh.execute("SELECT reason FROM audit.rejected_rows").fetchone() == (
        "internal/partners/2025-03-02.csv row 2: conflicting duplicate key (partner_id) = ('P001'): a repeat of row 1 "
        "of this file, in another version: partner_name 'Acme' here, 'Acme Corp' there; tier 'gold' here, "
        "'platinum' there",
    )
    assert loaded_rows(wh, "partners", "partner_id, tier, _source_file") == [
        ("P001", "gold", "internal/partners/2025-03-01.csv"),
        ("P002", "silver", "internal/partners/2025-03-01.csv"),
        ("P001", "platinum", "internal/partners/2025-03-02.csv"),
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Malformed lines, encodings and row numbers
# ---------------------------------------------------------------------------------------------------------------------


def test_truncated_last_line_is_a_malformed_record(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(TP_HEADER, tp("e1"), tp("e2")) + "e3,2025-03-05T10:00:00Z,P0"  # no newline, cut short
    result = load(wh, landing, "P001/touchpoints/cut.csv", content)

    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert rejected(wh) == [(3, "malformed_record", None)]
    reason, raw_record = wh.execute("SELECT reason, raw_record FROM audit.rejected_rows").fetchone()  # type: ignore[misc]
    assert reason.startswith("P001/touchpoints/cut.csv row 3: malformed record (missing columns)")
    assert raw_record == "e3,2025-03-05T10:00:00Z,P0"
    assert loaded_rows(wh, "touchpoints", "event_id, _row_number") == [("e1", 1), ("e2", 2)]


def test_invalid_utf8_rejects_only_that_row(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = (
        csv_text(TP_HEADER, tp("e1")).encode()
        + tp("e2", email="jos\xe9@example.com").encode("latin-1")
        + b"\n"
        + csv_text(tp("e3"), tp("e4")).encode()
    )
    result = load(wh, landing, "P001/touchpoints/latin1.csv", content)

    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 3, 1)
    assert rejected(wh) == [(2, "encoding", None)]
    reason = wh.execute("SELECT reason FROM audit.rejected_rows").fetchone()
    assert reason == ("P001/touchpoints/latin1.csv row 2: invalid UTF-8 byte sequence (files must be UTF-8 encoded)",)
    assert loaded_rows(wh, "touchpoints", "event_id, _row_number") == [("e1", 1), ("e3", 3), ("e4", 4)]


def test_row_numbers_with_blank_lines_quoted_newlines_and_rejects(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = (
        TP_HEADER
        + "\r\n"  # CRLF line endings throughout
        + tp("e1")
        + "\r\n"  # row 1
        + "e2,2025-03-05T10:00:00Z,P001\r\n"  # row 2: malformed
        + "\r\n"  # row 3: blank line, not a row
        + tp("e4")
        + "\r\n"  # row 4
        + tp("e5", occurred="bad")
        + "\r\n"  # row 5: type
        + tp("e6")
        + "\r\n"  # row 6
    )
    result = load(wh, landing, "P001/touchpoints/crlf.csv", content)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (5, 3, 2)
    assert rejected(wh) == [(2, "malformed_record", None), (5, "type", "occurred_at")]
    assert loaded_rows(wh, "touchpoints", "event_id, _row_number") == [("e1", 1), ("e4", 4), ("e6", 6)]

    quoted = (
        "partner_id,partner_name,partner_type,tier,joined_on,country\n"
        'P003,"Multi\nline name",reseller,gold,2024-01-01,US\n'  # row 1 spans two physical lines
        "P004,Short\n"  # row 2: malformed
        "P005,Fine,reseller,gold,2024-01-01,US\n"  # row 3
    )
    result = load(wh, landing, "internal/partners/quoted.csv", quoted)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert rejected(wh, "internal/partners/quoted.csv") == [(2, "malformed_record", None)]
    names = wh.execute(
        "SELECT partner_name, _row_number FROM raw.partners WHERE _source_file = 'internal/partners/quoted.csv' "
        "ORDER BY _row_number"
    ).fetchall()
    assert names == [("Multi\nline name", 1), ("Fine", 3)]


def test_row_numbers_in_a_large_file_read_in_parallel(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    """200k rows (read by several threads) with malformed lines spread through the file keep exact row numbers."""
    seed_master_data(wh, landing)
    n = 200_000
    bad_rows = {7, 65_537, 100_000, 150_001, n}
    lines = [
        f"ev{i},P001" if i in bad_rows else f"ev{i},2025-03-05T10:00:00Z,P001,C0001,email,click,u{i}@x.co,"
        for i in range(1, n + 1)
    ]
    result = load(wh, landing, "P001/touchpoints/big.csv", csv_text(TP_HEADER, *lines))

    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (n, n - 5, 5)
    assert [r[0] for r in rejected(wh)] == sorted(bad_rows)
    mismatches = wh.execute("SELECT count(*) FROM raw.touchpoints WHERE event_id <> ('ev' || _row_number)").fetchone()
    assert mismatches == (0,)


def test_jsonl_row_numbers_after_an_invalid_utf8_line(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    line = '{{"conversion_id": "{}", "converted_at": "2025-03-06T09:00:00Z", "customer_id": "{}", '
    line += '"conversion_type": "signup", "revenue": 0, "currency": "USD", "gross_margin": 0}}'
    content = (
        (line.format("V1", "C1") + "\n").encode()
        + (line.format("V2", "Jos\xe9") + "\n").encode("latin-1")  # line 2: not UTF-8
        + b"\n"  # line 3: blank
        + (line.format("V4", "C4") + "\n" + line.format("V5", "C5") + "\n").encode()
    )
    result = load(wh, landing, "internal/conversions/conv.ndjson", content)

    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 3, 1)
    assert rejected(wh) == [(2, "encoding", None)]
    assert loaded_rows(wh, "conversions", "conversion_id, _row_number") == [("V1", 1), ("V4", 4), ("V5", 5)]


def test_blank_lines_are_found_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "blanks.csv"
    path.write_bytes(b"h\r\na\r\n\r\nb\n\n\nc\r\n\r\n")  # blank lines 3, 5, 6 and 8
    for size in (1, 2, 3, 4, 5, 1 << 20):
        monkeypatch.setattr(files, "CHUNK_BYTES", size)
        assert files.blank_lines(path) == [3, 5, 6, 8]
        assert files.scan_file(path) == (hashlib.sha256(path.read_bytes()).hexdigest(), 17, 8)
    quoted = tmp_path / "quoted.csv"
    # Physical lines: 1 h, 2-4 one quoted value with an empty line inside, 5 blank, 6 an escaped quote, 7 blank.
    quoted.write_bytes(b'h\n"a\n\nb"\n\n"say ""hi"""\r\n\r\n')
    for size in (1, 2, 3, 4, 5, 1 << 20):
        monkeypatch.setattr(files, "CHUNK_BYTES", size)
        assert files.blank_lines(quoted) == [3, 5, 7]
        # As a CSV reader counts lines: h 1, the quoted value 2, blank 3, 'say "hi"' 4, blank 5.
        assert files.blank_lines(quoted, quote=b'"') == [3, 5]


def test_mixed_line_endings_reject_the_file_with_a_hint(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    content = "partner_id,partner_name,partner_type,tier,joined_on,country\r\nP001,Acme,reseller,gold,2024-01-15,US\n"
    result = load(wh, landing, "internal/partners/mixed.csv", content + "P002,Globex,referral,silver,2024-03-01,DE\r\n")
    assert (result.status, result.rows_in_file, result.rows_rejected) == ("rejected_file", 0, 0)
    assert result.message.startswith("internal/partners/mixed.csv: file_format: not a readable CSV file")
    assert result.message.endswith("(mixed line endings or broken quoting?)")


def test_loading_inside_an_open_transaction_is_refused(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    path = write(landing, "internal/partners/p.csv", PARTNERS_CSV)
    wh.execute("BEGIN TRANSACTION")
    with pytest.raises(LoadError, match="manages its own transactions; commit or roll back the open transaction first"):
        load_file(wh, CONTRACTS["partners"], path, "internal", landing)
    wh.execute("ROLLBACK")
    assert wh.execute("SELECT count(*) FROM audit.load_log").fetchone() == (0,)
    assert load_file(wh, CONTRACTS["partners"], path, "internal", landing).rows_loaded == 2


# ---------------------------------------------------------------------------------------------------------------------
# Extra columns, replays, transactions
# ---------------------------------------------------------------------------------------------------------------------


def test_extra_columns_are_kept_and_reported(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(TP_HEADER + ",lead_score,region", tp("e1") + ",87,emea", tp("e2") + ",,apac")
    result = load(wh, landing, "P001/touchpoints/extra.csv", content)

    assert (result.rows_loaded, result.extra_columns) == (2, ["lead_score", "region"])
    assert result.message == "loaded 2 of 2 rows; extra columns kept in _extra_columns: lead_score, region"
    assert loaded_rows(wh, "touchpoints", "event_id, _extra_columns") == [
        ("e1", '{"lead_score":"87","region":"emea"}'),
        ("e2", '{"lead_score":null,"region":"apac"}'),
    ]
    log = wh.execute("SELECT extra_columns, message FROM audit.load_log WHERE load_id = ?", [result.load_id]).fetchone()
    assert log == ("lead_score, region", result.message)


def test_replayed_and_renamed_files_load_once(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(TP_HEADER, tp("e1"), tp("e2"))
    first = load(wh, landing, "P001/touchpoints/day1.csv", content)
    replay = load(wh, landing, "P001/touchpoints/day1.csv")
    write(landing, "P001/touchpoints/day1_resent.csv", content)
    renamed = load(wh, landing, "P001/touchpoints/day1_resent.csv")

    assert [(r.status, r.rows_loaded, r.rows_rejected) for r in (first, replay, renamed)] == [
        ("loaded", 2, 0),
        ("skipped_duplicate", 0, 0),
        ("skipped_duplicate", 0, 0),
    ]
    assert "already loaded as P001/touchpoints/day1.csv" in renamed.message
    assert wh.execute("SELECT count(*) FROM raw.touchpoints").fetchone() == (2,)
    assert rejected(wh) == []

    # A rejected file re-delivered unchanged is skipped as well.
    assert load(wh, landing, "internal/partners/none.csv", b"").status == "rejected_file"
    assert load(wh, landing, "internal/partners/none_again.csv", b"").status == "skipped_duplicate"

    # load_feed over the whole landing folder loads nothing new.
    again = load_feed(wh, CONTRACTS["touchpoints"], landing)
    assert [(f.file, f.status) for f in again.files] == [
        ("P001/touchpoints/day1.csv", "skipped_duplicate"),
        ("P001/touchpoints/day1_resent.csv", "skipped_duplicate"),
    ]
    assert wh.execute("SELECT count(*) FROM raw.touchpoints").fetchone() == (2,)


def test_rejected_file_moved_to_the_right_place_is_loaded(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    wrong_folder = load(wh, landing, "P001/partners/p.csv", PARTNERS_CSV)
    wrong_type = load(wh, landing, "internal/partners/p.txt", PARTNERS_CSV)
    same_again = load(wh, landing, "P001/partners/p_again.csv", PARTNERS_CSV)
    moved = load(wh, landing, "internal/partners/p.csv", PARTNERS_CSV)

    assert [
        (r.status, r.rows_in_file, r.rows_loaded, r.rows_rejected)
        for r in (wrong_folder, wrong_type, same_again, moved)
    ] == [
        ("rejected_file", 2, 0, 2),
        ("rejected_file", 0, 0, 0),
        ("skipped_duplicate", 0, 0, 0),
        ("loaded", 2, 2, 0),
    ]
    assert "already rejected as P001/partners/p.csv" in same_again.message


def test_failure_mid_load_leaves_nothing_and_a_retry_loads_once(
    wh: duckdb.DuckDBPyConnection, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_master_data(wh, landing)
    content = csv_text(TP_HEADER, tp("e1"), tp("e2"), tp("e3", channel="fax"))
    path = write(landing, "P001/touchpoints/crash.csv", content)
    real_insert_rejected = loader._insert_rejected

    def crash_after_raw_insert(*args: object, **kwargs: object) -> int:
        # Raw rows of this file are inserted (inside the transaction) before rejected rows.
        assert wh.execute("SELECT count(*) FROM raw.touchpoints").fetchone() == (2,)
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_insert_rejected", crash_after_raw_insert)
    with pytest.raises(LoadError, match=r"P001/touchpoints/crash.csv: load failed and was rolled back.*disk full"):
        load_file(wh, CONTRACTS["touchpoints"], path, "P001", landing)

    assert wh.execute("SELECT count(*) FROM raw.touchpoints").fetchone() == (0,)
    assert rejected(wh) == []
    log = wh.execute("SELECT status, rows_loaded FROM audit.load_log WHERE feed = 'touchpoints'").fetchall()
    assert log == [("failed", 0)]
    assert wh.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)

    monkeypatch.setattr(loader, "_insert_rejected", real_insert_rejected)
    retry = load_file(wh, CONTRACTS["touchpoints"], path, "P001", landing)
    again = load_file(wh, CONTRACTS["touchpoints"], path, "P001", landing)
    assert [(r.status, r.rows_loaded, r.rows_rejected) for r in (retry, again)] == [
        ("loaded", 2, 1),
        ("skipped_duplicate", 0, 0),
    ]
    assert wh.execute("SELECT count(*) FROM raw.touchpoints").fetchone() == (2,)


def test_load_feed_discovers_files_in_path_order(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    write(landing, "P002/touchpoints/b.csv", csv_text(TP_HEADER, tp("e1", partner="P002")))
    write(landing, "P001/touchpoints/b.csv", csv_text(TP_HEADER, tp("e2")))
    record = dict(zip(TP_HEADER.split(","), tp("e1").split(","), strict=True))
    write(landing, "P001/touchpoints/a.jsonl", json.dumps(record) + "\n")
    write(landing, "P001/touchpoints/.partial.csv", "ignored")
    write(landing, "P001/touchpoints/_tmp.csv", "ignored")
    write(landing, "_archive/touchpoints/old.csv", "ignored")
    write(landing, "P001/costs/c.csv", "ignored: another feed")
    (landing / "P003" / "touchpoints" / "sub").mkdir(parents=True)  # not a file: found, and rejected unread
    (landing / "P003" / "touchpoints" / "_done").mkdir(parents=True)  # an underscore folder: not a delivery

    found = discover_files(landing, "touchpoints")
    assert [(s, p.relative_to(landing).as_posix()) for s, p in found] == [
        ("P001", "P001/touchpoints/a.jsonl"),
        ("P001", "P001/touchpoints/b.csv"),
        ("P002", "P002/touchpoints/b.csv"),
        ("P003", "P003/touchpoints/sub"),
    ]
    result = load_feed(wh, CONTRACTS["touchpoints"], landing, run_id="r42")
    assert [(f.file, f.status, f.rows_loaded) for f in result.files] == [
        ("P001/touchpoints/a.jsonl", "loaded", 1),
        ("P001/touchpoints/b.csv", "loaded", 1),
        ("P002/touchpoints/b.csv", "loaded", 1),
        ("P003/touchpoints/sub", "rejected_file", 0),
    ]
    assert (result.rows_loaded, result.rows_rejected, result.count("loaded")) == (3, 0, 3)
    assert wh.execute("SELECT DISTINCT run_id FROM audit.load_log WHERE feed = 'touchpoints'").fetchall() == [("r42",)]
    assert discover_files(landing / "missing", "touchpoints") == []


# ---------------------------------------------------------------------------------------------------------------------
# Warehouse layout and contracts
# ---------------------------------------------------------------------------------------------------------------------


def test_ensure_warehouse_creates_every_table_idempotently(wh: duckdb.DuckDBPyConnection) -> None:
    ensure_warehouse(wh)  # second call, with the packaged contracts: nothing changes
    tables = wh.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
    ).fetchall()
    loader_tables = ["audit.erasure_tombstones", "audit.erasures", "audit.load_log", "audit.rejected_rows"]
    assert [t[0] for t in tables] == loader_tables + [f"raw.{f}" for f in sorted(CONTRACTS)]
    columns = wh.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'raw' AND table_name = 'conversions' ORDER BY ordinal_position"
    ).fetchall()
    assert columns == [
        ("conversion_id", "VARCHAR"),
        ("converted_at", "TIMESTAMP WITH TIME ZONE"),
        ("customer_id", "VARCHAR"),
        ("email", "VARCHAR"),
        ("anonymous_id", "VARCHAR"),
        ("conversion_type", "VARCHAR"),
        ("revenue", "DECIMAL(18,4)"),
        ("currency", "VARCHAR"),
        ("gross_margin", "DECIMAL(18,4)"),
        ("refunded_conversion_id", "VARCHAR"),
        ("_source", "VARCHAR"),
        ("_source_file", "VARCHAR"),
        ("_row_number", "BIGINT"),
        ("_file_checksum", "VARCHAR"),
        ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
        ("_load_id", "VARCHAR"),
        ("_extra_columns", "VARCHAR"),
    ]
    # A column added to a contract is added to the existing table.
    grown = parse_contract(
        {
            "feed": "partners",
            "source_kind": "internal",
            "load_mode": "snapshot",
            "key": ["partner_id"],
            "columns": [
                {"name": "partner_id", "type": "varchar", "required": True},
                {"name": "website", "type": "varchar"},
            ],
        }
    )
    ensure_warehouse(wh, {"partners": grown})
    names = [
        r[0]
        for r in wh.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'partners'"
        ).fetchall()
    ]
    assert names[-1] == "website"
    changed = parse_contract(
        {
            **BASE_CONTRACT,
            "feed": "partners",
            "key": ["partner_id"],
            "columns": [{"name": "partner_id", "type": "integer", "required": True}],
        }
    )
    with pytest.raises(LoadError, match="raw.partners.partner_id is VARCHAR in the warehouse but BIGINT"):
        ensure_warehouse(wh, {"partners": changed})


def test_packaged_contracts_are_valid_and_declare_load_modes() -> None:
    assert {name: c.load_mode for name, c in CONTRACTS.items()} == {
        "agreements": "snapshot",
        "campaign_partners": "snapshot",
        "campaigns": "snapshot",
        "conversions": "append",
        "costs": "append",
        "customers": "snapshot",
        "opportunities": "snapshot",
        "partners": "snapshot",
        "touchpoints": "append",
    }
    order = load_order(CONTRACTS)
    assert order.index("partners") < order.index("touchpoints")
    assert order.index("campaigns") < order.index("campaign_partners")
    touchpoints = CONTRACTS["touchpoints"]
    assert isinstance(touchpoints, FeedContract)
    assert touchpoints.key == ("partner_id", "event_id")
    assert touchpoints.column("email").pii is True
    assert touchpoints.depends_on == {"partners", "campaigns"}


BASE_CONTRACT = {
    "feed": "things",
    "source_kind": "internal",
    "load_mode": "snapshot",
    "key": ["thing_id"],
    "columns": [{"name": "thing_id", "type": "varchar", "required": True}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"load_mode": "upsert"}, "load_mode: 'upsert' is not one of append, snapshot"),
        ({"source_kind": "vendor"}, "source_kind: 'vendor' is not one of internal, partner, any"),
        ({"columns": [{"name": "thing_id", "type": "text", "required": True}]}, "type: 'text' is not one of"),
        ({"columns": [{"name": "thing_id", "type": "varchar", "requird": True}]}, "unknown key(s) requird"),
        ({"columns": [{"name": "thing_id", "type": "varchar"}]}, "key column 'thing_id' must be required"),
        ({"key": ["nope"]}, "key: unknown column(s) nope"),
        ({"columns": [{"name": "thing_id", "type": "varchar", "required": True, "min": 1}]}, "numeric columns only"),
        ({"columns": [{"name": "thing_id", "type": "varchar", "required": True, "pattern": "("}]}, "not a valid"),
        (
            {"columns": [{"name": "thing_id", "type": "varchar", "required": True, "pattern": "^(?!x)"}]},
            "lookaround or backreferences",
        ),
        (
            {"columns": [{"name": "thing_id", "type": "varchar", "required": True, "references": "partners"}]},
            "references must look like '<feed>.<column>'",
        ),
        ({"delivery": {"within_hours": 0, "when_missing": "fail"}}, "within_hours must be a positive number"),
        ({"delivery": {"within_hours": 20, "when_missing": "maybe"}}, "when_missing: 'maybe' is not one of fail, warn"),
        ({"delivery": {"within_hours": 20, "when_missing": "warn", "every": "day"}}, "delivery: unknown key(s) every"),
        ({"delivery": "nightly"}, "delivery: must be a mapping"),
    ],
)
def test_invalid_contracts_are_refused_with_clear_errors(change: dict, message: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_contract({**BASE_CONTRACT, **change}, where="things.yml")
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith("things.yml")


def test_references_are_checked_across_contracts(tmp_path: Path) -> None:
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(CONTRACTS["partners"].path, folder / "partners.yml")  # type: ignore[arg-type]
    (folder / "deals.yml").write_text(
        "feed: deals\nsource_kind: internal\nload_mode: snapshot\nkey: [deal_id]\ncolumns:\n"
        "  - {name: deal_id, type: varchar, required: true}\n"
        "  - {name: partner_id, type: varchar, references: partners.partner_code}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match="deals.yml: column partner_id: references unknown column 'partner_code'"):
        load_contracts(folder)
    (folder / "deals.yml").write_text(
        (folder / "deals.yml").read_text(encoding="utf-8").replace("partner_code", "partner_id"), encoding="utf-8"
    )
    assert sorted(load_contracts(folder)) == ["deals", "partners"]
    assert load_order(load_contracts(folder)) == ["partners", "deals"]


def test_dates_are_dates(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    load(wh, landing, "internal/partners/p.csv", PARTNERS_CSV)
    assert loaded_rows(wh, "partners", "joined_on") == [(date(2024, 1, 15),), (date(2024, 3, 1),)]


# ---------------------------------------------------------------------------------------------------------------------
# Hostile and careless deliveries
# ---------------------------------------------------------------------------------------------------------------------


def test_a_link_out_of_the_landing_folder_is_rejected_by_name_without_reading_it(
    wh: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    seed_master_data(wh, landing)
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    (landing / "P001" / "touchpoints").mkdir(parents=True)
    (landing / "P001" / "touchpoints" / "passwd.csv").symlink_to(secret)
    # A whole feed folder linked out of the landing folder, with a well-formed file in it.
    (tmp_path / "outside" / "costs").mkdir()
    (tmp_path / "outside" / "costs" / "c.csv").write_text("cost_id,cost_date\n")
    (landing / "P001" / "costs").symlink_to(tmp_path / "outside" / "costs")
    # A link that stays inside the landing folder is read like the file it points to.
    good = write(landing, "P001/touchpoints/_kept/tp.csv", csv_text(TP_HEADER, tp("e1")))
    (landing / "P001" / "touchpoints" / "linked.csv").symlink_to(good)

    results = load_feed(wh, CONTRACTS["touchpoints"], landing, run_id="r1").files
    costs = load_feed(wh, CONTRACTS["costs"], landing, run_id="r1").files
    assert [(r.file, r.status, r.rows_in_file, r.rows_loaded) for r in results + costs] == [
        ("P001/touchpoints/linked.csv", "loaded", 1, 1),
        ("P001/touchpoints/passwd.csv", "rejected_file", 0, 0),
        ("P001/costs/c.csv", "rejected_file", 0, 0),
    ]
    assert results[1].message == (
        "P001/touchpoints/passwd.csv: outside_landing: is a link to something outside the landing folder; "
        "only files inside it are read; not read"
    )
    assert costs[0].message.startswith("P001/costs/c.csv: outside_landing: ")
    # Nothing of the linked files reached the warehouse: no rows, no checksum, not a byte of their lines.
    assert wh.execute("SELECT count(*) FROM audit.rejected_rows").fetchone() == (0,)
    logged = wh.execute(
        "SELECT file_checksum, file_bytes FROM audit.load_log WHERE status = 'rejected_file' ORDER BY source_file"
    ).fetchall()
    assert logged == [("", 0), ("", 0)]
    text = wh.execute("SELECT string_agg(message, ' ') FROM audit.load_log").fetchone()[0]  # type: ignore[index]
    assert "root:" not in text and str(secret) not in text
    # Rejected again on the next run (it was never read, so there is no checksum to call it a replay).
    again = load_feed(wh, CONTRACTS["touchpoints"], landing, run_id="r2").files
    assert [(r.file, r.status) for r in again] == [
        ("P001/touchpoints/linked.csv", "skipped_duplicate"),
        ("P001/touchpoints/passwd.csv", "rejected_file"),
    ]


def test_folders_broken_links_and_pipes_in_a_feed_folder_are_logged_unread(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    feed = landing / "internal" / "partners"
    (feed / "x.csv").mkdir(parents=True)
    (feed / "gone.csv").symlink_to(feed / "missing.csv")
    os.mkfifo(feed / "pipe.csv")  # reading it would block the load for ever

    results = load_feed(wh, CONTRACTS["partners"], landing, run_id="r1").files
    assert [(r.file, r.status, r.message) for r in results] == [
        (
            "internal/partners/gone.csv",
            "rejected_file",
            "internal/partners/gone.csv: not_a_file: is a link that leads nowhere; not read",
        ),
        (
            "internal/partners/pipe.csv",
            "rejected_file",
            "internal/partners/pipe.csv: not_a_file: is not a regular file; not read",
        ),
        (
            "internal/partners/x.csv",
            "rejected_file",
            "internal/partners/x.csv: not_a_file: is a folder, not a file "
            "(files are read from the feed folder itself, not from subfolders); not read",
        ),
    ]


def test_a_landing_folder_that_does_not_exist_fails_the_load(wh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-landing"
    with pytest.raises(LoadError, match="the landing folder .*no-such-landing does not exist or is not a folder"):
        load_feed(wh, CONTRACTS["touchpoints"], missing, run_id="r1")
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(LoadError, match="a-file does not exist or is not a folder"):
        load_feed(wh, CONTRACTS["touchpoints"], tmp_path / "a-file", run_id="r1")
    assert wh.execute("SELECT count(*) FROM audit.load_log").fetchone() == (0,)


def test_only_utc_offsets_that_exist_are_accepted(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    offsets = [
        "+99:99",
        "+23:59",
        "+14:01",
        "+14:30",
        "-12:30",
        "-13:00",
        "+05:17",
        "+14:00",
        "-12:00",
        "+05:45",
        "+0530",
        "-03:30",
        "+13:45",
        "-00:00",
    ]
    content = csv_text(TP_HEADER, *(tp(f"e{i}", occurred=f"2026-11-20T10:00:00{o}") for i, o in enumerate(offsets, 1)))
    result = load(wh, landing, "P001/touchpoints/offsets.csv", content)

    assert (result.rows_loaded, result.rows_rejected) == (7, 7)
    assert rejected(wh) == [(n, "type", "occurred_at") for n in range(1, 8)]
    reason = wh.execute("SELECT reason FROM audit.rejected_rows WHERE row_number = 1").fetchone()
    assert reason == (
        "P001/touchpoints/offsets.csv row 1: occurred_at '2026-11-20T10:00:00+99:99' is not a timestamptz: its UTC "
        "offset +99:99 does not exist (offsets run from -12:00 to +14:00, in whole hours or at :15, :30, :45)",
    )
    # 10:00 at +14:00 is 20:00 the day before in UTC; at -12:00 it is 22:00 the same day; and so on.
    utc = [
        (event, moment.astimezone(UTC).replace(tzinfo=None))
        for event, moment in loaded_rows(wh, "touchpoints", "event_id, occurred_at")
    ]
    assert utc == [
        ("e8", datetime(2026, 11, 19, 20, 0)),
        ("e9", datetime(2026, 11, 20, 22, 0)),
        ("e10", datetime(2026, 11, 20, 4, 15)),
        ("e11", datetime(2026, 11, 20, 4, 30)),
        ("e12", datetime(2026, 11, 20, 13, 30)),
        ("e13", datetime(2026, 11, 19, 20, 15)),
        ("e14", datetime(2026, 11, 20, 10, 0)),
    ]


def test_times_more_precise_than_a_microsecond_are_refused_not_truncated(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp("e1", occurred="2026-01-20T10:00:00.123456789Z"),  # nanoseconds: refused
        tp("e2", occurred="2026-01-20T10:00:00.1234567Z"),  # a tenth of a microsecond: refused
        tp("e3", occurred="2026-01-20T10:00:00.123456000Z"),  # nanosecond digits that are all 0: kept exactly
        tp("e4", occurred="2026-01-20T10:00:00.5Z"),
    )
    result = load(wh, landing, "P001/touchpoints/ns.csv", content)
    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    assert rejected(wh) == [(1, "type", "occurred_at"), (2, "type", "occurred_at")]
    reason = wh.execute("SELECT reason FROM audit.rejected_rows WHERE row_number = 1").fetchone()
    assert reason == (
        "P001/touchpoints/ns.csv row 1: occurred_at '2026-01-20T10:00:00.123456789Z' is not a timestamptz the "
        "warehouse can keep: it is more precise than a microsecond (at most 6 fractional digits that are not 0)",
    )
    kept = [m.astimezone(UTC).replace(tzinfo=None) for (m,) in loaded_rows(wh, "touchpoints", "occurred_at")]
    assert kept == [datetime(2026, 1, 20, 10, 0, 0, 123456), datetime(2026, 1, 20, 10, 0, 0, 500000)]


def test_values_are_trimmed_and_blank_values_are_missing(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    content = csv_text(
        TP_HEADER,
        tp("   "),  # row 1: a key of spaces is no key
        tp("\t"),  # row 2: nor is a tab
        tp("e3", email="", customer="   "),  # row 3: a customer id of spaces identifies nobody
        tp(" x "),  # row 4: loaded as 'x'
        tp("x"),  # row 5: the same event as row 4
        tp("\u00a0e6\u3000", email="  ann@example.com\t", customer="CU 6"),  # row 6: wide blanks trimmed too
        tp("e7", occurred=" 2026-01-20T10:00:00Z ", channel=" email "),  # row 7: typed and listed values trimmed
    )
    result = load(wh, landing, "P001/touchpoints/blanks.csv", content)
    assert rejected(wh) == [
        (1, "required", "event_id"),
        (2, "required", "event_id"),
        (3, "require_one_of", "email, email_sha256, customer_id, anonymous_id"),
        (5, "duplicate_key", "partner_id, event_id"),
    ]
    assert (result.rows_loaded, result.rows_rejected) == (3, 4)
    assert loaded_rows(wh, "touchpoints", "event_id, channel, email, customer_id, _row_number") == [
        ("x", "email", "ann@example.com", None, 4),
        ("e6", "email", "ann@example.com", "CU 6", 6),
        ("e7", "email", "ann@example.com", None, 7),
    ]


@pytest.mark.parametrize(
    ("name", "packed", "kind"),
    [
        ("tp.csv", gzip.compress(csv_text(TP_HEADER, tp("e1")).encode()), "gzip-compressed"),
        ("tp.jsonl", gzip.compress(b'{"event_id": "e1"}\n'), "gzip-compressed"),
        ("tp.csv", b"PK\x03\x04\x14\x00rest of a zip archive", "a zip archive"),
    ],
    ids=["gzip-csv", "gzip-jsonl", "zip-csv"],
)
def test_a_compressed_file_named_as_text_is_rejected_as_compressed(
    wh: duckdb.DuckDBPyConnection, landing: Path, name: str, packed: bytes, kind: str
) -> None:
    result = load(wh, landing, f"P001/touchpoints/{name}", packed)
    fmt = "CSV" if name.endswith(".csv") else "JSON Lines"
    assert (result.status, result.rows_in_file, result.message) == (
        "rejected_file",
        0,
        f"P001/touchpoints/{name}: file_format: the file is {kind}, not {fmt} text; deliver it uncompressed",
    )
    assert rejected(wh) == []


def test_json_objects_arrays_and_booleans_are_not_values_and_keys_may_not_repeat(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    rest = '"converted_at": "2025-03-06T09:00:00Z", "conversion_type": "signup", "revenue": 0, "currency": "USD", '
    rest += '"gross_margin": 0'
    lines = [
        '{"conversion_id": {"id": 1}, "customer_id": "C1", ' + rest + "}",  # 1: an object as an id
        '{"conversion_id": ["V2"], "customer_id": "C1", ' + rest + "}",  # 2: an array as an id
        '{"conversion_id": true, "customer_id": "C1", ' + rest + "}",  # 3: a boolean as an id
        '{"conversion_id": "V4", "conversion_id": "V4b", "customer_id": "C1", ' + rest + "}",  # 4: key twice
        '{"conversion_id": 5, "customer_id": "C1", ' + rest + "}",  # 5: a number is read as its text
        '{"conversion_id": "V6", "customer_id": [], ' + rest + "}",  # 6: an empty array is no customer id
    ]
    result = load(wh, landing, "internal/conversions/shapes.jsonl", "\n".join(lines) + "\n")
    assert rejected(wh) == [
        (1, "type", "conversion_id"),
        (2, "type", "conversion_id"),
        (3, "type", "conversion_id"),
        (4, "malformed_record", None),
        (6, "type", "customer_id"),
    ]
    reasons = [r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY row_number").fetchall()]
    file = "internal/conversions/shapes.jsonl"
    assert reasons == [
        f"""{file} row 1: conversion_id '{{"id":1}}' is a JSON object, not a single varchar value""",
        f"{file} row 2: conversion_id '[\"V2\"]' is a JSON array, not a single varchar value",
        f"{file} row 3: conversion_id 'true' is a JSON boolean, not a single varchar value",
        f"{file} row 4: malformed record: key(s) conversion_id appear more than once in the JSON object",
        f"{file} row 6: customer_id '[]' is a JSON array, not a single varchar value",
    ]
    assert (result.rows_loaded, loaded_rows(wh, "conversions", "conversion_id")) == (1, [("5",)])
    # A JSON boolean is a value of a boolean column.
    customer = '{"customer_id": "C1", "created_at": "2025-01-01T00:00:00Z", "is_opted_out": true}\n'
    assert load(wh, landing, "internal/customers/c.jsonl", customer).rows_loaded == 1
    assert loaded_rows(wh, "customers", "customer_id, is_opted_out") == [("C1", True)]


def test_parquet_list_and_struct_columns_are_not_single_values(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    path = landing / "P001" / "touchpoints" / "nested.parquet"
    path.parent.mkdir(parents=True)
    n = 3
    table = pa.table(
        {
            "event_id": ["e1", "e2", "e3"],
            "occurred_at": ["2025-03-05T10:00:00Z"] * n,
            "partner_id": ["P001"] * n,
            "channel": ["email"] * n,
            "touch_type": ["click"] * n,
            "email": ["ann@example.com"] * n,
            "customer_id": pa.array([["CU1", "CU2"], [], None], type=pa.list_(pa.string())),
            "utm_source": pa.array([{"a": 1}, None, None], type=pa.struct([("a", pa.int64())])),
        }
    )
    pq.write_table(table, path)
    result = load(wh, landing, "P001/touchpoints/nested.parquet")
    assert rejected(wh) == [(1, "type", "customer_id"), (2, "type", "customer_id")]
    reasons = [r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY row_number").fetchall()]
    assert reasons == [
        "P001/touchpoints/nested.parquet row 1: customer_id '[CU1, CU2]' is a Parquet list, not a single varchar value",
        "P001/touchpoints/nested.parquet row 2: customer_id '[]' is a Parquet list, not a single varchar value",
    ]
    assert (result.rows_loaded, loaded_rows(wh, "touchpoints", "event_id, customer_id")) == (1, [("e3", None)])


def test_a_blank_line_inside_a_quoted_csv_value_is_part_of_the_value(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    content = (
        "partner_id,partner_name,partner_type,tier,joined_on,country\n"
        'P001,"Two\n\nparagraphs",reseller,gold,2024-01-01,US\n'  # row 1: four physical lines, one of them empty
        "\n"  # a real blank line: takes number 2, is not a row
        'P003,"Say ""hi""\n\n",reseller,gold,2024-01-01,US\n'  # row 3: escaped quotes, then an empty line inside
        "P004,Short\n"  # row 4: malformed
        "P005,Fine,reseller,gold,2024-01-01,US\n"  # row 5
    )
    result = load(wh, landing, "internal/partners/quoted.csv", content)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 3, 1)
    assert rejected(wh) == [(4, "malformed_record", None)]
    assert loaded_rows(wh, "partners", "partner_id, partner_name, _row_number") == [
        ("P001", "Two\n\nparagraphs", 1),
        ("P003", 'Say "hi"', 3),
        ("P005", "Fine", 5),
    ]


def test_a_file_name_with_a_newline_is_escaped_in_messages(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    name = "P001/touchpoints/tp\nrow 1: all good.csv"
    result = load(wh, landing, name, csv_text(TP_HEADER, tp("e1"), tp("e1", occurred="bad")))
    shown = "P001/touchpoints/tp\\nrow 1: all good.csv"
    assert result.file == name  # lineage keeps the real name
    assert loaded_rows(wh, "touchpoints", "_source_file") == [(name,)]
    assert wh.execute("SELECT reason FROM audit.rejected_rows").fetchall() == [
        (
            f"{shown} row 2: occurred_at 'bad' is not a timestamptz (expected ISO 8601 with an offset, e.g. "
            "2026-01-31T10:00:00Z)",
        )
    ]
    replay = load(wh, landing, "P001/touchpoints/copy.csv", csv_text(TP_HEADER, tp("e1"), tp("e1", occurred="bad")))
    assert "\n" not in replay.message and f"already loaded as {shown} at" in replay.message


def test_numbers_too_large_for_their_type_are_out_of_range(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    header = "cost_id,cost_date,partner_id,campaign_id,amount,currency,cost_type"
    content = csv_text(
        header,
        "k1,2025-03-01,P001,C0001,100000000000000,USD,media",  # 15 digits before the point: no DECIMAL(18,4)
        "k2,2025-03-01,P001,C0001,1e400,USD,media",
        "k3,2025-03-01,P001,C0001,12.5x,USD,media",  # not a number at all
    )
    load(wh, landing, "P001/costs/big.csv", content)
    reasons = [r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY row_number").fetchall()]
    assert reasons == [
        "P001/costs/big.csv row 1: amount '100000000000000' is out of range for a decimal "
        "(up to 99999999999999.9999 either way)",
        "P001/costs/big.csv row 2: amount '1e400' is out of range for a decimal (up to 99999999999999.9999 either way)",
        "P001/costs/big.csv row 3: amount '12.5x' is not a decimal",
    ]


def test_money_amounts_are_bounded_by_what_the_models_carry(wh: duckdb.DuckDBPyConnection, landing: Path) -> None:
    seed_master_data(wh, landing)
    header = "cost_id,cost_date,partner_id,campaign_id,amount,currency,cost_type"
    costs = csv_text(
        header,
        "k1,2025-03-01,P001,C0001,1000000000,GBP,media",  # the bound itself: loaded
        "k2,2025-03-01,P001,C0001,1000000000.0001,GBP,media",  # above it
    )
    load(wh, landing, "P001/costs/bounds.csv", costs)
    line = '{{"conversion_id": "{}", "converted_at": "2025-03-06T09:00:00Z", "customer_id": "C1", '
    line += '"conversion_type": "{}", "revenue": "{}", "currency": "USD", "gross_margin": "{}"}}'
    conversions = [
        line.format("V1", "purchase", "1000000000", "1000000000"),  # both at their maximum: loaded
        line.format("V2", "refund", "-1000000000", "-1000000000"),  # a refund down to -max: loaded
        line.format("V3", "refund", "-1000000000.01", "0"),  # a refund beyond -max
        line.format("V4", "purchase", "10", "-1000000001"),  # a margin below its minimum
    ]
    load(wh, landing, "internal/conversions/bounds.jsonl", "\n".join(conversions) + "\n")
    agreements = csv_text(
        "agreement_id,version,partner_id,effective_from,revenue_share_pct,referral_commission_pct,referral_months,"
        "volume_tiers,cost_share_pct,attribution_model,currency",
        "A1,1,P001,2025-01-01,10,5,12,0:10|9999999999.5:12,50,linear,USD",  # the largest threshold: loaded
        "A2,1,P001,2025-01-01,10,5,12,0:10|10000000000:12,50,linear,USD",  # 11 digits: beyond DECIMAL(18,6) use
        "A3,1,P001,2025-01-01,10,5,1201,,50,linear,USD",  # more than 100 years of referral months
    )
    load(wh, landing, "internal/agreements/bounds.csv", agreements)
    reasons = [
        r[0] for r in wh.execute("SELECT reason FROM audit.rejected_rows ORDER BY source_file, row_number").fetchall()
    ]
    assert reasons == [
        "P001/costs/bounds.csv row 2: amount 1000000000.0001 is above the maximum 1000000000",
        "internal/agreements/bounds.csv row 2: volume_tiers '0:10|10000000000:12' does not match the pattern "
        r"^[0-9]{1,10}(\.[0-9]{1,6})?:[0-9]{1,3}(\.[0-9]{1,6})?(\|[0-9]{1,10}(\.[0-9]{1,6})?:[0-9]{1,3}(\.[0-9]{1,6})?)*$",
        "internal/agreements/bounds.csv row 3: referral_months 1201 is above the maximum 1200",
        "internal/conversions/bounds.jsonl row 3: revenue -1000000000.01 is below the minimum -1000000000 when "
        "conversion_type is 'refund'",
        "internal/conversions/bounds.jsonl row 4: gross_margin -1000000001 is below the minimum -1000000000",
    ]
    assert loaded_rows(wh, "costs", "cost_id, amount") == [("k1", Decimal("1000000000.0000"))]
    assert loaded_rows(wh, "conversions", "conversion_id") == [("V1",), ("V2",)]


# ---------------------------------------------------------------------------------------------------------------------
# Personal data where none belongs
# ---------------------------------------------------------------------------------------------------------------------

PERSONAL_HEADER = (
    "event_id,occurred_at,partner_id,channel,touch_type,anonymous_id,utm_source,utm_campaign,referral_code"
)


def test_phone_numbers_names_and_emails_in_identifiers_and_utm_values_are_refused_with_the_rule_named(
    wh: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    seed_master_data(wh, landing)
    at = "2025-03-05T10:00:00Z"
    rows = [  # data row: anonymous_id, utm_source, utm_campaign, referral_code -> expected (rule, column) or None
        ("+44 20 7946 0958", "lumen-works", "webinar_c0001", "", ("personal_data", "anonymous_id")),
        ("8f14e45f-ceea-467f-a0e6-4c3b2f1e0a11", "lumen-works", "Jane Doe", "", ("personal_data", "utm_campaign")),
        ("+15551234567", "lumen-works", "", "", ("personal_data", "anonymous_id")),  # E.164
        ("(555) 123-4567", "", "", "", ("personal_data", "anonymous_id")),
        ("06 12 34 56 78", "", "", "", ("personal_data", "anonymous_id")),
        ("a-1", "jane.doe@example.com", "", "", ("personal_data", "utm_source")),
        ("a-2", "", "Doe, Maria", "", ("personal_data", "utm_campaign")),
        ("a-3", "", "", "john a. smith", ("personal_data", "referral_code")),
        # what partners and the generator deliver: codes, slugs, ids, numbers and dates that are no person
        ("8f14e45f-ceea-467f-a0e6-4c3b2f1e0a12", "northwind-analytics", "bundle_offer_c0012", "NORTH001", None),
        ("1234567890", "lumen-works", "always-on", "", None),  # a numeric id: digits alone are not judged
        ("a-4", "partner portal", "Summer Sale 2026", "", None),
        ("a-5", "lumen-works", "2026-12-03", "", None),
        ("192.168.100.200", "lumen-works", "Grace Period", "LUMEN-2026-03", None),
    ]
    lines = [
        ",".join([f"p{i}", at, "P001", "email", "click", f'"{anon}"', f'"{source}"', f'"{campaign}"', f'"{code}"'])
        for i, (anon, source, campaign, code, _) in enumerate(rows, start=1)
    ]
    result = load(wh, landing, "P001/touchpoints/personal.csv", csv_text(PERSONAL_HEADER, *lines))

    expected = [(i, *want) for i, (*_, want) in enumerate(rows, start=1) if want]
    assert rejected(wh) == expected
    assert (result.rows_loaded, result.rows_rejected) == (len(rows) - len(expected), len(expected))
    reasons = dict(wh.execute("SELECT row_number, reason FROM audit.rejected_rows").fetchall())
    assert reasons[1] == (
        "P001/touchpoints/personal.csv row 1: anonymous_id '+## ## #### ####' looks like a phone number: personal "
        "data does not belong in this column"
    )
    assert reasons[2] == (
        "P001/touchpoints/personal.csv row 2: utm_campaign 'J*** D***' looks like a person's name: personal data "
        "does not belong in this column"
    )
    assert "looks like an email address" in reasons[6] and "j***@example.com" in reasons[6]
    assert not any(secret in " ".join(reasons.values()) for secret in ("7946", "Jane", "Doe", "jane.doe"))
    loaded = [e for (e,) in loaded_rows(wh, "touchpoints", "event_id")]
    assert loaded == [f"p{i}" for i, (*_, want) in enumerate(rows, start=1) if not want]


def test_the_generators_identifiers_and_utm_values_are_not_taken_for_personal_data(tmp_path: Path) -> None:
    from orchestration.personal_data import SHAPE_SQL
    from partnerlens.synthetic import generate

    generate(tmp_path, seed=7, touchpoints=30_000, partners=50, days=60, formats="csv", dirty_share=0.0)
    checked = {feed: [c.name for c in contract.columns if c.no_personal_data] for feed, contract in CONTRACTS.items()}
    assert checked == {
        "agreements": [],
        "campaign_partners": [],
        "campaigns": [],
        "conversions": ["anonymous_id"],
        "costs": [],
        "customers": ["anonymous_id"],
        "opportunities": [],
        "partners": [],
        "touchpoints": ["anonymous_id", "utm_source", "utm_medium", "utm_campaign", "referral_code"],
    }
    con = duckdb.connect()
    for feed, columns in checked.items():
        files = sorted(tmp_path.glob(f"*/{feed}/*.csv"))
        if not columns:
            continue
        assert files
        source = f"read_csv({[str(f) for f in files]}, all_varchar = true, union_by_name = true)"
        for column in columns:
            values, hits = con.execute(
                f"SELECT count({column}), count(*) FILTER (WHERE "
                + " OR ".join(f"coalesce({looks_like(column)}, false)" for looks_like in SHAPE_SQL.values())
                + f") FROM {source}"
            ).fetchone()
            assert values > 0 and hits == 0, (feed, column, values, hits)

"""The benchmark's floor counts what a hand count of a small landing folder gives: touches resolved by customer id,
email, the email's SHA-256 and anonymous id, in CSV, JSON lines and Parquet files, and each conversion joined to its
customer's touches of the 30 days up to it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from partnerlens.bench_floor import measure_floor

T = "2026-06-30T12:00:00+00:00"
TOUCH_HEADER = "event_id,occurred_at,partner_id,email,email_sha256,customer_id,anonymous_id"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_floor_joins_each_conversion_to_its_customers_touches_of_thirty_days(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(
        landing / "internal/customers/customers.csv",
        "customer_id,email,anonymous_id\nC1,a@x.com,A1\nC2,b@y.com,A2\n",
    )
    write(
        landing / "internal/conversions/conversions.csv",
        f"conversion_id,converted_at,customer_id,email,anonymous_id\nV1,{T},C1,,\nV2,{T},,b@y.com,\n",
    )
    sha_b = hashlib.sha256(b"b@y.com").hexdigest()
    write(
        landing / "P1/touchpoints/touchpoints.csv",
        TOUCH_HEADER + "\n"
        f"t1,{T},P1,,,C1,\n"  # C1 at the conversion's own time: in
        "t2,2026-06-20T12:00:00+00:00,P1,A@X.com ,,,\n"  # C1 by email (case and space): in
        f"t3,2026-06-25T12:00:00+00:00,P1,,{sha_b},,\n"  # C2 by the email's hash: in
        "t4,2026-05-21T12:00:00+00:00,P1,,,,A2\n"  # C2, 40 days before: out
        "t5,2026-07-01T12:00:00+00:00,P1,,,C1,\n"  # C1, after the conversion: out
        "t6,2026-06-29T12:00:00+00:00,P1,nobody@z.com,,,\n",  # no customer: out
    )
    write(
        landing / "P2/touchpoints/touchpoints.jsonl",
        json.dumps(
            {"event_id": "t7", "occurred_at": "2026-05-31T13:00:00+00:00", "partner_id": "P2", "anonymous_id": "A1"}
        )
        + "\n",  # C1 by anonymous id, 29 days 23 hours before: in
    )
    parquet = landing / "P3/touchpoints/touchpoints.parquet"
    parquet.parent.mkdir(parents=True)
    duckdb.sql(
        "select 't8' as event_id, '2026-06-29T12:00:00+00:00' as occurred_at, 'P3' as partner_id, 'C2' as customer_id"
    ).write_parquet(str(parquet))  # C2 a day before: in
    write(landing / "_ground_truth/touchpoints/ignored.csv", TOUCH_HEADER + f"\nx,{T},P9,,,C1,\n")

    floor = measure_floor(landing)

    assert (floor.touches, floor.conversions) == (8, 2)
    assert floor.journey_rows == 5  # V1: t1, t2, t7; V2: t3, t8
    assert floor.read_seconds > 0 and floor.paths_seconds > 0

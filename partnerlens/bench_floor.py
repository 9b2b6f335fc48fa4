"""The floor of a night: the least work any warehouse must do with the same landed files, measured with DuckDB alone.

    read       every landed file of touchpoints, conversions and customers once (CSV, JSON lines, Parquet), all
               columns as text, into memory
    paths      each touch's customer resolved against the customer master (customer id, then email, its SHA-256,
               then anonymous id; a conversion's the same way), and each conversion joined to the same customer's
               touches of the 30 days before it

No contracts, no rejects, no audit, no attribution rules, no publish: a night of Partnerlens costs a multiple of this,
which the benchmark reports beside each of its figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

LOOKBACK_DAYS = 30


@dataclass
class Floor:
    read_seconds: float
    paths_seconds: float
    touches: int
    conversions: int
    journey_rows: int

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.paths_seconds


def landed(landing: Path, feed: str) -> dict[str, list[str]]:
    """The feed's landed files under any source folder, by reader (csv, jsonl, parquet)."""
    files: dict[str, list[str]] = {"csv": [], "jsonl": [], "parquet": []}
    for path in sorted(landing.glob(f"*/{feed}/*")):
        suffix = path.suffix.lstrip(".")
        if path.is_file() and suffix in files and not path.parts[-3].startswith(("_", ".")):
            files[suffix].append(str(path))
    return files


def read_feed(con: duckdb.DuckDBPyConnection, landing: Path, feed: str) -> None:
    parts = []
    files = landed(landing, feed)
    if files["csv"]:
        parts.append(f"select * from read_csv({files['csv']}, all_varchar = true, union_by_name = true)")
    if files["jsonl"]:
        parts.append(f"select * from read_json({files['jsonl']}, format = 'newline_delimited', union_by_name = true)")
    if files["parquet"]:
        parts.append(f"select * from read_parquet({files['parquet']}, union_by_name = true)")
    if not parts:
        raise FileNotFoundError(f"no landed {feed} files under {landing}")
    casts = " union all by name ".join(f"(select columns(*)::varchar from ({part}))" for part in parts)
    con.execute(f"create table {feed} as {casts}")


def measure_floor(landing: Path, threads: int | None = None) -> Floor:
    """The floor of the landed files under `landing`, measured in a fresh in-memory DuckDB."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, **({"threads": threads} if threads else {})})
    try:
        started = time.perf_counter()
        for feed in ("customers", "conversions", "touchpoints"):
            read_feed(con, landing, feed)
        read_done = time.perf_counter()
        con.execute(
            """
            create table customer_keys as
            select customer_id, 'id' as kind, customer_id as identifier from customers
            union all select customer_id, 'email', lower(trim(email)) from customers where email is not null
            union all select customer_id, 'sha', sha256(lower(trim(email))) from customers where email is not null
            union all select customer_id, 'anon', anonymous_id from customers where anonymous_id is not null
            """
        )
        con.execute(
            """
            create table touches as
            select t.event_id, t.partner_id, try_cast(t.occurred_at as timestamptz) as occurred_at,
                coalesce(by_id.customer_id, by_email.customer_id, by_sha.customer_id, by_anon.customer_id)
                    as customer_id
            from touchpoints t
            left join customer_keys by_id on by_id.kind = 'id' and by_id.identifier = t.customer_id
            left join customer_keys by_email on by_email.kind = 'email' and by_email.identifier = lower(trim(t.email))
            left join customer_keys by_sha on by_sha.kind = 'sha' and by_sha.identifier = t.email_sha256
            left join customer_keys by_anon on by_anon.kind = 'anon' and by_anon.identifier = t.anonymous_id
            """
        )
        con.execute(
            """
            create table converted as
            select c.conversion_id, try_cast(c.converted_at as timestamptz) as converted_at,
                coalesce(by_id.customer_id, by_email.customer_id, by_anon.customer_id) as customer_id
            from conversions c
            left join customer_keys by_id on by_id.kind = 'id' and by_id.identifier = c.customer_id
            left join customer_keys by_email on by_email.kind = 'email' and by_email.identifier = lower(trim(c.email))
            left join customer_keys by_anon on by_anon.kind = 'anon' and by_anon.identifier = c.anonymous_id
            """
        )
        journey_rows = con.execute(
            f"""
            select count(*) from converted c
            join touches t
                on t.customer_id = c.customer_id
                and t.occurred_at <= c.converted_at
                and t.occurred_at > c.converted_at - interval {LOOKBACK_DAYS} day
            """
        ).fetchone()[0]
        paths_done = time.perf_counter()
        touches = con.execute("select count(*) from touches").fetchone()[0]
        conversions = con.execute("select count(*) from conversions").fetchone()[0]
    finally:
        con.close()
    return Floor(read_done - started, paths_done - read_done, touches, conversions, journey_rows)

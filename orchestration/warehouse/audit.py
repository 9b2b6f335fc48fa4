"""The warehouse's own tables: every audit table and the run-history view, created here and nowhere else.

``audit.load_log``       one row per landed file the loader saw (checksum, rows, status); written by the loader
``audit.rejected_rows``  every row the loader rejected, with the rule and a reason naming file, row and rule
``audit.gate_results``   one row per quality-gate check and run; written by the gates, read by publish
``audit.publish_log``    every publish, refusal and restore, with row counts
``audit.step_failures``  every step of a run that failed, with its error; written by the job's failure hook
``audit.quarantine``     every file gate 1 refused: held until released or dropped, with who decided and why
                         (:mod:`orchestration.warehouse.quarantine`)
``audit.erasures``       every erasure (``partnerlens erase``): the customer's keyed hash, what was removed
``audit.erasure_tombstones`` keyed hashes of an erased customer's identifiers: later deliveries carrying one are
                         rejected at load (rule ``erased_subject``) without their values
``audit.run_history``    a view: one row per run, from the four logs

:func:`ensure_audit` creates them all, :func:`ensure_load_tables` the loader's two (both idempotent, and both run
inside a caller's transaction too).

A step can fail because the warehouse file itself cannot be opened (another process holds it). Its failure is then
kept in a spool file beside the warehouse (``<warehouse>.step_failures.jsonl``, :func:`record_step_failure`) and moved
into ``audit.step_failures`` by the next connection that can write (:func:`flush_step_failures`), so no failure is lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.warehouse.quarantine import QUARANTINE_DDL

SCHEMA = "audit"

LOAD_LOG_DDL = """
CREATE TABLE IF NOT EXISTS audit.load_log (
    load_id VARCHAR NOT NULL,
    run_id VARCHAR,
    feed VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_checksum VARCHAR NOT NULL,
    file_bytes BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    rows_in_file BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    extra_columns VARCHAR,
    message VARCHAR,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL
)"""

REJECTED_ROWS_DDL = """
CREATE TABLE IF NOT EXISTS audit.rejected_rows (
    load_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    row_number BIGINT,
    file_checksum VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    column_name VARCHAR,
    reason VARCHAR NOT NULL,
    raw_record VARCHAR,
    rejected_at TIMESTAMPTZ NOT NULL
)"""

ERASURES_DDL = """
CREATE TABLE IF NOT EXISTS audit.erasures (
    erasure_id VARCHAR NOT NULL,
    subject_hash VARCHAR NOT NULL,       -- keyed hash (HMAC-SHA256) of customer_id:<id>; never the id itself
    requested_by VARCHAR NOT NULL,       -- customer_id | email: what the request named
    identifiers_erased BIGINT NOT NULL,  -- identifiers of the customer found (ids, email hashes, anonymous ids)
    rows_deleted VARCHAR NOT NULL,       -- JSON {table: rows deleted or redacted}
    files_rewritten BIGINT NOT NULL,     -- shared files (statements, scorecards) rewritten without the customer
    build_seq_at_erasure BIGINT,         -- the last build then: the next build is a full one
    erased_at TIMESTAMPTZ NOT NULL
)"""

TOMBSTONES_DDL = """
CREATE TABLE IF NOT EXISTS audit.erasure_tombstones (
    subject_hash VARCHAR NOT NULL,       -- keyed hash of <kind>:<value>: a delivery carrying it is dropped at load
    kind VARCHAR NOT NULL,               -- customer_id | email_sha256 | anonymous_id
    erasure_id VARCHAR NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL
)"""

PUBLISH_LOG_DDL = """
create table if not exists audit.publish_log (
    publish_id varchar,
    run_id varchar,
    action varchar,            -- publish | restore
    schema_name varchar,       -- the versioned schema `marts` serves after this action
    previous_schema_name varchar,
    models varchar,            -- JSON list of the views published
    row_counts varchar,        -- JSON {model: rows}
    outcome varchar,           -- published | restored | refused
    message varchar,
    published_at timestamptz
)"""

GATE_RESULTS_DDL = """
create table if not exists audit.gate_results (
    run_id varchar,
    gate varchar,              -- gate_1 (raw feeds) | gate_2 (candidate marts)
    check_name varchar,
    dataset varchar,
    outcome varchar,           -- passed | failed | warned
    failed_count bigint,
    sample varchar,            -- JSON sample of offending rows
    message varchar,
    checked_at timestamptz
)"""

STEP_FAILURES_DDL = """
create table if not exists audit.step_failures (
    run_id varchar,
    step_key varchar,          -- the Dagster step: raw__touchpoints, gate_1_touchpoints, partnerlens_dbt, ...
    error varchar,             -- the error, as the step raised it
    failed_at timestamptz
)"""

RUN_HISTORY_VIEW = """
create or replace view audit.run_history as
with runs as (
    select run_id from audit.load_log where run_id is not null
    union select run_id from audit.gate_results
    union select run_id from audit.publish_log where run_id is not null
    union select run_id from audit.step_failures
),
steps as (
    select
        run_id,
        count(*) as steps_failed,
        string_agg(step_key || ': ' || left(error, 500), ' | ' order by failed_at, step_key) as failed_steps,
        max(failed_at) as last_failed_at
    from audit.step_failures
    group by run_id
),
loads as (
    select
        run_id,
        min(started_at) as first_load_at,
        count(*) filter (where status = 'loaded') as files_loaded,
        count(*) filter (where status = 'skipped_duplicate') as files_skipped,
        count(*) filter (where status = 'rejected_file') as files_rejected,
        count(*) filter (where status = 'failed') as files_failed,
        sum(rows_loaded) as rows_loaded,
        sum(rows_rejected) as rows_rejected
    from audit.load_log
    group by run_id
),
gates as (
    select
        run_id,
        count(*) filter (where gate = 'gate_1' and outcome = 'passed') as gate_1_passed,
        count(*) filter (where gate = 'gate_1' and outcome = 'failed') as gate_1_failed,
        count(*) filter (where gate = 'gate_2' and outcome = 'passed') as gate_2_passed,
        count(*) filter (where gate = 'gate_2' and outcome = 'failed') as gate_2_failed,
        count(*) filter (where outcome = 'warned') as checks_warned,
        string_agg(gate || ':' || dataset || ':' || check_name, ', ' order by gate, dataset, check_name)
            filter (where outcome = 'failed') as failed_checks,
        max(checked_at) as last_checked_at
    from audit.gate_results
    group by run_id
),
publishes as (
    select
        run_id,
        arg_max(outcome, published_at) as publish_outcome,
        arg_max(schema_name, published_at) as served_schema,
        max(published_at) as published_at
    from audit.publish_log
    where run_id is not null
    group by run_id
)
select
    runs.run_id,
    loads.first_load_at,
    coalesce(loads.files_loaded, 0) as files_loaded,
    coalesce(loads.files_skipped, 0) as files_skipped,
    coalesce(loads.files_rejected, 0) as files_rejected,
    coalesce(loads.files_failed, 0) as files_failed,
    coalesce(loads.rows_loaded, 0) as rows_loaded,
    coalesce(loads.rows_rejected, 0) as rows_rejected,
    coalesce(gates.gate_1_passed, 0) as gate_1_passed,
    coalesce(gates.gate_1_failed, 0) as gate_1_failed,
    coalesce(gates.gate_2_passed, 0) as gate_2_passed,
    coalesce(gates.gate_2_failed, 0) as gate_2_failed,
    coalesce(gates.checks_warned, 0) as checks_warned,
    gates.failed_checks,
    coalesce(steps.steps_failed, 0) as steps_failed,
    steps.failed_steps,
    coalesce(publishes.publish_outcome, 'not published') as publish_outcome,
    publishes.served_schema,
    greatest(publishes.published_at, gates.last_checked_at, loads.first_load_at, steps.last_failed_at) as last_event_at
from runs
left join loads on runs.run_id = loads.run_id
left join gates on runs.run_id = gates.run_id
left join publishes on runs.run_id = publishes.run_id
left join steps on runs.run_id = steps.run_id
"""

LOAD_TABLES_DDL = (LOAD_LOG_DDL, REJECTED_ROWS_DDL, ERASURES_DDL, TOMBSTONES_DDL)
TABLES_DDL = (*LOAD_TABLES_DDL, PUBLISH_LOG_DDL, GATE_RESULTS_DDL, STEP_FAILURES_DDL, QUARANTINE_DDL)
#: Beside the warehouse file: step failures that could not be written into it yet, one JSON object a line.
SPOOL_SUFFIX = ".step_failures.jsonl"
#: How long a failure waits for the warehouse to be free before it is spooled (PARTNERLENS_AUDIT_WAIT_SECONDS).
DEFAULT_AUDIT_WAIT_SECONDS = 30.0


def ensure_load_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema ``audit`` with the loader's tables, ``load_log``, ``rejected_rows`` and the erasure tables the
    loader reads (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for ddl in LOAD_TABLES_DDL:
        con.execute(ddl)


def ensure_audit(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema ``audit``, every audit table and the run-history view (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for ddl in TABLES_DDL:
        con.execute(ddl)
    con.execute(RUN_HISTORY_VIEW)


def spool_path(warehouse: Path) -> Path:
    """The spool file of step failures beside a warehouse file."""
    return warehouse.with_name(warehouse.name + SPOOL_SUFFIX)


def record_step_failure(
    warehouse: Path,
    run_id: str,
    step_key: str,
    error: str,
    wait_seconds: float | None = None,
    connect: Callable[[Path], duckdb.DuckDBPyConnection] | None = None,
) -> str:
    """Record a failed step in ``audit.step_failures``; returns ``"recorded"`` or ``"spooled"``.

    Waits up to ``wait_seconds`` (default PARTNERLENS_AUDIT_WAIT_SECONDS, 30) for the warehouse to accept a writer;
    when it still cannot be opened, the failure goes to the spool file beside it, for the next writer to move in.
    """
    if wait_seconds is None:
        wait_seconds = float(os.environ.get("PARTNERLENS_AUDIT_WAIT_SECONDS", DEFAULT_AUDIT_WAIT_SECONDS))
    row = {"run_id": run_id, "step_key": step_key, "error": error, "failed_at": datetime.now(UTC).isoformat()}
    from orchestration.warehouse.integrity import WarehouseDamaged, connect_warehouse

    opener = connect or connect_warehouse
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = opener(warehouse)
        except WarehouseDamaged:
            break  # waiting does not mend a damaged file: kept beside it, never written into it
        except duckdb.Error:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.5)
            continue
        try:
            flush_step_failures(con, warehouse)
            _insert_failures(con, [row])
            return "recorded"
        finally:
            con.close()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(spool_path(warehouse), "a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.write(json.dumps(row) + "\n")
    return "spooled"


def flush_step_failures(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int:
    """Move spooled step failures into ``audit.step_failures`` (one transaction); returns how many were moved."""
    spool = spool_path(warehouse)
    if not spool.exists() or spool.stat().st_size == 0:
        return 0
    with open(spool, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # a failure being spooled now waits, then lands in the file
        rows = [json.loads(line) for line in handle if line.strip()]
        if rows:
            _insert_failures(con, rows)
        handle.truncate(0)  # emptied, not removed: a writer waiting for the lock still writes into this file
    return len(rows)


def _insert_failures(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_audit(con)
        con.executemany(
            "insert into audit.step_failures values (?, ?, ?, ?)",
            [[r["run_id"], r["step_key"], r["error"], datetime.fromisoformat(r["failed_at"])] for r in rows],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise

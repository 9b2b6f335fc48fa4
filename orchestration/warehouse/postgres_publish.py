"""Write-audit-publish on PostgreSQL: the views of `marts` re-pointed at a run's candidate schema in one transaction.

The PostgreSQL counterpart of :func:`orchestration.warehouse.publish.publish_candidate`, with the same checks, log rows
and ledger append. PostgreSQL's DDL is transactional, so each view is dropped and created anew (a new version of a
mart may have other columns, which ``create or replace view`` refuses) inside the transaction that also appends the
ledger rows, sets the roles, grants and row-level security of the candidate
(:mod:`orchestration.warehouse.postgres_roles`; the views are ``security_invoker``, so the policies of the tables
apply to whoever reads them) and writes ``audit.publish_log``: readers see yesterday's marts or today's, never a mix,
and a failure anywhere in the transaction leaves every view, the ledger and the log as they were.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import duckdb

from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.postgres import quote
from orchestration.warehouse.postgres_roles import apply_access
from orchestration.warehouse.publish import PublishOutcome, PublishRefused
from orchestration.warehouse.versions import PUBLISHED_SCHEMA, candidate_schema

#: The audit tables publishing reads and writes, created in PostgreSQL like their DuckDB definitions.
PUBLISH_TABLES = ("gate_results", "publish_log")


def ensure_publish_tables(pg) -> None:
    """audit.gate_results and audit.publish_log in PostgreSQL (idempotent; in the caller's transaction)."""
    from orchestration.feeds.postgres_loads import _ensure_like

    duck = duckdb.connect()
    try:
        ensure_audit(duck)
        with pg.cursor() as cur:
            for table in PUBLISH_TABLES:
                _ensure_like(cur, duck, "audit", table)
    finally:
        duck.close()


def served_schema_postgres(pg) -> str | None:
    """The candidate schema `marts` serves now, from the publish log."""
    with pg.cursor() as cur:
        cur.execute(
            "select schema_name from audit.publish_log where outcome in ('published', 'restored')"
            " order by published_at desc limit 1"
        )
        row = cur.fetchone()
    return row[0] if row else None


def _tables(cur, schema: str) -> set[str]:
    cur.execute("select table_name from information_schema.tables where table_schema = %s", [schema])
    return {r[0] for r in cur.fetchall()}


def _columns(cur, schema: str, table: str) -> list[str]:
    cur.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
        " order by ordinal_position",
        [schema, table],
    )
    return [r[0] for r in cur.fetchall()]


def publish_candidate_postgres(
    pg, run_id: str, models: list[str], ledgers: Mapping[str, str] | None = None
) -> PublishOutcome:
    """Re-point `marts` at the run's candidate schema in one transaction, after checking that the candidate holds
    every model and that no gate check of the run failed (audit.gate_results); append the run's proposed rows to
    each of ``ledgers`` (model -> ledger table) in the same transaction. Raises PublishRefused (and records it)."""
    ensure_publish_tables(pg)
    pg.commit()
    schema = candidate_schema(run_id)
    now = datetime.now(UTC)
    with pg.cursor() as cur:
        previous = served_schema_postgres(pg)
        problems: list[str] = []
        missing = sorted(set(models) - _tables(cur, schema))
        if missing:
            problems.append(f"candidate schema {schema} lacks {', '.join(missing)}")
        cur.execute(
            "select gate, check_name, dataset, message from audit.gate_results"
            " where run_id = %s and outcome = 'failed' order by gate, check_name",
            [run_id],
        )
        for gate, check, dataset, message in cur.fetchall():
            problems.append(f"{gate} check '{check}' failed on {dataset}: {message}")
        if problems:
            message = "; ".join(problems)
            cur.execute(
                "insert into audit.publish_log values (%s, %s, 'publish', %s, %s, %s, null, 'refused', %s, %s)",
                [f"{run_id}:publish", run_id, previous, previous, json.dumps(models), message, now],
            )
            pg.commit()
            raise PublishRefused(f"Nothing was published; `marts` still serves {previous or 'nothing'}. {message}")
        try:
            row_counts: dict[str, int] = {}
            for model in models:
                cur.execute(f"select count(*) from {quote(schema)}.{quote(model)}")
                row_counts[model] = cur.fetchone()[0]
            cur.execute(f"create schema if not exists {quote(PUBLISHED_SCHEMA)}")
            for model in models:
                view = f"{quote(PUBLISHED_SCHEMA)}.{quote(model)}"
                cur.execute(f"drop view if exists {view}")
                cur.execute(
                    f"create view {view} with (security_invoker = true) as select * from {quote(schema)}.{quote(model)}"
                )
            apply_access(cur, schema, PUBLISHED_SCHEMA, models)
            for model, ledger in (ledgers or {}).items():
                row_counts[f"appended:{ledger}"] = _append(cur, schema, model, ledger)
            cur.execute(
                "insert into audit.publish_log values (%s, %s, 'publish', %s, %s, %s, %s, 'published', %s, %s)",
                [
                    f"{run_id}:publish",
                    run_id,
                    schema,
                    previous,
                    json.dumps(models),
                    json.dumps(row_counts),
                    f"published {len(models)} marts from {schema}",
                    now,
                ],
            )
            pg.commit()
        except BaseException:
            pg.rollback()
            raise
    return PublishOutcome(schema, previous, row_counts)


def _append(cur, schema: str, model: str, ledger: str) -> int:
    """Append the proposed rows of ``schema.model`` to the ledger table (created from the model's columns by the
    first publish), by column name; returns the rows appended."""
    ledger_schema, ledger_table = ledger.split(".")
    target = f"{quote(ledger_schema)}.{quote(ledger_table)}"
    proposed = f"{quote(schema)}.{quote(model)}"
    cur.execute(f"create schema if not exists {quote(ledger_schema)}")
    cur.execute(f"create table if not exists {target} as select * from {proposed} limit 0")
    names = ", ".join(quote(c) for c in _columns(cur, schema, model))
    cur.execute(f"insert into {target} ({names}) select {names} from {proposed}")
    return cur.rowcount

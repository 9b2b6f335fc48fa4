"""Write-audit-publish: a run's candidate marts become what `marts` serves, atomically, only after the gates pass.

Every nightly run builds the marts into a fresh schema of its own (:mod:`orchestration.warehouse.versions`).
Publishing re-points the views of the `marts` schema at that schema in one transaction, so BI tools see either
yesterday's marts or today's, never a mix, and appends the run's proposed ledger rows in the same transaction. A failed
gate leaves `marts` untouched. :func:`restore_previous` serves an earlier version again (`partnerlens restore`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.ledger import append_proposed
from orchestration.warehouse.sql import ident, relation, scalar
from orchestration.warehouse.versions import (
    PUBLISHED_SCHEMA,
    candidate_schema,
    existing_tables,
    point_views,
    served_schema,
)


class PublishRefused(RuntimeError):
    """The candidate did not pass the gates, or is incomplete; nothing was published. The message says why."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass
class PublishOutcome:
    schema_name: str
    previous_schema_name: str | None
    row_counts: dict[str, int]


def failed_gate_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str, str]]:
    """(gate, check, dataset, message) of every failed gate check recorded for this run."""
    ensure_audit(con)
    return con.execute(
        "select gate, check_name, dataset, message from audit.gate_results "
        "where run_id = ? and outcome = 'failed' order by gate, check_name",
        [run_id],
    ).fetchall()


def publish_candidate(
    con: duckdb.DuckDBPyConnection, run_id: str, models: list[str], ledgers: Mapping[str, str] | None = None
) -> PublishOutcome:
    """Re-point `marts` at this run's candidate schema in one transaction, after checking that it is complete and
    that no gate check of the run failed; append the run's proposed rows to each of ``ledgers`` (model -> ledger
    table) in the same transaction. Raises PublishRefused (and records it) otherwise."""
    ensure_audit(con)
    schema = candidate_schema(run_id)
    previous = served_schema(con)
    now = datetime.now(UTC)
    problems: list[str] = []
    missing = sorted(set(models) - existing_tables(con, schema))
    if missing:
        problems.append(f"candidate schema {schema} lacks {', '.join(missing)}")
    for gate, check, dataset, message in failed_gate_checks(con, run_id):
        problems.append(f"{gate} check '{check}' failed on {dataset}: {message}")
    if problems:
        message = "; ".join(problems)
        con.execute(
            "insert into audit.publish_log values (?, ?, 'publish', ?, ?, ?, null, 'refused', ?, ?)",
            [f"{run_id}:publish", run_id, previous, previous, json.dumps(models), message, now],
        )
        raise PublishRefused(f"Nothing was published; `marts` still serves {previous or 'nothing'}. {message}")
    row_counts = {m: scalar(con, f"select count(*) from {relation(schema, m)}") for m in models}
    con.execute("begin transaction")
    try:
        point_views(con, schema, models)
        appended = append_proposed(con, schema, ledgers or {})
        row_counts.update({f"appended:{ledger}": rows for ledger, rows in appended.items()})
        con.execute(
            "insert into audit.publish_log values (?, ?, 'publish', ?, ?, ?, ?, 'published', ?, ?)",
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
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return PublishOutcome(schema, previous, row_counts)


class RestoreError(ValueError):
    """There is nothing to restore: no earlier published version, or the version asked for is gone."""


def restore_previous(con: duckdb.DuckDBPyConnection, to_schema: str | None = None) -> str:
    """Serve the previously published version again (or `to_schema`), atomically; returns the schema served."""
    ensure_audit(con)
    current = served_schema(con)
    history = [
        r[0]
        for r in con.execute(
            "select schema_name from audit.publish_log where outcome = 'published' "
            "group by schema_name order by max(published_at) desc"
        ).fetchall()
    ]
    if to_schema is None:
        # a version discarded since (a night built on an older one) has no schema any more
        earlier = [s for s in history if s != current and existing_tables(con, s)]
        if not earlier:
            raise RestoreError("There is no earlier published version to restore.")
        to_schema = earlier[0]
    present = existing_tables(con, to_schema)
    # Serve exactly the marts that version published (its schema also holds e.g. the proposed ledger rows).
    recorded = con.execute(
        "select models from audit.publish_log where schema_name = ? and outcome = 'published' and models is not null "
        "order by published_at desc limit 1",
        [to_schema],
    ).fetchone()
    models = sorted(m for m in json.loads(recorded[0]) if m in present) if recorded else sorted(present)
    if not models:
        raise RestoreError(f"Version {to_schema} no longer exists in the warehouse; it cannot be restored.")
    row_counts = {m: scalar(con, f"select count(*) from {relation(to_schema, m)}") for m in models}
    con.execute("begin transaction")
    try:
        for (view,) in con.execute(
            "select view_name from duckdb_views() where schema_name = ? and not internal", [PUBLISHED_SCHEMA]
        ).fetchall():
            if view not in models:  # a mart the restored version did not have
                con.execute(f"drop view {PUBLISHED_SCHEMA}.{ident(view)}")
        point_views(con, to_schema, models)
        con.execute(
            "insert into audit.publish_log values (?, null, 'restore', ?, ?, ?, ?, 'restored', ?, ?)",
            [
                f"restore:{datetime.now(UTC).isoformat()}",
                to_schema,
                current,
                json.dumps(models),
                json.dumps(row_counts),
                f"restored {to_schema} (was {current})",
                datetime.now(UTC),
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return to_schema

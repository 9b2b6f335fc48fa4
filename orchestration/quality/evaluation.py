"""Evaluating the gates: each planned check's batch built in the warehouse, validated with GX, recorded.

Every check of a gate (see :mod:`orchestration.quality.plan`):

1. builds its batch in the warehouse (:mod:`orchestration.quality.batches`) and validates it with GX
   (:mod:`orchestration.quality.gx_adapter`),
2. concludes passed, failed (a blocking check) or warned, with a count, a sample of offending rows and a message that
   names the gate, the check and the dataset,
3. writes one row to ``audit.gate_results``,

and the run's GX data docs, its gate report (:mod:`orchestration.quality.report`) and the list of runs are rewritten.
The publish step refuses a run with a failed row in ``audit.gate_results``. Nothing here depends on Dagster:
:mod:`orchestration.defs.checks` reports the outcomes as asset checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.quality.batches import Batch, Scope, build_batch
from orchestration.quality.gx_adapter import GxRun, gx_run, jsonable
from orchestration.quality.plan import PlannedCheck, planned
from orchestration.quality.report import write_run_docs
from orchestration.quality.suites import CheckDef
from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.quarantine import HeldFile, held_files, hold_refused_loads

#: Batch kinds whose frame depends only on the batch configuration (not on the check's expectations).
SHARED_BATCH_KINDS = frozenset({"volume", "freshness", "pii_columns", "pii_values", "personal_values"})
#: Offending rows kept per check in audit.gate_results.sample and shown in messages.
SAMPLE_ROWS = 10
SHOWN_IN_MESSAGE = 3


@dataclass
class CheckOutcome:
    """What one check concluded in one run (one row of audit.gate_results)."""

    gate: str
    check_name: str
    dataset: str
    reported_on: str  # the dataset whose asset reports the outcome
    severity: str
    outcome: str  # passed | failed | warned
    failed_count: int
    message: str
    sample: list[dict[str, Any]] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def blocks(self) -> bool:
        return self.outcome == "failed"

    def headline(self) -> str:
        shown = json.dumps(self.sample[:SHOWN_IN_MESSAGE], default=str)
        return f"{self.gate} check '{self.check_name}' failed on {self.dataset}: {self.message}" + (
            f" Sample of offending rows: {shown}" if self.sample else ""
        )


def evaluate(
    con: duckdb.DuckDBPyConnection,
    run: GxRun,
    item: PlannedCheck,
    scope: Scope,
    cache: dict[str, Batch] | None = None,
) -> CheckOutcome:
    """Build the planned check's batch for ``scope``, validate it with GX and conclude.

    Checks of one dataset that name the same aggregate batch (e.g. freshness and delivery_age) share it via `cache`.
    """
    check, skip_note = item.check, item.skip_note

    def outcome(result: str, failed_count: int, message: str, **extra: Any) -> CheckOutcome:
        return CheckOutcome(
            scope.gate,
            check.name,
            scope.dataset,
            item.reported_on,
            check.severity,
            result,
            failed_count,
            message,
            **extra,
        )

    failing = "failed" if check.blocking else "warned"
    if skip_note:
        return outcome("passed", 0, f"skipped: {skip_note}")
    cache_key = json.dumps([scope.schema, scope.table, check.batch], sort_keys=True, default=str)
    try:
        if cache is not None and check.batch_kind in SHARED_BATCH_KINDS and cache_key in cache:
            batch = cache[cache_key]
        else:
            batch = build_batch(con, check, scope)
            if cache is not None and check.batch_kind in SHARED_BATCH_KINDS:
                cache[cache_key] = batch
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        return outcome(failing, 0, f"{check.description}: the check could not be evaluated: {first}")
    if batch.skip:
        return outcome("passed", 0, f"skipped: {batch.skip}")
    assert batch.frame is not None
    meta = {
        "notes": {
            "format": "markdown",
            "content": [
                f"**{scope.gate}** on `{scope.dataset}`: {check.description}",
                f"Batch: {batch.note or check.batch_kind}",
            ],
        }
    }
    id_columns = list(check.sample_columns) or ["source", "column_name", *scope.key]
    validation = run.validate(
        f"{scope.gate}.{scope.dataset}.{check.name}",
        batch.frame,
        list(item.expectations),
        meta,
        f"{scope.gate}.{scope.dataset}",
        id_columns=id_columns,
    )
    found_in_sql = batch.offending_rows or 0
    if validation.success and not found_in_sql:
        return outcome("passed", 0, f"passed ({batch.note})" if batch.note else "passed")
    details = [e.describe() for e in validation.failed]
    if validation.success:  # the SQL found offending rows the suite's expectations did not flag
        details.append(f"{found_in_sql} offending rows found in SQL")
    failed_count = (
        batch.offending_rows
        if batch.offending_rows is not None
        else sum(e.unexpected_count if e.unexpected_count is not None else 1 for e in validation.failed)
    )
    if batch.sample_sql:
        try:
            sample = con.execute(f"select * from ({batch.sample_sql}) as offending limit {SAMPLE_ROWS}").df()
            sample_rows = sample.to_dict(orient="records")
        except duckdb.Error as exc:
            sample_rows = [{"sample_error": str(exc).strip().splitlines()[0]}]
    else:
        sample_rows = _sample_rows(batch, check, validation.unexpected_indexes())
    sources = sorted({str(r["source"]) for r in sample_rows if r.get("source") is not None})
    who = f" for {', '.join(sources)}" if sources else ""
    message = f"{failed_count} offending{who}: " + "; ".join(details) + f" [{batch.note}]. Rule: {check.description}"
    return outcome(failing, failed_count, message, sample=[jsonable(r) for r in sample_rows], details=details)


def _sample_rows(batch: Batch, check: CheckDef, indexes: list[Any]) -> list[dict[str, Any]]:
    frame = batch.frame
    if frame is None or frame.empty:
        return []
    rows = frame.iloc[[i for i in indexes if 0 <= i < len(frame)][:SAMPLE_ROWS]] if indexes else frame.head(0)
    if rows.empty and batch.offending_rows:
        rows = frame.head(SAMPLE_ROWS)  # a batch of offending rows: every row offends
    if check.sample_columns:
        wanted = [c for c in frame.columns if c in check.sample_columns or c in _failing_columns(check)]
        rows = rows[wanted or list(frame.columns)]
    return rows.to_dict(orient="records")


def _failing_columns(check: CheckDef) -> set[str]:
    columns: set[str] = set()
    for expectation in check.expectations:
        kwargs = expectation.get("kwargs") or {}
        columns.update(str(kwargs[k]) for k in ("column", "column_A", "column_B") if k in kwargs)
        columns.update(str(c) for c in kwargs.get("column_list") or [])
    return columns


def record_outcomes(con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[CheckOutcome]) -> None:
    """One row per check in audit.gate_results."""
    ensure_audit(con)
    now = datetime.now(UTC)
    con.executemany(
        "insert into audit.gate_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id,
                o.gate,
                o.check_name,
                o.dataset,
                o.outcome,
                o.failed_count,
                json.dumps(o.sample, default=str) if o.sample else None,
                o.message,
                now,
            ]
            for o in outcomes
        ],
    )


def evaluate_check(
    con: duckdb.DuckDBPyConnection,
    run: GxRun,
    check: CheckDef,
    scope: Scope,
    reported_on: str,
    skip_note: str | None = None,
    cache: dict[str, Batch] | None = None,
) -> CheckOutcome:
    """One check of a suite on a scope, outside a plan (its expectations expanded for the scope's key)."""
    item = planned(check, scope.gate, scope.dataset, scope.key, reported_on, scope.load_mode, skip_note)
    return evaluate(con, run, item, scope, cache)


@dataclass
class GateRun:
    """The outcomes of one gate in one run, the run's gate report and its GX data docs."""

    gate: str
    outcomes: list[CheckOutcome]
    report: Path  # the self-contained page a person reads: every check of the run so far
    gx_docs: Path  # GX's data docs site of the run
    held: list[HeldFile] = field(default_factory=list)  # gate 1: the feed's files held in quarantine

    @property
    def blocking(self) -> list[CheckOutcome]:
        """The failed checks: they stop everything downstream."""
        return [o for o in self.outcomes if o.blocks]


def run_gate(con: duckdb.DuckDBPyConnection, run_id: str, gate: str, plan: list[PlannedCheck]) -> GateRun:
    """Evaluate and record every planned check of a gate for one run, then rewrite the run's docs and report."""
    run = gx_run(run_id)
    ensure_audit(con)
    cache: dict[str, Batch] = {}
    outcomes = [evaluate(con, run, item, item.scope(run_id), cache) for item in plan]
    record_outcomes(con, run_id, outcomes)
    held = _quarantine(con, run_id, gate, outcomes)
    gx_docs = run.build_docs()
    report = write_run_docs(con, run)
    return GateRun(gate, outcomes, report, gx_docs, held)


def _quarantine(con: duckdb.DuckDBPyConnection, run_id: str, gate: str, outcomes: list[CheckOutcome]) -> list:
    """Gate 1: when a blocking check of a feed failed, hold the feed's files this run loaded; the feed's held files."""
    if gate != "gate_1":
        return []
    feeds = sorted({o.dataset.split(".", 1)[1] for o in outcomes if o.dataset.startswith("raw.")})
    held = []
    for feed in feeds:
        failed = [o for o in outcomes if o.blocks and o.dataset == f"raw.{feed}"]
        if failed:
            reason = "; ".join(f"{o.check_name}: {o.message}" for o in failed)
            held.extend(hold_refused_loads(con, run_id, feed, reason))
        else:
            held.extend(held_files(con, feed))
    return held

"""The quality gates as blocking Dagster asset checks.

Gate 1 runs after each load asset (``raw/<feed>``) with the checks of ``expectations/raw/<feed>.yml``; gate 2 runs on
the run's candidate marts (``marts/<model>``) after dbt and before publish, with ``expectations/marts/_all_marts.yml``
applied to every mart plus the mart's own suite. Every check:

1. builds its batch in the warehouse (:mod:`orchestration.checks.batches`) and validates it with GX,
2. writes one row to ``audit.gate_results`` (outcome, count and a JSON sample of offending rows, message),
3. yields a Dagster ``AssetCheckResult`` (blocking when its severity is ``error``),

and the run's GX data docs are rebuilt. When a blocking check fails the step fails with a message that names the
gate, the check, the dataset and a sample of offending rows, so Dagster skips everything downstream; the publish step
also refuses on its own if ``audit.gate_results`` holds a failed row for the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb

from orchestration.checks.batches import Batch, Scope, build_batch
from orchestration.checks.gx_glue import GxRun, gx_run, jsonable, write_runs_index
from orchestration.checks.suites import CheckDef, Suite, expand_expectations
from orchestration.resources import WarehouseResource
from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.versions import candidate_schema

#: Batch kinds whose frame depends only on the batch configuration (not on the check's expectations).
SHARED_BATCH_KINDS = frozenset({"volume", "freshness", "pii_columns", "pii_values"})
#: Offending rows kept per check in audit.gate_results.sample and shown in messages.
SAMPLE_ROWS = 10
SHOWN_IN_MESSAGE = 3


@dataclass
class CheckOutcome:
    """What one check concluded in one run (one row of audit.gate_results)."""

    gate: str
    check_name: str
    dataset: str
    asset_key: dg.AssetKey
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


def evaluate_check(
    con: duckdb.DuckDBPyConnection,
    run: GxRun,
    check: CheckDef,
    scope: Scope,
    asset_key: dg.AssetKey,
    skip_note: str | None = None,
    cache: dict[str, Batch] | None = None,
) -> CheckOutcome:
    """Build the check's batch, validate it with GX and conclude.

    Checks of one dataset that name the same aggregate batch (e.g. freshness and delivery_age) share it via `cache`.
    """

    def outcome(result: str, failed_count: int, message: str, **extra: Any) -> CheckOutcome:
        return CheckOutcome(
            scope.gate, check.name, scope.dataset, asset_key, check.severity, result, failed_count, message, **extra
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
    expectations = expand_expectations(check.expectations, scope.key)
    id_columns = list(check.sample_columns) or ["source", "column_name", *scope.key]
    validation = run.validate(
        f"{scope.gate}.{scope.dataset}.{check.name}",
        batch.frame,
        expectations,
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


def check_results(outcomes: list[CheckOutcome], docs: str) -> Iterator[dg.AssetCheckResult]:
    for o in outcomes:
        yield dg.AssetCheckResult(
            asset_key=o.asset_key,
            check_name=o.check_name,
            passed=o.outcome == "passed",
            severity=dg.AssetCheckSeverity.ERROR if o.severity == "error" else dg.AssetCheckSeverity.WARN,
            description=o.message[:2000],
            metadata={
                "gate": o.gate,
                "dataset": o.dataset,
                "outcome": o.outcome,
                "failed_count": o.failed_count,
                "sample": dg.MetadataValue.json(o.sample) if o.sample else dg.MetadataValue.text("none"),
                "gx_data_docs": dg.MetadataValue.path(docs),
            },
        )


def gate_failure(gate: str, outcomes: list[CheckOutcome], docs: str, extra: str = "") -> dg.Failure:
    failed = [o for o in outcomes if o.blocks]
    lines = [o.headline() for o in failed]
    description = (
        f"{gate.replace('_', ' ').capitalize()} failed ({len(failed)} blocking check(s)); nothing downstream runs and "
        f"the published marts stay as they were.{extra}\n- " + "\n- ".join(lines) + f"\nGX data docs: {docs}"
    )
    return dg.Failure(
        description=description,
        metadata={
            "failed_checks": [f"{o.dataset}:{o.check_name}" for o in failed],
            "gx_data_docs": dg.MetadataValue.path(docs),
        },
    )


def run_checks(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    gate: str,
    work: list[tuple[Suite, CheckDef, Scope, dg.AssetKey, str | None]],
    extra: str = "",
) -> Iterator[dg.AssetCheckResult]:
    """Evaluate, record and report a list of checks; raise a Failure naming every blocking check that failed."""
    run = gx_run(context.run.run_id)
    outcomes: list[CheckOutcome] = []
    with warehouse.connect() as con:
        ensure_audit(con)
        cache: dict[str, Batch] = {}
        for _suite, check, scope, asset_key, skip_note in work:
            outcomes.append(evaluate_check(con, run, check, scope, asset_key, skip_note, cache))
        record_outcomes(con, context.run.run_id, outcomes)
        docs = str(run.build_docs())
        write_runs_index(con)
    for o in outcomes:
        log = context.log.info if o.outcome == "passed" else context.log.error
        log(f"{o.gate} {o.dataset} {o.check_name}: {o.outcome}: {o.message}")
    yield from check_results(outcomes, docs)
    if any(o.blocks for o in outcomes):
        raise gate_failure(gate, outcomes, docs, extra)


def candidate_scope(run_id: str, model: str, key: tuple[str, ...]) -> Scope:
    return Scope(
        run_id=run_id, gate="gate_2", dataset=f"marts.{model}", schema=candidate_schema(run_id), table=model, key=key
    )


def gate_1_specs(feed: str, suite: Suite, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name=c.name, asset=asset_key, blocking=c.blocking, description=f"Gate 1: {c.description}")
        for c in suite.checks
    ]

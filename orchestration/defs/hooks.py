"""The nightly job's failure hook: every step that fails is recorded in ``audit.step_failures`` with its error, so
``audit.run_history`` says why a run failed (see :func:`orchestration.warehouse.audit.record_step_failure`), and a
build the run started is rolled back out of the incremental state (see
:func:`orchestration.warehouse.state.undo_failed_build`)."""

from __future__ import annotations

import dagster as dg

from orchestration.warehouse.audit import record_step_failure
from orchestration.warehouse.state import undo_failed_build


def error_text(error: BaseException | None) -> str:
    """The error a step raised, as a person reads it: a Failure's description, else the exception and its message."""
    if error is None:
        return "the step failed"
    if isinstance(error, dg.Failure) and error.description:
        return error.description.strip()
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dg.failure_hook(required_resource_keys={"warehouse"})
def record_failed_step(context: dg.HookContext) -> None:
    """Record the failed step; when the warehouse cannot be opened even after waiting, spool it beside the file."""
    step = context.step_key or context.op.name
    try:
        outcome = record_step_failure(
            context.resources.warehouse.warehouse_file, context.run_id, step, error_text(context.op_exception)
        )
    except Exception as exc:  # the step's own failure is what matters; never add a second one
        context.log.warning(f"{step}: its failure could not be recorded in audit.step_failures: {exc}")
        return
    if outcome == "spooled":
        context.log.warning(
            f"{step}: the warehouse could not be opened to record this failure; it was kept beside the warehouse "
            "file and moves into audit.step_failures at the next run"
        )
    undo_build(context, step)


def undo_build(context: dg.HookContext, step: str) -> None:
    """Roll the incremental state back when this run's build will not be published (the next build does it too,
    should this fail or the process die first)."""
    try:
        with context.resources.warehouse.connect() as con:
            undone = undo_failed_build(con, context.run_id)
    except Exception as exc:  # the next build rolls back before it starts
        context.log.warning(f"{step}: the incremental state could not be rolled back now ({exc}); the next build will")
        return
    if undone:
        rows = sum(undone.values())
        context.log.info(f"{step}: this run's build was rolled back out of the incremental state ({rows:,} rows)")

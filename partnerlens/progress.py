"""What a person sees while the nightly job runs on the command line: one line per stage, then warnings.

The stages are the steps of the nightly job grouped by what they do: the loads, gate 1, the dbt build, gate 2,
publish and share (the scorecards). :class:`RunReporter` follows the run through a Dagster logger (it receives every
event of the run as it happens) and, when a stage has finished, prints what it did and how long its steps took::

    load          2.1 s  9 feeds, 24 files: 14,022 rows loaded, 82 rejected
    gate 1        6.0 s  25 checks on 9 feeds: 25 passed
    dbt build    41.3 s  54 models and seeds built, 170 tests: 170 passed
    gate 2       11.8 s  49 checks on 13 marts: 49 passed
    publish       0.4 s  `marts` now serves marts_build_18aba8b31151482e; readers open partnerlens_served.duckdb
    share         1.1 s  8 partner scorecards and the dashboard warehouse/scorecards/index.html

On a terminal a status line below them shows the stage under way (e.g. ``dbt build  87/212 models and tests``),
rewritten as the run goes. :func:`quiet_output` keeps everything else the run prints (dbt's own log, Dagster's
console log, Great Expectations' progress bars) off the terminal; Dagster still captures it in the run's compute logs,
and the Dagster UI shows it with the rest of the run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg

#: Events that carry an error of the run as a whole rather than of one step's own work.
RUN_ERROR_EVENTS = ("RESOURCE_INIT_FAILURE", "RUN_FAILURE", "PIPELINE_FAILURE", "ENGINE_EVENT")
#: The name of the reporter's logger in the job's run config.
LOGGER_NAME = "partnerlens_progress"
#: Width of the stage label column.
LABEL_WIDTH = 10


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"


def format_stage_line(label: str, seconds: float | None, text: str) -> str:
    """A stage line: the stage, its time, what it did."""
    clock = _seconds(seconds) if seconds is not None else "-"
    return f"{label:<{LABEL_WIDTH}} {clock:>8}  {text}"


def stage_of(assets_def: dg.AssetsDefinition) -> str:
    """The stage a step belongs to: its gate for a check step (gate_1_<feed> -> "gate 1"), "dbt build" for the dbt
    assets, else the group of the assets it materialises (the loads are group "load", publish is "publish")."""
    name = assets_def.node_def.name
    if not assets_def.keys:
        match = re.match(r"gate_(\d+)", name)
        return f"gate {match.group(1)}" if match else "checks"
    kinds = set().union(*(spec.kinds for spec in assets_def.specs))
    if "dbt" in kinds:
        return "dbt build"
    groups = {assets_def.group_names_by_key.get(key) for key in assets_def.keys}
    return groups.pop() or "assets" if len(groups) == 1 else "assets"


@dataclass
class StepPlan:
    """One step of the run: its stage, what it is expected to produce, and where it sits in the asset graph."""

    key: str
    stage: str
    assets: int
    checks: int
    rank: int


def plan_steps(job: dg.JobDefinition, selection: list[dg.AssetKey] | None = None) -> dict[str, StepPlan]:
    """The steps a run of `job` (restricted to `selection`, when given) executes, by step key."""
    graph = job.asset_layer.asset_graph
    order = {key: i for i, key in enumerate(graph.toposorted_asset_keys)}
    chosen = set(selection) if selection else None
    steps: dict[str, StepPlan] = {}
    for assets_def in graph.assets_defs:
        if not assets_def.is_executable:
            continue
        keys = [k for k in assets_def.keys if chosen is None or k in chosen]
        checks = [c for c in assets_def.check_keys if chosen is None or c.asset_key in chosen]
        if not keys and not checks:
            continue
        # a step ranks by the last asset it materialises; a check step just after the last asset it checks
        ranks = [2 * order.get(k, 0) for k in keys] or [2 * order.get(c.asset_key, 0) + 1 for c in checks]
        name = assets_def.node_def.name
        steps[name] = StepPlan(name, stage_of(assets_def), len(keys), len(checks), max(ranks))
    return steps


@dataclass
class CheckResult:
    """One failed check (an asset check, or a dbt test reported as an observation)."""

    stage: str
    asset: str
    name: str
    blocking: bool
    description: str


@dataclass
class Stage:
    """What the steps of one stage did so far."""

    label: str
    rank: int
    steps: set[str] = field(default_factory=set)
    started: dict[str, float] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    seconds: float = 0.0
    expected_outputs: int = 0
    materialized: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    checked_assets: set[str] = field(default_factory=set)
    tests_passed: int = 0
    tests_failed: int = 0
    metadata_totals: dict[str, int] = field(default_factory=dict)
    feeds: set[str] = field(default_factory=set)
    rows_rejected_by_asset: dict[str, int] = field(default_factory=dict)
    served_schema: str | None = None
    served_file: str | None = None
    shared: str | None = None
    build_mode: str | None = None
    build_summary: str | None = None
    printed: bool = False

    @property
    def done(self) -> bool:
        return self.steps <= (self.finished | self.skipped)

    @property
    def outputs(self) -> int:
        return self.materialized + self.checks_passed + self.checks_failed

    def elapsed(self, now: float) -> float:
        """Seconds spent in this stage's steps (steps of other stages may run in between)."""
        running = sum(now - start for step, start in self.started.items() if step not in self.finished)
        return self.seconds + running

    def describe(self, run_failed: bool = False, nothing_new: bool = False) -> str:
        """What the stage did, in one line (`run_failed`: the run has ended in failure; `nothing_new`: the build
        was skipped because nothing was new)."""
        if not self.started:
            if nothing_new and not run_failed:
                return "not run: nothing new since the last publish"
            return "not run: an earlier step failed" if self.skipped or run_failed else "not run"
        if self.build_mode == "skipped":
            return self.build_summary or "nothing new: build and publish skipped"
        parts = [self.build_summary] if self.build_summary else []
        totals = self.metadata_totals
        if "rows_loaded" in totals:
            files = totals.get("files_loaded", 0)
            text = (
                f"{_plural(len(self.feeds), 'feed')}, {_plural(files, 'file')}: {totals['rows_loaded']:,} rows loaded"
            )
            text += f", {totals.get('rows_rejected', 0):,} rejected"
            if totals.get("files_skipped"):
                text += f" ({_plural(totals['files_skipped'], 'file')} seen before, skipped)"
            if totals.get("files_rejected"):
                text += f", {_plural(totals['files_rejected'], 'file')} rejected whole"
            parts.append(text)
        elif self.served_schema:
            text = f"`marts` now serves {self.served_schema}"
            parts.append(text + (f"; readers open {self.served_file}" if self.served_file else ""))
        elif self.shared:
            parts.append(self.shared)
        elif self.label == "dbt build":
            parts.append(f"{_plural(self.materialized, 'model')} and seeds built")
        elif self.materialized:
            parts.append(f"{_plural(self.materialized, 'asset')} materialised")
        checks = self.checks_passed + self.checks_failed
        tests = self.tests_passed + self.tests_failed
        if self.label == "dbt build" and checks + tests:
            text = f"{_plural(checks + tests, 'test')}: {self.checks_passed + self.tests_passed:,} passed"
            failed = self.checks_failed + self.tests_failed
            parts.append(text + (f", {failed:,} FAILED" if failed else ""))
        elif checks:
            text = _plural(checks, "check")
            if self.checked_assets:
                noun = "feed" if all(a.startswith("raw") for a in self.checked_assets) else "dataset"
                if all(a.startswith("marts") for a in self.checked_assets):
                    noun = "mart"
                text += f" on {_plural(len(self.checked_assets), noun)}"
            text += f": {self.checks_passed:,} passed" + (
                f", {self.checks_failed:,} FAILED" if self.checks_failed else ""
            )
            parts.append(text)
        if self.failed:
            parts.append(f"FAILED in {', '.join(sorted(self.failed))}")
        elif self.skipped and not self.done:
            parts.append(f"{_plural(len(self.skipped), 'step')} not run")
        return "; ".join(parts) if parts else "done"


class RunReporter:
    """Follows one run of the nightly job and prints its stage lines to `out` (see the module docstring).

    Use :meth:`logger_def` as a logger of the job (``run_nightly(reporter=...)`` does). The reporter also keeps the
    run's warnings (rows and files the contracts rejected, checks that failed without blocking) and its failures
    (every failed step's error and every failed check) for :meth:`warnings` and :meth:`failures`.
    """

    def __init__(self, out: TextIO, live: bool = False, refresh_seconds: float = 0.5) -> None:
        self.out = out
        self.live = live
        self.refresh_seconds = refresh_seconds
        self.stages: dict[str, Stage] = {}
        self.step_stage: dict[str, str] = {}
        self.expected: dict[str, int] = {}
        self.step_outputs: dict[str, int] = {}
        self.failed_checks: list[CheckResult] = []
        self.step_errors: list[tuple[str, Any]] = []
        self.error_messages: list[tuple[str, str]] = []
        self.run_id: str | None = None
        self.run_failed = False
        self.log_file_key: str | None = None
        self.current: str | None = None
        self._lock = threading.RLock()
        self._status_shown: str | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- set-up ---------------------------------------------------------------------------------------------------

    def expect(self, steps: dict[str, StepPlan]) -> None:
        """The steps of the run (see :func:`plan_steps`), so that a stage is known to be done when its last step is."""
        for plan in sorted(steps.values(), key=lambda p: p.rank):
            stage = self.stages.setdefault(plan.stage, Stage(plan.stage, plan.rank))
            stage.rank = max(stage.rank, plan.rank)
            stage.steps.add(plan.key)
            stage.expected_outputs += plan.assets + plan.checks
            self.step_stage[plan.key] = plan.stage
            self.expected[plan.key] = plan.assets + plan.checks

    def logger_def(self) -> dg.LoggerDefinition:
        """A Dagster logger that hands every record of the run to this reporter."""
        reporter = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                reporter.handle(record)

        def build(_init_context: dg.InitLoggerContext) -> logging.Logger:
            logger = logging.Logger(LOGGER_NAME, level=logging.DEBUG)
            logger.addHandler(Handler())
            return logger

        return dg.LoggerDefinition(build, description="Stage lines of a run for the command line")

    @contextlib.contextmanager
    def running(self) -> Iterator[RunReporter]:
        """While the run executes: keep the status line's clock ticking (on a terminal)."""
        if self.live:
            self._ticker = threading.Thread(target=self._tick, name="partnerlens-progress", daemon=True)
            self._ticker.start()
        try:
            yield self
        finally:
            self._stop.set()
            if self._ticker:
                self._ticker.join()
            self.finish()

    # -- events ---------------------------------------------------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = getattr(record, "dagster_event", None) or meta.get("dagster_event")
        step = meta.get("step_key")
        with self._lock:
            self.run_id = self.run_id or meta.get("run_id")
            try:
                if event is None:
                    if step and record.levelno >= logging.ERROR:
                        self.error_messages.append((step, str(meta.get("orig_message") or record.getMessage())))
                    return
                self._on_event(event, step or event.step_key, record.created)
            except Exception as error:  # never let the display break the run
                self._write_line(f"(progress display error: {error!r})")

    def _stage(self, step: str | None) -> Stage | None:
        if step is None:
            return None
        label = self.step_stage.get(step)
        if label is None:  # a step the plan did not list
            label = "other"
            self.step_stage[step] = label
            self.stages.setdefault(label, Stage(label, 10**9)).steps.add(step)
        return self.stages[label]

    def _on_event(self, event: Any, step: str | None, at: float) -> None:
        kind = event.event_type_value
        stage = self._stage(step)
        data = event.event_specific_data
        if kind in ("RUN_FAILURE", "PIPELINE_FAILURE"):
            self.run_failed = True
        if kind == "LOGS_CAPTURED":
            self.log_file_key = getattr(data, "file_key", None)
        elif kind in RUN_ERROR_EVENTS and getattr(data, "error", None) is not None:
            # e.g. a resource that could not start (the warehouse held by another run): no step ran to fail
            if not any(_root(error).message == _root(data.error).message for _, error in self.step_errors):
                self.step_errors.append((step or "run", data.error))
        elif stage is None:
            return
        elif kind == "STEP_START":
            stage.started[step] = at
            self.current = stage.label
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            stage.finished.add(step)
            stage.seconds += at - stage.started.get(step, at)
            if kind == "STEP_FAILURE":
                stage.failed.add(step)
                self.step_errors.append((step, getattr(data, "error", None)))
        elif kind == "STEP_SKIPPED":
            stage.skipped.add(step)
        elif kind == "ASSET_MATERIALIZATION":
            stage.materialized += 1
            self.step_outputs[step] = self.step_outputs.get(step, 0) + 1
            materialization = data.materialization
            metadata = materialization.metadata
            if materialization.asset_key.path[0] == "published" and "schema" in metadata:
                stage.served_schema = str(metadata["schema"].value)
                if "served_file" in metadata:
                    stage.served_file = Path(str(metadata["served_file"].value)).name
            if "dashboard" in metadata and "partners" in metadata:
                partners = _plural(int(metadata["partners"].value), "partner scorecard")
                stage.shared = f"{partners} and the dashboard {metadata['dashboard'].value}"
            for name, value in materialization.metadata.items():
                raw = getattr(value, "value", value)
                if name in ("files_loaded", "files_skipped", "files_rejected", "rows_loaded", "rows_rejected"):
                    stage.metadata_totals[name] = stage.metadata_totals.get(name, 0) + int(raw or 0)
                    stage.feeds.add(materialization.asset_key.path[-1])
                    if name == "rows_rejected" and raw:
                        feed = materialization.asset_key.path[-1]
                        stage.rows_rejected_by_asset[feed] = int(raw)
        elif kind == "ASSET_CHECK_EVALUATION":
            self.step_outputs[step] = self.step_outputs.get(step, 0) + 1
            stage.checked_assets.add("/".join(data.asset_key.path))
            if data.passed:
                stage.checks_passed += 1
            else:
                stage.checks_failed += 1
                blocking = getattr(data.severity, "value", str(data.severity)) == "ERROR"
                self.failed_checks.append(
                    CheckResult(
                        stage.label,
                        "/".join(data.asset_key.path),
                        data.check_name,
                        blocking,
                        (data.description or _metadata_text(data.metadata)).strip(),
                    )
                )
        elif kind == "ASSET_OBSERVATION":
            observation = data.asset_observation
            mode = observation.metadata.get("build_mode")
            if mode is not None:  # the dbt step's plan: a full, an incremental or no build
                stage.build_mode = str(getattr(mode, "value", mode))
                summary = observation.metadata.get("build_summary")
                stage.build_summary = str(getattr(summary, "value", summary)) if summary is not None else None
            status = observation.metadata.get("status")
            if status is not None:  # a dbt test that is not an asset check
                outcome = str(getattr(status, "value", status))
                if outcome == "pass":
                    stage.tests_passed += 1
                else:
                    stage.tests_failed += 1
                    unique_id = observation.metadata.get("unique_id")
                    self.failed_checks.append(
                        CheckResult(
                            stage.label,
                            "/".join(observation.asset_key.path),
                            str(getattr(unique_id, "value", unique_id) or "dbt test"),
                            outcome != "warn",
                            f"dbt test status {outcome}; " + _metadata_text(observation.metadata),
                        )
                    )
        self._print_finished_stages()
        self._show_status()

    # -- output ---------------------------------------------------------------------------------------------------

    @property
    def nothing_new(self) -> bool:
        """True when the run's dbt step found nothing new and built nothing (so nothing was published)."""
        return any(stage.build_mode == "skipped" for stage in self.stages.values())

    def stage_line(self, stage: Stage, now: float | None = None) -> str:
        elapsed = stage.elapsed(now or time.time()) if stage.started else None
        return format_stage_line(stage.label, elapsed, stage.describe(self.run_failed, self.nothing_new))

    def _print_finished_stages(self) -> None:
        # as each stage finishes (the loads and gate 1 interleave: each is printed when its last step is done)
        for stage in sorted(self.stages.values(), key=lambda s: s.rank):
            if not stage.printed and stage.done and stage.started:
                self._write_line(self.stage_line(stage))
                stage.printed = True

    def finish(self) -> None:
        """Print the stages not printed yet (the run ended: they were cut short or never ran)."""
        with self._lock:
            for stage in sorted(self.stages.values(), key=lambda s: s.rank):
                if not stage.printed:
                    self._write_line(self.stage_line(stage))
                    stage.printed = True
            self._clear_status()
            self.out.flush()

    def status_text(self, now: float | None = None) -> str | None:
        """The status line: the stage under way, how many of its outputs are done, and its time so far."""
        stage = self.stages.get(self.current or "")
        if stage is None or stage.printed:
            stage = next((s for s in sorted(self.stages.values(), key=lambda s: s.rank) if not s.printed), None)
        if stage is None or not stage.started:
            return None
        unit = {"load": "feeds", "dbt build": "models and tests"}.get(stage.label, "checks")
        if stage.label == "load":
            done, total = len(stage.finished), len(stage.steps)
        else:
            done, total = stage.outputs, stage.expected_outputs
        return format_stage_line(stage.label, stage.elapsed(now or time.time()), f"{done:,}/{total:,} {unit} ...")

    def _show_status(self) -> None:
        if not self.live:
            return
        text = self.status_text()
        if text is None:
            return
        text = text[: shutil.get_terminal_size((100, 20)).columns - 1]
        if text != self._status_shown:
            self.out.write("\r\033[K" + text)
            self.out.flush()
            self._status_shown = text

    def _clear_status(self) -> None:
        if self._status_shown is not None:
            self.out.write("\r\033[K")
            self._status_shown = None

    def _write_line(self, text: str) -> None:
        self._clear_status()
        self.out.write(text + "\n")
        self.out.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            with self._lock:
                self._show_status()

    # -- after the run --------------------------------------------------------------------------------------------

    def warnings(self) -> list[str]:
        """What a person should know about a run even when it succeeded."""
        lines = []
        rejected = {feed: rows for stage in self.stages.values() for feed, rows in stage.rows_rejected_by_asset.items()}
        if rejected:
            per_feed = ", ".join(f"{feed} {rows:,}" for feed, rows in sorted(rejected.items()))
            lines.append(
                f"{sum(rejected.values()):,} rows rejected by the feed contracts ({per_feed}): "
                f"select * from audit.rejected_rows where run_id = '{self.run_id}'"
            )
        failed_steps = {step for step, _ in self.step_errors}
        for step, message in self.error_messages:
            if step not in failed_steps and self.step_stage.get(step) == "load":
                lines.append(message)
        for check in self.failed_checks:
            if not check.blocking:
                lines.append(f"{check.stage}: {check.asset} {check.name} (does not block): {check.description}")
        return lines

    def failures(self) -> list[str]:
        """Every failed step with its complete error, then every check that failed (blocking or not)."""
        lines = []
        for step, error in self.step_errors:
            where = f"{step} ({self.step_stage[step]})" if step in self.step_stage else f"the {step}"
            lines.append(f"{where} failed:")
            lines.extend("    " + line for line in error_text(error).splitlines())
        blocking = [c for c in self.failed_checks if c.blocking]
        if blocking:
            lines.append(f"Failed checks ({len(blocking)}):")
            for check in blocking:
                lines.append(f"  {check.stage}: {check.asset} {check.name}")
                lines.extend("    " + line for line in check.description.splitlines())
        return lines


def _metadata_text(metadata: dict[str, Any]) -> str:
    shown = {k: getattr(v, "value", v) for k, v in metadata.items() if k not in ("invocation_id", "unique_id")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


#: Errors whose message is the whole story (the project raises them with every detail a person needs); any other
#: error is printed with its stack trace.
COMPLETE_MESSAGE_ERRORS = {"Failure", "DagsterDbtCliRuntimeError", "WarehouseBusyError"}


def _root(error: Any) -> Any:
    while error.cause is not None:
        error = error.cause
    return error


def error_text(error: Any) -> str:
    """A step's error as Dagster recorded it: its message, then the errors that caused it, each unexpected one with
    its stack trace (Dagster's own wrapper around a cause, e.g. "Error occurred while executing op", is given by its
    message only: its stack is Dagster's)."""
    if error is None:
        return "failed (no error recorded)"
    parts = []
    for _ in range(10):
        parts.append(error.message.rstrip())
        wrapper = error.cause is not None and error.cls_name.startswith("Dagster")
        if not wrapper and error.cls_name not in COMPLETE_MESSAGE_ERRORS and error.stack:
            parts.append("".join(error.stack).rstrip())
        if error.cause is None:
            break
        parts.append("The above was caused by:")
        error = error.cause
    return "\n".join(parts)


@contextlib.contextmanager
def quiet_output() -> Iterator[TextIO]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so subprocesses too) to /dev/null for the
    block, and yield a stream on the original stdout for the stage lines.

    What the run prints meanwhile is not lost: Dagster captures both streams of the run into its compute logs (the
    Dagster UI shows them) and a Python error raised here still reaches the terminal once the block has ended.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, devnull):
            os.close(fd)
        terminal.close()

"""Run the nightly job in process, the way `make demo`, the benchmark and the end-to-end tests do."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.paths import PROJECT_DIR
from partnerlens.progress import LOGGER_NAME, RunReporter, plan_steps


def nightly_run_config(dbt_vars: dict[str, Any] | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Run config for the nightly job: dbt vars (attribution settings and the like) for the dbt step."""
    return {"ops": {"partnerlens_dbt": {"config": {"dbt_vars": dict(dbt_vars or {}), "full_refresh": full_refresh}}}}


#: The Dagster home of the project: `make dev` (the Dagster UI), `make demo` and `partnerlens run` share it.
DEFAULT_DAGSTER_HOME = PROJECT_DIR / ".dagster_home"
#: Written into a Dagster home that has no dagster.yaml yet: Dagster's defaults (runs, events and compute logs kept
#: under the home), without the usage statistics Dagster would otherwise send, and the banner that announces them.
DAGSTER_YAML = """\
# The Dagster instance of Partnerlens: runs, event logs and compute logs are kept in this folder.
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """DAGSTER_HOME (made absolute, as Dagster requires) when set, else .dagster_home in the project directory."""
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else DEFAULT_DAGSTER_HOME


def ensure_dagster_home() -> Path:
    """Create the Dagster home (with a dagster.yaml when it has none), point DAGSTER_HOME at it and return it."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists() and not (home / "dagster.yml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance of the Dagster home, so that the run shows in `dagster dev` (`make dev`)."""
    ensure_dagster_home()
    return dg.DagsterInstance.get()


def run_nightly(
    dbt_vars: dict[str, Any] | None = None,
    full_refresh: bool = False,
    instance: dg.DagsterInstance | None = None,
    selection: list[dg.AssetKey] | None = None,
    reporter: RunReporter | None = None,
    console_log_level: str = "DEBUG",
) -> dg.ExecuteInProcessResult:
    """Execute the nightly job in this process and return its result (never raises on a failed step).

    `console_log_level` is the level of Dagster's console log (DEBUG: every event of the run); a `reporter` follows
    the run through a logger of its own (the command line's stage lines). Whatever the levels, the Dagster instance
    records every event of the run.
    """
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    run_config = nightly_run_config(dbt_vars, full_refresh)
    loggers = dict(job.loggers)
    # Dagster's default console logger ("console"), the one logger of the job unless a reporter joins it
    run_config["loggers"] = {"console": {"config": {"log_level": console_log_level}}} if "console" in loggers else {}
    if reporter is not None:
        reporter.expect(plan_steps(job, selection))
        loggers[LOGGER_NAME] = reporter.logger_def()
        run_config["loggers"][LOGGER_NAME] = {}
        job = job.with_logger_defs(loggers)
    return job.execute_in_process(
        run_config=run_config,
        instance=instance or dagster_instance(),
        raise_on_error=False,
        asset_selection=selection,
    )


def compute_log_paths(run_id: str, file_key: str | None) -> list[Path]:
    """The files holding what a run printed (stdout, stderr), when the instance keeps compute logs locally."""
    if not file_key:
        return []
    manager = dg.DagsterInstance.get().compute_log_manager
    if not hasattr(manager, "get_captured_local_path"):
        return []
    log_key = manager.build_log_key_for_run(run_id, file_key)
    return [Path(manager.get_captured_local_path(log_key, extension)) for extension in ("out", "err")]


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """What failed in a run, step by step, in words a person can act on."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.event_specific_data
            error = getattr(data, "error", None)
            text = error.message.strip() if error else "failed"
            messages.append(f"{event.step_key}: {text}")
    return messages

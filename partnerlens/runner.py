"""Run the nightly job in process, the way `make demo`, the benchmark and the end-to-end tests do."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.paths import PROJECT_DIR


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
) -> dg.ExecuteInProcessResult:
    """Execute the nightly job in this process and return its result (never raises on a failed step)."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    return job.execute_in_process(
        run_config=nightly_run_config(dbt_vars, full_refresh),
        instance=instance or dagster_instance(),
        raise_on_error=False,
        asset_selection=selection,
    )


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

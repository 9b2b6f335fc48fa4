"""Run the nightly job in process, the way `make demo`, the benchmark and the end-to-end tests do."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg


def nightly_run_config(dbt_vars: dict[str, Any] | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Run config for the nightly job: dbt vars (attribution settings and the like) for the dbt step."""
    return {"ops": {"partnerlens_dbt": {"config": {"dbt_vars": dict(dbt_vars or {}), "full_refresh": full_refresh}}}}


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance under DAGSTER_HOME when set (so `dagster dev` shows the run), else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


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

"""Jobs. The nightly job runs in one process so that the warehouse run lock is held from the first load to publish;
every step that fails is recorded in audit.step_failures by its failure hook."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.hooks import record_failed_step

nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    hooks={record_failed_step},
    description="Load landed feeds, gate 1, dbt build of the candidate marts, gate 2, publish, scorecards.",
)

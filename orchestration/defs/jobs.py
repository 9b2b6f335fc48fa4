"""Jobs. The nightly job runs in one process so that the warehouse run lock is held from the first load to publish."""

from __future__ import annotations

import dagster as dg

nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load landed feeds, gate 1, dbt build of the candidate marts, gate 2, publish, scorecards.",
)

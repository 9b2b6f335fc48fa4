"""The Partnerlens code location: `dagster dev -m orchestration.definitions`."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.checks import asset_checks
from orchestration.defs.dbt import partnerlens_dbt
from orchestration.defs.ground_truth import ground_truth_partner_effects
from orchestration.defs.jobs import nightly_job
from orchestration.defs.loads import load_assets
from orchestration.defs.publish import published_marts
from orchestration.defs.resources import build_resources
from orchestration.defs.schedules import nightly_schedule
from orchestration.defs.scorecards import scorecards
from orchestration.defs.sensors import landing_sensor

defs = dg.Definitions(
    assets=[*load_assets, ground_truth_partner_effects, partnerlens_dbt, published_marts, scorecards],
    asset_checks=asset_checks,
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[landing_sensor],
    resources=build_resources(),
)

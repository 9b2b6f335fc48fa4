"""The nightly schedule."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.defs.jobs import nightly_job

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_0200",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=os.environ.get("PARTNERLENS_TIMEZONE", "UTC"),
    description="The nightly run at 02:00.",
)

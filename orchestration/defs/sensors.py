"""A sensor that starts the nightly job when new files land."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from orchestration.defs.jobs import nightly_job
from orchestration.paths import landing_path


def landed_files(landing_root: Path) -> dict[str, float]:
    """landing/<source>/<feed>/<file> -> modification time, skipping hidden and underscore folders and files."""
    files: dict[str, float] = {}
    if not landing_root.exists():
        return files
    for path in landing_root.glob("*/*/*"):
        relative = path.relative_to(landing_root)
        if path.is_file() and not any(part.startswith((".", "_")) for part in relative.parts):
            files[relative.as_posix()] = path.stat().st_mtime
    return files


def new_files(landing_root: Path, cursor: str | None) -> tuple[list[str], str]:
    """Files that appeared or changed since the cursor, and the new cursor (the newest modification time seen)."""
    seen_until = json.loads(cursor)["mtime"] if cursor else 0.0
    files = landed_files(landing_root)
    fresh = sorted(name for name, mtime in files.items() if mtime > seen_until)
    newest = max(files.values(), default=seen_until)
    return fresh, json.dumps({"mtime": max(newest, seen_until)})


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the nightly job when new files land under landing/.",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    fresh, cursor = new_files(landing_path(), context.cursor)
    context.update_cursor(cursor)
    if not fresh:
        return dg.SkipReason("no new files under landing/")
    return dg.RunRequest(
        run_key=f"landing-{cursor}",
        tags={"partnerlens/new_files": str(len(fresh))},
    )

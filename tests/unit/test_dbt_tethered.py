"""orchestration/bin/dbt-tethered, the `dbt` the nightly job starts: it refuses to start dbt for a parent that is
gone, and otherwise becomes dbt itself (the kill of a running build is tested end to end in tests/e2e/test_kills.py)."""

from __future__ import annotations

import os
import subprocess

from orchestration.project import TETHERED_DBT


def test_it_runs_dbt_for_the_process_that_started_it() -> None:
    completed = subprocess.run(
        [str(TETHERED_DBT), "--version"],
        env={**os.environ, "PARTNERLENS_DBT_PARENT_PID": str(os.getpid())},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "installed:" in completed.stdout  # dbt's own answer


def test_it_does_not_start_dbt_when_the_process_that_asked_for_it_is_gone() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer is this one's parent
    completed = subprocess.run(
        [str(TETHERED_DBT), "--version"],
        env={**os.environ, "PARTNERLENS_DBT_PARENT_PID": str(gone.pid)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1
    assert f"the process that started dbt ({gone.pid}) has already exited; dbt is not run" in completed.stderr
    assert "installed:" not in completed.stdout

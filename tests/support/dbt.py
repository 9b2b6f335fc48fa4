"""dbt run by the tests in a child process, and what its run_results.json and manifest.json say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.env import PROJECT_DIR, child_env

DBT = Path(sys.executable).with_name("dbt")


def run_dbt(
    args: list[str], root: Path, project_dir: Path = PROJECT_DIR, timeout: int = 1200, **env: str
) -> subprocess.CompletedProcess:
    """dbt in a child process whose warehouse, target and log folders are under `root` (child_env), with `env` added."""
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(project_dir), "--profiles-dir", str(PROJECT_DIR)],
        env=child_env(root, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def unit_test_outcomes(target: Path) -> tuple[set[str], dict[str, str]]:
    """The declared unit tests (manifest.json) and unit test name -> status of the last run (run_results.json)."""
    declared = {
        node["name"]
        for node in json.loads((target / "manifest.json").read_text())["unit_tests"].values()
        if node["package_name"] == "partnerlens"
    }
    results = {
        result["unique_id"].split(".")[-1]: result["status"]
        for result in json.loads((target / "run_results.json").read_text())["results"]
    }
    return declared, results

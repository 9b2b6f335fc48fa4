"""Every dbt unit test passes: the hand-worked cases of the attribution, payout, ROI and pipeline formulas.

The nightly build leaves the unit tests out, so they run here, on a temporary DuckDB warehouse. A unit test reads the
column types of its inputs from the warehouse, so the inputs must exist, not hold data: the raw tables are created
empty from the feed contracts (as the loader creates them), the seeds are loaded, and every model is built with
`dbt run --empty` (zero rows) before `dbt test --select resource_type:unit_test`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.feeds.loader import ensure_warehouse
from tests.support.dbt import run_dbt, unit_test_outcomes


@pytest.fixture(scope="module")
def unit_test_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    root = tmp_path_factory.mktemp("dbt_unit_tests")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        ensure_warehouse(con)
    finally:
        con.close()
    for args in (["seed"], ["run", "--empty"]):
        completed = run_dbt(args, root)
        assert completed.returncode == 0, completed.stdout[-4000:]
    return run_dbt(["test", "--select", "resource_type:unit_test"], root), root


def test_every_unit_test_passes(unit_test_run: tuple[subprocess.CompletedProcess, Path]) -> None:
    completed, root = unit_test_run
    assert completed.returncode == 0, completed.stdout[-4000:]
    declared, results = unit_test_outcomes(root / "dbt_target")
    assert len(declared) >= 40
    assert set(results) == declared  # every declared unit test ran
    failed = sorted(name for name, status in results.items() if status != "pass")
    assert not failed, f"unit tests that did not pass: {failed}"

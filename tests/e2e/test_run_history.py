"""A reader that holds the warehouse makes a step of the nightly fail: the run history says which step and why.

A real Dagster run of the load of one feed on a temporary warehouse, while another process holds the warehouse file
itself read-only (a client that opened the warehouse rather than the served file every reader of Partnerlens opens).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.feeds.loader import ensure_warehouse
from tests.support.env import apply_env
from tests.unit.test_step_failures import hold

pytestmark = pytest.mark.e2e


def test_a_step_that_cannot_open_the_warehouse_is_in_the_run_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.defs.resources import WarehouseResource
    from partnerlens.runner import run_nightly

    root = apply_env(monkeypatch, tmp_path)
    (root / "landing" / "internal" / "partners").mkdir(parents=True)
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_warehouse(con)
    monkeypatch.setenv("PARTNERLENS_AUDIT_WAIT_SECONDS", "1")
    reader = hold(warehouse, "read", 120)
    try:
        result = run_nightly(selection=[dg.AssetKey(["raw", "partners"])])
    finally:
        reader.kill()
        reader.wait()
    assert not result.success

    with WarehouseResource().connect() as con:  # the next writer moves the spooled failure in
        steps_failed, failed_steps = con.execute(
            "select steps_failed, failed_steps from audit.run_history where run_id = ?", [result.run_id]
        ).fetchone()
    assert steps_failed == 1
    assert failed_steps.startswith("raw__partners: IOException: IO Error: Could not set lock on file")
    assert str(warehouse) in failed_steps

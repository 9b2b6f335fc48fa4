"""Failed steps in audit.run_history: recorded with their error, spooled beside the warehouse while another process
holds the file and moved in by the next writer; and the end-of-run summary when the file is taken."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestration.warehouse.audit import ensure_audit, flush_step_failures, record_step_failure, spool_path

HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
    print("HOLDING", flush=True)
    time.sleep(float(sys.argv[3]))
    """
)


def hold(warehouse: Path, mode: str, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds the warehouse file (`read`: a reader such as `statements`; `write`: `restore`)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), mode, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "HOLDING"
    return process


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_audit(con)
    return path


def history(warehouse: Path, run_id: str) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select steps_failed, failed_steps, publish_outcome from audit.run_history where run_id = ?", [run_id]
        ).fetchone()


def test_a_failed_step_is_in_the_run_history_with_its_error(warehouse: Path) -> None:
    assert (
        record_step_failure(
            warehouse,
            "run-1",
            "raw__touchpoints",
            "raw.touchpoints: the landing folder x does not exist or is not a folder",
        )
        == "recorded"
    )
    assert record_step_failure(warehouse, "run-1", "gate_1_costs", "Gate 1 failed (1 blocking check(s))") == "recorded"
    steps_failed, failed_steps, outcome = history(warehouse, "run-1")
    assert (steps_failed, outcome) == (2, "not published")
    assert failed_steps == (
        "raw__touchpoints: raw.touchpoints: the landing folder x does not exist or is not a folder | "
        "gate_1_costs: Gate 1 failed (1 blocking check(s))"
    )


def test_a_failure_while_another_process_holds_the_file_is_spooled_then_moved_in(warehouse: Path) -> None:
    reader = hold(warehouse, "read", 30)
    try:
        error = "IOException: Could not set lock on file"
        assert record_step_failure(warehouse, "run-2", "raw__partners", error, wait_seconds=1) == "spooled"
        assert spool_path(warehouse).read_text().count("\n") == 1
    finally:
        reader.kill()
        reader.wait()
    with duckdb.connect(str(warehouse)) as con:
        assert flush_step_failures(con, warehouse) == 1
        assert flush_step_failures(con, warehouse) == 0  # moved once
    assert history(warehouse, "run-2")[:2] == (1, "raw__partners: IOException: Could not set lock on file")


def test_a_failure_waits_for_a_short_reader_and_is_recorded(warehouse: Path) -> None:
    reader = hold(warehouse, "read", 2)
    try:
        assert record_step_failure(warehouse, "run-3", "partnerlens_dbt", "dbt build failed", wait_seconds=60) == (
            "recorded"
        )
    finally:
        reader.wait()
    assert history(warehouse, "run-3")[:2] == (1, "partnerlens_dbt: dbt build failed")
    assert not spool_path(warehouse).exists()


def test_the_run_summary_does_not_crash_when_another_command_took_the_warehouse(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from partnerlens.summary import print_run_summary

    result = SimpleNamespace(run_id="run-4", all_events=[])  # what the summary reads of a Dagster run result
    restore = hold(warehouse, "write", 30)  # a `restore` that was waiting for the run takes the file first
    try:
        print_run_summary(warehouse, result, wait_seconds=1)
    finally:
        restore.kill()
        restore.wait()
    out = capsys.readouterr().out
    assert "The summary from the warehouse is not shown: warehouse.duckdb is in use by another process" in out
    assert "This run is in audit.run_history (run_id run-4)." in out
    print_run_summary(warehouse, result, wait_seconds=1)  # once the file is free, the summary reads it
    assert "== Loads (this run)" in capsys.readouterr().out

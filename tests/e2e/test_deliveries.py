"""Nights that must not look green: a landing folder that is not there, and a night in which expected feeds delivered
nothing. Each is a real Dagster run of the nightly job on a temporary warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.support.env import apply_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return apply_env(monkeypatch, tmp_path)


def _published(root: Path) -> int:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'audit' and table_name = 'publish_log'"
        ).fetchone()[0]
        return con.execute("select count(*) from audit.publish_log").fetchone()[0] if exists else 0


def test_a_landing_folder_that_does_not_exist_fails_the_night(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from partnerlens.runner import failure_messages, run_nightly

    missing = env / "no-such-folder"
    monkeypatch.setenv("PARTNERLENS_LANDING", str(missing))
    result = run_nightly()

    assert not result.success
    messages = failure_messages(result)
    # Every feed's load fails on its own (those that need another feed's table are not even started).
    expected = f"the landing folder {missing} does not exist or is not a folder: nothing can be loaded"
    partners = [m for m in messages if m.startswith("raw__partners:")]
    assert len(partners) == 1 and f"raw.partners: {expected} (check PARTNERLENS_LANDING or --landing)" in partners[0]
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "partnerlens_dbt" not in steps
    assert _published(env) == 0
    # The run history says which steps failed, and why.
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        steps_failed, failed_steps = con.execute(
            "select steps_failed, failed_steps from audit.run_history where run_id = ?", [result.run_id]
        ).fetchone()
    failed = {s.step_key for s in result.all_events if s.event_type_value == "STEP_FAILURE"}
    assert steps_failed == len(failed) >= 1
    assert f"raw__partners: raw.partners: {expected}" in failed_steps


def test_a_night_in_which_expected_feeds_delivered_nothing_fails_gate_1(env: Path) -> None:
    from partnerlens.runner import failure_messages, run_nightly

    (env / "landing").mkdir()  # the folder is there, and empty
    result = run_nightly()

    assert not result.success
    messages = "\n".join(failure_messages(result))
    # touchpoints and conversions are expected every night (when_missing: fail); costs only warn.
    assert "gate_1 check 'delivery' failed on raw.touchpoints" in messages
    assert "gate_1 check 'delivery' failed on raw.conversions" in messages
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        outcomes = con.execute(
            "select dataset, outcome from audit.gate_results where run_id = ? and check_name = 'delivery' order by 1",
            [result.run_id],
        ).fetchall()
    assert outcomes == [("raw.conversions", "failed"), ("raw.costs", "warned"), ("raw.touchpoints", "failed")]
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "partnerlens_dbt" not in steps
    assert _published(env) == 0

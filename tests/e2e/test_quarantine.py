"""A delivery that gate 1 refused is not published by running again: it is held in quarantine until a person releases
or drops it, and every decision is recorded. Real Dagster runs of the loads and gate 1 on a temporary warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.feeds.contracts import load_contracts
from partnerlens.cli import main
from tests.e2e.test_faults import connect, csv_rows, generate_landing, run_loads, write_csv, yesterday
from tests.support.env import apply_env

pytestmark = pytest.mark.e2e
FEEDS = "partners,campaigns,costs"


def values_outcome(root: Path, run_id: str) -> tuple[str, str]:
    with connect(root) as con:
        return con.execute(
            "select outcome, message from audit.gate_results where run_id = ? and dataset = 'raw.costs' "
            "and check_name = 'values'",
            [run_id],
        ).fetchone()


def test_a_refused_delivery_stays_refused_until_a_person_releases_or_drops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from partnerlens.runner import failure_messages

    root = apply_env(monkeypatch, tmp_path)
    landing = root / "landing"
    generate_landing(landing, yesterday())
    first = run_loads(FEEDS)
    assert first.success
    campaign = csv_rows(next((landing / "internal/campaigns").glob("*.csv")))[0]["campaign_id"]
    partner = csv_rows(next((landing / "internal/partners").glob("*.csv")))[0]["partner_id"]
    header = load_contracts()["costs"].column_names
    old = write_csv(
        landing / partner / "costs" / "old.csv",
        header,
        [["k-old", "0001-01-01", partner, campaign, "10.00", "USD", "media"]],
    )
    rel = old.relative_to(landing).as_posix()

    refused = run_loads(FEEDS)  # the contract accepts the date; gate 1 refuses a cost 2,000 years old
    assert not refused.success
    outcome, message = values_outcome(root, refused.run_id)
    assert outcome == "failed" and "cost_age_days" in message

    again = run_loads(FEEDS)  # nothing new landed: the refused file is judged again, with the same message
    assert not again.success
    assert values_outcome(root, again.run_id) == (outcome, message)
    messages = "\n".join(failure_messages(again))
    assert f"Held in quarantine (judged again by every run until released or dropped): {rel}" in messages
    assert "`partnerlens quarantine --release FILE --note WHY`" in messages

    assert main(["quarantine"]) == 0
    listed = capsys.readouterr().out
    assert rel in listed and "values: " in listed
    assert main(["quarantine", "--drop", rel, "--note", "a typo for 2026; the partner sends it again"]) == 0
    assert capsys.readouterr().out.strip() == f"Dropped {rel}: 1 rows deleted from raw.costs."
    assert main(["quarantine", "--release", rel]) == 1  # decided once
    assert f"'{rel}' is not a held file (held: none)" in capsys.readouterr().err

    after = run_loads(FEEDS)
    assert after.success
    assert values_outcome(root, after.run_id)[0] == "passed"
    with connect(root) as con:
        assert con.execute("select count(*) from raw.costs where cost_id = 'k-old'").fetchone() == (0,)
        decision = con.execute(
            "select status, run_id, decided_by, decision_note, rows_dropped, decided_at is not null "
            "from audit.quarantine where source_file = ?",
            [rel],
        ).fetchone()
    assert decision[:2] == ("dropped", refused.run_id)
    assert decision[2] and decision[3:] == ("a typo for 2026; the partner sends it again", 1, True)


def test_a_released_delivery_is_accepted_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = apply_env(monkeypatch, tmp_path)
    landing = root / "landing"
    generate_landing(landing, yesterday())
    assert run_loads(FEEDS).success
    campaign = csv_rows(next((landing / "internal/campaigns").glob("*.csv")))[0]["campaign_id"]
    partner = csv_rows(next((landing / "internal/partners").glob("*.csv")))[0]["partner_id"]
    header = load_contracts()["costs"].column_names
    write_csv(
        landing / partner / "costs" / "big.csv",
        header,
        [["k-big", yesterday().isoformat(), partner, campaign, "20000000.00", "USD", "event"]],
    )
    assert not run_loads(FEEDS).success  # above the gate's 10,000,000 per cost line
    assert main(["quarantine", "--release", f"{partner}/costs/big.csv", "--note", "the launch event, confirmed"]) == 0
    assert run_loads(FEEDS).success
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select amount from raw.costs where cost_id = 'k-big'").fetchone()[0] == 20_000_000
        assert con.execute("select status, decision_note from audit.quarantine").fetchall() == [
            ("released", "the launch event, confirmed")
        ]

"""Write-audit-publish through real nightly runs: a failing gate 2 publishes nothing (in the warehouse, and the served
file readers open stays byte for byte as it was), and a version can be restored (in both).

Both tests start from a copy of the session's built warehouse (one real nightly run, see conftest.py) so that only the
runs under test are paid for. "Byte for byte" is checked independently of the warehouse code: every published view's
definition, column names and types, and a SHA-256 over all its rows (fetched and ordered in Python).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.support.env import apply_env
from tests.support.warehouse import marts_fingerprint, published_fingerprint, served_file

pytestmark = pytest.mark.e2e

SMUGGLED_EMAIL = "jane.doe@example.com"


@pytest.fixture
def copied(built_warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built warehouse and its landing folder, with the environment pointing at it."""
    shutil.copy(built_warehouse.warehouse, tmp_path / "warehouse.duckdb")
    wal = built_warehouse.warehouse.with_name(built_warehouse.warehouse.name + ".wal")
    if wal.exists():
        shutil.copy(wal, tmp_path / "warehouse.duckdb.wal")
    shutil.copy(built_warehouse.served, served_file(tmp_path / "warehouse.duckdb"))
    shutil.copytree(built_warehouse.landing, tmp_path / "landing")
    return apply_env(monkeypatch, tmp_path)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def served_marts(warehouse: Path) -> dict[str, list]:
    with duckdb.connect(str(served_file(warehouse)), read_only=True) as con:
        return marts_fingerprint(con)


def beside(warehouse: Path) -> list[str]:
    """The files beside the served file whose names start like it (a temporary copy, a write-ahead log)."""
    served = served_file(warehouse)
    return sorted(p.name for p in served.parent.iterdir() if p.name.startswith((served.name, "." + served.name)))


def deliver_touches(landing: Path, name: str, domains: list[str]) -> tuple[str, Path]:
    """A partner file of touches that are valid by the feed contract, one per account domain given."""
    partner_dir = sorted(p for p in landing.iterdir() if p.name.startswith("P") and (p / "touchpoints").is_dir())[0]
    occurred = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = partner_dir / "touchpoints" / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["event_id", "occurred_at", "partner_id", "channel", "touch_type", "anonymous_id", "account_domain"]
        )
        for i, domain in enumerate(domains, start=1):
            writer.writerow([f"{name}-{i}", occurred, partner_dir.name, "email", "click", f"anon-{name}-{i}", domain])
    return partner_dir.name, path


def test_a_feed_that_fails_gate_2_leaves_every_published_mart_byte_for_byte_as_it_was(copied: Path) -> None:
    from orchestration.quality.gx_adapter import run_docs_dir
    from orchestration.warehouse.publish import PublishRefused, publish_candidate
    from orchestration.warehouse.versions import candidate_schema, served_schema
    from partnerlens.runner import failure_messages, run_nightly

    warehouse = copied / "warehouse.duckdb"
    before = published_fingerprint(warehouse)
    assert {"dim_partners", "dim_campaigns", "fct_touchpoints", "fct_conversions"} <= set(before)
    served_before = file_digest(served_file(warehouse))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        serving = con.execute(
            "select schema_name from audit.publish_log where outcome in ('published', 'restored') "
            "order by published_at desc limit 1"
        ).fetchone()[0]
        publishes = con.execute("select count(*) from audit.publish_log").fetchone()[0]
    # A late partner delivery, valid by the feed contract, with a raw email pasted into the account domain (the
    # loader refuses personal data in identifiers and UTM parameters; the account domain has no such rule).
    partner, _ = deliver_touches(copied / "landing", "smuggle", ["example.org", SMUGGLED_EMAIL])

    result = run_nightly()

    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert "gate_2 check 'no_email_values' failed on marts.fct_touchpoints" in messages
    assert "account_domain" in messages and "j***@example.com" in messages
    assert SMUGGLED_EMAIL not in messages  # the failure message does not leak the value it reports
    assert f"touchpoint_id={partner}:smuggle-2" in messages
    # Every published view is exactly what it was: same definition, columns, types and rows.
    assert published_fingerprint(warehouse) == before
    # and the served file, which the run never reached, is byte for byte what it was, with nothing left beside it
    assert file_digest(served_file(warehouse)) == served_before
    assert beside(warehouse) == [served_file(warehouse).name]

    with duckdb.connect(str(warehouse)) as con:
        gates = con.execute(
            "select gate, outcome, count(*) from audit.gate_results where run_id = ? group by all order by all",
            [result.run_id],
        ).fetchall()
        assert ("gate_2", "failed", 1) in gates and ("gate_1", "failed", 1) not in gates
        failed = con.execute(
            "select dataset, check_name, failed_count, sample from audit.gate_results "
            "where run_id = ? and outcome = 'failed'",
            [result.run_id],
        ).fetchall()
        assert [(d, c, n) for d, c, n, _ in failed] == [("marts.fct_touchpoints", "no_email_values", 1)]
        assert json.loads(failed[0][3])[0]["column_name"] == "account_domain"
        # The candidate was built (so the data is there to inspect) but Dagster never ran the publish step ...
        assert (
            con.execute(
                "select count(*) from information_schema.tables where table_schema = ?",
                [candidate_schema(result.run_id)],
            ).fetchone()[0]
            > 0
        )
        assert con.execute("select count(*) from audit.publish_log").fetchone()[0] == publishes
        assert served_schema(con) == serving
        # ... and the publish step refuses on its own too, naming the check.
        with pytest.raises(PublishRefused, match="gate_2 check 'no_email_values' failed on marts.fct_touchpoints"):
            publish_candidate(con, result.run_id, sorted(before))
    assert published_fingerprint(warehouse) == before

    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "partnerlens_dbt" in steps and not any(step.startswith("published") for step in steps)

    report = run_docs_dir(result.run_id) / "index.html"
    assert report == warehouse.parent / "gx_docs" / result.run_id / "index.html"
    assert f"Gate report: {report}" in messages and "no_email_values" in report.read_text()
    pages = list(report.parent.glob("gx/validations/gate_2/marts/fct_touchpoints/no_email_values/**/*.html"))
    assert len(pages) == 1 and "Failed" in pages[0].read_text()


def test_the_previous_published_version_can_be_restored_with_one_command(copied: Path) -> None:
    from partnerlens.cli import main
    from partnerlens.runner import run_nightly

    warehouse = copied / "warehouse.duckdb"
    first = published_fingerprint(warehouse)
    first_served = served_marts(warehouse)
    assert first_served == {name: [rows, digest] for name, (_, _, digest, rows) in first.items()}
    deliver_touches(copied / "landing", "late", ["example.org", "example.com", "example.net"])

    result = run_nightly()
    assert result.success
    second = published_fingerprint(warehouse)
    assert second["fct_touchpoints"][3] == first["fct_touchpoints"][3] + 3
    assert served_marts(warehouse)["fct_touchpoints"][0] == first["fct_touchpoints"][3] + 3

    assert main(["restore"]) == 0

    assert published_fingerprint(warehouse) == first
    # readers see the restored version too: the served file was rewritten from it
    assert served_marts(warehouse) == first_served
    assert beside(warehouse) == [served_file(warehouse).name]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        action, outcome = con.execute(
            "select action, outcome from audit.publish_log order by published_at desc limit 1"
        ).fetchone()
        assert (action, outcome) == ("restore", "restored")


def test_a_served_file_that_cannot_be_written_fails_the_run_and_restore_writes_it(
    copied: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from partnerlens.cli import main
    from partnerlens.runner import failure_messages, run_nightly

    warehouse = copied / "warehouse.duckdb"
    served = served_file(warehouse)
    served_before = file_digest(served)
    first = published_fingerprint(warehouse)
    deliver_touches(copied / "landing", "late", ["example.org", "example.com", "example.net"])
    (copied / "a_file").write_text("not a folder")
    monkeypatch.setenv("PARTNERLENS_SERVED", str(copied / "a_file" / "served.duckdb"))

    result = run_nightly()

    assert not result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schema = con.execute(
            "select schema_name from audit.publish_log where run_id = ? and outcome = 'published'", [result.run_id]
        ).fetchone()[0]
    messages = "\n".join(failure_messages(result))
    assert (
        f"`marts` of the warehouse now serves {schema}, but the served warehouse {copied / 'a_file' / 'served.duckdb'} "
        "could not be rewritten (FileExistsError: " in messages
    )
    assert (
        "readers still see the previous version. The next published run writes it, or now: "
        f"`partnerlens restore --version {schema}`" in messages
    )
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "share__scorecards" not in steps  # nothing is drawn from a served file that was not written
    assert published_fingerprint(warehouse)["fct_touchpoints"][3] == first["fct_touchpoints"][3] + 3
    assert file_digest(served) == served_before

    monkeypatch.delenv("PARTNERLENS_SERVED")
    capsys.readouterr()  # what the run printed
    assert main(["restore", "--version", schema]) == 0
    assert capsys.readouterr().out.strip() == f"`marts` now serves {schema}; readers open {served}."
    assert served_marts(warehouse)["fct_touchpoints"][0] == first["fct_touchpoints"][3] + 3
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("select schema_name, action from audit.served").fetchone() == (schema, "restore")

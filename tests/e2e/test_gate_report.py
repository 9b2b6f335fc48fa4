"""The gate report of a run in a real browser (Debian's chromium driven by Playwright), with the network cut off.

One real nightly run on a copy of the session's warehouse fails gate 2: a partner file that is valid by the feed
contract carries a raw email address in its account domain, which the GX expectation of `no_email_values` rejects. Its
report must load from disk with no console error and no request leaving the file system, list exactly the rows of
`audit.gate_results` of that run (read here with SQL), each with its outcome, and show the failing check's expectation
and failing rows. The session's passing run gets the same treatment. The browser is required: when it is missing these
tests fail (scripts/install_browser.sh installs it).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support.browser import OfflineVisit, chromium, visit_offline
from tests.support.env import env_at

pytestmark = pytest.mark.e2e

SMUGGLED_EMAIL = "rita.smuggler@example.org"
MASKED = "r***@example.org"  # the local part masked down to its first character, by hand

READ_REPORT = """
() => {
  const cells = row => [...row.cells].map(cell => cell.innerText.trim());
  const table = el => el ? [...el.rows].map(cells) : [];
  return {
    totals: document.querySelector("#totals")?.innerText ?? "",
    status: document.querySelector(".status")?.innerText ?? "",
    text: document.body.innerText,
    html: document.documentElement.outerHTML,
    stylesheets: document.styleSheets.length,
    links: [...document.querySelectorAll("link[href], script[src], img[src], iframe[src]")].map(e => e.outerHTML),
    checks: [...document.querySelectorAll("details.check")].map(d => {
      const badge = d.querySelector("summary .badge");
      return {
        gate: d.dataset.gate, dataset: d.dataset.dataset, check: d.dataset.check, outcome: d.dataset.outcome,
        open: d.open,
        visible: d.querySelector("summary").getClientRects().length > 0,
        badge: badge.innerText.trim().toLowerCase(),
        badgeBackground: getComputedStyle(badge).backgroundColor,
        expectations: table(d.querySelector("table.expectations")),
        failingRows: table(d.querySelector("table.failing-rows")),
        failingRowsVisible: !!d.querySelector("table.failing-rows")?.getClientRects().length,
      };
    }),
  };
}
"""


@dataclass
class FailedRun:
    root: Path
    run_id: str
    partner: str
    messages: str
    report: Path

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)


def deliver_smuggled_email(landing: Path) -> str:
    """A late partner file valid by the feed contract; its second touch has a raw email in account_domain (a column
    the loader's personal-data rule does not cover, unlike identifiers and UTM parameters)."""
    partner_dir = sorted(p for p in landing.iterdir() if p.name.startswith("P") and (p / "touchpoints").is_dir())[0]
    occurred = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with (partner_dir / "touchpoints" / "late.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["event_id", "occurred_at", "partner_id", "channel", "touch_type", "anonymous_id", "account_domain"]
        )
        writer.writerow(["late-1", occurred, partner_dir.name, "email", "click", "anon-late-1", "example.org"])
        writer.writerow(["late-2", occurred, partner_dir.name, "webinar", "click", "anon-late-2", SMUGGLED_EMAIL])
    return partner_dir.name


@pytest.fixture(scope="module")
def failed_run(built_warehouse, tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    from orchestration.quality.gx_adapter import run_docs_dir
    from partnerlens.runner import failure_messages, run_nightly

    root = tmp_path_factory.mktemp("gate_report")
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        if (built_warehouse.root / name).exists():
            shutil.copy(built_warehouse.root / name, root / name)
    shutil.copytree(built_warehouse.landing, root / "landing")
    with env_at(root):
        partner = deliver_smuggled_email(root / "landing")
        result = run_nightly()
        assert not result.success
        report = run_docs_dir(result.run_id) / "index.html"
        return FailedRun(root, result.run_id, partner, "\n".join(failure_messages(result)), report)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def read_report(browser: Any, path: Path) -> tuple[OfflineVisit, dict[str, Any]]:
    assert path.exists(), f"no gate report at {path}"
    return visit_offline(browser, path, lambda page: page.evaluate(READ_REPORT))


def gate_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str, str]]:
    return con.execute(
        "select gate, dataset, check_name, outcome from audit.gate_results where run_id = ?", [run_id]
    ).fetchall()


def assert_offline_and_complete(visit: OfflineVisit, page: dict[str, Any], rows: list[tuple]) -> None:
    """No console error, nothing fetched from outside, styled, and exactly the run's gate results with outcomes."""
    assert visit.errors == []
    assert visit.outside_requests == []
    assert all(url.startswith("file:") for url in visit.requests), visit.requests
    assert page["links"] == []  # no stylesheet, script, image or frame referenced at all
    assert page["stylesheets"] >= 1  # the inline style sheet
    shown = [(c["gate"], c["dataset"], c["check"], c["outcome"]) for c in page["checks"]]
    assert len(shown) == len(rows)
    assert Counter(shown) == Counter(rows)
    assert f"{len(rows)} checks" in page["totals"]
    for check in page["checks"]:
        assert check["visible"], check
        assert check["badge"] == check["outcome"]
        assert check["badgeBackground"] not in ("", "transparent", "rgba(0, 0, 0, 0)"), check  # the inline CSS applies
        assert check["expectations"], f"{check['dataset']} {check['check']}: no expectation shown"


def test_a_failed_runs_report_shows_every_check_and_the_failing_rows_offline(failed_run: FailedRun, browser) -> None:
    from orchestration.warehouse.versions import candidate_schema

    assert f"Gate report: {failed_run.report}" in failed_run.messages
    with failed_run.connect() as con:
        rows = gate_rows(con, failed_run.run_id)
        varchar_columns = con.execute(
            "select count(*) from information_schema.columns "
            "where table_schema = ? and table_name = 'fct_touchpoints' and data_type = 'VARCHAR'",
            [candidate_schema(failed_run.run_id)],
        ).fetchone()[0]
    gates = Counter(gate for gate, *_ in rows)
    assert gates["gate_1"] > 0 and gates["gate_2"] > 0  # both gates ran
    assert [r for r in rows if r[3] == "failed"] == [("gate_2", "marts.fct_touchpoints", "no_email_values", "failed")]

    visit, page = read_report(browser, failed_run.report)

    assert_offline_and_complete(visit, page, rows)
    assert "1 blocking check(s) failed" in page["status"]
    assert "this run has not published" in page["status"]
    assert SMUGGLED_EMAIL not in page["html"]  # the report names the column and a masked example, never the value
    (failed,) = [c for c in page["checks"] if c["outcome"] == "failed"]
    assert failed["open"] and failed["failingRowsVisible"]
    header, *expectations = failed["expectations"]
    assert header == ["expectation", "arguments", "result", "what GX found"]
    ((type_, arguments, result, found),) = expectations
    assert type_ == "expect_column_values_to_be_between" and result == "not met"
    assert "column = email_like_values" in arguments and "max_value = 0" in arguments
    assert f"1 of {varchar_columns} unexpected" in found  # one varchar column of the mart holds an email
    header, *failing = failed["failingRows"]
    assert [dict(zip(header, row, strict=True)) for row in failing] == [
        {
            "column_name": "account_domain",
            "email_like_values": "1",
            "example": MASKED,
            "example_row": f"touchpoint_id={failed_run.partner}:late-2",
        }
    ]
    passed = [c for c in page["checks"] if c["outcome"] == "passed"]
    assert passed and not any(c["open"] for c in passed)  # passed checks fold away; their summary stays visible


def test_the_list_of_runs_links_the_failed_run_offline(failed_run: FailedRun, browser) -> None:
    index = failed_run.report.parent.parent / "index.html"
    visit, page = visit_offline(
        browser,
        index,
        lambda page: page.eval_on_selector_all(
            "tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()).concat(r.querySelector('a')?.href))"
        ),
    )
    assert visit.errors == [] and visit.outside_requests == []
    header, *runs = page
    assert header[:7] == ["run", "checked at", "passed", "failed", "warned", "failed checks", "publish"]
    (run,) = [r for r in runs if r[0] == failed_run.run_id]
    assert run[3] == "1" and run[5] == "marts.fct_touchpoints no_email_values" and run[6] == "not published"
    assert run[7] == failed_run.report.as_uri()


def test_the_published_runs_report_shows_every_check_offline(built_warehouse, browser) -> None:
    report = built_warehouse.root / "gx_docs" / built_warehouse.run_id / "index.html"
    with built_warehouse.connect() as con:
        rows = gate_rows(con, built_warehouse.run_id)
        served = con.execute(
            "select schema_name from audit.publish_log where run_id = ? and outcome = 'published'",
            [built_warehouse.run_id],
        ).fetchone()[0]
    assert rows and not any(outcome == "failed" for *_, outcome in rows)

    visit, page = read_report(browser, report)

    assert_offline_and_complete(visit, page, rows)
    assert "No blocking check failed" in page["status"]
    assert f"Publish: published ({served})" in page["status"]

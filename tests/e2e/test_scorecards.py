"""Partner scorecards and the dashboard in a real browser (Debian's chromium driven by Playwright).

The pages are written by `partnerlens scorecards` from the session's nightly warehouse. Every expected mark count is
computed here with SQL over the served marts, never read from the scorecards code. The browser is required: when it
is missing these tests fail (scripts/install_browser.sh installs it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from partnerlens.scorecards import ScorecardLeak
from partnerlens.scorecards.build import check_isolation
from partnerlens.scorecards.data import Partner
from partnerlens.scorecards.pages import campaign_label
from tests.support.env import PROJECT_DIR, child_env

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class LoadedPage:
    path: Path
    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    marks: dict[str, dict[str, int]] = field(default_factory=dict)
    dom: str = ""
    text: str = ""
    trail_conversions: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def scorecards(built_warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scorecards")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "partnerlens",
            "scorecards",
            "--out",
            str(out),
            "--warehouse",
            str(built_warehouse.warehouse),
        ],
        cwd=PROJECT_DIR,
        env=child_env(built_warehouse.root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(out / "index.html") in result.stdout
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


COUNT_MARKS = """
() => Object.fromEntries([...document.querySelectorAll("div.chart")].map(div => [
  div.id.replace(/^chart-/, ""),
  Object.fromEntries(div.dataset.marks.split(" ").map(name => [
    name,
    [...div.querySelectorAll("svg g." + name + "_marks")].reduce((n, group) => n + group.children.length, 0),
  ])),
]))
"""


def load(browser, path: Path) -> LoadedPage:
    """Open a page from disk with every request leaving the file system blocked and recorded, wait for its charts."""
    loaded = LoadedPage(path)
    context = browser.new_context(viewport={"width": 1100, "height": 900})

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            loaded.outside_requests.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and loaded.errors.append(message.text))
    page.on("pageerror", lambda error: loaded.errors.append(str(error)))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("document.documentElement.dataset.charts !== 'pending'", timeout=60_000)
        state = page.evaluate("document.documentElement.dataset.charts")
        if state != "ready":
            loaded.errors.append(f"charts: {state}")
        loaded.marks = page.evaluate(COUNT_MARKS)
        loaded.dom = page.content()
        loaded.text = page.inner_text("body")
        loaded.trail_conversions = page.eval_on_selector_all(
            "#dispute h3", "els => els.map(e => e.textContent.split(' · ')[0])"
        )
    finally:
        context.close()
    return loaded


@pytest.fixture(scope="module")
def loaded_pages(scorecards: Path, browser) -> dict[str, LoadedPage]:
    pages = {"index": load(browser, scorecards / "index.html")}
    for path in sorted((scorecards / "partners").glob("*.html")):
        pages[path.stem] = load(browser, path)
    return pages


def _query(built_warehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = built_warehouse.connect()
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _count(built_warehouse, sql: str, params: list | None = None) -> int:
    return int(_query(built_warehouse, f"select count(*) from ({sql})", params)[0][0])


def _partners(built_warehouse) -> dict[str, str]:
    return dict(_query(built_warehouse, "select partner_id, partner_name from marts.dim_partners"))


def _expect_marks(page: LoadedPage, chart: str, mark: str, expected: int) -> None:
    if expected == 0:
        assert chart not in page.marks, f"{page.path.name}: {chart} drawn with no data"
        return
    assert chart in page.marks, f"{page.path.name}: no {chart} chart"
    assert page.marks[chart][mark] == expected, f"{page.path.name}: {chart}/{mark}"


def test_every_page_loads_without_console_errors_or_network(loaded_pages, built_warehouse) -> None:
    assert set(loaded_pages) == {"index", *_partners(built_warehouse)}
    for name, page in loaded_pages.items():
        assert page.errors == [], f"{name}: {page.errors}"
        assert page.outside_requests == [], f"{name}: {page.outside_requests}"
        assert page.marks, f"{name}: no chart"


def test_partner_charts_draw_as_many_marks_as_the_marts_hold(loaded_pages, built_warehouse) -> None:
    w = built_warehouse
    for pid in _partners(w):
        page = loaded_pages[pid]
        months_models = _count(
            w,
            "select distinct date_trunc('month', converted_on), attribution_model "
            "from marts.mart_partner_attribution where partner_id = ?",
            [pid],
        )
        _expect_marks(page, "conversions", "conversions_bars", months_models)
        _expect_marks(page, "revenue", "revenue_bars", months_models)
        scenarios = "select * from marts.mart_attribution_sensitivity where partner_id = ?"
        _expect_marks(page, "shares", "shares_bars", _count(w, scenarios + " and varied_setting = 'model'", [pid]))
        _expect_marks(page, "sensitivity", "sensitivity_points", _count(w, scenarios, [pid]))
        _expect_marks(
            page,
            "sensitivity",
            "sensitivity_ranges",
            _count(w, f"select distinct varied_setting from ({scenarios})", [pid]),
        )
        costed = _count(
            w,
            "select campaign_id, attribution_model from marts.mart_partner_roi "
            "where partner_id = ? and campaign_id is not null "
            "group by all having count(*) filter (where host_cost > 0) > 0",
            [pid],
        )
        _expect_marks(page, "campaign_roi", "roi_cells", costed)
        _expect_marks(page, "campaign_roi", "roi_labels", costed)
        pipeline = (
            "select count(*) filter (where sourced_pipeline_amount > 0) "
            "+ count(*) filter (where influenced_pipeline_amount > 0), "
            "count(avg_days_to_close_with_partner) + count(avg_days_to_close_without_partner) "
            "from marts.mart_partner_pipeline where partner_id = ?"
        )
        amounts, closes = _query(w, pipeline, [pid])[0]
        _expect_marks(page, "pipeline", "pipeline_bars", int(amounts or 0))
        _expect_marks(page, "time_to_close", "close_points", int(closes or 0))
        statements = _count(w, "select * from marts.mart_partner_payout_statements where partner_id = ?", [pid])
        _expect_marks(page, "payouts", "payouts_bars", statements)


def test_dashboard_charts_draw_as_many_marks_as_the_marts_hold(loaded_pages, built_warehouse, scorecards) -> None:
    w, page = built_warehouse, loaded_pages["index"]
    pairs = _count(
        w, "select distinct partner_id, attribution_model from marts.mart_partner_attribution where not is_unattributed"
    )
    _expect_marks(page, "ranking", "ranking_cells", pairs)
    _expect_marks(page, "ranking", "ranking_labels", pairs)
    models = "select * from marts.mart_attribution_sensitivity where varied_setting = 'model'"
    _expect_marks(page, "disagreement", "disagreement_points", _count(w, models))
    _expect_marks(page, "disagreement", "disagreement_ranges", _count(w, f"select distinct partner_id from ({models})"))
    _expect_marks(
        page,
        "program_roi",
        "program_roi_points",
        _count(w, "select distinct month, attribution_model from marts.mart_partner_roi where host_cost > 0"),
    )
    _expect_marks(
        page,
        "program_payouts",
        "program_payouts_bars",
        _count(w, "select distinct period_month, status from marts.mart_partner_payout_statements"),
    )
    for pid, name in _partners(w).items():
        assert f'href="partners/{pid}.html"' in page.dom and name in page.text
        assert (scorecards / "partners" / f"{pid}.html").exists()


def test_no_other_partner_appears_on_a_partner_page(loaded_pages, built_warehouse, scorecards) -> None:
    partners = _partners(built_warehouse)
    for pid, name in partners.items():
        page = loaded_pages[pid]
        source = (scorecards / "partners" / f"{pid}.html").read_text(encoding="utf-8")
        assert pid in page.text and name in page.text
        for other, other_name in partners.items():
            if other == pid:
                continue
            for word in (other, other_name):
                assert word not in page.dom, f"{word} in the DOM of {pid}'s page"
                assert word not in source, f"{word} in the source of {pid}'s page"


def test_touch_trails_show_the_largest_credited_conversions_without_opted_out_customers(
    loaded_pages, built_warehouse, scorecards
) -> None:
    w = built_warehouse
    opted_out = _query(w, "select conversion_id, customer_id from marts.fct_conversions where is_customer_opted_out")
    credited_opted_out = _count(
        w,
        "select distinct credits.conversion_id from marts.fct_attribution_credits as credits "
        "join marts.fct_conversions as conversions using (conversion_id) "
        "where conversions.is_customer_opted_out and credits.credit > 0",
    )
    assert credited_opted_out > 0, "the dataset should credit some conversions of opted-out customers"
    identifiers = {value for row in opted_out for value in row if value}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(identifiers))) + r")\b")
    for pid, model in _query(
        w, "select partner_id, coalesce(payout_attribution_model, 'linear') from marts.dim_partners"
    ):
        source = (scorecards / "partners" / f"{pid}.html").read_text(encoding="utf-8")
        found = pattern.findall(source)
        assert found == [], f"{pid}'s page shows opted-out customers' {sorted(set(found))}"
        expected = [
            row[0]
            for row in _query(
                w,
                """
                select credits.conversion_id
                from marts.fct_attribution_credits as credits
                join marts.fct_conversions as conversions on conversions.conversion_id = credits.conversion_id
                where credits.partner_id = ? and credits.attribution_model = ?
                    and not conversions.is_customer_opted_out
                group by credits.conversion_id
                having sum(credits.credit) > 0
                order by sum(credits.attributed_revenue) desc, credits.conversion_id
                limit 5
                """,
                [pid, model],
            )
        ]
        assert loaded_pages[pid].trail_conversions == expected, pid


def test_a_campaign_named_after_another_partner_is_shown_by_id_and_a_leak_stops_the_page() -> None:
    others = ["P002", "Acme Media"]
    joint = pd.Series({"campaign_id": "C1", "campaign_name": "Acme Media Webinar May", "campaign_type": "webinar"})
    own = pd.Series({"campaign_id": "C2", "campaign_name": "Spring Bundle", "campaign_type": "bundle_offer"})
    assert campaign_label(joint, others) == "C1 (webinar)"
    assert campaign_label(own, others) == "Spring Bundle"

    partner = Partner("P001", "Northwind", "reseller", "gold", "linear", "USD")
    library = '<script id="vega-libraries">var names = ["P002"];</script>'
    check_isolation(f"<html><head>{library}</head><body>P001 Northwind</body></html>", partner, {"P002": "Acme Media"})
    with pytest.raises(ScorecardLeak, match="Acme Media"):
        check_isolation(f"<html>{library}<body>P001 and Acme Media</body></html>", partner, {"P002": "Acme Media"})


def test_the_nightly_run_writes_the_same_pages_after_publish(built_warehouse, scorecards: Path) -> None:
    """The share/scorecards asset ran in the session's nightly job, beside the warehouse, reading what the command
    reads: the same files, byte for byte."""
    nightly = built_warehouse.warehouse.parent / "scorecards"
    written = sorted(path.relative_to(nightly) for path in nightly.rglob("*.html"))
    assert written == sorted(path.relative_to(scorecards) for path in scorecards.rglob("*.html"))
    assert len(written) == len(_partners(built_warehouse)) + 1
    for relative in written:
        assert (nightly / relative).read_bytes() == (scorecards / relative).read_bytes(), relative

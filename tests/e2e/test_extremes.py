"""Values at the bounds of the feed contracts go through every model: once released from quarantine, a night with the
largest cost, conversion and deal a contract admits builds, passes its tests and publishes.

A real nightly run (loads, gates, dbt build, publish) on a small generated ecosystem plus hand-written extreme rows.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.feeds.contracts import load_contracts
from partnerlens.cli import main
from tests.e2e.test_faults import csv_rows, generate_landing, write_csv, yesterday
from tests.support.env import PROJECT_DIR, apply_env

pytestmark = pytest.mark.e2e


def bound(feed: str, column: str, side: str = "max") -> str:
    value = getattr(load_contracts()[feed].column(column), side)
    assert value is not None, f"{feed}.{column} has no {side}"
    return str(value)


def gbp_rate(on: str) -> Decimal:
    """The GBP rate in force on a day, read from the seed (rates apply from their valid_from)."""
    with (PROJECT_DIR / "seeds" / "currency_rates.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["currency"] == "GBP" and r["valid_from"] <= on]
    return Decimal(max(rows, key=lambda r: r["valid_from"])["rate_to_usd"])


def test_the_largest_values_a_contract_admits_build_and_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnerlens.runner import failure_messages, run_nightly

    root = apply_env(monkeypatch, tmp_path)
    landing = root / "landing"
    generate_landing(landing, yesterday())
    day = yesterday().isoformat()
    at = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT12:00:00Z")
    campaign = csv_rows(next((landing / "internal/campaigns").glob("*.csv")))[0]["campaign_id"]
    partner = csv_rows(next((landing / "internal/partners").glob("*.csv")))[0]["partner_id"]
    customer = csv_rows(next((landing / "internal/customers").glob("*.csv")))[0]["customer_id"]
    contracts = load_contracts()
    top_cost, top_revenue = bound("costs", "amount"), bound("conversions", "revenue")
    top_margin, low_margin = bound("conversions", "gross_margin"), bound("conversions", "gross_margin", "min")
    top_deal = bound("opportunities", "amount")
    write_csv(
        landing / partner / "costs" / "extremes.csv",
        contracts["costs"].column_names,
        [[f"k-max-{i}", day, partner, campaign, top_cost, "GBP", "media"] for i in (1, 2)],  # one pool, twice the max
    )
    write_csv(
        landing / "internal" / "conversions" / "extremes.csv",
        contracts["conversions"].column_names,
        [
            ["V-MAX", at, customer, "", "", "purchase", top_revenue, "GBP", top_margin, ""],
            ["V-MAX-R", at, customer, "", "", "refund", f"-{top_revenue}", "GBP", low_margin, "V-MAX"],
        ],
    )
    write_csv(
        landing / "internal" / "opportunities" / "extremes.csv",
        contracts["opportunities"].column_names,
        [["O-MAX", "extreme.example", at, at, "closed_won", top_deal, "GBP", "true", partner, "approved", at, ""]],
    )

    refused = run_nightly()
    assert not refused.success  # gate 1 refuses a cost line above 10,000,000; the rows are held, not lost
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        held = [r[0] for r in con.execute("select source_file from audit.quarantine where status = 'held'").fetchall()]
    assert f"{partner}/costs/extremes.csv" in held
    for file in held:
        assert main(["quarantine", "--release", file, "--note", "testing the largest values"]) == 0

    result = run_nightly()
    assert result.success, "\n".join(failure_messages(result))
    rate = gbp_rate(day)
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        revenue = con.execute("select revenue from marts.fct_conversions where conversion_id = 'V-MAX'").fetchone()[0]
        joint = con.execute(
            "select max(campaign_joint_cost) from marts.mart_partner_roi where campaign_id = ? and month = ?",
            [campaign, yesterday().replace(day=1)],
        ).fetchone()[0]
    assert revenue == pytest.approx(Decimal(top_revenue) * rate, rel=Decimal("1e-6"))
    # the month's pool holds at least the two extreme lines, converted at the day's rate
    assert joint >= 2 * Decimal(top_cost) * rate * Decimal("0.999999")

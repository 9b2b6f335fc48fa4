"""The generator's hard ground truth (truth="hard"): intent-targeting partners beside demand-creating ones."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from partnerlens.synthetic import generate
from partnerlens.synthetic.formatting import unix_day
from partnerlens.synthetic.world.campaigns import build_campaigns
from partnerlens.synthetic.world.partners import build_partners, intent_partners
from tests.unit.test_generator import clean_rows_by_day, feed_files, read_rows

END = date(2026, 6, 30)
NEXT = date(2026, 7, 1)
ARGS = {"touchpoints": 8_000, "partners": 20, "days": 60, "dirty_share": 0.0, "formats": "csv"}


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hard")
    generate(out, seed=11, end_date=END, truth="hard", **ARGS)
    return out


def effects(root: Path) -> dict[str, dict[str, str]]:
    with (root / "_ground_truth" / "partner_effects.csv").open(newline="") as handle:
        return {row["partner_id"]: row for row in csv.DictReader(handle)}


def touches(root: Path) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for path in sorted(root.glob("P*/touchpoints/*")):
        rows += pq.read_table(path).to_pylist() if path.suffix == ".parquet" else read_rows(path)
    return rows


def test_intent_partners_are_the_affiliates_and_some_referral_partners_with_zero_lift(hard) -> None:
    partners = build_partners(11, ARGS["partners"], "csv", "hard")
    standard = build_partners(11, ARGS["partners"], "csv")
    intent = intent_partners(11, partners.types)
    assert (partners.intent == intent).all() and intent.any() and not intent.all()
    assert not standard.intent.any()
    # every other trait is the standard world's
    assert (partners.types == standard.types).all() and (partners.reach_cdf == standard.reach_cdf).all()
    assert (partners.lift[~intent] == standard.lift[~intent]).all()
    truth = effects(hard)
    for p, pid in enumerate(partners.ids):
        if intent[p]:
            assert float(truth[pid]["true_lift"]) == 0.0
            assert float(truth[pid]["true_incremental_conversions"]) == 0.0


def test_intent_partners_touch_buyers_shortly_before_they_buy(hard) -> None:
    partners = build_partners(11, ARGS["partners"], "csv", "hard")
    intent_ids = {pid for p, pid in enumerate(partners.ids) if partners.intent[p]}
    purchases: dict[str, list[datetime]] = {}
    for path in feed_files(hard, "conversions"):
        for row in read_rows(path):
            if row["conversion_type"] == "purchase":
                purchases.setdefault(row["customer_id"], []).append(datetime.fromisoformat(row["converted_at"]))
    by_kind = {True: [0, 0], False: [0, 0]}  # kind -> [touches of a customer id, of those within 2 days before a buy]
    for row in touches(hard):
        if not row.get("customer_id"):
            continue
        at = datetime.fromisoformat(row["occurred_at"])
        kind = row["partner_id"] in intent_ids
        by_kind[kind][0] += 1
        if any(0 < (bought - at).total_seconds() <= 2 * 86_400 for bought in purchases.get(row["customer_id"], [])):
            by_kind[kind][1] += 1
    intent_share = by_kind[True][1] / by_kind[True][0]
    demand_share = by_kind[False][1] / by_kind[False][0]
    assert by_kind[True][0] > 50
    assert intent_share > 0.6 and demand_share < 0.25, (intent_share, demand_share)


def test_intent_partners_touch_organic_customers_too(hard) -> None:
    """Customers no demand partner touched (organic) buy, and intent partners touch many of them first."""
    partners = build_partners(11, ARGS["partners"], "csv", "hard")
    intent_ids = {pid for p, pid in enumerate(partners.ids) if partners.intent[p]}
    touched_by: dict[str, set[bool]] = {}
    for row in touches(hard):
        if row.get("customer_id"):
            touched_by.setdefault(row["customer_id"], set()).add(row["partner_id"] in intent_ids)
    only_intent = [c for c, kinds in touched_by.items() if kinds == {True}]
    assert len(only_intent) > 20


def test_hard_truth_is_deterministic_and_incremental_deliveries_match_full_runs(hard, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=11, end_date=END, truth="hard", **ARGS)
    for path in sorted(hard.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            assert (again / path.relative_to(hard)).read_bytes() == path.read_bytes(), path
    full_next, incremental = tmp_path / "full_next", tmp_path / "incremental"
    generate(full_next, seed=11, end_date=NEXT, truth="hard", **ARGS)
    generate(incremental, seed=11, end_date=NEXT, since=NEXT, truth="hard", **ARGS)
    for feed in ("touchpoints", "conversions"):
        today = clean_rows_by_day(full_next, feed)
        delta = clean_rows_by_day(incremental, feed)
        assert delta.get(str(NEXT)) and delta[str(NEXT)] == today[str(NEXT)], feed
        before = clean_rows_by_day(hard, feed)
        for day in [d for d in before if d and d > str(date(2026, 5, 2))]:
            assert before[day] == today.get(day, set()), (feed, day)


def test_standard_truth_is_the_default_and_other_truths_are_refused(tmp_path: Path) -> None:
    standard, default = tmp_path / "standard", tmp_path / "default"
    generate(standard, seed=11, end_date=END, truth="standard", **ARGS)
    generate(default, seed=11, end_date=END, **ARGS)
    for path in sorted(default.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            assert (standard / path.relative_to(default)).read_bytes() == path.read_bytes(), path
    with pytest.raises(ValueError, match="truth must be"):
        generate(tmp_path / "bad", seed=11, end_date=END, truth="easy", **ARGS)


def test_campaign_effects_split_each_partners_truth_over_its_campaigns(hard) -> None:
    with (hard / "_ground_truth" / "campaign_effects.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # every campaign the world has (touches of customers deciding in the window may precede it and its campaigns)
    partners = build_partners(11, ARGS["partners"], "csv", "hard")
    campaigns = build_campaigns(11, partners, unix_day(END) + 90)
    members = {
        (partners.ids[p], campaigns.ids[c])
        for c, p in zip(campaigns.member_campaign, campaigns.member_partner, strict=True)
    }
    totals: dict[str, float] = {}
    for row in rows:
        value = float(row["true_incremental_conversions"])
        assert value != 0.0
        totals[row["partner_id"]] = totals.get(row["partner_id"], 0.0) + value
        assert row["campaign_id"] == "" or (row["partner_id"], row["campaign_id"]) in members, row
    assert any(row["campaign_id"] for row in rows) and any(not row["campaign_id"] for row in rows)
    for pid, effect in effects(hard).items():
        expected = float(effect["true_incremental_conversions"])
        assert abs(totals.get(pid, 0.0) - expected) <= 1e-4 * (1 + len(rows)), pid

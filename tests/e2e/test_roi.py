"""mart_partner_roi on a real nightly run, against an independent pandas computation of cost sharing and ROI.

The expected numbers are computed here from the raw costs, the raw campaign_partners, the currency-rate seed and the
published attribution credits, never from the finance models.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.support.oracles import currency_rates, usd_per_unit

pytestmark = pytest.mark.e2e


def _usd(rates: pd.DataFrame, frame: pd.DataFrame, date_column: str) -> pd.Series:
    """USD per unit of each row's currency on its date (the seed's latest valid_from on or before it)."""
    return usd_per_unit(rates, frame["currency"], frame[date_column])


def _expected_host_costs(con) -> pd.DataFrame:
    costs = con.execute("select partner_id, campaign_id, cost_date, amount, currency from raw.costs").fetchdf()
    members = con.execute(
        "select campaign_id, partner_id, cost_share_pct, _loaded_at, _source_file, _row_number "
        "from raw.campaign_partners"
    ).fetchdf()
    rates = currency_rates(con)
    members = members.sort_values(["_loaded_at", "_source_file", "_row_number"]).drop_duplicates(
        ["campaign_id", "partner_id"], keep="last"
    )
    costs["usd"] = costs["amount"].astype(float) * _usd(rates, costs, "cost_date")
    costs["month"] = pd.to_datetime(costs["cost_date"]).dt.to_period("M").dt.to_timestamp()
    pools = costs.groupby(["campaign_id", "month"])["usd"].sum()
    shares = members.groupby("campaign_id")["cost_share_pct"].apply(lambda s: float(s.astype(float).sum()) / 100)
    rows = []
    for (campaign, month), pool in pools.items():
        participants = set(members.loc[members["campaign_id"] == campaign, "partner_id"])
        participants |= set(costs.loc[(costs["campaign_id"] == campaign) & (costs["month"] == month), "partner_id"])
        host_share = max(0.0, 1.0 - shares.get(campaign, 0.0))
        for partner in participants:
            rows.append((partner, campaign, month, pool, host_share, pool * host_share / len(participants)))
    return pd.DataFrame(rows, columns=["partner_id", "campaign_id", "month", "pool", "host_share", "host_cost"])


def test_host_cost_after_cost_sharing_matches_an_independent_computation(built_warehouse) -> None:
    con = built_warehouse.connect()
    try:
        expected = _expected_host_costs(con)
        roi = con.execute(
            "select partner_id, campaign_id, month, max(campaign_joint_cost) as pool, max(host_cost) as host_cost, "
            "count(*) as models from marts.mart_partner_roi where campaign_id is not null "
            "and campaign_joint_cost > 0 group by all"
        ).fetchdf()
        models = con.execute("select count(distinct attribution_model) from marts.fct_attribution_credits").fetchone()[
            0
        ]
    finally:
        con.close()
    assert len(expected) > 10
    roi["month"] = pd.to_datetime(roi["month"])
    merged = expected.merge(roi, on=["partner_id", "campaign_id", "month"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert ((merged["pool_x"] - merged["pool_y"].astype(float)).abs() < 0.01).all()
    assert ((merged["host_cost_x"] - merged["host_cost_y"].astype(float)).abs() < 0.01).all()
    # every cost row appears once per attribution model
    assert (merged["models"] == models).all()
    # two or more partners on one campaign split the host's share of the pool, counting it once
    per_campaign = expected.groupby(["campaign_id", "month"]).agg(
        host=("host_cost", "sum"), pool=("pool", "first"), share=("host_share", "first"), n=("partner_id", "count")
    )
    assert (per_campaign["n"] >= 2).any()
    assert ((per_campaign["host"] - per_campaign["pool"] * per_campaign["share"]).abs() < 0.01).all()


def test_roi_roas_and_cost_per_conversion_follow_their_formulas(built_warehouse) -> None:
    con = built_warehouse.connect()
    try:
        roi = con.execute("select * from marts.mart_partner_roi").fetchdf()
        attributed = con.execute(
            """
            select partner_id, coalesce(campaign_id, '-') as campaign_key, date_trunc('month', converted_on) as month,
                   attribution_model, sum(credit) as conversions, sum(attributed_revenue) as revenue,
                   sum(attributed_gross_margin) as margin
            from marts.fct_attribution_credits
            where credit <> 0
            group by all
            """
        ).fetchdf()
    finally:
        con.close()
    roi["campaign_key"] = roi["campaign_id"].fillna("-")
    roi["month"] = pd.to_datetime(roi["month"])
    attributed["month"] = pd.to_datetime(attributed["month"])
    merged = attributed.merge(roi, on=["partner_id", "campaign_key", "month", "attribution_model"], how="left")
    assert merged["partner_roi_id"].notna().all(), "attributed credit missing from mart_partner_roi"
    assert ((merged["revenue"] - merged["attributed_revenue"].astype(float)).abs() < 0.01).all()
    assert ((merged["margin"] - merged["attributed_gross_margin"].astype(float)).abs() < 0.01).all()
    assert ((merged["conversions"] - merged["attributed_conversions"]).abs() < 1e-9).all()

    costed = roi[roi["cost_status"] == "costed"]
    no_cost = roi[roi["cost_status"] == "no_cost"]
    assert len(costed) > 0 and len(no_cost) > 0
    assert (costed["host_cost"].astype(float) > 0).all()
    assert (no_cost["host_cost"].astype(float) == 0).all()
    assert no_cost["roi"].isna().all() and no_cost["roas"].isna().all()
    assert no_cost["cost_per_attributed_conversion"].isna().all()
    assert roi.loc[roi["campaign_id"].isna(), "cost_status"].eq("no_cost").all()
    # the mart rounds money to 4 decimals; the ratios come from the unrounded amounts
    for row in costed.itertuples():
        cost = float(row.host_cost)
        assert math.isclose(row.roi, (float(row.attributed_gross_margin) - cost) / cost, rel_tol=1e-6, abs_tol=1e-6)
        assert math.isclose(row.roas, float(row.attributed_revenue) / cost, rel_tol=1e-6, abs_tol=1e-6)
        if row.attributed_conversions > 0:
            assert abs(float(row.cost_per_attributed_conversion) - cost / row.attributed_conversions) < 1e-4
        else:
            assert pd.isna(row.cost_per_attributed_conversion)

"""mart_partner_pipeline on a real nightly run, against an independent pandas classification of every opportunity.

Sourced: an approved registration valid when the opportunity was created. Influenced: otherwise, a touch of the
partner on the account between creation and close (or the end of the run's day while open). Recomputed here from
the raw opportunities, the published touchpoints and the currency-rate seed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tests.support.oracles import currency_rates, usd_per_unit
from tests.support.warehouse import served_schema

pytestmark = pytest.mark.e2e


def _utc_naive(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series, utc=True)
    return values.dt.tz_convert("UTC").dt.tz_localize(None)


def _involvements(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    opps = con.execute("select * from raw.opportunities").fetchdf()
    opps = opps.sort_values(["_loaded_at", "_source_file", "_row_number"]).drop_duplicates(
        ["opportunity_id"], keep="last"
    )
    for column in ("created_at", "closed_at", "registered_at", "registration_expires_at"):
        opps[column] = _utc_naive(opps[column])
    opps["account_domain"] = opps["account_domain"].str.strip().str.lower()
    opps["is_won"] = opps["is_won"].fillna(False).astype(bool)
    opps["is_closed"] = opps["stage"].isin(["closed_won", "closed_lost"])
    end_of_run_day = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    opps["window_end"] = opps["closed_at"].fillna(end_of_run_day + timedelta(days=1))

    sourced = opps[
        opps["registering_partner_id"].notna()
        & (opps["registration_status"] == "approved")
        & (opps["registered_at"] <= opps["created_at"])
        & (opps["created_at"] < opps["registration_expires_at"])
    ][["opportunity_id", "registering_partner_id"]].rename(columns={"registering_partner_id": "partner_id"})
    sourced["involvement"] = "sourced"

    touches = con.execute(
        "select partner_id, account_domain, occurred_at from marts.fct_touchpoints where account_domain is not null"
    ).fetchdf()
    touched = touches.merge(opps[["opportunity_id", "account_domain", "created_at", "window_end"]], on="account_domain")
    touched = touched[
        (touched["occurred_at"] >= touched["created_at"]) & (touched["occurred_at"] <= touched["window_end"])
    ]
    influenced = touched[["opportunity_id", "partner_id"]].drop_duplicates()
    influenced = influenced.merge(sourced, on=["opportunity_id", "partner_id"], how="left")
    influenced = influenced[influenced["involvement"].isna()].assign(involvement="influenced")
    involved = pd.concat([sourced, influenced], ignore_index=True)
    return involved.merge(opps, on="opportunity_id"), opps


def test_sourced_and_influenced_are_exclusive_and_match_an_independent_classification(built_warehouse) -> None:
    con = built_warehouse.connect()
    try:
        expected, _ = _involvements(con)
        classified = con.execute(
            "select opportunity_id, partner_id, involvement "
            f"from {served_schema(con)}.int_opportunity_partners_classified"
        ).fetchdf()
    finally:
        con.close()
    assert (expected["involvement"] == "sourced").sum() > 0
    assert (expected["involvement"] == "influenced").sum() > 0
    assert not classified.duplicated(["opportunity_id", "partner_id"]).any()
    got = set(map(tuple, classified[["opportunity_id", "partner_id", "involvement"]].to_numpy()))
    want = set(map(tuple, expected[["opportunity_id", "partner_id", "involvement"]].to_numpy()))
    assert got == want


def test_pipeline_bookings_and_win_rates_per_partner_and_month(built_warehouse) -> None:
    con = built_warehouse.connect()
    try:
        involved, _ = _involvements(con)
        rates = currency_rates(con)
        mart = con.execute("select * from marts.mart_partner_pipeline").fetchdf()
    finally:
        con.close()

    def usd_on(column: str) -> pd.Series:
        return usd_per_unit(rates, involved["currency"], involved[column]) * involved["amount"].astype(float)

    involved["pipeline_usd"] = usd_on("created_at")
    involved["bookings_usd"] = usd_on("closed_at")
    involved["created_month"] = involved["created_at"].dt.to_period("M").dt.to_timestamp()
    involved["closed_month"] = involved["closed_at"].dt.to_period("M").dt.to_timestamp()
    mart["month"] = pd.to_datetime(mart["month"])
    mart = mart.set_index(["partner_id", "month"])

    created = involved.groupby(["partner_id", "created_month", "involvement"]).agg(
        n=("opportunity_id", "count"), amount=("pipeline_usd", "sum")
    )
    for (partner, month, involvement), row in created.iterrows():
        got = mart.loc[(partner, month)]
        assert got[f"{involvement}_opportunities_created"] == row["n"]
        assert abs(float(got[f"{involvement}_pipeline_amount"]) - row["amount"]) < 0.01

    closed = involved[involved["is_closed"]]
    checked_rates = 0
    for (partner, month), group in closed.groupby(["partner_id", "closed_month"]):
        got = mart.loc[(partner, month)]
        won = group[group["is_won"]]
        for involvement in ("sourced", "influenced"):
            part = group[group["involvement"] == involvement]
            assert got[f"{involvement}_deals_won"] == part["is_won"].sum()
            assert got[f"{involvement}_deals_lost"] == (~part["is_won"]).sum()
            booked = part.loc[part["is_won"], "bookings_usd"].sum()
            assert abs(float(got[f"{involvement}_bookings_amount"]) - booked) < 0.01
        assert abs(got["win_rate"] - len(won) / len(group)) < 1e-12
        checked_rates += 1
        if len(won):
            assert abs(float(got["avg_deal_size"]) - won["bookings_usd"].sum() / len(won)) < 0.01
            days = (won["closed_at"] - won["created_at"]).dt.total_seconds() / 86400
            assert abs(got["avg_days_to_close_with_partner"] - days.mean()) < 1e-6
        else:
            assert pd.isna(got["avg_deal_size"])
    assert checked_rates > 0

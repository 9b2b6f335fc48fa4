"""A few plain sentences for a partner, generated from the numbers on its page (and only those)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from partnerlens.scorecards.data import model_name

TOUCH_TYPE_NOUNS = {
    "impression": "impressions",
    "click": "clicks",
    "referral_visit": "referral visits",
    "webinar_registration": "webinar registrations",
    "webinar_attendance": "webinars",
    "content_download": "content downloads",
    "demo_request": "demo requests",
    "co_sell_meeting": "co-selling meetings",
    "deal_registration": "deal registrations",
}


def money(amount: float | None, currency: str, decimals: int = 0) -> str:
    if amount is None or pd.isna(amount):
        return "-"
    return f"{amount:,.{decimals}f} {currency}"


def percent(value: float | None, decimals: int = 1) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value * 100:.{decimals}f}%"


def number(value: float | None, decimals: int = 0) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:,.{decimals}f}"


def _plural(count: float, singular: str, plural: str | None = None) -> str:
    return singular if round(count) == 1 else (plural or singular + "s")


def touches_sentence(partner_id: str, month: date | None, touched: pd.DataFrame) -> str | None:
    """'P016's webinars touched 1,873 conversions in November 2026, ...' from the touch types of the month."""
    if month is None or touched.empty:
        return None
    top = touched.iloc[0]
    noun = TOUCH_TYPE_NOUNS.get(top["touch_type"], str(top["touch_type"]).replace("_", " "))
    text = (
        f"{partner_id}'s {noun} touched {int(top['conversions']):,} "
        f"{_plural(top['conversions'], 'conversion')} in {month:%B %Y}"
    )
    if len(touched) > 1:
        second = touched.iloc[1]
        second_noun = TOUCH_TYPE_NOUNS.get(second["touch_type"], str(second["touch_type"]).replace("_", " "))
        text += f", its {second_noun} {int(second['conversions']):,}"
    return text + "."


def credit_sentence(partner_id: str, payout_model: str, sensitivity: pd.DataFrame, currency: str) -> str | None:
    """What the paying model gives the partner, and how far the models and the grid range."""
    models = sensitivity[sensitivity["varied_setting"] == "model"]
    if models.empty:
        return None
    paid = models[models["attribution_model"] == payout_model]
    text = ""
    if not paid.empty:
        row = paid.iloc[0]
        text = (
            f"Under the {model_name(payout_model)} model, which its agreement pays on, "
            f"{partner_id} earned {number(row['attributed_conversions'], 1)} conversions and "
            f"{money(row['attributed_revenue'], currency)} of revenue, {percent(row['attributed_share'])} of all "
            f"attributed conversions. "
        )
    low = models.loc[models["attributed_share"].idxmin()]
    high = models.loc[models["attributed_share"].idxmax()]
    text += (
        f"Across the seven models its share runs from {percent(low['attributed_share'])} "
        f"({model_name(low['attribution_model'])}) to "
        f"{percent(high['attributed_share'])} "
        f"({model_name(high['attribution_model'])})"
    )
    if len(sensitivity) > len(models):
        text += (
            f", and across all {len(sensitivity)} scenarios of the sensitivity grid from "
            f"{percent(sensitivity['attributed_share'].min())} to {percent(sensitivity['attributed_share'].max())}"
        )
    return text + "."


def roi_sentence(model: str, campaigns: pd.DataFrame, currency: str) -> str | None:
    """The host's return on the partner's joint campaigns under one model, and the best campaign."""
    rows = campaigns[(campaigns["attribution_model"] == model) & (campaigns["costed_host_cost"].fillna(0) > 0)]
    if rows.empty:
        return None
    margin = rows["costed_margin"].sum()
    cost = rows["costed_host_cost"].sum()
    best = rows.assign(roi=(rows["costed_margin"] - rows["costed_host_cost"]) / rows["costed_host_cost"]).sort_values(
        "roi", ascending=False
    )
    text = (
        f"On {len(rows)} joint {_plural(len(rows), 'campaign')} where the host carried a cost, "
        f"{money(margin, currency)} of attributed margin against {money(cost, currency)} of host cost gives an ROI "
        f"of {number((margin - cost) / cost, 2)} ({model_name(model)})"
    )
    if len(rows) > 1:
        text += f"; the best was {best.iloc[0]['campaign']} at {number(best.iloc[0]['roi'], 2)}"
    return text + "."


def pipeline_sentence(pipeline: pd.DataFrame, currency: str) -> str | None:
    """Sourced and influenced pipeline, win rate and time to close against deals without a partner."""
    if pipeline.empty:
        return None
    sourced = int(pipeline["sourced_opportunities_created"].sum())
    influenced = int(pipeline["influenced_opportunities_created"].sum())
    parts = []
    if sourced:
        parts.append(
            f"sourced {sourced:,} {_plural(sourced, 'opportunity', 'opportunities')} worth "
            f"{money(pipeline['sourced_pipeline_amount'].sum(), currency)}"
        )
    if influenced:
        parts.append(
            f"influenced {influenced:,} {_plural(influenced, 'opportunity', 'opportunities')} worth "
            f"{money(pipeline['influenced_pipeline_amount'].sum(), currency)}"
        )
    text = "It " + (" and ".join(parts) if parts else "sourced and influenced no new opportunity")
    won = pipeline["sourced_deals_won"].sum() + pipeline["influenced_deals_won"].sum()
    closed = won + pipeline["sourced_deals_lost"].sum() + pipeline["influenced_deals_lost"].sum()
    if closed > 0:
        text += f"; {percent(won / closed, 0)} of the {int(closed):,} deals it was on that closed were won"
    both = pipeline.dropna(subset=["avg_days_to_close_with_partner", "avg_days_to_close_without_partner"])
    if not both.empty:
        text += (
            f", in {number(both['avg_days_to_close_with_partner'].mean())} days on average against "
            f"{number(both['avg_days_to_close_without_partner'].mean())} days for deals without a partner "
            f"(mean of the monthly means over the same months)"
        )
    return text + "."


def payout_sentence(statements: pd.DataFrame) -> str | None:
    """The last closed month's payable amount and what the open months hold so far."""
    if statements.empty:
        return None
    closed = statements[statements["status"].isin(["locked", "paid"])]
    text = ""
    if not closed.empty:
        last_month = closed["period_month"].max()
        last = closed[closed["period_month"] == last_month]
        amounts = " and ".join(money(row.payable_amount, row.currency, 2) for row in last.itertuples())
        status = last.iloc[0]["status"]
        when = last.iloc[0]["paid_on"] if status == "paid" else last.iloc[0]["locks_on"]
        verb = "was paid on" if status == "paid" else "locked on"
        text = f"Its {last_month:%B %Y} statement comes to {amounts} and {verb} {when:%d %B %Y}."
    pending = statements[statements["status"] == "pending"]
    if not pending.empty:
        months = sorted(pending["period_month"].unique())
        amounts = pending.groupby("currency")["payable_amount"].sum()
        owed = " and ".join(money(amount, currency, 2) for currency, amount in amounts.items())
        text += (
            f" {len(months)} open {_plural(len(months), 'month')} "
            f"({', '.join(f'{month:%B %Y}' for month in months)}) {'holds' if len(months) == 1 else 'hold'} "
            f"{owed} so far."
        )
    return text.strip() or None


def sentences(*parts: str | None) -> list[str]:
    return [part for part in parts if part]

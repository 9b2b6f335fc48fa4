"""What the scorecards read: the served `marts` (of the served file) and nothing else.

Every function that feeds a partner's page takes the partner id and filters on it in SQL, so no other partner's row
is ever fetched for that page; figures that compare a partner with the whole program (its share of all attributed
conversions, the win rate of deals without any partner) are read from columns of the partner's own rows. Row-level
detail (the touch trail of a conversion) leaves out every conversion of a customer who opted out of sharing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

SERVED = "marts"
REQUIRED_VIEWS = (
    "dim_partners",
    "dim_campaigns",
    "fct_touchpoints",
    "fct_conversions",
    "fct_attribution_credits",
    "mart_partner_attribution",
    "mart_attribution_sensitivity",
    "mart_partner_roi",
    "mart_partner_pipeline",
    "mart_partner_payout_statements",
)
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley")
MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based",
    "markov": "Markov",
    "shapley": "Shapley",
}
UNATTRIBUTED = "__unattributed__"


def model_name(model: str) -> str:
    """The model's name inside a sentence: 'linear', 'time decay', but 'Markov' and 'Shapley'."""
    label = MODEL_LABELS.get(model, model)
    return label if model in ("markov", "shapley") else label.lower()


class MartsNotServed(RuntimeError):
    """The warehouse has no published marts (yet) to draw scorecards from."""


@dataclass(frozen=True)
class Partner:
    partner_id: str
    partner_name: str
    partner_type: str | None
    partner_tier: str | None
    payout_attribution_model: str | None
    payout_currency: str | None

    @property
    def trail_model(self) -> str:
        """The model whose credit picks the largest conversions: the one its agreement pays on, else linear."""
        return self.payout_attribution_model if self.payout_attribution_model in MODELS else "linear"


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).fetchdf()


def require_served_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Raise MartsNotServed naming the missing views when `marts` does not serve everything the pages read."""
    present = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [SERVED]
        ).fetchall()
    }
    missing = [view for view in REQUIRED_VIEWS if view not in present]
    if missing:
        raise MartsNotServed(
            f"schema `{SERVED}` does not serve {', '.join(missing)}: run the nightly job (`partnerlens run`) first"
        )


def reporting_currency(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(f"select max(reporting_currency) from {SERVED}.mart_partner_attribution").fetchall()
    return rows[0][0] or "USD"


def partners(con: duckdb.DuckDBPyConnection) -> list[Partner]:
    rows = con.execute(
        f"""
        select partner_id, partner_name, partner_type, partner_tier, payout_attribution_model, payout_currency
        from {SERVED}.dim_partners
        order by partner_id
        """
    ).fetchall()
    return [Partner(*row) for row in rows]


def data_period(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """First and last conversion day in the served marts."""
    rows = con.execute(f"select min(converted_on), max(converted_on) from {SERVED}.fct_conversions").fetchall()
    return rows[0]


def last_complete_month(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last calendar month the data covers to its end (the month of the last conversion day if that day ends
    its month, else the month before)."""
    _, last = data_period(con)
    if last is None:
        return None
    first_of_month = last.replace(day=1)
    next_day = pd.Timestamp(last) + pd.Timedelta(days=1)
    if next_day.day == 1:
        return first_of_month
    return (pd.Timestamp(first_of_month) - pd.offsets.MonthBegin(1)).date()


# --- one partner's rows ----------------------------------------------------------------------------------------


def monthly_attribution(con: duckdb.DuckDBPyConnection, partner_id: str) -> pd.DataFrame:
    """Attributed conversions and revenue per month and model (month as YYYY-MM)."""
    return _frame(
        con,
        f"""
        select strftime(date_trunc('month', converted_on), '%Y-%m') as month,
               attribution_model,
               sum(attributed_conversions) as attributed_conversions,
               sum(attributed_revenue) as attributed_revenue
        from {SERVED}.mart_partner_attribution
        where partner_id = ?
        group by all
        order by month, attribution_model
        """,
        [partner_id],
    )


def sensitivity(con: duckdb.DuckDBPyConnection, partner_id: str) -> pd.DataFrame:
    """Every scenario of the sensitivity grid for the partner: the seven models at the current settings and the
    lookback, half-life and position-weight grids."""
    return _frame(
        con,
        f"""
        select scenario_id, varied_setting, attribution_model, lookback_days, half_life_days,
               position_first_weight, position_last_weight, is_current_settings,
               attributed_conversions, attributed_revenue, attributed_share
        from {SERVED}.mart_attribution_sensitivity
        where partner_id = ?
        order by varied_setting, scenario_id
        """,
        [partner_id],
    )


def touched_conversions(con: duckdb.DuckDBPyConnection, partner_id: str, month: date) -> pd.DataFrame:
    """Per touch type, the conversions of `month` whose path holds at least one of the partner's touches of it."""
    return _frame(
        con,
        f"""
        select touches.touch_type, count(distinct credits.conversion_id) as conversions
        from {SERVED}.fct_attribution_credits as credits
        inner join {SERVED}.fct_touchpoints as touches
            on credits.touchpoint_id = touches.touchpoint_id
        where credits.partner_id = ?
            and touches.partner_id = ?
            and date_trunc('month', credits.converted_on) = ?
        group by touches.touch_type
        order by conversions desc, touches.touch_type
        """,
        [partner_id, partner_id, month],
    )


def largest_conversions(con: duckdb.DuckDBPyConnection, partner_id: str, model: str, limit: int = 5) -> pd.DataFrame:
    """The partner's largest credited conversions under `model` (by the revenue credited to it), opted-out
    customers left out."""
    return _frame(
        con,
        f"""
        select credits.conversion_id,
               min(credits.converted_at) as converted_at,
               min(conversions.revenue) as revenue,
               sum(credits.credit) as credit,
               sum(credits.attributed_revenue) as attributed_revenue,
               min(credits.path_length) as path_length,
               count(*) as partner_touches
        from {SERVED}.fct_attribution_credits as credits
        inner join {SERVED}.fct_conversions as conversions
            on credits.conversion_id = conversions.conversion_id
        where credits.partner_id = ?
            and credits.attribution_model = ?
            and not coalesce(conversions.is_customer_opted_out, false)
        group by credits.conversion_id
        having sum(credits.credit) > 0
        order by attributed_revenue desc, credits.conversion_id
        limit {int(limit)}
        """,
        [partner_id, model],
    )


def touch_trail(con: duckdb.DuckDBPyConnection, partner_id: str, conversion_ids: list[str]) -> pd.DataFrame:
    """The partner's own touches on the given conversions' paths, with the credit every model gave each touch
    (one row per touch and model). Other partners' touches are not read."""
    if not conversion_ids:
        return pd.DataFrame(
            columns=[
                "conversion_id",
                "touchpoint_id",
                "touch_position",
                "path_length",
                "touch_occurred_at",
                "campaign_id",
                "channel",
                "touch_type",
                "attribution_model",
                "credit",
                "attributed_revenue",
            ]
        )
    placeholders = ", ".join("?" for _ in conversion_ids)
    return _frame(
        con,
        f"""
        select credits.conversion_id, credits.touchpoint_id, credits.touch_position, credits.path_length,
               credits.touch_occurred_at, credits.campaign_id, touches.channel, touches.touch_type,
               credits.attribution_model, credits.credit, credits.attributed_revenue
        from {SERVED}.fct_attribution_credits as credits
        inner join {SERVED}.fct_touchpoints as touches
            on credits.touchpoint_id = touches.touchpoint_id
        inner join {SERVED}.fct_conversions as conversions
            on credits.conversion_id = conversions.conversion_id
        where credits.partner_id = ?
            and touches.partner_id = ?
            and not coalesce(conversions.is_customer_opted_out, false)
            and credits.conversion_id in ({placeholders})
        order by credits.conversion_id, credits.touch_position, credits.attribution_model
        """,
        [partner_id, partner_id, *conversion_ids],
    )


def campaign_roi(con: duckdb.DuckDBPyConnection, partner_id: str) -> pd.DataFrame:
    """Per joint campaign and model: attributed conversions, revenue and margin, the joint cost, each party's part
    of it and ROI, summed over the months (costs are the same under every model)."""
    return _frame(
        con,
        f"""
        select roi.campaign_id,
               campaigns.campaign_name,
               campaigns.campaign_type,
               campaigns.start_date,
               campaigns.end_date,
               cast(campaigns.host_cost_share_rate as double) as host_cost_share_rate,
               roi.attribution_model,
               sum(roi.attributed_conversions) as attributed_conversions,
               cast(sum(roi.attributed_revenue) as double) as attributed_revenue,
               cast(sum(roi.attributed_gross_margin) as double) as attributed_gross_margin,
               cast(sum(roi.campaign_joint_cost) as double) as campaign_joint_cost,
               cast(sum(roi.partner_cost) as double) as partner_cost,
               cast(sum(roi.host_cost) as double) as host_cost,
               cast(sum(roi.attributed_gross_margin) filter (where roi.host_cost > 0) as double) as costed_margin,
               cast(sum(roi.host_cost) filter (where roi.host_cost > 0) as double) as costed_host_cost
        from {SERVED}.mart_partner_roi as roi
        left join {SERVED}.dim_campaigns as campaigns
            on roi.campaign_id = campaigns.campaign_id
        where roi.partner_id = ?
            and roi.campaign_id is not null
        group by all
        order by campaigns.start_date, roi.campaign_id, roi.attribution_model
        """,
        [partner_id],
    )


def pipeline(con: duckdb.DuckDBPyConnection, partner_id: str) -> pd.DataFrame:
    """The partner's co-selling pipeline per month, with the program's no-partner benchmarks on each row."""
    return _frame(
        con,
        f"""
        select strftime(month, '%Y-%m') as month,
               sourced_opportunities_created, influenced_opportunities_created,
               cast(sourced_pipeline_amount as double) as sourced_pipeline_amount,
               cast(influenced_pipeline_amount as double) as influenced_pipeline_amount,
               sourced_deals_won, influenced_deals_won, sourced_deals_lost, influenced_deals_lost,
               cast(sourced_bookings_amount as double) as sourced_bookings_amount,
               cast(influenced_bookings_amount as double) as influenced_bookings_amount,
               win_rate, avg_days_to_close_with_partner, avg_days_to_close_without_partner, win_rate_without_partner
        from {SERVED}.mart_partner_pipeline
        where partner_id = ?
        order by month
        """,
        [partner_id],
    )


def payout_statements(con: duckdb.DuckDBPyConnection, partner_id: str) -> pd.DataFrame:
    """The partner's payout statements, one per month and agreement currency."""
    return _frame(
        con,
        f"""
        select strftime(period_month, '%Y-%m') as month, period_month, currency, status, locks_on, paid_on,
               status_as_of,
               cast(revenue_share_amount as double) as revenue_share_amount,
               cast(referral_commission_amount as double) as referral_commission_amount,
               cast(tier_adjustment_amount as double) as tier_adjustment_amount,
               cast(cap_adjustment_amount as double) as cap_adjustment_amount,
               cast(reversal_amount as double) as reversal_amount,
               cast(earlier_periods_adjustment_amount as double) as earlier_periods_adjustment_amount,
               cast(payable_amount as double) as payable_amount,
               cast(payable_amount_reporting as double) as payable_amount_reporting,
               lines_count, conversions_count
        from {SERVED}.mart_partner_payout_statements
        where partner_id = ?
        order by period_month, currency
        """,
        [partner_id],
    )


# --- the whole program (internal dashboard) -------------------------------------------------------------------


def program_attribution_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Attributed conversions and revenue per partner and model over the whole period, with the rank of each
    partner under each model (1 = most conversions; ties share the better rank)."""
    return _frame(
        con,
        f"""
        with totals as (
            select partner_id, attribution_model,
                   sum(attributed_conversions) as attributed_conversions,
                   sum(attributed_revenue) as attributed_revenue
            from {SERVED}.mart_partner_attribution
            where not is_unattributed
            group by all
        )
        select totals.*, partners.partner_name,
               rank() over (partition by totals.attribution_model order by totals.attributed_conversions desc)
                   as model_rank
        from totals
        left join {SERVED}.dim_partners as partners
            on totals.partner_id = partners.partner_id
        order by totals.partner_id, totals.attribution_model
        """,
    )


def program_model_shares(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each partner's share of attributed conversions under each model and over the whole sensitivity grid."""
    return _frame(
        con,
        f"""
        select sensitivity.partner_id, partners.partner_name, sensitivity.attribution_model,
               sensitivity.attributed_share, sensitivity.min_attributed_share, sensitivity.max_attributed_share
        from {SERVED}.mart_attribution_sensitivity as sensitivity
        left join {SERVED}.dim_partners as partners
            on sensitivity.partner_id = partners.partner_id
        where sensitivity.varied_setting = 'model'
        order by sensitivity.partner_id, sensitivity.attribution_model
        """,
    )


def program_roi_by_month(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Program ROI per month and model over the rows where the host carries a cost."""
    return _frame(
        con,
        f"""
        select strftime(month, '%Y-%m') as month, attribution_model,
               cast(sum(attributed_gross_margin) as double) as attributed_gross_margin,
               cast(sum(host_cost) as double) as host_cost,
               cast((sum(attributed_gross_margin) - sum(host_cost)) / sum(host_cost) as double) as roi
        from {SERVED}.mart_partner_roi
        where host_cost > 0
        group by all
        order by month, attribution_model
        """,
    )


def program_payouts_by_month(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Payable totals (reporting currency) per month and status, with the number of partners paid."""
    return _frame(
        con,
        f"""
        select strftime(period_month, '%Y-%m') as month, status,
               cast(sum(payable_amount_reporting) as double) as payable_amount_reporting,
               count(distinct partner_id) as partners
        from {SERVED}.mart_partner_payout_statements
        group by all
        order by month, status
        """,
    )

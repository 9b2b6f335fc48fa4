"""The charts of the scorecards and the dashboard, as Altair (Vega-Lite) specifications.

Every chart's marks are named (`<name>_marks` in the rendered SVG), one mark per data row, so that a browser test
can count what was drawn against what the marts hold. Each function takes the rows it draws and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from partnerlens.scorecards.data import MODEL_LABELS, MODELS

MODEL_ORDER = [MODEL_LABELS[model] for model in MODELS]
WIDTH = 680
STATUS_ORDER = ["paid", "locked", "pending"]
STATUS_COLORS = ["#2e7d32", "#f9a825", "#90a4ae"]
SETTING_LABELS = {
    "model": "Models (current settings)",
    "lookback_days": "Lookback window",
    "half_life_days": "Time-decay half-life",
    "position_weights": "Position weights",
}


@dataclass
class Chart:
    """One chart of a page: its DOM id, a title, the Vega-Lite spec, and the rows drawn per named mark."""

    chart_id: str
    title: str
    spec: dict
    marks: dict[str, int] = field(default_factory=dict)


def _model_labels(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["model"] = frame["attribution_model"].map(MODEL_LABELS).fillna(frame["attribution_model"])
    return frame


def _model_color(title: str = "Model") -> alt.Color:
    return alt.Color("model:N", sort=MODEL_ORDER, scale=alt.Scale(scheme="tableau10"), legend=alt.Legend(title=title))


def _spec(chart: alt.TopLevelMixin) -> dict:
    return chart.configure_view(stroke=None).configure_axis(labelFontSize=11, titleFontSize=12).to_dict()


def monthly_by_model(chart_id: str, title: str, rows: pd.DataFrame, value: str, value_title: str, fmt: str) -> Chart:
    """Grouped bars: one bar per month and model."""
    rows = _model_labels(rows)[["month", "model", value]]
    chart = (
        alt.Chart(rows, name=f"{chart_id}_bars")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("model:N", sort=MODEL_ORDER),
            y=alt.Y(f"{value}:Q", title=value_title),
            color=_model_color(),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip(f"{value}:Q", title=value_title, format=fmt),
            ],
        )
        .properties(width=WIDTH, height=240)
    )
    return Chart(chart_id, title, _spec(chart), {f"{chart_id}_bars": len(rows)})


def model_shares(rows: pd.DataFrame) -> Chart:
    """One bar per model: the partner's share of all attributed conversions under it."""
    rows = _model_labels(rows)[["model", "attributed_share", "attributed_conversions"]]
    chart = (
        alt.Chart(rows, name="shares_bars")
        .mark_bar()
        .encode(
            x=alt.X("model:N", sort=MODEL_ORDER, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("attributed_share:Q", title="Share of attributed conversions", axis=alt.Axis(format="%")),
            color=_model_color(),
            tooltip=[
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("attributed_share:Q", title="Share", format=".1%"),
                alt.Tooltip("attributed_conversions:Q", title="Conversions", format=",.1f"),
            ],
        )
        .properties(width=WIDTH, height=200)
    )
    return Chart("shares", "Share under each model", _spec(chart), {"shares_bars": len(rows)})


def sensitivity(rows: pd.DataFrame) -> Chart:
    """One point per scenario of the sensitivity grid, one row per varied setting, and the partner's full range."""
    rows = _model_labels(rows)
    rows["setting"] = rows["varied_setting"].map(SETTING_LABELS).fillna(rows["varied_setting"])
    points = rows[["scenario_id", "setting", "model", "attributed_share", "attributed_conversions"]]
    ranges = (
        rows.groupby("setting", as_index=False)
        .agg(low=("attributed_share", "min"), high=("attributed_share", "max"))
        .sort_values("setting")
    )
    order = [label for label in SETTING_LABELS.values() if label in set(rows["setting"])]
    y = alt.Y("setting:N", sort=order, title=None)
    rule = (
        alt.Chart(ranges, name="sensitivity_ranges")
        .mark_rule(color="#9e9e9e", strokeWidth=2)
        .encode(y=y, x=alt.X("low:Q", title="Share of attributed conversions", axis=alt.Axis(format="%")), x2="high:Q")
    )
    dots = (
        alt.Chart(points, name="sensitivity_points")
        .mark_point(filled=True, size=70, opacity=0.85)
        .encode(
            y=y,
            x="attributed_share:Q",
            color=_model_color(),
            tooltip=[
                alt.Tooltip("scenario_id:N", title="Scenario"),
                alt.Tooltip("attributed_share:Q", title="Share", format=".2%"),
                alt.Tooltip("attributed_conversions:Q", title="Conversions", format=",.1f"),
            ],
        )
    )
    chart = alt.layer(rule, dots).properties(width=WIDTH, height=40 * max(len(order), 1))
    return Chart(
        "sensitivity",
        "Range across the sensitivity grid",
        _spec(chart),
        {"sensitivity_ranges": len(ranges), "sensitivity_points": len(points)},
    )


def campaign_roi(rows: pd.DataFrame) -> Chart:
    """Heat map of ROI per joint campaign (rows) and model (columns), only where the host carries a cost."""
    rows = _model_labels(rows)[["campaign", "model", "roi", "attributed_revenue", "host_cost"]]
    base = alt.Chart(rows).encode(
        x=alt.X("model:N", sort=MODEL_ORDER, title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("campaign:N", title=None, sort=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("roi:Q", title="ROI", scale=alt.Scale(scheme="redyellowgreen", domainMid=0)),
        tooltip=[
            alt.Tooltip("campaign:N", title="Campaign"),
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("roi:Q", title="ROI", format=".2f"),
            alt.Tooltip("attributed_revenue:Q", title="Attributed revenue", format=",.0f"),
            alt.Tooltip("host_cost:Q", title="Host cost", format=",.0f"),
        ],
    )
    labels = base.mark_text(fontSize=11).encode(text=alt.Text("roi:Q", format=".2f"))
    chart = alt.layer(cells.properties(name="roi_cells"), labels.properties(name="roi_labels")).properties(
        width=WIDTH, height=26 * max(rows["campaign"].nunique(), 1)
    )
    return Chart(
        "campaign_roi", "ROI per joint campaign", _spec(chart), {"roi_cells": len(rows), "roi_labels": len(rows)}
    )


def pipeline_amounts(rows: pd.DataFrame, currency: str) -> Chart:
    """Stacked bars per creation month: sourced and influenced pipeline (months and kinds with an amount)."""
    chart = (
        alt.Chart(rows, name="pipeline_bars")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month created", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("amount:Q", title=f"Pipeline ({currency})", stack="zero"),
            color=alt.Color(
                "kind:N",
                sort=["sourced", "influenced"],
                scale=alt.Scale(range=["#1565c0", "#90caf9"]),
                legend=alt.Legend(title=None),
            ),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("kind:N", title="Involvement"),
                alt.Tooltip("amount:Q", title="Amount", format=",.0f"),
                alt.Tooltip("opportunities:Q", title="Opportunities"),
            ],
        )
        .properties(width=WIDTH, height=220)
    )
    return Chart("pipeline", "Co-selling pipeline", _spec(chart), {"pipeline_bars": len(rows)})


def time_to_close(rows: pd.DataFrame) -> Chart:
    """Mean days to close of won deals per close month, with the partner and without any partner."""
    encode = {
        "x": alt.X("month:O", title="Month closed", axis=alt.Axis(labelAngle=0)),
        "y": alt.Y("days:Q", title="Days to close (won deals)"),
        "color": alt.Color(
            "series:N",
            sort=["with this partner", "without any partner"],
            scale=alt.Scale(range=["#1565c0", "#9e9e9e"]),
            legend=alt.Legend(title=None),
        ),
    }
    lines = alt.Chart(rows, name="close_lines").mark_line().encode(**encode)
    points = (
        alt.Chart(rows, name="close_points")
        .mark_point(filled=True, size=60)
        .encode(
            **encode,
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("series:N", title="Deals"),
                alt.Tooltip("days:Q", title="Days", format=".1f"),
            ],
        )
    )
    chart = alt.layer(lines, points).properties(width=WIDTH, height=200)
    return Chart("time_to_close", "Time to close", _spec(chart), {"close_points": len(rows)})


def payouts(chart_id: str, rows: pd.DataFrame, currency: str, title: str) -> Chart:
    """Stacked bars per month, coloured by status: one bar segment per row (statement, or month and status)."""
    chart = (
        alt.Chart(rows, name=f"{chart_id}_bars")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month paid", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("payable_amount_reporting:Q", title=f"Payable ({currency})", stack="zero"),
            color=alt.Color("status:N", sort=STATUS_ORDER, scale=alt.Scale(domain=STATUS_ORDER, range=STATUS_COLORS)),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("payable_amount_reporting:Q", title=f"Payable ({currency})", format=",.2f"),
            ],
        )
        .properties(width=WIDTH, height=200)
    )
    return Chart(chart_id, title, _spec(chart), {f"{chart_id}_bars": len(rows)})


# --- the internal dashboard -------------------------------------------------------------------------------------


def ranking(rows: pd.DataFrame) -> Chart:
    """Heat map of each partner's rank (1 = most attributed conversions) under each model."""
    rows = _model_labels(rows)[["partner", "model", "model_rank", "attributed_conversions"]]
    order = list(dict.fromkeys(rows.sort_values(["model_rank", "partner"])["partner"]))
    base = alt.Chart(rows).encode(
        x=alt.X("model:N", sort=MODEL_ORDER, title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("partner:N", sort=order, title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("model_rank:Q", title="Rank", scale=alt.Scale(scheme="blues", reverse=True)),
        tooltip=[
            alt.Tooltip("partner:N", title="Partner"),
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("model_rank:Q", title="Rank"),
            alt.Tooltip("attributed_conversions:Q", title="Conversions", format=",.1f"),
        ],
    )
    dark = max(len(order) // 2, 1)
    labels = base.mark_text(fontSize=11).encode(
        text="model_rank:Q",
        color=alt.condition(f"datum.model_rank <= {dark}", alt.value("white"), alt.value("#1f2933")),
    )
    chart = alt.layer(cells.properties(name="ranking_cells"), labels.properties(name="ranking_labels")).properties(
        width=WIDTH, height=22 * max(len(order), 1)
    )
    return Chart(
        "ranking",
        "Ranking under each model",
        _spec(chart),
        {"ranking_cells": len(rows), "ranking_labels": len(rows)},
    )


def disagreement(rows: pd.DataFrame) -> Chart:
    """Per partner, its share under each model (points) and the range they span (a rule), widest range first."""
    rows = _model_labels(rows)
    spans = (
        rows.groupby("partner", as_index=False)
        .agg(low=("attributed_share", "min"), high=("attributed_share", "max"))
        .assign(spread=lambda frame: frame["high"] - frame["low"])
        .sort_values(["spread", "partner"], ascending=[False, True])
    )
    order = list(spans["partner"])
    y = alt.Y("partner:N", sort=order, title=None)
    rule = (
        alt.Chart(spans, name="disagreement_ranges")
        .mark_rule(color="#9e9e9e", strokeWidth=2)
        .encode(
            y=y,
            x=alt.X("low:Q", title="Share of attributed conversions", axis=alt.Axis(format="%")),
            x2="high:Q",
            tooltip=[alt.Tooltip("spread:Q", title="Spread", format=".1%")],
        )
    )
    points = (
        alt.Chart(rows[["partner", "model", "attributed_share"]], name="disagreement_points")
        .mark_point(filled=True, size=60)
        .encode(
            y=y,
            x="attributed_share:Q",
            color=_model_color(),
            tooltip=[
                alt.Tooltip("partner:N", title="Partner"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("attributed_share:Q", title="Share", format=".1%"),
            ],
        )
    )
    chart = alt.layer(rule, points).properties(width=WIDTH, height=22 * max(len(order), 1))
    return Chart(
        "disagreement",
        "Where the models disagree most",
        _spec(chart),
        {"disagreement_ranges": len(spans), "disagreement_points": len(rows)},
    )


def program_roi(rows: pd.DataFrame) -> Chart:
    """Program ROI per month under each model (lines with a point per month and model)."""
    rows = _model_labels(rows)[["month", "model", "roi", "attributed_gross_margin", "host_cost"]]
    encode = {
        "x": alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0)),
        "y": alt.Y("roi:Q", title="ROI"),
        "color": _model_color(),
    }
    lines = alt.Chart(rows, name="program_roi_lines").mark_line().encode(**encode)
    points = (
        alt.Chart(rows, name="program_roi_points")
        .mark_point(filled=True, size=50)
        .encode(
            **encode,
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("roi:Q", title="ROI", format=".2f"),
                alt.Tooltip("attributed_gross_margin:Q", title="Attributed margin", format=",.0f"),
                alt.Tooltip("host_cost:Q", title="Host cost", format=",.0f"),
            ],
        )
    )
    chart = alt.layer(lines, points).properties(width=WIDTH, height=240)
    return Chart("program_roi", "Program ROI over time", _spec(chart), {"program_roi_points": len(rows)})

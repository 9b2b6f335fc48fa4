"""The two kinds of page: one scorecard per partner, and the internal dashboard across all partners."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import duckdb
import pandas as pd

from partnerlens.scorecards import charts, data, narrative
from partnerlens.scorecards import html as h
from partnerlens.scorecards.charts import Chart
from partnerlens.scorecards.data import MODEL_LABELS, MODELS, Partner, model_name
from partnerlens.scorecards.narrative import money, number, percent

TRAIL_CONVERSIONS = 5


def campaign_label(row: pd.Series, foreign: Collection[str]) -> str:
    """A campaign's name, or its id and type when the name mentions another partner (joint campaigns are often
    named after their lead partner, and a partner's page names no other partner)."""
    name = row.get("campaign_name")
    if isinstance(name, str) and name and not any(word in name for word in foreign):
        return name
    kind = str(row.get("campaign_type") or "campaign").replace("_", " ")
    return f"{row['campaign_id']} ({kind})"


def _period_text(first: date | None, last: date | None) -> str:
    return f"{first:%d %b %Y} to {last:%d %b %Y}" if first and last else "no conversions yet"


def _partner_charts(
    partner: Partner,
    monthly: pd.DataFrame,
    sensitivity: pd.DataFrame,
    campaigns: pd.DataFrame,
    pipeline: pd.DataFrame,
    statements: pd.DataFrame,
    currency: str,
) -> dict[str, Chart]:
    out: dict[str, Chart] = {}
    if not monthly.empty:
        out["conversions"] = charts.monthly_by_model(
            "conversions",
            "Attributed conversions by month, every model side by side",
            monthly,
            "attributed_conversions",
            "Attributed conversions",
            ",.1f",
        )
        out["revenue"] = charts.monthly_by_model(
            "revenue",
            "Attributed revenue by month, every model side by side",
            monthly,
            "attributed_revenue",
            f"Attributed revenue ({currency})",
            ",.0f",
        )
    models = sensitivity[sensitivity["varied_setting"] == "model"]
    if not models.empty:
        out["shares"] = charts.model_shares(models)
    if not sensitivity.empty:
        out["sensitivity"] = charts.sensitivity(sensitivity)
    costed = campaigns[campaigns["costed_host_cost"].fillna(0) > 0].copy()
    if not costed.empty:
        costed["roi"] = (costed["costed_margin"] - costed["costed_host_cost"]) / costed["costed_host_cost"]
        costed = costed.rename(columns={"costed_host_cost": "cost"})[
            ["campaign", "attribution_model", "roi", "attributed_revenue", "cost"]
        ].rename(columns={"cost": "host_cost"})
        out["campaign_roi"] = charts.campaign_roi(costed)
    if not pipeline.empty:
        long = pd.concat(
            [
                pipeline.assign(
                    kind="sourced",
                    amount=pipeline["sourced_pipeline_amount"],
                    opportunities=pipeline["sourced_opportunities_created"],
                ),
                pipeline.assign(
                    kind="influenced",
                    amount=pipeline["influenced_pipeline_amount"],
                    opportunities=pipeline["influenced_opportunities_created"],
                ),
            ]
        )[["month", "kind", "amount", "opportunities"]]
        long = long[long["amount"] > 0]
        if not long.empty:
            out["pipeline"] = charts.pipeline_amounts(long, currency)
        close = pd.concat(
            [
                pipeline.assign(series="with this partner", days=pipeline["avg_days_to_close_with_partner"]),
                pipeline.assign(series="without any partner", days=pipeline["avg_days_to_close_without_partner"]),
            ]
        )[["month", "series", "days"]].dropna(subset=["days"])
        if not close.empty:
            out["time_to_close"] = charts.time_to_close(close)
    if not statements.empty:
        out["payouts"] = charts.payouts(
            "payouts",
            statements[["month", "status", "currency", "payable_amount_reporting"]],
            currency,
            "Payouts by month",
        )
    return out


def _trail_section(partner: Partner, largest: pd.DataFrame, trail: pd.DataFrame, currency: str) -> str:
    model_label = model_name(partner.trail_model)
    if largest.empty:
        return h.paragraph("No credited conversion to show.", "note")
    parts = [
        h.paragraph(
            f"The {len(largest)} conversions that credited {partner.partner_id} with the most revenue under the "
            f"{model_label} model, with each of its touches on their paths and the credit every model gave that "
            "touch. Other partners' touches on the same paths are counted in the path length only; conversions of "
            "customers who opted out of sharing are never shown.",
            "note",
        )
    ]
    headers = ["Touch", "When (UTC)", "What", "Channel", "Campaign"] + [MODEL_LABELS[m] for m in MODELS]
    for row in largest.itertuples():
        touches = trail[trail["conversion_id"] == row.conversion_id].fillna({"channel": "-", "touch_type": "-"})
        credit = touches.pivot_table(
            index=["touchpoint_id", "touch_position", "touch_occurred_at", "touch_type", "channel"],
            columns="attribution_model",
            values="credit",
            aggfunc="sum",
        ).reset_index()
        campaign = touches.drop_duplicates("touchpoint_id").set_index("touchpoint_id")["campaign_id"]
        rows = []
        for touch in credit.sort_values("touch_position").itertuples(index=False):
            cells = [
                f"{touch.touch_position} of {row.path_length}",
                pd.Timestamp(touch.touch_occurred_at).strftime("%Y-%m-%d %H:%M"),
                str(touch.touch_type).replace("_", " "),
                touch.channel,
                "-" if pd.isna(campaign.get(touch.touchpoint_id)) else campaign.get(touch.touchpoint_id),
            ]
            cells += [percent(getattr(touch, m, None), 0) for m in MODELS]
            rows.append(cells)
        parts.append(
            f"<h3>{h.esc(row.conversion_id)} · {pd.Timestamp(row.converted_at):%d %b %Y} · revenue "
            f"{h.esc(money(row.revenue, currency, 2))} · {h.esc(partner.partner_id)} credited "
            f"{h.esc(percent(row.credit, 0))} ({h.esc(model_label)})</h3>"
        )
        parts.append(h.table(headers, rows, numeric=set(range(5, 5 + len(MODELS)))))
    return "".join(parts)


def _roi_table(campaigns: pd.DataFrame, model: str, currency: str) -> str:
    rows = campaigns[campaigns["attribution_model"] == model]
    if rows.empty:
        return h.paragraph("No joint campaign in the period.", "note")
    body = []
    for row in rows.itertuples():
        joint = row.campaign_joint_cost or 0.0
        own = row.partner_cost / joint if joint > 0 else None
        host = row.host_cost_share_rate
        others = 1 - host - own if own is not None and host is not None else None
        roi = (row.costed_margin - row.costed_host_cost) / row.costed_host_cost if row.costed_host_cost else None
        body.append(
            [
                row.campaign,
                f"{row.start_date:%d %b %Y} – {row.end_date:%d %b %Y}" if row.start_date else "-",
                money(joint, currency),
                percent(host, 0),
                percent(own, 0),
                percent(max(others, 0.0), 0) if others is not None else "-",
                money(row.host_cost, currency),
                money(row.attributed_revenue, currency),
                number(roi, 2),
            ]
        )
    return h.table(
        [
            "Campaign",
            "Dates",
            "Joint cost",
            "Host share",
            "Partner share",
            "Other partners",
            "Host cost set against it",
            f"Attributed revenue ({model_name(model)})",
            "ROI",
        ],
        body,
        numeric={2, 3, 4, 5, 6, 7, 8},
    )


def _payout_section(statements: pd.DataFrame, currency: str) -> str:
    if statements.empty:
        return h.paragraph("No payout line has been booked yet.", "note")
    parts = []
    closed = statements[statements["status"].isin(["locked", "paid"])]
    if closed.empty:
        parts.append(h.paragraph("No month is closed yet: every booked month is still pending.", "note"))
    else:
        last_month = closed["period_month"].max()
        for row in closed[closed["period_month"] == last_month].itertuples():
            parts.append(f"<h3>Statement for {last_month:%B %Y} ({h.esc(row.currency)}, {h.esc(row.status)})</h3>")
            lines = [
                ("Revenue share", row.revenue_share_amount),
                ("Referral commission", row.referral_commission_amount),
                ("Volume tier adjustment", row.tier_adjustment_amount),
                ("Cap adjustment", row.cap_adjustment_amount),
                ("Refund reversals", row.reversal_amount),
                ("Payable", row.payable_amount),
            ]
            table_rows = [[label, money(amount, row.currency, 2)] for label, amount in lines]
            table_rows.append([f"Payable in {currency}", money(row.payable_amount_reporting, currency, 2)])
            parts.append(h.table(["Line", "Amount"], table_rows, numeric={1}))
            parts.append(
                h.paragraph(
                    f"{row.lines_count} payout lines over {row.conversions_count} conversions; of the total, "
                    f"{money(row.earlier_periods_adjustment_amount, row.currency, 2)} corrects earlier, locked "
                    f"months. Locked on {row.locks_on:%d %b %Y}, paid on {row.paid_on:%d %b %Y}.",
                    "note",
                )
            )
    open_months = statements[statements["status"] != "paid"]
    if not open_months.empty:
        parts.append("<h3>Open months</h3>")
        parts.append(
            h.table(
                ["Month", "Status", "Payable so far", f"In {currency}", "Locks on", "Paid on"],
                [
                    [
                        f"{row.period_month:%B %Y}",
                        row.status,
                        money(row.payable_amount, row.currency, 2),
                        money(row.payable_amount_reporting, currency, 2),
                        f"{row.locks_on:%d %b %Y}",
                        f"{row.paid_on:%d %b %Y}",
                    ]
                    for row in open_months.itertuples()
                ],
                numeric={2, 3},
            )
        )
    return "".join(parts)


def partner_page(
    con: duckdb.DuckDBPyConnection, partner: Partner, others: Collection[str], currency: str
) -> tuple[str, list[Chart]]:
    """A partner's scorecard (HTML) and its charts. `others` holds the ids and names of every other partner, which
    the page must never show (used only to label campaigns)."""
    pid = partner.partner_id
    first, last = data.data_period(con)
    month = data.last_complete_month(con)
    monthly = data.monthly_attribution(con, pid)
    sensitivity = data.sensitivity(con, pid)
    campaigns = data.campaign_roi(con, pid)
    if not campaigns.empty:
        campaigns["campaign"] = campaigns.apply(lambda row: campaign_label(row, others), axis=1)
    pipeline = data.pipeline(con, pid)
    statements = data.payout_statements(con, pid)
    largest = data.largest_conversions(con, pid, partner.trail_model, TRAIL_CONVERSIONS)
    trail = data.touch_trail(con, pid, list(largest["conversion_id"]))
    touched = data.touched_conversions(con, pid, month) if month else pd.DataFrame()

    drawn = _partner_charts(partner, monthly, sensitivity, campaigns, pipeline, statements, currency)
    story = narrative.sentences(
        narrative.touches_sentence(pid, month, touched),
        narrative.credit_sentence(pid, partner.trail_model, sensitivity, currency),
        narrative.roi_sentence(partner.trail_model, campaigns, currency) if not campaigns.empty else None,
        narrative.pipeline_sentence(pipeline, currency),
        narrative.payout_sentence(statements),
    )
    models = sensitivity[sensitivity["varied_setting"] == "model"].set_index("attribution_model")
    paid_model = partner.trail_model
    headline = models.loc[paid_model] if paid_model in models.index else None
    won = pipeline[["sourced_deals_won", "influenced_deals_won"]].to_numpy().sum() if not pipeline.empty else 0
    lost = pipeline[["sourced_deals_lost", "influenced_deals_lost"]].to_numpy().sum() if not pipeline.empty else 0

    def chart(key: str) -> str:
        return h.figure(drawn[key]) if key in drawn else ""

    share_rows = [
        [
            MODEL_LABELS[m],
            number(models.loc[m, "attributed_conversions"], 1) if m in models.index else "-",
            money(models.loc[m, "attributed_revenue"], currency) if m in models.index else "-",
            percent(models.loc[m, "attributed_share"]) if m in models.index else "-",
        ]
        for m in MODELS
    ]
    body = [
        h.section(
            "In short",
            "".join(h.paragraph(s) for s in story) or h.paragraph("No activity yet."),
            section_id="narrative",
        ),
        h.kpis(
            [
                (f"conversions ({model_name(paid_model)})", number(headline["attributed_conversions"], 1))
                if headline is not None
                else ("conversions", "-"),
                (f"revenue ({model_name(paid_model)})", money(headline["attributed_revenue"], currency))
                if headline is not None
                else ("revenue", "-"),
                (
                    "share across the grid",
                    f"{percent(sensitivity['attributed_share'].min())} – "
                    f"{percent(sensitivity['attributed_share'].max())}"
                    if not sensitivity.empty
                    else "-",
                ),
                (
                    "partner pipeline",
                    money(
                        pipeline["sourced_pipeline_amount"].sum() + pipeline["influenced_pipeline_amount"].sum(),
                        currency,
                    )
                    if not pipeline.empty
                    else "-",
                ),
                ("win rate", percent(won / (won + lost), 0) if won + lost else "-"),
            ]
        ),
        h.section(
            "Attribution under every model",
            h.paragraph(
                "Each model answers 'who gets credit for a conversion' differently; all seven are computed on the "
                f"same paths. {pid}'s agreement pays on the {model_name(paid_model)} model.",
                "note",
            ),
            chart("conversions"),
            chart("revenue"),
            chart("shares"),
            h.table(["Model", "Conversions", "Revenue", "Share of attributed conversions"], share_rows, {1, 2, 3}),
            section_id="attribution",
        ),
        h.section(
            "If the credit is disputed",
            h.paragraph(
                "The partner's share of attributed conversions in every scenario: the seven models at today's "
                "settings, then one setting varied at a time (lookback window, time-decay half-life, position "
                "weights).",
                "note",
            ),
            chart("sensitivity"),
            _trail_section(partner, largest, trail, currency),
            section_id="dispute",
        ),
        h.section(
            "Joint campaigns",
            h.paragraph(
                "The host's return on each joint campaign: ROI = (attributed gross margin - host cost) / host cost, "
                "where the host carries a cost. Cost shares are parts of the campaign's joint cost.",
                "note",
            ),
            chart("campaign_roi"),
            _roi_table(campaigns, paid_model, currency)
            if not campaigns.empty
            else h.paragraph("No joint campaign in the period.", "note"),
            section_id="campaigns",
        ),
        h.section(
            "Co-selling pipeline",
            chart("pipeline"),
            chart("time_to_close"),
            "" if not pipeline.empty else h.paragraph("No co-selling opportunity involves this partner.", "note"),
            section_id="pipeline",
        ),
        h.section("Payouts", chart("payouts"), _payout_section(statements, currency), section_id="payouts"),
    ]
    subtitle = (
        f"{(partner.partner_type or '').replace('_', ' ')} partner, {partner.partner_tier or 'no'} tier · "
        f"conversions {_period_text(first, last)} · amounts in {currency}"
    )
    document = h.page(
        f"{partner.partner_name} ({pid}) · partner scorecard",
        subtitle,
        body,
        list(drawn.values()),
        f"Built from the published marts; every figure on this page is {pid}'s own.",
    )
    return document, list(drawn.values())


def dashboard_page(
    con: duckdb.DuckDBPyConnection, partners: list[Partner], pages: dict[str, str], currency: str
) -> tuple[str, list[Chart]]:
    """The internal joint-program dashboard across all partners, linking to every scorecard (`pages`: id -> href)."""
    first, last = data.data_period(con)
    names = {p.partner_id: p.partner_name for p in partners}
    totals = data.program_attribution_totals(con)
    totals["partner"] = totals["partner_id"] + " " + totals["partner_id"].map(names).fillna("")
    shares = data.program_model_shares(con)
    shares["partner"] = shares["partner_id"] + " " + shares["partner_id"].map(names).fillna("")
    roi = data.program_roi_by_month(con)
    payouts = data.program_payouts_by_month(con)

    drawn: list[Chart] = []
    if not totals.empty:
        drawn.append(charts.ranking(totals))
    if not shares.empty:
        drawn.append(charts.disagreement(shares))
    if not roi.empty:
        drawn.append(charts.program_roi(roi))
    if not payouts.empty:
        drawn.append(charts.payouts("program_payouts", payouts, currency, "Payouts over time"))
    by_id = {c.chart_id: c for c in drawn}

    def chart(key: str) -> str:
        return h.figure(by_id[key]) if key in by_id else ""

    spread = (
        shares.groupby(["partner_id"])["attributed_share"]
        .agg(["min", "max"])
        .assign(spread=lambda f: f["max"] - f["min"])
        if not shares.empty
        else pd.DataFrame(columns=["min", "max", "spread"])
    )
    linear = totals[totals["attribution_model"] == "linear"].set_index("partner_id")
    rows = []
    for partner in partners:
        pid = partner.partner_id
        rows.append(
            (
                pages[pid],
                [
                    pid,
                    partner.partner_name,
                    (partner.partner_type or "").replace("_", " "),
                    partner.partner_tier or "",
                    MODEL_LABELS.get(partner.payout_attribution_model or "", "-"),
                    number(linear.loc[pid, "attributed_conversions"], 1) if pid in linear.index else "-",
                    percent(spread.loc[pid, "spread"]) if pid in spread.index else "-",
                ],
            )
        )
    total_payable = payouts["payable_amount_reporting"].sum() if not payouts.empty else 0.0
    paid = payouts.loc[payouts["status"] == "paid", "payable_amount_reporting"].sum() if not payouts.empty else 0.0
    program_roi = None
    costed = roi[roi["attribution_model"] == "linear"]
    if not costed.empty:
        program_roi = (costed["attributed_gross_margin"].sum() - costed["host_cost"].sum()) / costed["host_cost"].sum()
    body = [
        h.kpis(
            [
                ("partners", f"{len(partners):,}"),
                ("program ROI (linear)", number(program_roi, 2)),
                ("payouts booked", money(total_payable, currency)),
                ("of which paid", money(paid, currency)),
            ]
        ),
        h.section(
            "Partners",
            h.link_table(
                [
                    "Partner",
                    "Name",
                    "Type",
                    "Tier",
                    "Pays on model",
                    "Conversions (linear)",
                    "Share spread over models",
                ],
                rows,
                numeric={5, 6},
            ),
            section_id="partners",
        ),
        h.section(
            "Ranking under each model",
            h.paragraph("Rank 1 has the most attributed conversions under that model over the whole period.", "note"),
            chart("ranking"),
            section_id="ranking",
        ),
        h.section(
            "Where the models disagree most",
            h.paragraph(
                "Each partner's share of attributed conversions under the seven models; the widest ranges, where "
                "the choice of model matters most, come first.",
                "note",
            ),
            chart("disagreement"),
            section_id="disagreement",
        ),
        h.section(
            "Program ROI over time",
            h.paragraph(
                "(attributed gross margin - host cost) / host cost per month, over the campaigns where the host "
                "carries a cost.",
                "note",
            ),
            chart("program_roi"),
            section_id="roi",
        ),
        h.section("Payouts over time", chart("program_payouts"), section_id="payouts"),
    ]
    document = h.page(
        "Joint-program dashboard",
        f"{len(partners)} partners · conversions {_period_text(first, last)} · amounts in {currency} · internal",
        body,
        drawn,
        "Built from the published marts. Internal: this page shows every partner.",
    )
    return document, drawn

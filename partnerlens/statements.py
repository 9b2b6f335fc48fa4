"""Payout statements from the published marts: the demo's payable summary and one file per partner and month.

Both read only the published `marts` schema (mart_partner_payout_statements and
mart_partner_payout_statement_lines) of the served file, the one BI tools open, so what they show is exactly what BI
tools and partner managers see.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb

STATEMENTS = "marts.mart_partner_payout_statements"
STATEMENT_LINES = "marts.mart_partner_payout_statement_lines"
#: The touch trail of a statement line: left empty for a conversion of an opted-out customer.
TRAIL_COLUMNS = (
    "touchpoint_id",
    "touch_occurred_at",
    "touch_campaign_id",
    "touch_channel",
    "touch_type",
    "touch_credit",
)
_TRAIL_SQL = ", ".join(f"case when opted_out then null else lines.{c} end as {c}" for c in TRAIL_COLUMNS)


def _published(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    ).fetchone()[0]
    return bool(found)


def last_closed_month(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest month whose statements are locked or paid (no longer pending), or None if there is none yet."""
    if not _published(con, STATEMENTS):
        return None
    row = con.execute(f"select max(period_month) from {STATEMENTS} where status in ('locked', 'paid')").fetchone()
    return row[0] if row else None


def _format_table(rows: list[tuple], headers: list[str], numeric: set[int]) -> str:
    cells = [headers] + [
        ["" if v is None else (f"{v:,.2f}" if i in numeric else str(v)) for i, v in enumerate(row)] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def payable_summary(con: duckdb.DuckDBPyConnection) -> str:
    """Each partner's payable total for the last closed (locked or paid) month, as a small text table.

    Partners with an agreement but no line that month are listed with 0.00, so the table answers "what do we owe
    every partner for that month". Amounts are in each agreement's currency and in the reporting currency.
    """
    month = last_closed_month(con)
    if month is None:
        return "No closed payout month yet: every booked month is still pending."
    rows = con.execute(
        f"""
        with statements as (
            select * from {STATEMENTS} where period_month = ?
        ),
        partners as (
            select partner_id, partner_name, payout_currency
            from marts.dim_partners
            where current_agreement_id is not null
        )
        select
            coalesce(statements.partner_id, partners.partner_id) as partner_id,
            coalesce(statements.partner_name, partners.partner_name) as partner_name,
            coalesce(statements.currency, partners.payout_currency) as currency,
            coalesce(statements.lines_count, 0) as lines_count,
            cast(coalesce(statements.payable_amount, 0) as double) as payable,
            cast(coalesce(statements.payable_amount_reporting, 0) as double) as payable_reporting,
            coalesce(statements.status, '-') as status
        from statements
        full outer join partners
            on statements.partner_id = partners.partner_id
        order by payable_reporting desc, partner_id
        """,
        [month],
    ).fetchall()
    reporting = con.execute(f"select max(reporting_currency) from {STATEMENTS}").fetchone()[0] or "reporting"
    total = sum(r[5] for r in rows)
    table = _format_table(
        [(r[0], r[1], r[3], r[2], r[4], r[5], r[6]) for r in rows],
        ["partner", "name", "lines", "currency", "payable", f"payable {reporting}", "status"],
        numeric={4, 5},
    )
    return (
        f"Payable for {month:%B %Y} (the last closed month), {len(rows)} partners, "
        f"total {total:,.2f} {reporting}:\n{table}"
    )


def unknown_partner(con: duckdb.DuckDBPyConnection, partner_id: str) -> str | None:
    """Why ``partner_id`` has no statements to ask for (not a partner of the published marts), or None if it is one."""
    if not _published(con, "marts.dim_partners"):
        return "No marts are published yet: run the nightly job (`partnerlens run`) first."
    known = [r[0] for r in con.execute("select partner_id from marts.dim_partners order by partner_id").fetchall()]
    if partner_id in known:
        return None
    shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return f"Unknown partner {partner_id!r}: not in marts.dim_partners (partners: {shown or 'none'})."


def write_statements(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    period_month: date | None = None,
    partner_id: str | None = None,
) -> list[Path]:
    """Write one CSV statement per partner and month (`<out>/<YYYY-MM>/<partner_id>_<currency>.csv`): a totals header
    followed by every payout line with the touch trail behind it (none for a conversion of an opted-out customer:
    the line is shown once, without touches). Defaults to the last closed month, all partners."""
    month = period_month or last_closed_month(con)
    if month is None:
        return []
    where = ["period_month = ?"]
    params: list[object] = [month]
    if partner_id:
        where.append("partner_id = ?")
        params.append(partner_id)
    cursor = con.execute(
        f"select * from {STATEMENTS} where {' and '.join(where)} order by partner_id, currency", params
    )
    names = [column[0] for column in cursor.description]
    statements = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    written: list[Path] = []
    for statement in statements:
        cursor = con.execute(
            f"""
            select line_type, reversed_line_type, original_period_month, is_adjustment, conversion_id,
                   refunded_conversion_id, agreement_id, agreement_version, attribution_model, basis_rate,
                   basis_amount, amount, currency, trail_conversion_id, touchpoint_id, touch_occurred_at,
                   touch_campaign_id, touch_channel, touch_type, touch_credit, payout_line_id, booked_in_run
            from (
                -- consent: the touch trail of an opted-out customer's conversion is not shared; the line stays
                select lines.* exclude (touchpoint_id, touch_occurred_at, touch_campaign_id, touch_channel, touch_type,
                                        touch_credit),
                       {_TRAIL_SQL}
                from (
                    select lines.*, coalesce(conversions.is_customer_opted_out, false) as opted_out
                    from {STATEMENT_LINES} as lines
                    left join marts.fct_conversions as conversions
                        on lines.trail_conversion_id = conversions.conversion_id
                    where lines.statement_id = ?
                ) as lines
                qualify not opted_out or row_number() over (partition by lines.payout_line_id) = 1
            )
            order by original_period_month, line_type, conversion_id, payout_line_id, touch_occurred_at
            """,
            [statement["statement_id"]],
        )
        headers = [column[0] for column in cursor.description]
        lines = cursor.fetchall()
        path = Path(out_dir) / f"{month:%Y-%m}" / f"{statement['partner_id']}_{statement['currency']}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["# statement", statement["statement_id"], statement["partner_name"]])
            for key in (
                "status",
                "revenue_share_amount",
                "referral_commission_amount",
                "tier_adjustment_amount",
                "cap_adjustment_amount",
                "reversal_amount",
                "earlier_periods_adjustment_amount",
                "payable_amount",
                "payable_amount_reporting",
            ):
                writer.writerow([f"# {key}", statement[key]])
            writer.writerow(headers)
            writer.writerows(["" if value is None else value for value in line] for line in lines)
        written.append(path)
    return written

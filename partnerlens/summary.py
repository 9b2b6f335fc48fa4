"""The summary printed after a nightly run: loads per feed, models built, and headline numbers from the marts."""

from __future__ import annotations

from pathlib import Path

import duckdb


def _cell(value: object) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _table(rows: list[tuple], headers: list[str]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [headers] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def load_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    rows = con.execute(
        """
        select feed,
               count(*) filter (where status = 'loaded') as files_loaded,
               count(*) filter (where status = 'skipped_duplicate') as files_skipped,
               count(*) filter (where status = 'rejected_file') as files_rejected,
               coalesce(sum(rows_loaded), 0) as rows_loaded,
               coalesce(sum(rows_rejected), 0) as rows_rejected
        from audit.load_log where run_id = ?
        group by feed order by feed
        """,
        [run_id],
    ).fetchall()
    return _table(rows, ["feed", "files loaded", "skipped (seen)", "files rejected", "rows loaded", "rows rejected"])


def models_summary(result) -> str:
    """Assets materialised per group and check outcomes, read from the run's own events."""
    materialised: dict[str, int] = {}
    checks = {"passed": 0, "failed": 0}
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            layer = event.asset_key.path[0] if event.asset_key else "other"
            materialised[layer] = materialised.get(layer, 0) + 1
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            checks["passed" if event.event_specific_data.passed else "failed"] += 1
    parts = [f"{layer} {n}" for layer, n in sorted(materialised.items())]
    return (
        "assets materialised: "
        + ", ".join(parts)
        + f"\nchecks (dbt tests and quality gates): {checks['passed']} passed, {checks['failed']} failed"
    )


def headline_summary(con: duckdb.DuckDBPyConnection) -> str:
    if not _exists(con, "marts", "fct_conversions"):
        return "marts: nothing published yet"
    partners, campaigns = con.execute(
        "select (select count(*) from marts.dim_partners), (select count(*) from marts.dim_campaigns)"
    ).fetchone()
    touches, resolved = con.execute(
        "select count(*), count(*) filter (where is_customer_resolved) from marts.fct_touchpoints"
    ).fetchone()
    conversions, revenue, refunds = con.execute(
        "select count(*) filter (where not is_refund), sum(revenue), count(*) filter (where is_refund) "
        "from marts.fct_conversions"
    ).fetchone()
    lines = [
        f"partners {partners:,}   campaigns {campaigns:,}",
        f"touchpoints {touches:,} ({resolved / max(touches, 1):.1%} resolved to a customer)",
        f"conversions {conversions:,} (+{refunds:,} refunds), net revenue {float(revenue or 0):,.2f}",
    ]
    return "\n".join(lines)


def print_run_summary(warehouse: Path, result, extra_sections=()) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        print("\n== Loads (this run)")
        print(load_summary(con, result.run_id))
        print("\n== Models and checks")
        print(models_summary(result))
        print("\n== Published marts")
        print(headline_summary(con))
        for title, section in extra_sections:
            text = section(con)
            if text:
                print(f"\n== {title}")
                print(text)
    finally:
        con.close()

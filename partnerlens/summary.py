"""The summary printed after a nightly run: loads per feed (from the warehouse), models built, and headline numbers
from the marts of the served file (what readers see)."""

from __future__ import annotations

import time
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


def build_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """What the run's dbt step built: a full build and why, an incremental one and on what, or nothing."""
    if not _exists(con, "audit", "builds"):
        return ""
    row = con.execute(
        "select build_seq, mode, reason, new_loads, loads from audit.builds where run_id = ? "
        "order by build_seq desc limit 1",
        [run_id],
    ).fetchone()
    if row is None:
        return ""
    build_seq, mode, reason, new_loads, loads = row
    if mode == "skipped":
        return f"build {build_seq}: nothing new ({reason}); the build and publish were skipped"
    if mode == "incremental":
        return f"build {build_seq}: incremental, {new_loads:,} new of {loads:,} loads of raw"
    return f"build {build_seq}: full, every model from all {loads:,} loads of raw ({reason})"


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


def attribution_summary(con: duckdb.DuckDBPyConnection) -> str:
    """Per attribution model: conversions attributed, and the three partners with the most credit; then how well each
    model recovers the generator's ground truth (when there is one)."""
    if not _exists(con, "marts", "mart_partner_attribution"):
        return ""
    rows = con.execute(
        """
        with by_partner as (
            select attribution_model, partner_id, sum(attributed_conversions) as conversions
            from marts.mart_partner_attribution
            where not is_unattributed
            group by all
        ),
        ranked as (
            select *, row_number() over (partition by attribution_model order by conversions desc, partner_id) as rn
            from by_partner
        ),
        totals as (
            select attribution_model,
                   sum(attributed_conversions) filter (where not is_unattributed) as attributed,
                   sum(attributed_conversions) filter (where is_unattributed) as unattributed
            from marts.mart_partner_attribution
            group by all
        )
        select totals.attribution_model,
               cast(totals.attributed as double),
               cast(totals.unattributed as double),
               string_agg(ranked.partner_id || ' ' || printf('%.1f', ranked.conversions), ', ' order by ranked.rn)
        from totals
        left join ranked on ranked.attribution_model = totals.attribution_model and ranked.rn <= 3
        group by all
        order by totals.attribution_model
        """
    ).fetchall()
    text = _table(rows, ["model", "attributed conv.", "unattributed", "top partners (conversions)"])
    if _exists(con, "marts", "mart_attribution_model_scores"):
        scores = con.execute(
            "select attribution_model, spearman_rank_correlation, share_mean_absolute_error "
            "from marts.mart_attribution_model_scores where partners_scored > 0 order by model_rank"
        ).fetchall()
        if scores:
            text += "\n\nAgainst the generator's ground truth of partner effects (best first):\n"
            text += _table(scores, ["model", "rank correlation", "share error (MAE)"])
    return text


def payouts_summary(con: duckdb.DuckDBPyConnection) -> str:
    if not _exists(con, "marts", "fct_partner_payouts"):
        return ""
    from partnerlens.statements import payable_summary

    return payable_summary(con)


#: How long the summary waits for another process (a `restore` that was waiting for the run) to let go of the file.
SUMMARY_WAIT_SECONDS = 10.0


def _connect_read_only(warehouse: Path, wait_seconds: float) -> duckdb.DuckDBPyConnection | str:
    """A read-only connection, or why there is none: the file is damaged, or another process holds it for writing."""
    from orchestration.warehouse.integrity import WarehouseDamaged, connect_warehouse

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return connect_warehouse(warehouse, read_only=True)
        except WarehouseDamaged as damaged:
            return str(damaged)
        except duckdb.Error as error:
            if time.monotonic() >= deadline:
                first_line = str(error).strip().splitlines()[0]
                return f"{warehouse.name} is in use by another process ({first_line}). This run is in audit.run_history"
            time.sleep(0.5)


def _print_sections(con: duckdb.DuckDBPyConnection, sections) -> None:
    for title, section in sections:
        try:
            text = section(con)
        except duckdb.Error as error:
            text = f"not available: {str(error).strip().splitlines()[0]}"
        if text:
            print(f"\n== {title}")
            print(text)


def print_run_summary(
    warehouse: Path,
    result,
    extra_sections=(),
    wait_seconds: float = SUMMARY_WAIT_SECONDS,
    served: Path | None = None,
) -> None:
    """Print the run's summary: its loads from the warehouse, the marts from the served file (``served``, by default
    the one beside the warehouse). It never raises: when the warehouse cannot be read (another command took it as the
    run ended) or a section cannot be computed, it says so and goes on."""
    from orchestration.paths import served_path
    from orchestration.warehouse.lock import WarehouseBusyError, run_lock

    marts_sections = (
        ("Published marts", headline_summary),
        ("Attribution (conversions credited per model)", attribution_summary),
        ("Payouts", payouts_summary),
        *extra_sections,
    )
    # Under the run lock, so that a run that was waiting for this one never finds the warehouse held by the summary.
    try:
        with run_lock(warehouse, wait_seconds):
            con = _connect_read_only(warehouse, wait_seconds)
            if not isinstance(con, str):
                try:
                    _print_sections(
                        con,
                        (
                            ("Loads (this run)", lambda c: load_summary(c, result.run_id)),
                            ("Build", lambda c: build_summary(c, result.run_id)),
                            ("Models and checks", lambda c: models_summary(result)),
                        ),
                    )
                finally:
                    con.close()
    except WarehouseBusyError:
        con = f"{warehouse.name} is in use by another process (another run or command has started on it)."
        con += " This run is in audit.run_history"
    if isinstance(con, str):
        print("\n== Models and checks")
        print(models_summary(result))
        print(f"\nThe summary from the warehouse is not shown: {con} (run_id {result.run_id}).")
    served = served or served_path(warehouse)
    if not served.is_file():
        print("\n== Published marts")
        print(f"marts: nothing published yet (no served file {served.name})")
        return
    from orchestration.warehouse.integrity import WarehouseDamaged, check_warehouse, connect_warehouse

    try:
        check_warehouse(served, served=True)
        served_con = connect_warehouse(served, read_only=True, served=True)
    except WarehouseDamaged as damaged:
        print(f"\nThe marts are not shown: {damaged}")
        return
    except duckdb.Error as error:
        print(f"\nThe marts are not shown: {served.name} cannot be read ({str(error).strip().splitlines()[0]}).")
        return
    try:
        _print_sections(served_con, marts_sections)
    finally:
        served_con.close()

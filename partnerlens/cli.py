"""The `partnerlens` command: generate feeds, run the nightly job, the demo, restore a published version."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path


def _cmd_generate(args: argparse.Namespace) -> int:
    from partnerlens.synthetic import generate

    summary = generate(
        Path(args.out),
        seed=args.seed,
        touchpoints=args.touchpoints,
        partners=args.partners,
        days=args.days,
        end_date=date.fromisoformat(args.end_date) if args.end_date else None,
        dirty_share=args.dirty_share,
        since=date.fromisoformat(args.since) if args.since else None,
        formats=args.formats,
    )
    print(summary)
    return 0


def _run(dbt_vars: dict | None = None, full_refresh: bool = False) -> int:
    from orchestration.paths import warehouse_path
    from partnerlens.runner import failure_messages, run_nightly
    from partnerlens.summary import print_run_summary

    result = run_nightly(dbt_vars=dbt_vars, full_refresh=full_refresh)
    if warehouse_path().exists():
        print_run_summary(warehouse_path(), result)
    from orchestration.quality.gx_adapter import run_docs_dir

    docs = run_docs_dir(result.run_id) / "index.html"
    if docs.exists():
        print(f"\nGreat Expectations data docs of this run: {docs}")
    if not result.success:
        print("\nThe nightly run FAILED; the published marts were left as they were.", file=sys.stderr)
        for message in failure_messages(result):
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(f"\nThe nightly run {result.run_id} succeeded; published marts are in schema `marts` of {warehouse_path()}.")
    return 0


def _parse_vars(text: str | None) -> dict:
    if not text:
        return {}
    import yaml

    value = yaml.safe_load(text)
    if not isinstance(value, dict):
        raise SystemExit(f"--vars must be a YAML/JSON mapping, got: {text}")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    return _run(_parse_vars(args.vars), args.full_refresh)


def _cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.paths import landing_path

    landing = landing_path()
    if not any(landing.glob("*/*/*")):
        print(
            f"Generating a demo partner ecosystem into {landing} (seed {args.seed}, {args.touchpoints:,} touchpoints)"
        )
        from partnerlens.synthetic import generate

        print(generate(landing, seed=args.seed, touchpoints=args.touchpoints, partners=args.partners))
    else:
        print(f"Landing folder {landing} already has feeds; loading what is new.")
    return _run(_parse_vars(args.vars))


def _cmd_restore(args: argparse.Namespace) -> int:
    import duckdb

    from orchestration.paths import warehouse_path
    from orchestration.warehouse.lock import run_lock
    from orchestration.warehouse.publish import restore_previous

    with run_lock(warehouse_path(), wait_seconds=30):
        con = duckdb.connect(str(warehouse_path()))
        try:
            schema = restore_previous(con, args.version)
        finally:
            con.close()
    print(f"`marts` now serves {schema}.")
    return 0


def _cmd_statements(args: argparse.Namespace) -> int:
    import duckdb

    from orchestration.paths import warehouse_path
    from partnerlens.statements import write_statements

    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        month = date.fromisoformat(args.month + "-01") if args.month else None
        paths = write_statements(con, Path(args.out), period_month=month, partner_id=args.partner)
    finally:
        con.close()
    if not paths:
        print("No closed payout month yet: nothing to write.")
        return 0
    for path in paths:
        print(path)
    return 0


def _cmd_scorecards(args: argparse.Namespace) -> int:
    import duckdb

    from partnerlens.scorecards import MartsNotServed, write_scorecards

    warehouse = Path(args.warehouse)
    if not warehouse.exists():
        print(f"No warehouse at {warehouse}: run the nightly job (`partnerlens run`) first.", file=sys.stderr)
        return 1
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        written = write_scorecards(con, Path(args.out))
    except MartsNotServed as error:
        print(f"{warehouse}: {error}.", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(f"Wrote {len(written)} partner scorecards to {written.out_dir / 'partners'}")
    print(f"Joint-program dashboard: {written.index}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partnerlens", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic partner ecosystem into a landing folder")
    gen.add_argument("--out", default=os.environ.get("PARTNERLENS_LANDING", "landing"))
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--touchpoints", type=int, default=200_000)
    gen.add_argument("--partners", type=int, default=50)
    gen.add_argument("--days", type=int, default=180)
    gen.add_argument("--end-date", help="last simulated day (default: yesterday, UTC)")
    gen.add_argument("--since", help="write only an incremental delivery of events on or after this date")
    gen.add_argument("--dirty-share", type=float, default=0.01)
    gen.add_argument("--formats", choices=["mixed", "csv"], default="mixed")
    gen.set_defaults(func=_cmd_generate)

    run = sub.add_parser("run", help="run the nightly job once, in process")
    run.add_argument("--vars", help="dbt vars as YAML/JSON, e.g. '{attribution_lookback_days: 14}'")
    run.add_argument("--full-refresh", action="store_true")
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="generate demo feeds (if none landed yet) and run the nightly job")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--touchpoints", type=int, default=200_000)
    demo.add_argument("--partners", type=int, default=50)
    demo.add_argument("--vars", help="dbt vars as YAML/JSON")
    demo.set_defaults(func=_cmd_demo)

    restore = sub.add_parser("restore", help="serve the previously published marts again")
    restore.add_argument("--version", help="a specific versioned schema (marts_build_...) to serve")
    restore.set_defaults(func=_cmd_restore)

    statements = sub.add_parser("statements", help="write payout statements (CSV per partner and month)")
    statements.add_argument("--out", default="statements")
    statements.add_argument("--month", help="YYYY-MM (default: the last closed month)")
    statements.add_argument("--partner", help="one partner id (default: all)")
    statements.set_defaults(func=_cmd_statements)

    scorecards = sub.add_parser(
        "scorecards",
        help="write a self-contained HTML scorecard per partner and the internal joint-program dashboard",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    scorecards.add_argument(
        "--out", default="scorecards", help="folder to write index.html and partners/<partner_id>.html into"
    )
    scorecards.add_argument(
        "--warehouse",
        default=os.environ.get("PARTNERLENS_WAREHOUSE", "warehouse/partnerlens.duckdb"),
        help="the DuckDB warehouse whose served `marts` schema is read (environment: PARTNERLENS_WAREHOUSE)",
    )
    scorecards.set_defaults(func=_cmd_scorecards)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

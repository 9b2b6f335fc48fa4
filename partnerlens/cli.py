"""The `partnerlens` command: generate feeds, run the nightly job, the demo, restore a published version, write
payout statements and scorecards, erase a customer."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path


def _cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.paths import landing_path
    from partnerlens.synthetic import generate

    summary = generate(
        Path(args.out) if args.out else landing_path(),
        seed=args.seed,
        touchpoints=args.touchpoints,
        partners=args.partners,
        days=args.days,
        end_date=date.fromisoformat(args.end_date) if args.end_date else None,
        dirty_share=args.dirty_share,
        since=date.fromisoformat(args.since) if args.since else None,
        formats=args.formats,
        truth=args.truth,
    )
    print(summary)
    return 0


def _run(dbt_vars: dict | None = None, full_refresh: bool = False, verbose: bool = False) -> int:
    """Run the nightly job: a line per stage as it finishes, then warnings, the summary and any failure in full."""
    from orchestration.paths import landing_path, served_path, warehouse_path
    from orchestration.warehouse.integrity import check_warehouse
    from partnerlens.progress import RunReporter, quiet_output
    from partnerlens.runner import compute_log_paths, ensure_dagster_home, run_nightly
    from partnerlens.summary import print_run_summary

    check_warehouse(warehouse_path())  # a damaged file stops the run before it starts (see main)
    home = ensure_dagster_home()
    print(f"Nightly run: feeds from {landing_path()}, warehouse {warehouse_path()}, Dagster home {home}", flush=True)
    if verbose:
        os.environ["PARTNERLENS_GX_PROGRESS_BARS"] = "1"
        reporter = RunReporter(sys.stdout)
        with reporter.running():
            result = run_nightly(dbt_vars=dbt_vars, full_refresh=full_refresh, reporter=reporter)
    else:
        with quiet_output() as terminal:
            reporter = RunReporter(terminal, live=terminal.isatty())
            with reporter.running():
                result = run_nightly(
                    dbt_vars=dbt_vars, full_refresh=full_refresh, reporter=reporter, console_log_level="INFO"
                )
    warnings = reporter.warnings()
    if warnings:
        print("\nWarnings:")
        for warning in warnings:
            print(f"  - {warning}")
    if warehouse_path().exists():
        print_run_summary(warehouse_path(), result)
    from orchestration.quality.gx_adapter import run_docs_dir

    docs = run_docs_dir(result.run_id) / "index.html"
    if docs.exists():
        print(f"\nGate report of this run (every check, its outcome and failing rows; works offline): {docs}")
    logs = compute_log_paths(result.run_id, reporter.log_file_key)
    where = f"Dagster run {result.run_id} (`make dev` shows it" + (
        f"; its output: {logs[0].with_suffix('')}.out/.err)" if logs else ")"
    )
    if not result.success:
        sys.stdout.flush()
        print("\nThe nightly run FAILED; the published marts were left as they were.", file=sys.stderr)
        for line in reporter.failures():
            print(f"  {line}", file=sys.stderr)
        print(where, file=sys.stderr)
        return 1
    if reporter.nothing_new:
        print(
            "\nThe nightly run succeeded with nothing new since the last publish: nothing was built or published; "
            f"readers keep the published marts of {served_path()} as they were."
        )
        print(where)
        return 0
    print(f"\nThe nightly run succeeded; readers open the published marts in schema `marts` of {served_path()}.")
    print(where)
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
    return _run(_parse_vars(args.vars), args.full_refresh, verbose=args.verbose)


def _cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.paths import landing_path, warehouse_path
    from orchestration.warehouse.integrity import check_warehouse
    from partnerlens.progress import format_stage_line

    check_warehouse(warehouse_path())  # before anything is generated
    landing = landing_path()
    if not any(landing.glob("*/*/*")):
        from partnerlens.synthetic import generate

        print(f"Generating a demo partner ecosystem (seed {args.seed}, {args.touchpoints:,} touchpoints)", flush=True)
        summary = generate(landing, seed=args.seed, touchpoints=args.touchpoints, partners=args.partners)
        if args.verbose:
            print(summary)
        rows, dirty = sum(summary.rows.values()), sum(summary.dirty_rows.values())
        what = (
            f"{len(summary.files)} files, {rows:,} rows ({dirty:,} with a defect) of "
            f"{summary.window_start} .. {summary.window_end} into {landing}"
        )
        print(format_stage_line("generate", summary.wall_seconds, what))
    else:
        # A later day: the partners' next delivery (the days since the last one), as a real night would bring it.
        from partnerlens.synthetic import catch_up

        caught_up = catch_up(landing)
        if caught_up.summary is None:
            print(format_stage_line("generate", None, f"{landing}: {caught_up.note}"))
        else:
            summary = caught_up.summary
            if args.verbose:
                print(summary)
            rows = sum(summary.rows.values())
            what = (
                f"{caught_up.note}: {len(summary.files)} files, {rows:,} rows of "
                f"{summary.window_start} .. {summary.window_end} into {landing}"
            )
            print(format_stage_line("generate", summary.wall_seconds, what))
    return _run(_parse_vars(args.vars), verbose=args.verbose)


def _cmd_restore(args: argparse.Namespace) -> int:
    from orchestration.paths import served_path, warehouse_path
    from orchestration.warehouse.integrity import check_warehouse, connect_warehouse
    from orchestration.warehouse.lock import WarehouseBusyError, run_lock
    from orchestration.warehouse.publish import RestoreError, restore_previous
    from orchestration.warehouse.served import ServedWriteError, write_served

    warehouse = warehouse_path()
    if not warehouse.exists():
        print(
            f"No warehouse at {warehouse}: nothing was ever published, so there is nothing to restore.", file=sys.stderr
        )
        return 1
    check_warehouse(warehouse)  # before taking the run lock beside it
    try:
        with run_lock(warehouse, wait_seconds=30):
            con = connect_warehouse(warehouse)
            try:
                schema = restore_previous(con, args.version)
                served = write_served(con, served_path())
            finally:
                con.close()
    except (RestoreError, WarehouseBusyError) as error:
        print(f"{warehouse}: {error}", file=sys.stderr)
        return 1
    except ServedWriteError as error:
        print(f"`marts` of the warehouse now serves {schema}, but {error}.", file=sys.stderr)
        return 1
    print(f"`marts` now serves {schema}; readers open {served.path}.")
    return 0


def _cmd_statements(args: argparse.Namespace) -> int:
    from orchestration.paths import served_path
    from orchestration.warehouse.served import ServedNotFound, connect_served
    from partnerlens.statements import unknown_partner, write_statements

    try:
        con = connect_served(served_path())
    except ServedNotFound as error:
        print(error, file=sys.stderr)
        return 1
    try:
        problem = unknown_partner(con, args.partner) if args.partner else None
        if problem:
            print(problem, file=sys.stderr)
            return 1
        paths = write_statements(con, Path(args.out), period_month=args.month, partner_id=args.partner)
    finally:
        con.close()
    if not paths:
        if args.month is None:
            print("No closed payout month yet: nothing to write.")
        else:
            who = f" of partner {args.partner}" if args.partner else ""
            print(f"No payout statements{who} for {args.month:%Y-%m}: nothing to write.")
        return 0
    for path in paths:
        print(path)
    return 0


def _cmd_quarantine(args: argparse.Namespace) -> int:
    from orchestration.paths import warehouse_path
    from orchestration.warehouse.integrity import check_warehouse, connect_warehouse
    from orchestration.warehouse.lock import WarehouseBusyError, run_lock
    from orchestration.warehouse.quarantine import DROPPED, RELEASED, QuarantineError, decide, held_files

    warehouse = warehouse_path()
    if not warehouse.exists():
        print(f"No warehouse at {warehouse}: nothing is held.", file=sys.stderr)
        return 1
    check_warehouse(warehouse)  # before taking the run lock beside it
    if not (args.release or args.drop):
        # Under the run lock: a reader of the warehouse file while a run writes it would make the run's next step fail.
        try:
            with run_lock(warehouse, wait_seconds=30), connect_warehouse(warehouse, read_only=True) as con:
                exists = con.execute(
                    "select count(*) from duckdb_tables() where schema_name = 'audit' and table_name = 'quarantine'"
                ).fetchone()[0]
                held = held_files(con) if exists else []
        except WarehouseBusyError as error:
            print(f"{warehouse}: {error}", file=sys.stderr)
            return 1
        if not held:
            print("Nothing is held in quarantine.")
        for f in held:
            print(f"{f.source_file}  (feed {f.feed}, load {f.load_id}, refused by run {f.run_id})\n    {f.reason}")
        return 0
    try:
        with run_lock(warehouse, wait_seconds=30), connect_warehouse(warehouse) as con:
            done = decide(con, args.release or args.drop, RELEASED if args.release else DROPPED, args.note)
    except (QuarantineError, WarehouseBusyError) as error:
        print(f"{warehouse}: {error}", file=sys.stderr)
        return 1
    for held, deleted in done:
        if args.release:
            print(f"Released {held.source_file}: its rows are part of the next build.")
        else:
            print(f"Dropped {held.source_file}: {deleted} rows deleted from raw.{held.feed}.")
    return 0


def _cmd_erase(args: argparse.Namespace) -> int:
    from orchestration.paths import served_path, warehouse_path
    from orchestration.warehouse.erasure import ErasureError, erase, record_files, scrub_files
    from orchestration.warehouse.integrity import check_warehouse, connect_warehouse
    from orchestration.warehouse.lock import WarehouseBusyError, run_lock
    from orchestration.warehouse.served import ServedWriteError, write_served
    from orchestration.warehouse.versions import served_schema

    warehouse = warehouse_path()
    if not warehouse.exists():
        print(f"No warehouse at {warehouse}: nothing to erase.", file=sys.stderr)
        return 1
    check_warehouse(warehouse)
    wait = float(os.environ.get("PARTNERLENS_LOCK_WAIT_SECONDS", "600"))
    try:
        with run_lock(warehouse, wait_seconds=wait), connect_warehouse(warehouse) as con:
            result = erase(con, customer_id=args.customer_id, email=args.email)
            served_message = "no marts are published yet"
            if served_schema(con) is not None:
                outcome = write_served(con, served_path())
                served_message = f"the served file {outcome.path} was written anew without the customer"
            files = scrub_files([Path(d) for d in args.statements or ["statements"]], result.subject)
            scorecards = _rewrite_scorecards(served_path(), Path(args.scorecards) if args.scorecards else None)
            record_files(con, result.erasure_id, len(files) + scorecards)
    except (ErasureError, WarehouseBusyError, ServedWriteError) as error:
        print(f"{warehouse}: {error}", file=sys.stderr)
        return 1
    removed = sum(result.rows.values())
    print(
        f"Erased customer {result.subject_hash[:16]} (keyed hash; erasure {result.erasure_id}): "
        f"{result.identifiers} identifiers, {removed} rows removed or redacted in {len(result.rows)} tables; "
        f"{served_message}; {len(files)} statement files and {scorecards} scorecard pages rewritten. "
        "Later deliveries about the customer are dropped at load (rule erased_subject); the next run is a full build."
    )
    return 0


def _rewrite_scorecards(served: Path, out: Path | None) -> int:
    """Write the scorecards anew from the served file where they were written (if they were): the pages written."""
    from orchestration.paths import warehouse_path
    from orchestration.warehouse.served import connect_served
    from partnerlens.scorecards import MartsNotServed, default_out_dir, write_scorecards

    folder = out or default_out_dir(warehouse_path())
    if not (folder / "index.html").exists() or not served.is_file():
        return 0
    con = connect_served(served)
    try:
        return len(write_scorecards(con, folder)) + 1
    except MartsNotServed:
        return 0
    finally:
        con.close()


def _month(text: str) -> date:
    """A --month value: YYYY-MM with a month from 01 to 12 (argparse reports anything else as a usage error)."""
    try:
        if len(text) == 7 and text[4] == "-":
            return date.fromisoformat(text + "-01")
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a month: expected YYYY-MM, with a month from 01 to 12")


def _cmd_docs(args: argparse.Namespace) -> int:
    from orchestration.paths import served_path
    from orchestration.warehouse.integrity import check_warehouse
    from partnerlens.docs import generate_docs

    served = served_path()
    check_warehouse(served, served=True)
    if not served.is_file():
        if not args.demo:
            print(
                f"No served warehouse at {served}: the docs describe the marts a run has published. "
                "Run `make demo` (or `partnerlens run`) first, or add --demo.",
                file=sys.stderr,
            )
            return 1
        code = _cmd_demo(build_parser().parse_args(["demo"]))
        if code != 0:
            return code
    print(f"Generating dbt docs of the marts served in schema `marts` of {served} ...", flush=True)
    result = generate_docs(served)
    columns = sum(len(c) for c in result.documented.values())
    print(f"{len(result.documented)} served marts documented with their {columns} columns and types:")
    print(f"  {result.static_page}  (one page, opens from disk)")
    print(f"  or serve them: .venv/bin/dbt docs serve --target-path {result.out_dir}")
    if result.missing:
        print(
            f"The catalog has no columns for {', '.join(result.missing)}: not served yet? `partnerlens run` serves it.",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_scorecards(args: argparse.Namespace) -> int:
    from orchestration.paths import served_path, warehouse_path
    from orchestration.warehouse.served import ServedNotFound, connect_served
    from partnerlens.scorecards import MartsNotServed, default_out_dir, write_scorecards

    served = served_path()
    try:
        con = connect_served(served)
    except ServedNotFound as error:
        print(error, file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else default_out_dir(warehouse_path())
    try:
        written = write_scorecards(con, out)
    except MartsNotServed as error:
        print(f"{served}: {error}.", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(f"Wrote {len(written)} partner scorecards to {written.out_dir / 'partners'}")
    print(f"Joint-program dashboard: {written.index}")
    return 0


class Parser(argparse.ArgumentParser):
    """argparse's parser, saying why an abbreviated option is refused (argparse would otherwise take `--touchpoint`
    for `--touchpoints`, or for whichever option it is the start of)."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments"):
            message += " (options are never abbreviated: `--help` lists their full names)"
        super().error(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help shows its default: argparse's "(default: ...)", except for an option whose default is
    None, whose help says itself what happens when it is left out (e.g. "default: the last closed month")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def _env_default(variable: str, fallback: str) -> str:
    """How an option that stands beside an environment variable defaults, as its help says it."""
    value = os.environ.get(variable)
    if value:
        return f"${variable}, now {value}"
    return f"${variable} if set, else {fallback} in the project directory"


def add_location_options(parser: argparse.ArgumentParser, landing: bool = True) -> None:
    """--warehouse, --served (and --landing): the same settings as PARTNERLENS_WAREHOUSE, PARTNERLENS_SERVED and
    PARTNERLENS_LANDING."""
    from orchestration.paths import DEFAULT_LANDING, DEFAULT_WAREHOUSE

    parser.add_argument(
        "--warehouse",
        metavar="FILE",
        help="the DuckDB warehouse file; default: " + _env_default("PARTNERLENS_WAREHOUSE", DEFAULT_WAREHOUSE),
    )
    served = os.environ.get("PARTNERLENS_SERVED")
    parser.add_argument(
        "--served",
        metavar="FILE",
        help="the served warehouse file, the one readers open and publish rewrites; default: "
        + (
            f"$PARTNERLENS_SERVED, now {served}"
            if served
            else "$PARTNERLENS_SERVED if set, else <warehouse name>_served.duckdb beside the warehouse file"
        ),
    )
    if landing:
        parser.add_argument(
            "--landing",
            metavar="DIR",
            help="the folder feeds land in; default: " + _env_default("PARTNERLENS_LANDING", DEFAULT_LANDING),
        )


def apply_location_options(args: argparse.Namespace) -> None:
    """Hand --warehouse / --served / --landing on as the environment variables every part of Partnerlens reads (dbt
    too).

    A relative path on the command line is taken from the current directory; set before anything reads them.
    """
    for option, variable in (
        ("warehouse", "PARTNERLENS_WAREHOUSE"),
        ("served", "PARTNERLENS_SERVED"),
        ("landing", "PARTNERLENS_LANDING"),
    ):
        value = getattr(args, option, None)
        if value:
            os.environ[variable] = str(Path(value).expanduser().resolve())


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vars",
        metavar="YAML",
        help="dbt vars as a YAML/JSON mapping, e.g. '{attribution_lookback_days: 14}'; default: none, every var "
        "keeps the default documented in dbt_project.yml",
    )
    add_location_options(parser)
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print Dagster's debug log, dbt's own output and Great Expectations' progress bars as the run goes",
    )


RUN_EPILOG = (
    "The run is recorded in the Dagster instance at $DAGSTER_HOME (default: .dagster_home in the project "
    "directory), the one `make dev` opens in the Dagster UI."
)


def build_parser() -> argparse.ArgumentParser:
    """The `partnerlens` parser: no subcommand or option may be abbreviated, and every option shows its default."""
    parser = Parser(prog="partnerlens", description=__doc__, allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, **kwargs: object) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=summary, description=summary, formatter_class=HelpFormatter, allow_abbrev=False, **kwargs
        )

    gen = command("generate", "write a synthetic partner ecosystem into a landing folder")
    gen.add_argument(
        "--out",
        metavar="DIR",
        help="landing folder to write into; default: the one `run` loads, "
        + _env_default("PARTNERLENS_LANDING", "landing"),
    )
    gen.add_argument("--seed", type=int, default=7, help="random seed: the same arguments write the same files")
    gen.add_argument("--touchpoints", type=int, default=200_000, help="about how many partner touchpoints to write")
    gen.add_argument("--partners", type=int, default=50, help="how many partners the ecosystem has")
    gen.add_argument("--days", type=int, default=180, help="how many days of activity, ending at --end-date")
    gen.add_argument("--end-date", metavar="YYYY-MM-DD", help="last simulated day; default: yesterday (UTC)")
    gen.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        help="write only an incremental delivery of the events on or after this day; default: a full delivery",
    )
    gen.add_argument(
        "--dirty-share", type=float, default=0.01, help="share of event rows given one defect the loader must catch"
    )
    gen.add_argument(
        "--formats",
        choices=["mixed", "csv"],
        default="mixed",
        help="file formats of the partner feeds: CSV, JSON Lines and Parquet mixed, or CSV only",
    )
    gen.add_argument(
        "--truth",
        choices=["standard", "hard"],
        default="standard",
        help="ground truth: partners touch customers independently of intent (standard), or coupon and cashback "
        "partners also touch buyers just before purchases that happen anyway, with no true lift (hard)",
    )
    gen.set_defaults(func=_cmd_generate)

    run = command("run", "run the nightly job once, in this process", epilog=RUN_EPILOG)
    _add_run_options(run)
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help=(
            "rebuild every incremental model from all of raw into a new generation of the state (dbt --full-refresh);"
            " the served version keeps its own until this build is published"
        ),
    )
    run.set_defaults(func=_cmd_run)

    demo = command(
        "demo",
        "generate demo feeds (a full delivery when none have landed yet, else the days since the last one) and run "
        "the nightly job",
        epilog=RUN_EPILOG,
    )
    demo.add_argument(
        "--seed", type=int, default=7, help="random seed of the first demo delivery (later ones keep its arguments)"
    )
    demo.add_argument(
        "--touchpoints", type=int, default=200_000, help="about how many touchpoints the first delivery has"
    )
    demo.add_argument("--partners", type=int, default=50, help="how many partners the first delivery has")
    _add_run_options(demo)
    demo.set_defaults(func=_cmd_demo)

    restore = command("restore", "serve the previously published marts again")
    restore.add_argument(
        "--version",
        metavar="SCHEMA",
        help="a versioned schema (marts_build_...) to serve; default: the version served before the current one",
    )
    add_location_options(restore, landing=False)
    restore.set_defaults(func=_cmd_restore)

    statements = command("statements", "write payout statements (CSV per partner and month)")
    statements.add_argument("--out", default="statements", metavar="DIR", help="folder to write the statements into")
    statements.add_argument(
        "--month", metavar="YYYY-MM", type=_month, help="the payout month; default: the last closed month"
    )
    statements.add_argument("--partner", metavar="ID", help="one partner id; default: every partner")
    add_location_options(statements, landing=False)
    statements.set_defaults(func=_cmd_statements)

    docs = command(
        "docs",
        "dbt docs of the served marts, with every column's type (needs a warehouse a run has published into)",
    )
    add_location_options(docs, landing=False)
    docs.add_argument(
        "--demo", action="store_true", help="when there is no warehouse yet, run the demo first (as `make docs` does)"
    )
    docs.set_defaults(func=_cmd_docs)

    scorecards = command(
        "scorecards", "write a self-contained HTML scorecard per partner and the internal joint-program dashboard"
    )
    scorecards.add_argument(
        "--out",
        metavar="DIR",
        help="folder to write index.html and partners/<partner_id>.html into; default: $PARTNERLENS_SCORECARDS if "
        "set, else scorecards/ beside the warehouse file (where the nightly job writes them)",
    )
    add_location_options(scorecards, landing=False)
    scorecards.set_defaults(func=_cmd_scorecards)

    quarantine = command(
        "quarantine",
        "list the files gate 1 refused (held until a person decides), or release or drop one; every decision is "
        "recorded in audit.quarantine",
    )
    decision = quarantine.add_mutually_exclusive_group()
    decision.add_argument(
        "--release",
        metavar="FILE",
        help="accept the held FILE (as audit.quarantine names it, or its load id) as it is: its rows join the next "
        "build; default: none, list the held files",
    )
    decision.add_argument(
        "--drop",
        metavar="FILE",
        help="delete the held FILE's rows from raw.<feed>; default: none, list the held files",
    )
    quarantine.add_argument("--note", metavar="TEXT", help="why: kept with the decision; default: none")
    add_location_options(quarantine, landing=False)
    quarantine.set_defaults(func=_cmd_quarantine)

    erase_cmd = command(
        "erase",
        "erase one customer from raw, every model, the served file and the shared files; keep a tombstone (keyed "
        "hash) so that later deliveries about the customer are dropped at load",
    )
    who = erase_cmd.add_mutually_exclusive_group()
    who.add_argument("--customer-id", metavar="ID", help="the customer id to erase (this or --email); default: none")
    who.add_argument(
        "--email",
        metavar="ADDRESS",
        help="erase every customer with this email, and the email itself (this or --customer-id); default: none",
    )
    erase_cmd.add_argument(
        "--statements",
        metavar="DIR",
        action="append",
        default=None,
        help="a folder `partnerlens statements` wrote into, rewritten without the customer (repeatable); "
        "default: statements",
    )
    erase_cmd.add_argument(
        "--scorecards",
        metavar="DIR",
        help="the scorecards folder, written anew; default: $PARTNERLENS_SCORECARDS if set, else scorecards/ beside "
        "the warehouse file",
    )
    add_location_options(erase_cmd, landing=False)
    erase_cmd.set_defaults(func=_cmd_erase)
    return parser


#: The commands that run on any target: they read or write files only.
TARGET_FREE_COMMANDS = frozenset({"generate"})


def refuse_on_postgres(command: str) -> str | None:
    """Why `command` does not run with PARTNERLENS_TARGET=postgres, or None when it does.

    The nightly job's loads, gates, publish and ledger, and the commands that read the published warehouse, are
    written against the DuckDB warehouse file: run on the postgres target they would load into DuckDB and build on
    PostgreSQL. Until they speak PostgreSQL they refuse, and name what does run there."""
    from orchestration.warehouse.postgres import is_postgres

    if command in TARGET_FREE_COMMANDS or not is_postgres():
        return None
    return (
        f"partnerlens {command} does not run on PostgreSQL (PARTNERLENS_TARGET=postgres): the nightly job, restore, "
        "quarantine, statements, scorecards, docs and the summary read and write the DuckDB warehouse file only. On "
        "PostgreSQL, load with `python -m orchestration.feeds.postgres_loads`, build with `dbt build` and publish "
        "with orchestration.warehouse.postgres_publish (README, Engines); unset PARTNERLENS_TARGET to run on DuckDB."
    )


def main(argv: list[str] | None = None) -> int:
    from orchestration.warehouse.integrity import WarehouseDamaged

    args = build_parser().parse_args(argv)
    apply_location_options(args)
    refused = refuse_on_postgres(args.command)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except WarehouseDamaged as damaged:  # any command: the file is named, and nothing was written to it
        print(damaged, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The feed loader with PostgreSQL as the warehouse: validation stays set-based in DuckDB, the rows land in PostgreSQL.

Each file is checked by the same loader as on DuckDB (:mod:`orchestration.feeds.loader`), run on a scratch DuckDB
database that holds only what the checks read from the warehouse: every ``audit.load_log`` row of the feed (checksum
dedupe), the referenced ids (``references``) and, for an append feed, the rows of ``raw.<feed>`` whose keys the file
repeats (fetched from PostgreSQL once the file's rows are typed). What the loader wrote for the file (its valid rows
with the lineage columns, its rejected rows, its ``audit.load_log`` row) is then copied into PostgreSQL with COPY, in
one PostgreSQL transaction per file, which also holds the reads: a file lands whole or not at all. A file whose copy
fails leaves nothing but a ``failed`` row in ``audit.load_log`` (its own transaction), and is tried again next run.

The tables in PostgreSQL have the columns of their DuckDB definitions (contracts and audit DDL), typed by
:func:`orchestration.warehouse.postgres.postgres_type`.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Mapping
from pathlib import Path

import duckdb

from orchestration.feeds.context import (
    STATUS_FAILED,
    FeedLoadResult,
    FileLoadResult,
    LoadContext,
    LoadError,
    first_line,
)
from orchestration.feeds.contracts import FeedContract, load_contracts
from orchestration.feeds.files import discover_files, shown_name
from orchestration.feeds.ground_truth import TABLE as GROUND_TRUTH_TABLE
from orchestration.feeds.ground_truth import load_ground_truth
from orchestration.feeds.loader import ensure_warehouse, load_file
from orchestration.warehouse.postgres import columns_of, copy_table, csv_of, postgres_type, quote

#: The tables a load writes, besides raw.<feed>, as (schema, table, the column naming the load).
AUDIT_TABLES = (("audit", "load_log", "load_id"), ("audit", "rejected_rows", "load_id"))


def ensure_postgres_tables(pg, contracts: Mapping[str, FeedContract] | None = None) -> None:
    """Create schemas raw and audit, the loader's audit tables and one raw.<feed> per contract in PostgreSQL, with
    the columns of their DuckDB definitions; a column a contract gained is added (idempotent, one transaction)."""
    contracts = contracts if contracts is not None else load_contracts()
    duck = duckdb.connect()
    try:
        ensure_warehouse(duck, contracts)
        tables = [("raw", feed) for feed in contracts] + [(schema, table) for schema, table, _ in AUDIT_TABLES]
        with pg.cursor() as cur:
            for schema, table in tables:
                _ensure_like(cur, duck, schema, table)
        pg.commit()
    except BaseException:
        pg.rollback()
        raise
    finally:
        duck.close()


def _ensure_like(cur, duck: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Create `schema.table` in PostgreSQL like the DuckDB table, or add the columns it lacks."""
    nullable = dict(
        duck.execute(
            "select column_name, is_nullable from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    )
    columns = [
        f"{quote(name)} {postgres_type(dtype)}{'' if nullable.get(name) == 'YES' else ' not null'}"
        for name, dtype in columns_of(duck, schema, table)
    ]
    cur.execute(f"create schema if not exists {quote(schema)}")
    cur.execute(f"create table if not exists {quote(schema)}.{quote(table)} ({', '.join(columns)})")
    for column in columns:
        # a column of a table created before the contract gained it; null for the rows already there
        cur.execute(
            f"alter table {quote(schema)}.{quote(table)} add column if not exists {column.removesuffix(' not null')}"
        )


def load_feed_postgres(pg, contract: FeedContract, landing_root: Path, run_id: str | None = None) -> FeedLoadResult:
    """Load every landed file of one feed into PostgreSQL, in path order (see the module documentation): the
    PostgreSQL counterpart of :func:`orchestration.feeds.loader.load_feed`, with the same result and errors."""
    landing_root = Path(landing_root)
    if not landing_root.is_dir():
        raise LoadError(
            f"the landing folder {landing_root} does not exist or is not a folder: nothing can be loaded "
            "(check PARTNERLENS_LANDING or --landing)"
        )
    ensure_postgres_tables(pg)
    with tempfile.TemporaryDirectory(prefix="partnerlens-validate-") as folder:
        duck = duckdb.connect(str(Path(folder) / "validate.duckdb"))
        try:
            ensure_warehouse(duck, load_contracts())
            with pg.cursor() as cur:
                _mirror_state(cur, duck, contract)
            pg.commit()
            result = FeedLoadResult(feed=contract.feed)
            for source, path in discover_files(landing_root, contract.feed):
                result.files.append(_load_file(pg, duck, contract, path, source, landing_root, run_id))
            return result
        finally:
            duck.close()


def _load_file(
    pg,
    duck: duckdb.DuckDBPyConnection,
    contract: FeedContract,
    path: Path,
    source: str,
    landing_root: Path,
    run_id: str | None,
) -> FileLoadResult:
    """One file: checked on the scratch DuckDB, its outcome copied into PostgreSQL in one transaction."""

    def existing_rows(con: duckdb.DuckDBPyConnection, ctx: LoadContext, checked: str) -> None:
        with pg.cursor() as cur:
            _fetch_existing_rows(cur, con, ctx, checked)

    try:
        result = load_file(duck, contract, path, source, landing_root, run_id, existing_rows=existing_rows)
    except LoadError:
        pg.rollback()
        # the loader logged the file `failed` in the scratch load_log: keep that row in PostgreSQL too
        failed = duck.execute(
            "select load_id from audit.load_log where feed = ? and status = ? order by finished_at desc limit 1",
            [contract.feed, STATUS_FAILED],
        ).fetchall()
        if failed:
            with contextlib.suppress(Exception), pg.cursor() as cur:
                _copy_out(cur, duck, "audit", "load_log", "load_id", failed[0][0])
                pg.commit()
        raise
    try:
        with pg.cursor() as cur:
            cur.execute("set local timezone = 'UTC'")
            _copy_out(cur, duck, "raw", contract.feed, "_load_id", result.load_id)
            for schema, table, column in AUDIT_TABLES:
                _copy_out(cur, duck, schema, table, column, result.load_id)
        pg.commit()
    except Exception as exc:
        pg.rollback()
        message = f"{shown_name(result.file)}: load failed and was rolled back, nothing was kept: {first_line(exc)}"
        _forget(duck, contract, result.load_id)
        with contextlib.suppress(Exception), pg.cursor() as cur:
            cur.execute(
                "insert into audit.load_log (load_id, run_id, feed, source, source_file, file_checksum, file_bytes,"
                " status, rows_in_file, rows_loaded, rows_rejected, message, started_at, finished_at)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, 0, 0, 0, %s, now(), now())",
                [
                    result.load_id,
                    run_id,
                    contract.feed,
                    source,
                    result.file,
                    result.checksum,
                    result.file_bytes,
                    STATUS_FAILED,
                    message,
                ],
            )
            pg.commit()
        raise LoadError(message) from exc
    # the file is in PostgreSQL now; the scratch database keeps only its load_log row (for the checksum dedupe)
    duck.execute(f"delete from raw.{quote(contract.feed)} where _load_id = ?", [result.load_id]).fetchall()
    duck.execute("delete from audit.rejected_rows where load_id = ?", [result.load_id]).fetchall()
    return result


def _forget(duck: duckdb.DuckDBPyConnection, contract: FeedContract, load_id: str) -> None:
    """Remove a load from the scratch database (its copy into PostgreSQL failed)."""
    duck.execute(f"delete from raw.{quote(contract.feed)} where _load_id = ?", [load_id]).fetchall()
    for schema, table, column in AUDIT_TABLES:
        duck.execute(f"delete from {schema}.{table} where {column} = ?", [load_id]).fetchall()


def _mirror_state(cur, duck: duckdb.DuckDBPyConnection, contract: FeedContract) -> None:
    """What the checks of `contract` read from the warehouse, from PostgreSQL into the scratch DuckDB: the feed's
    load_log (checksum dedupe) and the referenced ids."""
    cur.execute("set local timezone = 'UTC'")
    _copy_in(cur, duck, "audit", "load_log", None, "where feed = " + cur.mogrify("%s", [contract.feed]).decode())
    for column in contract.columns:
        if column.reference is None:
            continue
        feed, name = column.reference
        _copy_in(cur, duck, "raw", feed, [name], distinct=True)


def _fetch_existing_rows(cur, duck: duckdb.DuckDBPyConnection, ctx: LoadContext, checked: str) -> None:
    """The rows of PostgreSQL's raw.<feed> with a key among the file's valid rows, into the scratch raw.<feed>
    (in the PostgreSQL transaction of the file)."""
    contract = ctx.contract
    keys = list(contract.key)
    types = {c.name: c.duckdb_type for c in contract.columns}
    cur.execute("set local timezone = 'UTC'")
    cur.execute(
        "create temp table if not exists _pl_keys ("
        + ", ".join(f"{quote(k)} {postgres_type(types[k])}" for k in keys)
        + ") on commit drop"
    )
    cur.execute("truncate _pl_keys")
    rows = csv_of(duck, f"select distinct {', '.join(f'_t_{k}' for k in keys)} from {checked} where _fail is null")
    cur.copy_expert("copy _pl_keys from stdin with (format csv, header false)", io.BytesIO(rows))
    on = " and ".join(f"_rows.{quote(k)} = _pl_keys.{quote(k)}" for k in keys)
    _copy_in(cur, duck, "raw", contract.feed, None, f"join _pl_keys on {on}")


def _copy_in(
    cur,
    duck: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    columns: list[str] | None = None,
    tail: str = "",
    distinct: bool = False,
) -> None:
    """Append rows of PostgreSQL's `schema.table` (as `_rows`, `tail` appended: joins, where) to the scratch
    DuckDB table of the same name (the given columns, else all)."""
    types = dict(columns_of(duck, schema, table))
    names = columns or list(types)
    selected = ", ".join(f"_rows.{quote(n)}" for n in names)
    query = f"select {'distinct ' if distinct else ''}{selected} from {quote(schema)}.{quote(table)} as _rows {tail}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        with path.open("wb") as out:
            cur.copy_expert(f"copy ({query}) to stdout with (format csv, header false)", out)
        duck.execute(
            f"insert into {quote(schema)}.{quote(table)} ({', '.join(quote(n) for n in names)}) select * from "
            "read_csv(?, columns = ?, header = false, auto_detect = false, allow_quoted_nulls = false, "
            "quote = '\"', escape = '\"')",
            [str(path), {n: types[n] for n in names}],
        ).fetchall()


def _copy_out(cur, duck: duckdb.DuckDBPyConnection, schema: str, table: str, column: str, load_id: str) -> int:
    """COPY the rows of the scratch `schema.table` whose `column` is `load_id` into PostgreSQL's table."""
    names = ", ".join(quote(n) for n, _ in columns_of(duck, schema, table))
    rows = csv_of(
        duck, f"select {names} from {quote(schema)}.{quote(table)} where {quote(column)} = {_literal(load_id)}"
    )
    cur.copy_expert(
        f"copy {quote(schema)}.{quote(table)} ({names}) from stdin with (format csv, header false)", io.BytesIO(rows)
    )
    return cur.rowcount


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_ground_truth_postgres(pg, landing_root: Path) -> int | None:
    """raw.ground_truth_partner_effects in PostgreSQL: replaced from the landing folder's ground truth file when
    there is one (in one transaction), else created empty once. Returns the partners loaded, or None."""
    with tempfile.TemporaryDirectory(prefix="partnerlens-validate-") as folder:
        duck = duckdb.connect(str(Path(folder) / "ground_truth.duckdb"))
        try:
            loaded = load_ground_truth(duck, Path(landing_root))
            schema, table = GROUND_TRUTH_TABLE.split(".")
            if loaded is None:
                with pg.cursor() as cur:
                    _ensure_like(cur, duck, schema, table)
            else:
                copy_table(duck, pg, schema, table)
            pg.commit()
            return loaded
        except BaseException:
            pg.rollback()
            raise
        finally:
            duck.close()


def load_order(contracts: Mapping[str, FeedContract]) -> list[str]:
    """The feeds with every feed after the feeds its references read (as the load assets depend on each other),
    ties by name."""
    upstream = {
        feed: {c.reference[0] for c in contract.columns if c.reference is not None} - {feed}
        for feed, contract in contracts.items()
    }
    order: list[str] = []
    while len(order) < len(upstream):
        ready = sorted(f for f, needs in upstream.items() if f not in order and needs <= set(order))
        if not ready:
            raise LoadError(f"the feed contracts reference each other in a cycle: {sorted(set(upstream) - set(order))}")
        order.append(ready[0])
    return order


def load_all_postgres(pg, landing_root: Path, run_id: str | None = None) -> dict[str, FeedLoadResult]:
    """Every feed of the contracts into PostgreSQL in load order, then the ground truth; feed -> result."""
    contracts = load_contracts()
    results = {feed: load_feed_postgres(pg, contracts[feed], landing_root, run_id) for feed in load_order(contracts)}
    load_ground_truth_postgres(pg, landing_root)
    return results


def print_load_results(results: dict) -> None:
    """One line per feed of a command-line load (PostgreSQL or Spark): files, rows loaded, rejected, skipped."""
    for feed, result in results.items():
        print(
            f"{feed:20} {len(result.files):>3} files: {result.rows_loaded:>10,} rows loaded, "
            f"{result.rows_rejected:>7,} rejected, {result.count('skipped_duplicate')} skipped"
        )


def main(argv: list[str] | None = None) -> int:
    import argparse

    from orchestration.paths import landing_path
    from orchestration.warehouse.postgres import connect

    parser = argparse.ArgumentParser(
        prog="python -m orchestration.feeds.postgres_loads",
        description="load every landed feed file into the PostgreSQL database of PARTNERLENS_PG_* (files already "
        "loaded are skipped by checksum)",
    )
    parser.add_argument("--landing", type=Path, default=None, help="the landing folder (default: PARTNERLENS_LANDING)")
    args = parser.parse_args(argv)
    pg = connect()
    try:
        results = load_all_postgres(pg, args.landing or landing_path())
    finally:
        pg.close()
    print_load_results(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

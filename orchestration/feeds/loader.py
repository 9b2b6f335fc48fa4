"""Load landed feed files into ``raw.<feed>``: one generic, set-based loader for every feed contract.

Files land as ``landing/<source>/<feed>/<file>`` (``.csv``, ``.jsonl``/``.ndjson`` or ``.parquet``). Each file is loaded
in one transaction:

1. Its sha256 is computed (streamed). If ``audit.load_log`` already holds a ``loaded`` row with that checksum for the
   feed (under any file name), or a ``rejected_file`` row from the same source and file type, a ``skipped_duplicate``
   row is logged and nothing is loaded. ``failed`` rows (a crash, rolled back) do not count: the file is retried.
2. DuckDB's own readers stage the file as text: CSV with ``read_csv(all columns VARCHAR, store_rejects)`` so that
   malformed lines (wrong number of fields, broken quoting) and invalid UTF-8 are caught per line; JSON Lines one line
   per row, parsed with DuckDB's JSON functions; Parquet with ``read_parquet(file_row_number=true)``.
3. File-level checks: the source may deliver this feed (``source_kind``), the header has no duplicate names and holds
   every required column. A failing file is ``rejected_file``, and every one of its data rows is kept in
   ``audit.rejected_rows`` with the file-level rule, so nothing is lost.
4. One SQL pass types every column (``try_cast`` behind strict format checks) and finds the first failing rule of each
   row, in column order (per column: required, type, allowed_values, pattern, min/negative_when, max, not_in_future,
   after, source_mismatch, unknown_reference), then require_one_of; then repeated keys (within the file the first
   occurrence wins; for ``load_mode: append`` a key already in ``raw.<feed>`` is a repeat too): a repeat equal to the
   earlier version in every column is a replay (``duplicate_key``), one that differs is a ``conflicting_duplicate``
   whose reason shows both versions of each column that differs.
5. Valid rows go to ``raw.<feed>`` with lineage columns, invalid rows to ``audit.rejected_rows`` with a reason naming
   file, row and rule, and one row to ``audit.load_log``. ``rows_loaded + rows_rejected == rows_in_file`` is checked
   before COMMIT; any error rolls the whole file back.

Row numbers (``_row_number`` / ``row_number``) are 1-based data row numbers, header excluded: for CSV the record number
as DuckDB's reader counts lines (a blank line takes a number but is not a row; a value spanning lines, blank ones
included, is one record), for JSON Lines the line number, for Parquet the row's position in the file. DuckDB reports
line numbers only for rejected CSV lines, so the number of a valid row is derived set-based: rows keep file order
(``preserve_insertion_order``) and the k-th valid row's number is k plus the number of rejected or blank lines before
it (an ASOF join). Lines are counted while the checksum is computed; only a CSV file with more lines than records is
searched for blank lines, outside quoted values. Rows of a file are not stored in file order in ``raw.<feed>``: order
by ``_row_number``.

Values: every value is trimmed of surrounding blanks (ASCII whitespace, the Unicode space separators such as the
no-break space, the zero-width space and the byte order mark: :data:`~orchestration.feeds.rules.BLANKS`) before any
rule, and a value that is empty or only blanks is null, i.e. missing: ``' x '`` is the key ``'x'``, ``'   '`` no key at
all. Blanks inside a value are kept; ``_extra_columns`` keeps extra columns as delivered. Integers must be plain digits,
decimals and doubles plain decimal or scientific notation within their type's range (decimals are stored as
DECIMAL(18,4), so at most 14 digits before the point, and extra fractional digits are rounded; a larger number is
"out of range"), dates ``YYYY-MM-DD``, timestamps ISO 8601 with an offset or ``Z`` (a timestamp without offset is a
``type`` failure) that exists: -12:00 to +14:00, in whole hours or at :15, :30 and :45 (``+99:99`` or ``+23:59`` is a
``type`` failure, not a shift by days). Times are kept to the microsecond: more fractional digits are accepted only when
they are zeros, never truncated. Booleans are true/false/t/f/yes/no/y/n/1/0. A JSON object or array is never a value,
nor a JSON boolean except in a boolean column, and a Parquet list, struct or map column holds no single values: each
is a ``type`` failure naming what it is (``'[]'`` is no identifier). A JSON record that repeats a key is a
``malformed_record`` (JSON keeps one of the values, and nobody can tell which was meant). ``not_in_future`` allows 5
minutes of clock skew for timestamps; a date is in the future when it is after today's date in every time zone
(UTC+14).

A whole file is rejected without rows (``rows_in_file`` 0, nothing in ``audit.rejected_rows``) when it cannot be read as
rows at all: an empty file (0 bytes, no header line, or a JSON Lines file without a non-blank line; message
``empty file``), an unsupported extension, a compressed file or archive named as text (``file_format: the file is
gzip-compressed, not CSV text``) or a file DuckDB's reader cannot parse (e.g. a corrupt Parquet file or a CSV file
that mixes line endings; the message names the file and the rule ``file_format``). An entry of a feed folder that is
not a regular file inside the landing folder is rejected by name and never opened: ``outside_landing`` (a link that
leads out of the landing folder: nothing of its target is read or repeated) and ``not_a_file`` (a folder, even one
named ``x.csv``, a broken link, a pipe or a device). Having no checksum, such an entry is rejected again on every run
until it is removed. A landing folder that does not exist fails the load (:class:`LoadError`). Messages show file names
with control characters escaped (a newline as ``\\n``); ``source_file`` and ``_source_file`` keep the real name.

This module runs each file's transaction, the file-level checks, the inserts and the log rows; the rest has a module
of its own: :mod:`~orchestration.feeds.files` (finding and scanning landed files), :mod:`~orchestration.feeds.readers`
(one reader per format), :mod:`~orchestration.feeds.rules` (the contract as SQL) and :mod:`~orchestration.feeds.context`
(the file being loaded and the results). The audit tables are created by :mod:`orchestration.warehouse.audit`.

Each call of :func:`load_file` runs its own transactions. Called inside a transaction the caller left open it raises
:class:`LoadError` (and DuckDB aborts that transaction).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.feeds.context import (
    STATUS_FAILED,
    STATUS_LOADED,
    STATUS_REJECTED,
    STATUS_SKIPPED,
    EmptyFile,
    FeedLoadResult,
    FileLoadResult,
    FileRejected,
    LoadContext,
    LoadError,
    Stage,
    first_line,
)
from orchestration.feeds.contracts import INTERNAL_SOURCE, FeedContract, load_contracts
from orchestration.feeds.files import (
    FORMATS,
    compression,
    discover_files,
    entry_problem,
    relative_path,
    scan_file,
    shown_name,
)
from orchestration.feeds.readers import READERS
from orchestration.feeds.rules import checked_sql, mark_duplicates
from orchestration.warehouse.audit import ensure_load_tables
from orchestration.warehouse.sql import fmt_escape, ident, lit, scalar, ts_literal

__all__ = [
    "STATUS_FAILED",
    "STATUS_LOADED",
    "STATUS_REJECTED",
    "STATUS_SKIPPED",
    "FeedLoadResult",
    "FileLoadResult",
    "LoadError",
    "discover_files",
    "ensure_warehouse",
    "load_feed",
    "load_file",
]

#: (con, ctx, checked table) -> None: see LoadContext.existing_rows.
ExistingRows = Callable[[duckdb.DuckDBPyConnection, LoadContext, str], None]

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_file_checksum", "VARCHAR"),
    ("_loaded_at", "TIMESTAMPTZ"),
    ("_load_id", "VARCHAR"),
    ("_extra_columns", "VARCHAR"),
)


# ---------------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------------


def ensure_warehouse(con: duckdb.DuckDBPyConnection, contracts: Mapping[str, FeedContract] | None = None) -> None:
    """Create schemas ``raw`` and ``audit``, the audit tables and one ``raw.<feed>`` table per contract (idempotent).

    A column added to a contract is added to an existing raw table; a changed type is an error.
    """
    _ensure_tables(con, (contracts if contracts is not None else load_contracts()).values())


def load_feed(
    con: duckdb.DuckDBPyConnection,
    contract: FeedContract,
    landing_root: Path,
    run_id: str | None = None,
    existing_rows: ExistingRows | None = None,
) -> FeedLoadResult:
    """Load every landed file of one feed, in path order; already loaded files are skipped by checksum.

    Raises :class:`LoadError` when ``landing_root`` is not a folder: a wrong landing folder is a failed load, not a
    night in which nothing was delivered.
    """
    if not Path(landing_root).is_dir():
        raise LoadError(
            f"the landing folder {landing_root} does not exist or is not a folder: nothing can be loaded "
            "(check PARTNERLENS_LANDING or --landing)"
        )
    _ensure_tables(con, [contract])
    result = FeedLoadResult(feed=contract.feed)
    for source, path in discover_files(Path(landing_root), contract.feed):
        result.files.append(_load_file(con, contract, path, source, Path(landing_root), run_id, existing_rows))
    return result


def load_file(
    con: duckdb.DuckDBPyConnection,
    contract: FeedContract,
    path: Path,
    source: str,
    landing_root: Path,
    run_id: str | None = None,
    existing_rows: ExistingRows | None = None,
) -> FileLoadResult:
    """Load one file into ``raw.<feed>`` in one transaction (see the module documentation for the rules).

    Problems a file can have are reported in the result and in ``audit.load_log``/``audit.rejected_rows``; only an
    unexpected failure raises :class:`LoadError` (after rolling back and logging a ``failed`` row). ``existing_rows``
    (see :class:`~orchestration.feeds.context.LoadContext`) brings in the rows an append feed already holds when they
    are kept in another engine.
    """
    _ensure_tables(con, [contract])
    return _load_file(con, contract, Path(path), source, Path(landing_root), run_id, existing_rows)


def _load_file(
    con: duckdb.DuckDBPyConnection,
    contract: FeedContract,
    path: Path,
    source: str,
    landing_root: Path,
    run_id: str | None,
    existing_rows: ExistingRows | None = None,
) -> FileLoadResult:
    """:func:`load_file` once the tables exist."""
    ctx = LoadContext(
        contract=contract,
        path=path,
        rel=relative_path(path, landing_root),
        source=source,
        run_id=run_id,
        load_id=str(uuid.uuid4()),
        loaded_at=datetime.now(UTC),
        existing_rows=existing_rows,
    )
    fmt = FORMATS.get(path.suffix.lower())
    problem = entry_problem(path, landing_root)
    if problem is not None:
        # Not read at all: no checksum, so it is rejected again on every run until someone removes it.
        rule, detail = problem
        return _log_outside_transaction(con, ctx, STATUS_REJECTED, f"{ctx.shown}: {rule}: {detail}; not read")
    ctx.path = path.resolve()  # read the file itself, never a link a second time
    try:
        ctx.checksum, ctx.file_bytes, ctx.physical_lines = scan_file(ctx.path)
    except OSError as exc:
        raise LoadError(f"{ctx.shown}: cannot read the file: {exc}") from exc
    restore_order = _force_insertion_order(con)
    try:
        return _load_transaction(con, ctx, fmt)
    finally:
        if restore_order:
            con.execute("SET preserve_insertion_order = false")


# ---------------------------------------------------------------------------------------------------------------------
# Transaction handling
# ---------------------------------------------------------------------------------------------------------------------


def _load_transaction(con: duckdb.DuckDBPyConnection, ctx: LoadContext, fmt: str | None) -> FileLoadResult:
    """Run the load of one file in a transaction; roll back on any error."""
    _begin(con, ctx.shown)
    try:
        result = _load_in_transaction(con, ctx, fmt)
        for table in ctx.temp_tables:
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
        con.execute("COMMIT")
        return result
    except FileRejected as rejection:
        _rollback(con)
        return _log_outside_transaction(con, ctx, STATUS_REJECTED, rejection.message)
    except BaseException as exc:
        _rollback(con)
        if not isinstance(exc, Exception):
            raise
        message = f"{ctx.shown}: load failed and was rolled back, nothing was kept: {first_line(exc)}"
        with contextlib.suppress(Exception):  # the original error matters more than a missing log row
            _log_outside_transaction(con, ctx, STATUS_FAILED, message)
        raise LoadError(message) from exc


def _begin(con: duckdb.DuckDBPyConnection, what: str) -> None:
    """Start a transaction; the loader runs its own, never inside one the caller left open."""
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException as exc:
        raise LoadError(
            f"{what}: the loader manages its own transactions; commit or roll back the open transaction first"
        ) from exc


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction open
        con.execute("ROLLBACK")


def _log_outside_transaction(
    con: duckdb.DuckDBPyConnection, ctx: LoadContext, status: str, message: str
) -> FileLoadResult:
    """Record a file-level outcome in its own transaction."""
    _begin(con, ctx.shown)
    try:
        result = _log(con, ctx, status, message)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return result


def _load_in_transaction(con: duckdb.DuckDBPyConnection, ctx: LoadContext, fmt: str | None) -> FileLoadResult:
    """The body of a file load: duplicate check, staging, file-level checks, validation, inserts, log row."""
    previous = _previous_load(con, ctx)
    if previous is not None:
        return _log(con, ctx, STATUS_SKIPPED, previous)
    if fmt is None:
        suffix = Path(ctx.rel).suffix or "(none)"
        message = (
            f"{ctx.shown}: file_format: unsupported file type {suffix}; expected one of {', '.join(sorted(FORMATS))}"
        )
        return _log(con, ctx, STATUS_REJECTED, message)
    if ctx.file_bytes == 0:
        return _log(con, ctx, STATUS_REJECTED, "empty file")
    packed = compression(ctx.path) if fmt != "parquet" else None
    if packed is not None:
        kind = "CSV" if fmt == "csv" else "JSON Lines"
        message = f"{ctx.shown}: file_format: the file is {packed}, not {kind} text; deliver it uncompressed"
        return _log(con, ctx, STATUS_REJECTED, message)
    try:
        stage = READERS[fmt](con, ctx)
    except EmptyFile:
        return _log(con, ctx, STATUS_REJECTED, "empty file")
    problem = _file_problem(ctx, stage)
    if problem is not None:
        return _reject_whole_file(con, ctx, stage, *problem)
    return _validate_and_insert(con, ctx, stage)


def _previous_load(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> str | None:
    """The skip message if a file with the same checksum was already loaded or rejected for this feed.

    A rejection only counts for the same source and file type: the same bytes moved to the right folder or given the
    right extension are a new delivery.
    """
    row = con.execute(
        """
        SELECT source_file, status, load_id, strftime(finished_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')
        FROM audit.load_log
        WHERE feed = ? AND file_checksum = ?
          AND (status = 'loaded'
               OR (status = 'rejected_file' AND source = ? AND lower(regexp_extract(source_file, '[.][^./]*$')) = ?))
        ORDER BY finished_at
        LIMIT 1
        """,
        [ctx.contract.feed, ctx.checksum, ctx.source, Path(ctx.rel).suffix.lower()],
    ).fetchone()
    if row is None:
        return None
    source_file, status, load_id, finished = row
    verb = "loaded" if status == STATUS_LOADED else "rejected"
    return (
        f"{ctx.shown}: same content (sha256 {ctx.checksum[:12]}) already {verb} as {shown_name(source_file)} "
        f"at {finished} (load {load_id}); skipped"
    )


def _log(
    con: duckdb.DuckDBPyConnection,
    ctx: LoadContext,
    status: str,
    message: str,
    rows_in_file: int = 0,
    rows_loaded: int = 0,
    rows_rejected: int = 0,
    extra_columns: list[str] | None = None,
) -> FileLoadResult:
    """Insert the file's ``audit.load_log`` row and return the matching result."""
    extras = list(extra_columns or [])
    con.execute(
        "INSERT INTO audit.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ctx.load_id,
            ctx.run_id,
            ctx.contract.feed,
            ctx.source,
            ctx.rel,
            ctx.checksum,
            ctx.file_bytes,
            status,
            rows_in_file,
            rows_loaded,
            rows_rejected,
            ", ".join(extras) or None,
            message,
            ctx.loaded_at,
            datetime.now(UTC),
        ],
    )
    return ctx.result(
        status,
        message,
        rows_in_file=rows_in_file,
        rows_loaded=rows_loaded,
        rows_rejected=rows_rejected,
        extra_columns=extras,
    )


# ---------------------------------------------------------------------------------------------------------------------
# File-level checks
# ---------------------------------------------------------------------------------------------------------------------


def _file_problem(ctx: LoadContext, stage: Stage) -> tuple[str, str, str | None] | None:
    """(rule, message, column) of a problem that rejects the whole file, or None."""
    kind = ctx.contract.source_kind
    if kind == "internal" and ctx.source != INTERNAL_SOURCE:
        return (
            "source_mismatch",
            f"{ctx.shown}: source_mismatch: feed {ctx.contract.feed} is delivered by the host company only "
            f"(landing/{INTERNAL_SOURCE}/{ctx.contract.feed}/), not by source '{ctx.source}'",
            None,
        )
    if kind == "partner" and ctx.source == INTERNAL_SOURCE:
        return (
            "source_mismatch",
            f"{ctx.shown}: source_mismatch: feed {ctx.contract.feed} is delivered by partners only "
            f"(landing/<partner_id>/{ctx.contract.feed}/), not under '{INTERNAL_SOURCE}'",
            None,
        )
    if stage.problem is not None:
        return stage.problem
    if stage.file_columns is not None:
        missing = [c for c in ctx.contract.required_columns if c not in stage.file_columns]
        if missing:
            return (
                "missing_column",
                f"{ctx.shown}: missing_column: required column(s) {', '.join(missing)} not in the file "
                f"(found: {', '.join(stage.file_columns)})",
                ", ".join(missing),
            )
    return None


def _reject_whole_file(
    con: duckdb.DuckDBPyConnection, ctx: LoadContext, stage: Stage, rule: str, message: str, column: str | None
) -> FileLoadResult:
    """Keep every data row of a rejected file in audit.rejected_rows with the file-level rule."""
    detail = message.split(": ", 1)[1] if message.startswith(ctx.shown + ": ") else message
    reason = f"format({lit(fmt_escape(ctx.shown) + ' row {}: ' + fmt_escape(detail))}, _row_number)"
    count = _insert_rejected(con, ctx, stage, f"({stage.sql})", lit(rule), lit(column), reason, "TRUE")
    message = f"{message}; the whole file was rejected ({count} rows kept in audit.rejected_rows)"
    return _log(
        con,
        ctx,
        STATUS_REJECTED,
        message,
        rows_in_file=count,
        rows_rejected=count,
        extra_columns=stage.extra_columns,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Inserts
# ---------------------------------------------------------------------------------------------------------------------


def _validate_and_insert(con: duckdb.DuckDBPyConnection, ctx: LoadContext, stage: Stage) -> FileLoadResult:
    """Type and check every row in one pass, mark duplicate keys, insert valid and rejected rows, log the file."""
    contract = ctx.contract
    checked = ctx.temp("checked")
    con.execute(f"CREATE TEMP TABLE {checked} AS {checked_sql(con, ctx, stage)}")
    if ctx.existing_rows is not None and contract.load_mode == "append":
        ctx.existing_rows(con, ctx, checked)
    mark_duplicates(con, ctx, checked)

    rows_in_file = scalar(con, f"SELECT count(*) FROM {checked}")
    if rows_in_file == 0 and stage.empty_is_rejected:
        return _log(con, ctx, STATUS_REJECTED, "empty file")
    target = ", ".join(ident(c) for c in [*contract.column_names, *(name for name, _ in LINEAGE_COLUMNS)])
    values = ", ".join(
        [
            *(f"_t_{c}" for c in contract.column_names),
            lit(ctx.source),
            lit(ctx.rel),
            "_row_number",
            lit(ctx.checksum),
            ts_literal(ctx.loaded_at),
            lit(ctx.load_id),
            stage.extras_sql if stage.extra_columns else "NULL::VARCHAR",
        ]
    )
    join = _source_join(stage) if stage.extra_columns else ""
    loaded = scalar(
        con,
        f"INSERT INTO raw.{ident(contract.feed)} ({target}) SELECT {values} FROM {checked} {join} WHERE _fail IS NULL",
    )
    rejected = _insert_rejected(
        con, ctx, stage, checked, "_fail.rule", "_fail.column_name", "_fail.reason", "_fail IS NOT NULL"
    )
    if loaded + rejected != rows_in_file:
        raise LoadError(
            f"{ctx.shown}: internal consistency check failed: {loaded} loaded + {rejected} rejected "
            f"!= {rows_in_file} rows in file"
        )
    by_rule = con.execute(
        f"SELECT _fail.rule, count(*) FROM {checked} WHERE _fail IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    message = f"loaded {loaded} of {rows_in_file} rows"
    if rejected:
        message += f"; {rejected} rejected ({', '.join(f'{rule}: {n}' for rule, n in by_rule)})"
    if stage.extra_columns:
        message += f"; extra columns kept in _extra_columns: {', '.join(stage.extra_columns)}"
    return _log(
        con,
        ctx,
        STATUS_LOADED,
        message,
        rows_in_file=rows_in_file,
        rows_loaded=loaded,
        rows_rejected=rejected,
        extra_columns=stage.extra_columns,
    )


def _insert_rejected(
    con: duckdb.DuckDBPyConnection,
    ctx: LoadContext,
    stage: Stage,
    relation: str,
    rule: str,
    column: str,
    reason: str,
    where: str,
) -> int:
    """Insert rows of ``relation`` matching ``where`` into audit.rejected_rows; returns the row count.

    ``relation`` has ``_rid``, ``_row_number`` and ``_reader_raw``; the record text comes from the reader (rejected
    lines) or from the staged source row.
    """
    return scalar(
        con,
        f"""INSERT INTO audit.rejected_rows
        SELECT {lit(ctx.load_id)}, {lit(ctx.contract.feed)}, {lit(ctx.source)}, {lit(ctx.rel)}, _row_number,
               {lit(ctx.checksum)}, {rule}, {column}, {reason},
               CASE WHEN {rule} <> 'erased_subject' THEN coalesce(_reader_raw, {stage.record_sql}) END,
               {ts_literal(ctx.loaded_at)}
        FROM {relation} AS _rows {_source_join(stage)}
        WHERE {where}
        ORDER BY _row_number""",
    )


def _source_join(stage: Stage) -> str:
    """Join the staged source rows (raw text) as ``_src``."""
    return f"LEFT JOIN {stage.source_table} AS _src ON _src.rowid = _rid"


# ---------------------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------------------


def _ensure_tables(con: duckdb.DuckDBPyConnection, contracts: Iterable[FeedContract]) -> None:
    """Create the schemas, audit tables and the feeds' raw tables in one transaction."""
    _begin(con, "the warehouse tables")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        ensure_load_tables(con)
        existing: dict[str, dict[str, str]] = {}
        for table, column, dtype in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'raw' AND database_name = current_database()"
        ).fetchall():
            existing.setdefault(table, {})[column] = dtype
        for contract in contracts:
            _ensure_feed_table(con, contract, existing.get(contract.feed, {}))
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise


def _ensure_feed_table(con: duckdb.DuckDBPyConnection, contract: FeedContract, existing: Mapping[str, str]) -> None:
    """Create raw.<feed> if missing; add columns a contract gained. ``existing``: the table's column types."""
    wanted = [(c.name, c.duckdb_type) for c in contract.columns] + list(LINEAGE_COLUMNS)
    table = f"raw.{ident(contract.feed)}"
    if not existing:
        columns = ", ".join(f"{ident(n)} {t}" for n, t in wanted)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        return
    aliases = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
    for name, dtype in wanted:
        if name not in existing:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {ident(name)} {dtype}")
        elif existing[name] not in (dtype, aliases.get(dtype)):
            raise LoadError(
                f"raw.{contract.feed}.{name} is {existing[name]} in the warehouse but {dtype} in the contract; "
                "migrate the table before loading"
            )


def _force_insertion_order(con: duckdb.DuckDBPyConnection) -> bool:
    """Row numbers rely on rows keeping file order; turn preserve_insertion_order on if needed (True = restore)."""
    value = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    if value and not value[0]:
        con.execute("SET preserve_insertion_order = true")
        return True
    return False

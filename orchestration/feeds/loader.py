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
   after, source_mismatch, unknown_reference), then require_one_of; then duplicate keys (within the file the first
   occurrence wins; for ``load_mode: append`` a key already in ``raw.<feed>`` is a duplicate too).
5. Valid rows go to ``raw.<feed>`` with lineage columns, invalid rows to ``audit.rejected_rows`` with a reason naming
   file, row and rule, and one row to ``audit.load_log``. ``rows_loaded + rows_rejected == rows_in_file`` is checked
   before COMMIT; any error rolls the whole file back.

Row numbers (``_row_number`` / ``row_number``) are 1-based data row numbers, header excluded: for CSV the record number
as DuckDB's reader counts lines (a blank line takes a number but is not a row), for JSON Lines the line number, for
Parquet the row's position in the file. DuckDB reports line numbers only for rejected CSV lines, so the number of a
valid row is derived set-based: rows keep file order (``preserve_insertion_order``) and the k-th valid row's number is
k plus the number of rejected or blank lines before it (an ASOF join). Lines are counted while the checksum is
computed; only a CSV file with more lines than records is searched for blank lines (a blank line inside a multi-line
quoted value is miscounted as one, shifting later numbers by one). Rows of a file are not stored in file order in
``raw.<feed>``: order by ``_row_number``.

Values: empty strings are null; varchar values are stored as delivered (typed values may carry surrounding blanks).
Integers must be plain digits, decimals and doubles plain decimal or scientific notation (decimals are stored as
DECIMAL(18,4), extra fractional digits are rounded), dates ``YYYY-MM-DD``, timestamps ISO 8601 with an offset or ``Z``
(a timestamp without offset is a ``type`` failure), booleans true/false/t/f/yes/no/y/n/1/0. ``not_in_future`` allows 5
minutes of clock skew for timestamps; a date is in the future when it is after today's date in every time zone (UTC+14).

A whole file is rejected without rows (``rows_in_file`` 0, nothing in ``audit.rejected_rows``) when it cannot be read as
rows at all: an empty file (0 bytes, no header line, or a JSON Lines file without a non-blank line; message
``empty file``), an unsupported extension or a file DuckDB's reader cannot parse (e.g. a corrupt Parquet file or a CSV
file that mixes line endings; the message names the file and the rule ``file_format``).

Each call of :func:`load_file` runs its own transactions. Called inside a transaction the caller left open it raises
:class:`LoadError` (and DuckDB aborts that transaction).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.feeds.contracts import INTERNAL_SOURCE, ColumnContract, FeedContract, load_contracts
from orchestration.warehouse.audit import ensure_load_tables

STATUS_LOADED = "loaded"
STATUS_SKIPPED = "skipped_duplicate"
STATUS_REJECTED = "rejected_file"
#: Logged when a load crashed and was rolled back (the file is retried on the next run).
STATUS_FAILED = "failed"

#: File suffix (lower case) -> reader.
FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: How far a ``not_in_future`` timestamp may lie after the load time.
CLOCK_SKEW = timedelta(minutes=5)
#: The furthest time zone ahead of UTC: a date is in the future only when it is after today there.
MAX_UTC_OFFSET = timedelta(hours=14)
#: Values quoted in rejection reasons are cut to this many characters.
REASON_VALUE_CHARS = 200

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_file_checksum", "VARCHAR"),
    ("_loaded_at", "TIMESTAMPTZ"),
    ("_load_id", "VARCHAR"),
    ("_extra_columns", "VARCHAR"),
)

# Strict text formats checked before try_cast (DuckDB's casts alone accept e.g. '1.5' as an integer).
_INTEGER_RE = r"[+-]?[0-9]+"
_NUMBER_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME_RE = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_TIMESTAMPTZ_RE = _DATE_RE + _TIME_RE + r" ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"
_NAIVE_TIMESTAMP_RE = _DATE_RE + f"({_TIME_RE})?"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_WHITESPACE = "E' \\t\\r\\n'"
_TYPE_HINTS = {
    "integer": "an integer",
    "decimal": "a decimal",
    "double": "a double",
    "date": "a date (expected YYYY-MM-DD)",
    "timestamptz": "a timestamptz (expected ISO 8601 with an offset, e.g. 2026-01-31T10:00:00Z)",
    "boolean": "a boolean (expected true or false)",
}
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")
_CHUNK_BYTES = 1 << 20


class LoadError(RuntimeError):
    """A load failed unexpectedly and was rolled back; nothing of the file was kept. The message names the file."""


class _FileRejected(Exception):
    """The file cannot be read as rows at all (raised while staging, before anything is written)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class _EmptyFile(Exception):
    """The file has no header line or no non-blank line."""


@dataclass
class FileLoadResult:
    """What happened to one landed file (mirrors its ``audit.load_log`` row)."""

    feed: str
    source: str
    file: str
    checksum: str
    status: str
    rows_in_file: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    extra_columns: list[str] = field(default_factory=list)
    message: str = ""
    load_id: str = ""
    file_bytes: int = 0


@dataclass
class FeedLoadResult:
    """The files of one feed processed by :func:`load_feed`, in load order."""

    feed: str
    files: list[FileLoadResult] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def rows_in_files(self) -> int:
        return sum(f.rows_in_file for f in self.files)

    def count(self, status: str) -> int:
        """Number of files with the given status."""
        return sum(f.status == status for f in self.files)


@dataclass
class _Stage:
    """A file staged as text.

    ``sql`` yields one row per data row: ``_rid`` (rowid in ``source_table``; NULL for lines the reader rejected),
    ``_row_number``, ``_reader_rule``/``_reader_detail``/``_reader_raw`` (set for lines the reader rejected) and the
    format's text columns, from which ``values`` gives each contract column. ``record_sql`` and ``extras_sql`` are
    expressions over ``source_table`` joined as ``_src`` on ``_src.rowid = _rid``, so that only the narrow typed rows
    are carried through validation and the raw text is looked up for the few rows that need it.
    """

    sql: str
    source_table: str
    values: dict[str, str]
    extras_sql: str
    record_sql: str
    file_columns: list[str] | None
    extra_columns: list[str]
    problem: tuple[str, str, str | None] | None = None  # (rule, message, column_name) of a file-level problem
    empty_is_rejected: bool = False  # no row at all means an empty file (JSON Lines has no header to load)


@dataclass
class _Ctx:
    """Everything about the file being loaded."""

    contract: FeedContract
    path: Path
    rel: str
    source: str
    run_id: str | None
    load_id: str
    loaded_at: datetime
    checksum: str = ""
    file_bytes: int = 0
    physical_lines: int = 0
    temp_tables: list[str] = field(default_factory=list)

    def temp(self, name: str) -> str:
        """A unique temp table name for this load (dropped before commit)."""
        table = f"_pl_{self.load_id[:8]}_{name}"
        self.temp_tables.append(table)
        return table

    def result(self, status: str, message: str, **counts: object) -> FileLoadResult:
        return FileLoadResult(
            feed=self.contract.feed,
            source=self.source,
            file=self.rel,
            checksum=self.checksum,
            status=status,
            message=message,
            load_id=self.load_id,
            file_bytes=self.file_bytes,
            **counts,  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------------


def ensure_warehouse(con: duckdb.DuckDBPyConnection, contracts: Mapping[str, FeedContract] | None = None) -> None:
    """Create schemas ``raw`` and ``audit``, the audit tables and one ``raw.<feed>`` table per contract (idempotent).

    A column added to a contract is added to an existing raw table; a changed type is an error.
    """
    _ensure_tables(con, (contracts if contracts is not None else load_contracts()).values())


def discover_files(landing_root: Path, feed: str) -> list[tuple[str, Path]]:
    """``(source, path)`` of every file under ``landing_root/<source>/<feed>/``, sorted by relative path.

    Names starting with ``.`` or ``_`` (hidden files, ``_archive`` folders, partial uploads) are skipped.
    """
    root = Path(landing_root)
    if not root.is_dir():
        return []
    found: list[tuple[str, str, Path]] = []
    for source_dir in root.iterdir():
        if _hidden(source_dir.name) or not source_dir.is_dir():
            continue
        feed_dir = source_dir / feed
        if not feed_dir.is_dir():
            continue
        for path in feed_dir.iterdir():
            if not _hidden(path.name) and path.is_file():
                found.append((path.relative_to(root).as_posix(), source_dir.name, path))
    return [(source, path) for _, source, path in sorted(found)]


def load_feed(
    con: duckdb.DuckDBPyConnection, contract: FeedContract, landing_root: Path, run_id: str | None = None
) -> FeedLoadResult:
    """Load every landed file of one feed, in path order; already loaded files are skipped by checksum."""
    _ensure_tables(con, [contract])
    result = FeedLoadResult(feed=contract.feed)
    for source, path in discover_files(Path(landing_root), contract.feed):
        result.files.append(_load_file(con, contract, path, source, Path(landing_root), run_id))
    return result


def load_file(
    con: duckdb.DuckDBPyConnection,
    contract: FeedContract,
    path: Path,
    source: str,
    landing_root: Path,
    run_id: str | None = None,
) -> FileLoadResult:
    """Load one file into ``raw.<feed>`` in one transaction (see the module documentation for the rules).

    Problems a file can have are reported in the result and in ``audit.load_log``/``audit.rejected_rows``; only an
    unexpected failure raises :class:`LoadError` (after rolling back and logging a ``failed`` row).
    """
    _ensure_tables(con, [contract])
    return _load_file(con, contract, Path(path), source, Path(landing_root), run_id)


def _load_file(
    con: duckdb.DuckDBPyConnection,
    contract: FeedContract,
    path: Path,
    source: str,
    landing_root: Path,
    run_id: str | None,
) -> FileLoadResult:
    """:func:`load_file` once the tables exist."""
    ctx = _Ctx(
        contract=contract,
        path=path,
        rel=_relative(path, landing_root),
        source=source,
        run_id=run_id,
        load_id=str(uuid.uuid4()),
        loaded_at=datetime.now(UTC),
    )
    fmt = FORMATS.get(path.suffix.lower())
    try:
        ctx.checksum, ctx.file_bytes, ctx.physical_lines = _scan_file(path)
    except OSError as exc:
        raise LoadError(f"{ctx.rel}: cannot read the file: {exc}") from exc
    restore_order = _force_insertion_order(con)
    try:
        return _load_transaction(con, ctx, fmt)
    finally:
        if restore_order:
            con.execute("SET preserve_insertion_order = false")


# ---------------------------------------------------------------------------------------------------------------------
# Transaction handling
# ---------------------------------------------------------------------------------------------------------------------


def _load_transaction(con: duckdb.DuckDBPyConnection, ctx: _Ctx, fmt: str | None) -> FileLoadResult:
    """Run the load of one file in a transaction; roll back on any error."""
    _begin(con, ctx.rel)
    try:
        result = _load_in_transaction(con, ctx, fmt)
        for table in ctx.temp_tables:
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
        con.execute("COMMIT")
        return result
    except _FileRejected as rejection:
        _rollback(con)
        return _log_outside_transaction(con, ctx, STATUS_REJECTED, rejection.message)
    except BaseException as exc:
        _rollback(con)
        if not isinstance(exc, Exception):
            raise
        message = f"{ctx.rel}: load failed and was rolled back, nothing was kept: {_first_line(exc)}"
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


def _log_outside_transaction(con: duckdb.DuckDBPyConnection, ctx: _Ctx, status: str, message: str) -> FileLoadResult:
    """Record a file-level outcome in its own transaction."""
    _begin(con, ctx.rel)
    try:
        result = _log(con, ctx, status, message)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return result


def _load_in_transaction(con: duckdb.DuckDBPyConnection, ctx: _Ctx, fmt: str | None) -> FileLoadResult:
    """The body of a file load: duplicate check, staging, file-level checks, validation, inserts, log row."""
    previous = _previous_load(con, ctx)
    if previous is not None:
        return _log(con, ctx, STATUS_SKIPPED, previous)
    if fmt is None:
        suffix = ctx.path.suffix or "(none)"
        message = (
            f"{ctx.rel}: file_format: unsupported file type {suffix}; expected one of {', '.join(sorted(FORMATS))}"
        )
        return _log(con, ctx, STATUS_REJECTED, message)
    if ctx.file_bytes == 0:
        return _log(con, ctx, STATUS_REJECTED, "empty file")
    try:
        stage = {"csv": _stage_csv, "jsonl": _stage_jsonl, "parquet": _stage_parquet}[fmt](con, ctx)
    except _EmptyFile:
        return _log(con, ctx, STATUS_REJECTED, "empty file")
    problem = _file_problem(ctx, stage)
    if problem is not None:
        return _reject_whole_file(con, ctx, stage, *problem)
    return _validate_and_insert(con, ctx, stage)


def _previous_load(con: duckdb.DuckDBPyConnection, ctx: _Ctx) -> str | None:
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
        [ctx.contract.feed, ctx.checksum, ctx.source, ctx.path.suffix.lower()],
    ).fetchone()
    if row is None:
        return None
    source_file, status, load_id, finished = row
    verb = "loaded" if status == STATUS_LOADED else "rejected"
    return (
        f"{ctx.rel}: same content (sha256 {ctx.checksum[:12]}) already {verb} as {source_file} "
        f"at {finished} (load {load_id}); skipped"
    )


def _log(
    con: duckdb.DuckDBPyConnection,
    ctx: _Ctx,
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
# Staging: each reader turns a file into text rows with row numbers
# ---------------------------------------------------------------------------------------------------------------------


def _stage_csv(con: duckdb.DuckDBPyConnection, ctx: _Ctx) -> _Stage:
    """Stage a CSV file: header from the first line, rows via read_csv with rejects captured per line."""
    header = _read_csv_header(ctx.path)
    if header is None:
        raise _EmptyFile
    names = [h.strip() or f"column_{i}" for i, h in enumerate(header, start=1)]
    raw = [f"_c{i}" for i in range(len(names))]
    read, rejects, scans = ctx.temp("read"), ctx.temp("rejects"), ctx.temp("scans")
    columns = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in raw) + "}"
    _read_or_reject(
        con,
        ctx,
        f"""CREATE TEMP TABLE {read} AS SELECT * FROM read_csv({_lit(str(ctx.path))}, header = true,
            auto_detect = false, columns = {columns}, delim = ',', quote = '"', escape = '"', strict_mode = true,
            store_rejects = true, rejects_table = {_lit(rejects)}, rejects_scan = {_lit(scans)})""",
        "CSV",
    )
    bad = _reader_rejects(con, ctx, rejects, line_offset=1)
    records = _scalar(con, f"SELECT (SELECT count(*) FROM {read}) + (SELECT count(*) FROM {bad})")
    # More lines than header + records: blank lines (or values spanning lines); find the blank ones.
    blank_rows = [n - 1 for n in _blank_lines(ctx.path)] if ctx.physical_lines > records + 1 else []
    numbered = _numbered_rows(con, ctx, read, bad, blank_rows)
    null_raw = ", ".join(f"NULL::VARCHAR AS {c}" for c in raw)
    sql = f"""
        SELECT _rid, _row_number, NULL::VARCHAR AS _reader_rule, NULL::VARCHAR AS _reader_detail,
               NULL::VARCHAR AS _reader_raw, {", ".join(raw)}
        FROM ({numbered})
        UNION ALL
        SELECT NULL::BIGINT, n, rule, detail, raw_line, {null_raw} FROM {bad}"""
    return _tabular_stage(ctx, sql, read, names, raw)


def _stage_parquet(con: duckdb.DuckDBPyConnection, ctx: _Ctx) -> _Stage:
    """Stage a Parquet file: schema from the file, values cast to VARCHAR, row numbers from file_row_number."""
    source = _lit(str(ctx.path))
    try:
        names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({source})").fetchall()]
    except duckdb.Error as exc:
        message = f"{ctx.rel}: file_format: not a readable Parquet file: {_first_line(exc)}"
        raise _FileRejected("file_format", message) from exc
    raw = [f"_c{i}" for i in range(len(names))]
    read = ctx.temp("read")
    casts = ", ".join(f"CAST({_ident(n)} AS VARCHAR) AS {c}" for n, c in zip(names, raw, strict=True))
    _read_or_reject(
        con,
        ctx,
        f"""CREATE TEMP TABLE {read} AS SELECT file_row_number + 1 AS _file_row{", " if casts else ""}{casts}
            FROM read_parquet({source}, file_row_number = true)""",
        "Parquet",
    )
    sql = f"""SELECT rowid AS _rid, _file_row AS _row_number, NULL::VARCHAR AS _reader_rule,
                     NULL::VARCHAR AS _reader_detail, NULL::VARCHAR AS _reader_raw{"".join(", " + c for c in raw)}
              FROM {read}"""
    return _tabular_stage(ctx, sql, read, names, raw)


def _stage_jsonl(con: duckdb.DuckDBPyConnection, ctx: _Ctx) -> _Stage:
    """Stage a JSON Lines file: one VARCHAR per line (line numbers), parsed with DuckDB's JSON functions."""
    read, rejects, scans = ctx.temp("read"), ctx.temp("rejects"), ctx.temp("scans")
    # A delimiter that cannot occur in valid JSON (raw control characters must be escaped) and no quoting.
    _read_or_reject(
        con,
        ctx,
        f"""CREATE TEMP TABLE {read} AS SELECT line FROM read_csv({_lit(str(ctx.path))}, header = false,
            auto_detect = false, columns = {{'line': 'VARCHAR'}}, delim = E'\\x1f', quote = '', escape = '',
            strict_mode = true, store_rejects = true, rejects_table = {_lit(rejects)}, rejects_scan = {_lit(scans)})""",
        "JSON Lines",
    )
    bad = _reader_rejects(con, ctx, rejects, line_offset=0)
    numbered = _numbered_rows(con, ctx, read, bad, [])
    # Blank lines come back as NULL; whitespace-only lines are blank too. Neither is a row.
    filled = f"line IS NOT NULL AND NOT (ascii(line) <= 32 AND trim(line, {_WHITESPACE}) = '')"
    names = ctx.contract.column_names
    paths = "[" + ", ".join(_lit(f'$."{n}"') for n in names) + "]"
    # One parse per line: try() gives NULL for invalid JSON; a valid JSON text starting with '{' is an object.
    parsed = f"""
        SELECT _rid, _row_number, try(json_extract_string(line, {paths})) AS _vals,
               _vals IS NOT NULL AND (line[1] = '{{' OR starts_with(ltrim(line, {_WHITESPACE}), '{{')) AS _object
        FROM ({numbered})
        WHERE {filled}"""
    sql = f"""
        SELECT _rid, _row_number,
               CASE WHEN NOT _object THEN 'malformed_record' END AS _reader_rule,
               CASE WHEN _vals IS NULL THEN 'malformed record: not valid JSON'
                    WHEN NOT _object THEN 'malformed record: not a JSON object' END AS _reader_detail,
               NULL::VARCHAR AS _reader_raw,
               _vals
        FROM ({parsed})
        UNION ALL
        SELECT NULL::BIGINT, n, rule, detail, raw_line, NULL FROM {bad}"""
    contract_keys = _lit("{" + ", ".join(f'"{n}": null' for n in names) + "}")
    extras_sql = f"NULLIF(CAST(json_merge_patch(_src.line, {contract_keys}) AS VARCHAR), '{{}}')"
    keys = con.execute(f"SELECT DISTINCT unnest(try(json_keys(line))) AS k FROM {read} ORDER BY k").fetchall()
    return _Stage(
        sql=sql,
        source_table=read,
        values={n: f"_vals[{i}]" for i, n in enumerate(names, start=1)},
        extras_sql=extras_sql,
        record_sql="_src.line",
        file_columns=None,
        extra_columns=[k for (k,) in keys if k not in set(names)],
        empty_is_rejected=True,
    )


def _tabular_stage(ctx: _Ctx, sql: str, source_table: str, names: list[str], raw: list[str]) -> _Stage:
    """The stage of a file with a header or schema (CSV, Parquet): contract columns map to file columns by name."""
    contract_names = set(ctx.contract.column_names)
    position = {}
    for name, column in zip(names, raw, strict=True):
        position.setdefault(name, column)
    extras = [(n, c) for n, c in zip(names, raw, strict=True) if n not in contract_names]
    record = "json_object(" + ", ".join(f"{_lit(n)}, _src.{c}" for n, c in zip(names, raw, strict=True)) + ")"
    stage = _Stage(
        sql=sql,
        source_table=source_table,
        values={n: position.get(n, "NULL::VARCHAR") for n in ctx.contract.column_names},
        extras_sql=(
            "CAST(json_object(" + ", ".join(f"{_lit(n)}, _src.{c}" for n, c in extras) + ") AS VARCHAR)"
            if extras
            else "NULL::VARCHAR"
        ),
        record_sql=f"CAST({record} AS VARCHAR)" if raw else "NULL::VARCHAR",
        file_columns=names,
        extra_columns=[n for n, _ in extras],
    )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        stage.problem = (
            "file_format",
            f"{ctx.rel}: file_format: column(s) {', '.join(duplicated)} appear more than once in the header",
            ", ".join(duplicated),
        )
    return stage


def _read_or_reject(con: duckdb.DuckDBPyConnection, ctx: _Ctx, sql: str, kind: str) -> None:
    """Run a reader statement; a reader error means the file cannot be read as rows at all."""
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        detail = _first_line(exc)
        if "state machine" in detail:
            detail += " (mixed line endings or broken quoting?)"
        raise _FileRejected("file_format", f"{ctx.rel}: file_format: not a readable {kind} file: {detail}") from exc


def _reader_rejects(con: duckdb.DuckDBPyConnection, ctx: _Ctx, rejects: str, line_offset: int) -> str:
    """Turn DuckDB's CSV reject table into one row per rejected line: number, rule, detail, raw text."""
    bad = ctx.temp("bad")
    con.execute(
        f"""CREATE TEMP TABLE {bad} AS
        SELECT CAST(line AS BIGINT) - {line_offset} AS n,
               CASE WHEN bool_or(error_type = 'INVALID ENCODING') THEN 'encoding' ELSE 'malformed_record' END AS rule,
               CASE WHEN bool_or(error_type = 'INVALID ENCODING')
                    THEN 'invalid UTF-8 byte sequence (files must be UTF-8 encoded)'
                    ELSE 'malformed record (' || lower(CAST(arg_min(error_type, byte_position) AS VARCHAR)) || '): '
                         || arg_min(error_message, byte_position) END AS detail,
               ltrim(arg_min(csv_line, byte_position), E'\\r\\n') AS raw_line
        FROM {rejects}
        GROUP BY line"""
    )
    return bad


def _numbered_rows(con: duckdb.DuckDBPyConnection, ctx: _Ctx, read: str, bad: str, blank_rows: Iterable[int]) -> str:
    """A query numbering the reader's valid rows.

    Rows keep file order in ``read`` (rowid order). The k-th valid row is row ``k + j`` where ``j`` is the number of
    gaps (rejected or blank lines) before it: for gap number j at row n, ``n - j`` valid rows precede it, so an ASOF
    join on ``k > n - j`` finds the last gap before row k.
    """
    base = con.execute(f"SELECT min(rowid) FROM {read}").fetchone()
    offset = (base[0] if base and base[0] is not None else 0) - 1
    blanks = sorted(set(blank_rows))
    has_gaps = bool(blanks) or con.execute(f"SELECT count(*) FROM {bad}").fetchone()[0] > 0  # type: ignore[index]
    if not has_gaps:
        return f"SELECT rowid AS _rid, rowid - {offset} AS _row_number, * FROM {read}"
    gaps, numbers = ctx.temp("gaps"), ctx.temp("numbers")
    blank_values = f"SELECT unnest([{', '.join(str(b) for b in blanks)}]::BIGINT[]) AS n" if blanks else None
    gap_rows = f"SELECT n FROM {bad}" + (f" UNION SELECT n FROM ({blank_values})" if blank_values else "")
    con.execute(
        f"""CREATE TEMP TABLE {gaps} AS
        SELECT n - j AS valid_before, max(j) AS j
        FROM (SELECT n, row_number() OVER (ORDER BY n) AS j FROM ({gap_rows}))
        GROUP BY n - j"""
    )
    # Number positions 1..count on their own (a cheap sort of integers), then join the rows by position.
    con.execute(
        f"""CREATE TEMP TABLE {numbers} AS
        SELECT t.k, t.k + coalesce(g.j, 0) AS n
        FROM range(1, (SELECT count(*) FROM {read}) + 1) AS t(k)
        ASOF LEFT JOIN {gaps} AS g ON t.k > g.valid_before"""
    )
    return f"""
        SELECT r.rowid AS _rid, m.n AS _row_number, r.*
        FROM {read} AS r JOIN {numbers} AS m ON m.k = r.rowid - {offset}"""


# ---------------------------------------------------------------------------------------------------------------------
# File-level checks
# ---------------------------------------------------------------------------------------------------------------------


def _file_problem(ctx: _Ctx, stage: _Stage) -> tuple[str, str, str | None] | None:
    """(rule, message, column) of a problem that rejects the whole file, or None."""
    kind = ctx.contract.source_kind
    if kind == "internal" and ctx.source != INTERNAL_SOURCE:
        return (
            "source_mismatch",
            f"{ctx.rel}: source_mismatch: feed {ctx.contract.feed} is delivered by the host company only "
            f"(landing/{INTERNAL_SOURCE}/{ctx.contract.feed}/), not by source '{ctx.source}'",
            None,
        )
    if kind == "partner" and ctx.source == INTERNAL_SOURCE:
        return (
            "source_mismatch",
            f"{ctx.rel}: source_mismatch: feed {ctx.contract.feed} is delivered by partners only "
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
                f"{ctx.rel}: missing_column: required column(s) {', '.join(missing)} not in the file "
                f"(found: {', '.join(stage.file_columns)})",
                ", ".join(missing),
            )
    return None


def _reject_whole_file(
    con: duckdb.DuckDBPyConnection, ctx: _Ctx, stage: _Stage, rule: str, message: str, column: str | None
) -> FileLoadResult:
    """Keep every data row of a rejected file in audit.rejected_rows with the file-level rule."""
    detail = message.split(": ", 1)[1] if message.startswith(ctx.rel + ": ") else message
    reason = f"format({_lit(_fmt_escape(ctx.rel) + ' row {}: ' + _fmt_escape(detail))}, _row_number)"
    count = _insert_rejected(con, ctx, stage, f"({stage.sql})", _lit(rule), _lit(column), reason, "TRUE")
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
# Row validation and inserts
# ---------------------------------------------------------------------------------------------------------------------


def _validate_and_insert(con: duckdb.DuckDBPyConnection, ctx: _Ctx, stage: _Stage) -> FileLoadResult:
    """Type and check every row in one pass, mark duplicate keys, insert valid and rejected rows, log the file."""
    contract = ctx.contract
    checked = ctx.temp("checked")
    con.execute(f"CREATE TEMP TABLE {checked} AS {_checked_sql(con, ctx, stage)}")
    _mark_duplicates(con, ctx, checked)

    rows_in_file = _scalar(con, f"SELECT count(*) FROM {checked}")
    if rows_in_file == 0 and stage.empty_is_rejected:
        return _log(con, ctx, STATUS_REJECTED, "empty file")
    target = ", ".join(_ident(c) for c in [*contract.column_names, *(name for name, _ in LINEAGE_COLUMNS)])
    values = ", ".join(
        [
            *(f"_t_{c}" for c in contract.column_names),
            _lit(ctx.source),
            _lit(ctx.rel),
            "_row_number",
            _lit(ctx.checksum),
            _ts(ctx.loaded_at),
            _lit(ctx.load_id),
            stage.extras_sql if stage.extra_columns else "NULL::VARCHAR",
        ]
    )
    join = _source_join(stage) if stage.extra_columns else ""
    loaded = _scalar(
        con,
        f"INSERT INTO raw.{_ident(contract.feed)} ({target}) SELECT {values} FROM {checked} {join} WHERE _fail IS NULL",
    )
    rejected = _insert_rejected(
        con, ctx, stage, checked, "_fail.rule", "_fail.column_name", "_fail.reason", "_fail IS NOT NULL"
    )
    if loaded + rejected != rows_in_file:
        raise LoadError(
            f"{ctx.rel}: internal consistency check failed: {loaded} loaded + {rejected} rejected "
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
    ctx: _Ctx,
    stage: _Stage,
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
    return _scalar(
        con,
        f"""INSERT INTO audit.rejected_rows
        SELECT {_lit(ctx.load_id)}, {_lit(ctx.contract.feed)}, {_lit(ctx.source)}, {_lit(ctx.rel)}, _row_number,
               {_lit(ctx.checksum)}, {rule}, {column}, {reason}, coalesce(_reader_raw, {stage.record_sql}),
               {_ts(ctx.loaded_at)}
        FROM {relation} AS _rows {_source_join(stage)}
        WHERE {where}
        ORDER BY _row_number""",
    )


def _source_join(stage: _Stage) -> str:
    """Join the staged source rows (raw text) as ``_src``."""
    return f"LEFT JOIN {stage.source_table} AS _src ON _src.rowid = _rid"


def _checked_sql(con: duckdb.DuckDBPyConnection, ctx: _Ctx, stage: _Stage) -> str:
    """The one-pass validation query: typed values ``_t_<col>`` and ``_fail`` (first failing rule) per row."""
    contract = ctx.contract
    texts = ", ".join(f"{_blank_to_null(expr)} AS _s_{name}" for name, expr in stage.values.items())
    typed = ", ".join(f"{_typed_sql(col)} AS _t_{col.name}" for col in contract.columns)
    joins, found = _reference_joins(con, contract)
    rules: list[tuple[str, str, str | None, str]] = [
        ("_reader_rule IS NOT NULL", "_reader_rule", None, _reason(ctx, "{}", "_reader_detail"))
    ]
    for col in contract.columns:
        rules.extend(_column_rules(ctx, col, found.get(col.name)))
    if contract.require_one_of:
        names = ", ".join(contract.require_one_of)
        rules.append(
            (
                " AND ".join(f"_t_{c} IS NULL" for c in contract.require_one_of),
                _lit("require_one_of"),
                names,
                _reason(ctx, f"none of {names} is set; at least one is required"),
            )
        )
    fail = "CASE " + " ".join(
        f"WHEN {cond} THEN {{'rule': {rule}, 'column_name': {_lit(column)}::VARCHAR, 'reason': {reason}}}"
        for cond, rule, column, reason in rules
    )
    fail += " ELSE NULL::STRUCT(rule VARCHAR, column_name VARCHAR, reason VARCHAR) END"
    keep = ", ".join(["_rid", "_row_number", "_reader_raw", *(f"_t_{c}" for c in contract.column_names)])
    return f"""
        SELECT {keep}, {fail} AS _fail
        FROM (
            SELECT _text.*, {typed}
            FROM (SELECT _stage.*, {texts} FROM ({stage.sql}) AS _stage) AS _text
        ) AS _typed
        {joins}"""


def _typed_sql(col: ColumnContract) -> str:
    """SQL typing ``_s_<col>``: NULL when missing or when the text is not a valid value of the type."""
    s = f"_s_{col.name}"
    if col.type == "varchar":
        return s
    if col.type == "boolean":
        x = f"lower(trim({s}, {_WHITESPACE}))"
        return f"CASE WHEN {x} IN {_in_list(_TRUE)} THEN TRUE WHEN {x} IN {_in_list(_FALSE)} THEN FALSE END"
    fmt = {"integer": _INTEGER_RE, "decimal": _NUMBER_RE, "double": _NUMBER_RE, "date": _DATE_RE}.get(
        col.type, _TIMESTAMPTZ_RE
    )
    # DuckDB's casts ignore surrounding whitespace; the format check allows it too.
    return f"CASE WHEN regexp_full_match({s}, {_lit(_padded(fmt))}) THEN TRY_CAST({s} AS {col.duckdb_type}) END"


def _reference_joins(con: duckdb.DuckDBPyConnection, contract: FeedContract) -> tuple[str, dict[str, str]]:
    """LEFT JOINs to the distinct referenced values; returns the SQL and, per column, the 'found' expression."""
    joins, found = [], {}
    if not any(c.reference for c in contract.columns):
        return "", found
    raw_columns = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'raw' AND database_name = current_database()"
        ).fetchall()
    )
    for i, col in enumerate(contract.columns):
        if col.reference is None:
            continue
        feed, column = col.reference
        alias = f"_ref{i}"
        if (feed, column) in raw_columns:
            values = f"SELECT DISTINCT {_ident(column)} AS v FROM raw.{_ident(feed)}"
        else:
            values = f"SELECT NULL::{col.duckdb_type} AS v WHERE FALSE"
        joins.append(f"LEFT JOIN ({values}) AS {alias} ON {alias}.v = _typed._t_{col.name}")
        found[col.name] = f"{alias}.v IS NOT NULL"
    return "\n        ".join(joins), found


def _column_rules(ctx: _Ctx, col: ColumnContract, found: str | None) -> list[tuple[str, str, str | None, str]]:
    """(condition, rule, column, reason) for every rule of one column, in check order."""
    s, t, name = f"_s_{col.name}", f"_t_{col.name}", col.name
    shown = f"left({s}, {REASON_VALUE_CHARS})"
    rules: list[tuple[str, str, str | None, str]] = []

    def add(cond: str, rule: str, template: str, *args: str) -> None:
        rules.append((cond, _lit(rule), name, _reason(ctx, template, *args)))

    if col.required:
        add(f"{s} IS NULL", "required", f"required column {name} is empty")
    if col.type == "timestamptz":
        naive = f"regexp_full_match({s}, {_lit(_padded(_NAIVE_TIMESTAMP_RE))})"
        add(
            f"{t} IS NULL AND {s} IS NOT NULL AND {naive}",
            "type",
            f"{name} '{{}}' is not a timestamptz: it has no time zone offset (add Z or +hh:mm)",
            shown,
        )
    if col.type != "varchar":
        add(f"{t} IS NULL AND {s} IS NOT NULL", "type", f"{name} '{{}}' is not {_TYPE_HINTS[col.type]}", shown)
    as_text = f"CAST({t} AS VARCHAR)"
    if col.allowed is not None:
        listed = _fmt_escape(", ".join(col.allowed))
        cond = f"{as_text} NOT IN {_in_list(col.allowed)}"
        add(cond, "allowed_values", f"{name} '{{}}' is not one of: {listed}", shown)
    if col.pattern is not None:
        add(
            f"NOT regexp_matches({as_text}, {_lit(col.pattern)})",
            "pattern",
            f"{name} '{{}}' does not match the pattern {_fmt_escape(col.pattern)}",
            shown,
        )
    conditions = col.negative_when.items()
    negative = " AND ".join(f"coalesce(CAST(_t_{o} AS VARCHAR) = {_lit(v)}, FALSE)" for o, v in conditions)
    if negative:
        when = _fmt_escape(", ".join(f"{o} is '{v}'" for o, v in conditions))
        add(f"{negative} AND {t} > 0", "negative_when", f"{name} {{}} must be zero or negative when {when}", shown)
    if col.min is not None:
        cond = f"{t} < {col.min}" + (f" AND NOT ({negative})" if negative else "")
        add(cond, "min", f"{name} {{}} is below the minimum {col.min}", shown)
    if col.max is not None:
        add(f"{t} > {col.max}", "max", f"{name} {{}} is above the maximum {col.max}", shown)
    if col.not_in_future:
        limit = (
            f"DATE '{(ctx.loaded_at + MAX_UTC_OFFSET).date().isoformat()}'"
            if col.type == "date"
            else _ts(ctx.loaded_at + CLOCK_SKEW)
        )
        loaded = ctx.loaded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        add(f"{t} > {limit}", "not_in_future", f"{name} '{{}}' is in the future (loaded at {loaded})", shown)
    if col.after is not None:
        add(
            f"{t} < _t_{col.after}",
            "after",
            f"{name} '{{}}' is before {col.after} '{{}}'",
            shown,
            f"left(_s_{col.after}, {REASON_VALUE_CHARS})",
        )
    if col.matches_source and ctx.source != INTERNAL_SOURCE:
        add(
            f"{t} <> {_lit(ctx.source)}",
            "source_mismatch",
            f"{name} '{{}}' does not match the source folder '{_fmt_escape(ctx.source)}'",
            shown,
        )
    if found is not None:
        add(
            f"{t} IS NOT NULL AND NOT ({found})",
            "unknown_reference",
            f"{name} '{{}}' not found in raw.{_fmt_escape(col.references or '')}",
            shown,
        )
    return rules


def _mark_duplicates(con: duckdb.DuckDBPyConnection, ctx: _Ctx, checked: str) -> None:
    """Mark duplicate keys among otherwise valid rows: keys already in raw (append feeds), then repeats in the file."""
    contract = ctx.contract
    keys = [f"_t_{k}" for k in contract.key]
    key_names = ", ".join(contract.key)
    key_values = "format('(" + ", ".join("''{}''" for _ in keys) + ")', " + ", ".join(keys) + ")"
    dups = ctx.temp("dups")
    con.execute(f"CREATE TEMP TABLE {dups} (rid BIGINT, first_row BIGINT, earlier_file VARCHAR)")
    if contract.load_mode == "append":
        on = " AND ".join(f"c._t_{k} = r.{_ident(k)}" for k in contract.key)
        con.execute(
            f"""INSERT INTO {dups}
            SELECT c.rowid, NULL, min(r._source_file)
            FROM {checked} AS c JOIN raw.{_ident(contract.feed)} AS r ON {on}
            WHERE c._fail IS NULL
            GROUP BY c.rowid"""
        )
    group = ", ".join(keys)
    on = " AND ".join(f"c.{k} IS NOT DISTINCT FROM f.{k}" for k in keys)
    con.execute(
        f"""INSERT INTO {dups}
        WITH candidates AS (
            SELECT rowid AS rid, _row_number, {group} FROM {checked}
            WHERE _fail IS NULL AND rowid NOT IN (SELECT rid FROM {dups})
        ),
        firsts AS (
            SELECT {group}, min(_row_number) AS first_row FROM candidates GROUP BY {group} HAVING count(*) > 1
        )
        SELECT c.rid, f.first_row, NULL FROM candidates AS c JOIN firsts AS f ON {on}
        WHERE c._row_number > f.first_row"""
    )
    if _scalar(con, f"SELECT count(*) FROM {dups}") == 0:
        return
    prefix = _fmt_escape(ctx.rel) + " row {}: duplicate key (" + key_names + ") = {}"
    con.execute(
        f"""UPDATE {checked} SET _fail = {{
            'rule': 'duplicate_key',
            'column_name': {_lit(key_names)},
            'reason': CASE WHEN d.earlier_file IS NOT NULL
                THEN format({_lit(prefix + ": already loaded from {}")}, _row_number, {key_values}, d.earlier_file)
                ELSE format({_lit(prefix + ": first occurrence at row {} of this file")},
                            _row_number, {key_values}, d.first_row) END
        }}
        FROM {dups} AS d WHERE {checked}.rowid = d.rid"""
    )


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
    table = f"raw.{_ident(contract.feed)}"
    if not existing:
        columns = ", ".join(f"{_ident(n)} {t}" for n, t in wanted)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        return
    aliases = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
    for name, dtype in wanted:
        if name not in existing:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {_ident(name)} {dtype}")
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


# ---------------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------------


def _scan_file(path: Path) -> tuple[str, int, int]:
    """Stream the file once: sha256 hex, size in bytes and number of physical lines."""
    digest = hashlib.sha256()
    size = newlines = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    return digest.hexdigest(), size, newlines + (1 if last not in (b"", b"\n") else 0)


def _blank_lines(path: Path) -> list[int]:
    """1-based line numbers of the blank lines of a file (a second pass, only run when a file has any)."""
    blanks: list[int] = []
    newlines = 0  # newline bytes before the current buffer
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            buffer = carry + chunk
            # A match needs two bytes of lookahead: the last two bytes of a full chunk are searched again next time.
            limit = len(buffer) - 2 if len(chunk) == _CHUNK_BYTES else len(buffer)
            counted = 0
            for match in _BLANK_LINE.finditer(buffer):
                if match.start() >= limit:
                    break
                newlines += buffer.count(b"\n", counted, match.start())
                counted = match.start()
                blanks.append(newlines + 2)  # this newline ends line newlines+1; the blank line is the next one
            newlines += buffer.count(b"\n", counted, limit)
            carry = buffer[limit:]
    return blanks


def _read_csv_header(path: Path) -> list[str] | None:
    """Column names from the first line of a CSV file, or None if that line is blank."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        return None
    return next(csv.reader([text]))


def _relative(path: Path, landing_root: Path) -> str:
    """The file's path relative to the landing root, with forward slashes."""
    for candidate, root in ((path.absolute(), landing_root.absolute()), (path.resolve(), landing_root.resolve())):
        try:
            return candidate.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _reason(ctx: _Ctx, template: str, *args: str) -> str:
    """SQL for a rejection reason '<file> row <n>: <message>'; ``template`` uses {} for the SQL ``args``."""
    literal = _lit(_fmt_escape(ctx.rel) + " row {}: " + template)
    return f"format({literal}, {', '.join(['_row_number', *args])})"


def _blank_to_null(expr: str) -> str:
    """SQL mapping empty strings to NULL."""
    return f"nullif({expr}, '')"


def _padded(regex: str) -> str:
    """A full-match regex that also allows surrounding whitespace."""
    return rf"\s*({regex})\s*"


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _fmt_escape(text: str) -> str:
    """Escape braces for DuckDB's format()."""
    return text.replace("{", "{{").replace("}", "}}")


def _lit(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _ts(moment: datetime) -> str:
    """A TIMESTAMPTZ literal."""
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat()}'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

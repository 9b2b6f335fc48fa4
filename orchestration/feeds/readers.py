"""One reader per file format: each stages a file as text rows with 1-based data row numbers.

CSV goes through ``read_csv`` (all columns VARCHAR, ``store_rejects``) so that malformed lines (wrong number of fields,
broken quoting) and invalid UTF-8 are caught per line; JSON Lines is read one line per row and parsed with DuckDB's JSON
functions; Parquet through ``read_parquet(file_row_number=true)``. A file a reader cannot parse at all raises
:class:`~orchestration.feeds.context.FileRejected` (rule ``file_format``).

DuckDB reports line numbers only for rejected CSV lines, so the number of a valid row is derived set-based: rows keep
file order (``preserve_insertion_order``) and the k-th valid row's number is k plus the number of rejected or blank
lines before it (an ASOF join).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from orchestration.feeds.context import EmptyFile, FileRejected, LoadContext, Stage, first_line
from orchestration.feeds.files import blank_lines, read_csv_header
from orchestration.feeds.rules import WHITESPACE
from orchestration.warehouse.sql import ident, lit, scalar


def stage_csv(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Stage:
    """Stage a CSV file: header from the first line, rows via read_csv with rejects captured per line."""
    header = read_csv_header(ctx.path)
    if header is None:
        raise EmptyFile
    names = [h.strip() or f"column_{i}" for i, h in enumerate(header, start=1)]
    raw = [f"_c{i}" for i in range(len(names))]
    read, rejects, scans = ctx.temp("read"), ctx.temp("rejects"), ctx.temp("scans")
    columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in raw) + "}"
    _read_or_reject(
        con,
        ctx,
        f"""CREATE TEMP TABLE {read} AS SELECT * FROM read_csv({lit(str(ctx.path))}, header = true,
            auto_detect = false, columns = {columns}, delim = ',', quote = '"', escape = '"', strict_mode = true,
            store_rejects = true, rejects_table = {lit(rejects)}, rejects_scan = {lit(scans)})""",
        "CSV",
    )
    bad = _reader_rejects(con, ctx, rejects, line_offset=1)
    records = scalar(con, f"SELECT (SELECT count(*) FROM {read}) + (SELECT count(*) FROM {bad})")
    # More lines than header + records: blank lines (or values spanning lines); find the blank ones.
    blank_rows = [n - 1 for n in blank_lines(ctx.path, quote=b'"')] if ctx.physical_lines > records + 1 else []
    numbered = _numbered_rows(con, ctx, read, bad, blank_rows)
    null_raw = ", ".join(f"NULL::VARCHAR AS {c}" for c in raw)
    sql = f"""
        SELECT _rid, _row_number, NULL::VARCHAR AS _reader_rule, NULL::VARCHAR AS _reader_detail,
               NULL::VARCHAR AS _reader_raw, {", ".join(raw)}
        FROM ({numbered})
        UNION ALL
        SELECT NULL::BIGINT, n, rule, detail, raw_line, {null_raw} FROM {bad}"""
    return _tabular_stage(ctx, sql, read, names, raw)


def stage_parquet(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Stage:
    """Stage a Parquet file: schema from the file, values cast to VARCHAR, row numbers from file_row_number."""
    source = lit(str(ctx.path))
    try:
        schema = con.execute(f"DESCRIBE SELECT * FROM read_parquet({source})").fetchall()
    except duckdb.Error as exc:
        message = f"{ctx.shown}: file_format: not a readable Parquet file: {first_line(exc)}"
        raise FileRejected("file_format", message) from exc
    names = [row[0] for row in schema]
    raw = [f"_c{i}" for i in range(len(names))]
    read = ctx.temp("read")
    casts = ", ".join(f"CAST({ident(n)} AS VARCHAR) AS {c}" for n, c in zip(names, raw, strict=True))
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
    stage = _tabular_stage(ctx, sql, read, names, raw)
    # A list, struct or map column holds several values in one cell; its text ('[CU1, CU2]') is no single value.
    nested = {name: _nested_kind(str(dtype)) for name, dtype, *_ in schema}
    stage.shapes = {
        name: f"CASE WHEN {column} IS NOT NULL THEN {lit(f'a Parquet {nested[name]}')} END"
        for name, column in zip(names, raw, strict=True)
        if nested[name] and name in ctx.contract.column_names and stage.values.get(name) == column
    }
    return stage


def stage_jsonl(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Stage:
    """Stage a JSON Lines file: one VARCHAR per line (line numbers), parsed with DuckDB's JSON functions."""
    read, rejects, scans = ctx.temp("read"), ctx.temp("rejects"), ctx.temp("scans")
    # A delimiter that cannot occur in valid JSON (raw control characters must be escaped) and no quoting.
    _read_or_reject(
        con,
        ctx,
        f"""CREATE TEMP TABLE {read} AS SELECT line FROM read_csv({lit(str(ctx.path))}, header = false,
            auto_detect = false, columns = {{'line': 'VARCHAR'}}, delim = E'\\x1f', quote = '', escape = '',
            strict_mode = true, store_rejects = true, rejects_table = {lit(rejects)}, rejects_scan = {lit(scans)})""",
        "JSON Lines",
    )
    bad = _reader_rejects(con, ctx, rejects, line_offset=0)
    numbered = _numbered_rows(con, ctx, read, bad, [])
    # Blank lines come back as NULL; whitespace-only lines are blank too. Neither is a row.
    filled = f"line IS NOT NULL AND NOT (ascii(line) <= 32 AND trim(line, {WHITESPACE}) = '')"
    names = ctx.contract.column_names
    paths = "[" + ", ".join(lit(f'$."{n}"') for n in names) + "]"
    # try() gives NULL for invalid JSON; a valid JSON text starting with '{' is an object. JSON itself allows a key
    # twice and DuckDB keeps the first value: a record that repeats a key is malformed, whichever value was meant.
    parsed = f"""
        SELECT _rid, _row_number, try(json_extract_string(line, {paths})) AS _vals,
               _vals IS NOT NULL AND (line[1] = '{{' OR starts_with(ltrim(line, {WHITESPACE}), '{{')) AS _object,
               CASE WHEN _object THEN json_type(line, {paths}) END AS _types,
               CASE WHEN _object THEN json_keys(line) END AS _keys
        FROM ({numbered})
        WHERE {filled}"""
    repeated = "list_distinct(list_filter(_keys, lambda k, i: list_position(_keys, k) < i))"
    sql = f"""
        SELECT _rid, _row_number,
               CASE WHEN NOT _object OR len(_keys) > len(list_distinct(_keys)) THEN 'malformed_record' END
                   AS _reader_rule,
               CASE WHEN _vals IS NULL THEN 'malformed record: not valid JSON'
                    WHEN NOT _object THEN 'malformed record: not a JSON object'
                    WHEN len(_keys) > len(list_distinct(_keys))
                    THEN 'malformed record: key(s) ' || array_to_string(list_sort({repeated}), ', ')
                         || ' appear more than once in the JSON object' END AS _reader_detail,
               NULL::VARCHAR AS _reader_raw,
               _vals, _types
        FROM ({parsed})
        UNION ALL
        SELECT NULL::BIGINT, n, rule, detail, raw_line, NULL, NULL FROM {bad}"""
    contract_keys = lit("{" + ", ".join(f'"{n}": null' for n in names) + "}")
    extras_sql = f"NULLIF(CAST(json_merge_patch(_src.line, {contract_keys}) AS VARCHAR), '{{}}')"
    keys = con.execute(f"SELECT DISTINCT unnest(try(json_keys(line))) AS k FROM {read} ORDER BY k").fetchall()
    return Stage(
        sql=sql,
        source_table=read,
        values={n: f"_vals[{i}]" for i, n in enumerate(names, start=1)},
        shapes={col.name: _json_shape(f"_types[{i}]", col.type) for i, col in enumerate(ctx.contract.columns, start=1)},
        extras_sql=extras_sql,
        record_sql="_src.line",
        file_columns=None,
        extra_columns=[k for (k,) in keys if k not in set(names)],
        empty_is_rejected=True,
    )


def _json_shape(json_type: str, column_type: str) -> str:
    """SQL naming what a JSON value is when it is not a value of the column's type (else NULL).

    Objects and arrays are never a single value; a JSON boolean is a value of a boolean column only (as an id or a
    name, ``true`` is a mistake, not the text 'true'). Numbers and strings are read as text and typed as usual.
    """
    not_values = ["'OBJECT'", "'ARRAY'"] + (["'BOOLEAN'"] if column_type != "boolean" else [])
    return (
        f"CASE WHEN {json_type} IN ({', '.join(not_values)}) "
        f"THEN 'a JSON ' || CASE {json_type} WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' ELSE 'boolean' END "
        "END"
    )


def _nested_kind(dtype: str) -> str | None:
    """'list', 'struct' or 'map' for a nested DuckDB type (as DESCRIBE spells it), else None."""
    if dtype.endswith("]"):
        return "list"
    for kind in ("STRUCT", "MAP", "UNION"):
        if dtype.startswith(kind + "("):
            return kind.lower()
    return None


def _tabular_stage(ctx: LoadContext, sql: str, source_table: str, names: list[str], raw: list[str]) -> Stage:
    """The stage of a file with a header or schema (CSV, Parquet): contract columns map to file columns by name."""
    contract_names = set(ctx.contract.column_names)
    position = {}
    for name, column in zip(names, raw, strict=True):
        position.setdefault(name, column)
    extras = [(n, c) for n, c in zip(names, raw, strict=True) if n not in contract_names]
    record = "json_object(" + ", ".join(f"{lit(n)}, _src.{c}" for n, c in zip(names, raw, strict=True)) + ")"
    stage = Stage(
        sql=sql,
        source_table=source_table,
        values={n: position.get(n, "NULL::VARCHAR") for n in ctx.contract.column_names},
        extras_sql=(
            "CAST(json_object(" + ", ".join(f"{lit(n)}, _src.{c}" for n, c in extras) + ") AS VARCHAR)"
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
            f"{ctx.shown}: file_format: column(s) {', '.join(duplicated)} appear more than once in the header",
            ", ".join(duplicated),
        )
    return stage


def _read_or_reject(con: duckdb.DuckDBPyConnection, ctx: LoadContext, sql: str, kind: str) -> None:
    """Run a reader statement; a reader error means the file cannot be read as rows at all."""
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        detail = first_line(exc)
        if "state machine" in detail:
            detail += " (mixed line endings or broken quoting?)"
        raise FileRejected("file_format", f"{ctx.shown}: file_format: not a readable {kind} file: {detail}") from exc


def _reader_rejects(con: duckdb.DuckDBPyConnection, ctx: LoadContext, rejects: str, line_offset: int) -> str:
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


def _numbered_rows(
    con: duckdb.DuckDBPyConnection, ctx: LoadContext, read: str, bad: str, blank_rows: Iterable[int]
) -> str:
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


#: Format (see :data:`orchestration.feeds.files.FORMATS`) -> the reader that stages a file of it.
READERS = {"csv": stage_csv, "jsonl": stage_jsonl, "parquet": stage_parquet}

"""A feed contract as SQL: one pass that types every column and finds each row's first failing rule.

Every value is first trimmed of :data:`BLANKS` (a blank-only value is missing). First erased_subject (a row about an
erased customer); then per column, in column order: required, type, allowed_values, pattern, personal_data,
min/negative_when, max, not_in_future, after, source_mismatch, unknown_reference; then require_one_of. Repeated
keys are marked afterwards among the otherwise valid rows (within the
file the first occurrence wins; for ``load_mode: append`` a key already in ``raw.<feed>`` is a repeat too), as
``duplicate_key`` when the row equals the earlier version and ``conflicting_duplicate`` when it does not. Every
rejection reason names the file, the row and the rule.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb

from orchestration.feeds.context import LoadContext, Stage
from orchestration.feeds.contracts import INTERNAL_SOURCE, ColumnContract, FeedContract
from orchestration.personal_data import SHAPE_SQL, SHAPES, masked_sql
from orchestration.warehouse.sql import fmt_escape, ident, in_list, lit, scalar, ts_literal

#: How far a ``not_in_future`` timestamp may lie after the load time.
CLOCK_SKEW = timedelta(minutes=5)
#: The furthest time zone ahead of UTC: a date is in the future only when it is after today there.
MAX_UTC_OFFSET = timedelta(hours=14)
#: Values quoted in rejection reasons are cut to this many characters.
REASON_VALUE_CHARS = 200

# Strict text formats checked before try_cast (DuckDB's casts alone accept e.g. '1.5' as an integer).
_INTEGER_RE = r"[+-]?[0-9]+"
_NUMBER_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Any number of fractional digits, as delivered; the warehouse keeps microseconds, so digits after the sixth must be 0.
_ANY_TIME_RE = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
_TIME_RE = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6}0*)?)?"
# Offsets that exist: -12:00 to +14:00, in whole hours or at :15, :30 and :45 (India +05:30, Nepal +05:45, ...).
_QUARTERS = "(:?(00|15|30|45))?"
_OFFSET_RE = rf"(Z|z|[+](0[0-9]|1[0-3]){_QUARTERS}|[+]14(:?00)?|-(0[0-9]|1[01]){_QUARTERS}|-12(:?00)?)"
_ANY_OFFSET_RE = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"
_TIMESTAMPTZ_RE = _DATE_RE + _TIME_RE + " ?" + _OFFSET_RE
_NAIVE_TIMESTAMP_RE = _DATE_RE + f"({_ANY_TIME_RE})?"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
WHITESPACE = "E' \\t\\r\\n'"
#: What is trimmed from both ends of every value before any rule: ASCII whitespace, the Unicode space separators
#: (no-break space, ideographic space, ...), the line and paragraph separators, and the invisible zero-width space
#: and byte order mark. A value that is nothing but these is empty, i.e. missing.
BLANKS = (
    " \t\n\r\v\f\u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200C))  # en quad ... hair space, zero-width space
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
#: The largest magnitude each numeric type stores (DECIMAL(18,4): 14 digits before the point).
TYPE_RANGES = {
    "integer": "-9223372036854775808 to 9223372036854775807",
    "decimal": "up to 99999999999999.9999 either way",
}
_TYPE_HINTS = {
    "integer": "an integer",
    "decimal": "a decimal",
    "double": "a double",
    "date": "a date (expected YYYY-MM-DD)",
    "timestamptz": "a timestamptz (expected ISO 8601 with an offset, e.g. 2026-01-31T10:00:00Z)",
    "boolean": "a boolean (expected true or false)",
}


def checked_sql(con: duckdb.DuckDBPyConnection, ctx: LoadContext, stage: Stage) -> str:
    """The one-pass validation query: typed values ``_t_<col>`` and ``_fail`` (first failing rule) per row."""
    contract = ctx.contract
    texts = ", ".join(f"{_blank_to_null(expr)} AS _s_{name}" for name, expr in stage.values.items())
    shapes = "".join(f", {expr} AS _shape_{name}" for name, expr in stage.shapes.items())
    typed = ", ".join(f"{_typed_sql(col)} AS _t_{col.name}" for col in contract.columns)
    joins, found = _reference_joins(con, contract)
    rules: list[tuple[str, str, str | None, str]] = [
        ("_reader_rule IS NOT NULL", "_reader_rule", None, reason_sql(ctx, "{}", "_reader_detail"))
    ]
    rules.extend(_erased_subject_rule(con, ctx))
    for col in contract.columns:
        rules.extend(_column_rules(ctx, col, found.get(col.name), col.name in stage.shapes))
    if contract.require_one_of:
        names = ", ".join(contract.require_one_of)
        rules.append(
            (
                " AND ".join(f"_t_{c} IS NULL" for c in contract.require_one_of),
                lit("require_one_of"),
                names,
                reason_sql(ctx, f"none of {names} is set; at least one is required"),
            )
        )
    fail = "CASE " + " ".join(
        f"WHEN {cond} THEN {{'rule': {rule}, 'column_name': {lit(column)}::VARCHAR, 'reason': {reason}}}"
        for cond, rule, column, reason in rules
    )
    fail += " ELSE NULL::STRUCT(rule VARCHAR, column_name VARCHAR, reason VARCHAR) END"
    keep = ", ".join(["_rid", "_row_number", "_reader_raw", *(f"_t_{c}" for c in contract.column_names)])
    return f"""
        SELECT {keep}, {fail} AS _fail
        FROM (
            SELECT _text.*, {typed}
            FROM (SELECT _stage.*, {texts}{shapes} FROM ({stage.sql}) AS _stage) AS _text
        ) AS _typed
        {joins}"""


#: Columns that name a person, and the kind of keyed hash a tombstone holds for them (the email as its SHA-256).
SUBJECT_COLUMNS = {
    "customer_id": ("customer_id", "{}"),
    "anonymous_id": ("anonymous_id", "{}"),
    "email": ("email_sha256", "sha256(lower({}))"),
    "email_sha256": ("email_sha256", "lower({})"),
}


def _erased_subject_rule(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> list[tuple[str, str, str | None, str]]:
    """The ``erased_subject`` rule: a row carrying an identifier of an erased customer (a keyed hash in
    ``audit.erasure_tombstones``, under the current or a previous key) is dropped; its values are never stored.

    Only when there are tombstones and the feed has a column that names a person; checked before every other rule.
    """
    columns = [c for c in ctx.contract.column_names if c in SUBJECT_COLUMNS]
    if not columns or not scalar(con, "SELECT count(*) FROM audit.erasure_tombstones"):
        return []
    from orchestration import privacy

    privacy.register(con)
    tombstones = "(SELECT list(subject_hash) FROM audit.erasure_tombstones)"
    conditions = []
    for name in columns:
        kind, value = SUBJECT_COLUMNS[name]
        conditions.append(
            f"coalesce(list_has_any({privacy.SQL_ALL_KEYS_FUNCTION}({lit(kind)}, {value.format(f'_s_{name}')}), "
            f"{tombstones}), FALSE)"
        )
    reason = reason_sql(
        ctx, "erased_subject: the row is about a customer who was erased; it was dropped and its values are not kept"
    )
    return [(" OR ".join(conditions), lit("erased_subject"), None, reason)]


def _typed_sql(col: ColumnContract) -> str:
    """SQL typing ``_s_<col>``: NULL when missing or when the text is not a valid value of the type."""
    s = f"_s_{col.name}"
    if col.type == "varchar":
        return s
    if col.type == "boolean":
        x = f"lower(trim({s}, {WHITESPACE}))"
        return f"CASE WHEN {x} IN {in_list(_TRUE)} THEN TRUE WHEN {x} IN {in_list(_FALSE)} THEN FALSE END"
    fmt = {"integer": _INTEGER_RE, "decimal": _NUMBER_RE, "double": _NUMBER_RE, "date": _DATE_RE}.get(
        col.type, _TIMESTAMPTZ_RE
    )
    cast = f"TRY_CAST({s} AS {col.duckdb_type})"
    finite = f" AND isfinite({cast})" if col.type == "double" else ""  # 1e400 would be stored as infinity
    return f"CASE WHEN regexp_full_match({s}, {lit(fmt)}){finite} THEN {cast} END"


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
            values = f"SELECT DISTINCT {ident(column)} AS v FROM raw.{ident(feed)}"
        else:
            values = f"SELECT NULL::{col.duckdb_type} AS v WHERE FALSE"
        joins.append(f"LEFT JOIN ({values}) AS {alias} ON {alias}.v = _typed._t_{col.name}")
        found[col.name] = f"{alias}.v IS NOT NULL"
    return "\n        ".join(joins), found


def _column_rules(
    ctx: LoadContext, col: ColumnContract, found: str | None, shaped: bool = False
) -> list[tuple[str, str, str | None, str]]:
    """(condition, rule, column, reason) for every rule of one column, in check order.

    ``shaped``: the stage says of each value whether it is a single value at all (``_shape_<col>``).
    """
    s, t, name = f"_s_{col.name}", f"_t_{col.name}", col.name
    shown = f"left({s}, {REASON_VALUE_CHARS})"
    rules: list[tuple[str, str, str | None, str]] = []

    def add(cond: str, rule: str, template: str, *args: str) -> None:
        rules.append((cond, lit(rule), name, reason_sql(ctx, template, *args)))

    if col.required:
        add(f"{s} IS NULL", "required", f"required column {name} is empty")
    if shaped:
        add(
            f"_shape_{name} IS NOT NULL",
            "type",
            f"{name} '{{}}' is {{}}, not a single {col.type} value",
            shown,
            f"_shape_{name}",
        )
    if col.type == "timestamptz":
        naive = f"regexp_full_match({s}, {lit(_NAIVE_TIMESTAMP_RE)})"
        add(
            f"{t} IS NULL AND {s} IS NOT NULL AND {naive}",
            "type",
            f"{name} '{{}}' is not a timestamptz: it has no time zone offset (add Z or +hh:mm)",
            shown,
        )
        offset = f"regexp_extract({s}, {lit(_ANY_OFFSET_RE + '$')})"
        add(
            f"{t} IS NULL AND {s} IS NOT NULL "
            f"AND regexp_full_match({s}, {lit(_DATE_RE + _ANY_TIME_RE + ' ?' + _ANY_OFFSET_RE)}) "
            f"AND NOT regexp_full_match({offset}, {lit(_OFFSET_RE)})",
            "type",
            f"{name} '{{}}' is not a timestamptz: its UTC offset {{}} does not exist "
            "(offsets run from -12:00 to +14:00, in whole hours or at :15, :30, :45)",
            shown,
            offset,
        )
        add(
            f"{t} IS NULL AND {s} IS NOT NULL "
            f"AND regexp_full_match({s}, {lit(_DATE_RE + _ANY_TIME_RE + ' ?' + _OFFSET_RE)}) "
            f"AND NOT regexp_full_match({s}, {lit(_TIMESTAMPTZ_RE)})",
            "type",
            f"{name} '{{}}' is not a timestamptz the warehouse can keep: it is more precise than a microsecond "
            "(at most 6 fractional digits that are not 0)",
            shown,
        )
    if col.type in TYPE_RANGES:
        fmt = _INTEGER_RE if col.type == "integer" else _NUMBER_RE
        add(
            f"{t} IS NULL AND {s} IS NOT NULL AND regexp_full_match({s}, {lit(fmt)})",
            "type",
            f"{name} '{{}}' is out of range for {_TYPE_HINTS[col.type]} ({TYPE_RANGES[col.type]})",
            shown,
        )
    if col.type == "double":
        add(
            f"{t} IS NULL AND {s} IS NOT NULL AND regexp_full_match({s}, {lit(_NUMBER_RE)})",
            "type",
            f"{name} '{{}}' is out of range for a double",
            shown,
        )
    if col.type != "varchar":
        add(f"{t} IS NULL AND {s} IS NOT NULL", "type", f"{name} '{{}}' is not {_TYPE_HINTS[col.type]}", shown)
    as_text = f"CAST({t} AS VARCHAR)"
    if col.allowed is not None:
        listed = fmt_escape(", ".join(col.allowed))
        cond = f"{as_text} NOT IN {in_list(col.allowed)}"
        add(cond, "allowed_values", f"{name} '{{}}' is not one of: {listed}", shown)
    if col.pattern is not None:
        add(
            f"NOT regexp_matches({as_text}, {lit(col.pattern)})",
            "pattern",
            f"{name} '{{}}' does not match the pattern {fmt_escape(col.pattern)}",
            shown,
        )
    if col.no_personal_data:
        masked = f"left({masked_sql(s)}, {REASON_VALUE_CHARS})"
        for shape, looks_like in SHAPE_SQL.items():
            add(
                f"{s} IS NOT NULL AND {looks_like(s)}",
                "personal_data",
                f"{name} '{{}}' looks like {SHAPES[shape]}: personal data does not belong in this column",
                masked,
            )
    conditions = col.negative_when.items()
    negative = " AND ".join(f"coalesce(CAST(_t_{o} AS VARCHAR) = {lit(v)}, FALSE)" for o, v in conditions)
    if negative:
        when = fmt_escape(", ".join(f"{o} is '{v}'" for o, v in conditions))
        add(f"{negative} AND {t} > 0", "negative_when", f"{name} {{}} must be zero or negative when {when}", shown)
    if col.min is not None:
        cond = f"{t} < {col.min}" + (f" AND NOT ({negative})" if negative else "")
        add(cond, "min", f"{name} {{}} is below the minimum {col.min}", shown)
    if col.max is not None:
        add(f"{t} > {col.max}", "max", f"{name} {{}} is above the maximum {col.max}", shown)
        if negative:  # a value that must be negative is bounded by the same magnitude
            when = fmt_escape(", ".join(f"{o} is '{v}'" for o, v in conditions))
            add(
                f"{negative} AND {t} < -{col.max}",
                "min",
                f"{name} {{}} is below the minimum -{col.max} when {when}",
                shown,
            )
    if col.not_in_future:
        limit = (
            f"DATE '{(ctx.loaded_at + MAX_UTC_OFFSET).date().isoformat()}'"
            if col.type == "date"
            else ts_literal(ctx.loaded_at + CLOCK_SKEW)
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
            f"{t} <> {lit(ctx.source)}",
            "source_mismatch",
            f"{name} '{{}}' does not match the source folder '{fmt_escape(ctx.source)}'",
            shown,
        )
    if found is not None:
        add(
            f"{t} IS NOT NULL AND NOT ({found})",
            "unknown_reference",
            f"{name} '{{}}' not found in raw.{fmt_escape(col.references or '')}",
            shown,
        )
    return rules


def mark_duplicates(con: duckdb.DuckDBPyConnection, ctx: LoadContext, checked: str) -> None:
    """Mark repeated keys among otherwise valid rows: keys already in raw (append feeds), then repeats in the file.

    A repeat whose every column equals the earlier version is a replay (``duplicate_key``); one that differs is a
    ``conflicting_duplicate``, and its reason shows both versions of every column that differs. The earlier version
    is the one in ``raw.<feed>`` (append feeds) or the key's first occurrence in the file, which is the one kept.
    """
    contract = ctx.contract
    keys = [f"_t_{k}" for k in contract.key]
    key_names = ", ".join(contract.key)
    key_values = "format('(" + ", ".join("''{}''" for _ in keys) + ")', " + ", ".join(f"c.{k}" for k in keys) + ")"
    others = [c for c in contract.column_names if c not in contract.key]
    dups = ctx.temp("dups")
    con.execute(f"CREATE TEMP TABLE {dups} (rid BIGINT, key_text VARCHAR, earlier VARCHAR, differences VARCHAR)")
    if contract.load_mode == "append":
        on = " AND ".join(f"c._t_{k} = r.{ident(k)}" for k in contract.key)
        con.execute(
            f"""INSERT INTO {dups}
            SELECT c.rowid, {key_values},
                   format('already loaded from {{}} row {{}}', {_shown_sql("r._source_file")}, r._row_number),
                   {_differences_sql(others, "c._t_{}", "r.{}")}
            FROM {checked} AS c JOIN raw.{ident(contract.feed)} AS r ON {on}
            WHERE c._fail IS NULL
            QUALIFY row_number() OVER (PARTITION BY c.rowid ORDER BY r._loaded_at, r._source_file, r._row_number) = 1"""
        )
    group = ", ".join(keys)
    on = " AND ".join(f"c.{k} IS NOT DISTINCT FROM f.{k}" for k in keys)
    con.execute(
        f"""INSERT INTO {dups}
        WITH candidates AS (
            SELECT rowid AS rid, * FROM {checked}
            WHERE _fail IS NULL AND rowid NOT IN (SELECT rid FROM {dups})
        ),
        firsts AS (
            SELECT {group}, min(_row_number) AS first_row FROM candidates GROUP BY {group} HAVING count(*) > 1
        )
        SELECT c.rid, {key_values}, format('a repeat of row {{}} of this file', f._row_number),
               {_differences_sql(others, "c._t_{}", "f._t_{}")}
        FROM candidates AS c
        JOIN (SELECT candidates.* FROM candidates JOIN firsts USING ({group})
              WHERE candidates._row_number = firsts.first_row) AS f ON {on}
        WHERE c._row_number > f._row_number"""
    )
    if scalar(con, f"SELECT count(*) FROM {dups}") == 0:
        return
    prefix = fmt_escape(ctx.shown) + " row {}: "
    same = prefix + "duplicate key (" + key_names + ") = {}: {}"
    conflict = prefix + "conflicting duplicate key (" + key_names + ") = {}: {}, in another version: {}"
    con.execute(
        f"""UPDATE {checked} SET _fail = {{
            'rule': CASE WHEN d.differences IS NULL THEN 'duplicate_key' ELSE 'conflicting_duplicate' END,
            'column_name': {lit(key_names)},
            'reason': CASE WHEN d.differences IS NULL
                THEN format({lit(same)}, _row_number, d.key_text, d.earlier)
                ELSE format({lit(conflict)}, _row_number, d.key_text, d.earlier, d.differences) END
        }}
        FROM {dups} AS d WHERE {checked}.rowid = d.rid"""
    )


def _shown_sql(expr: str) -> str:
    """SQL showing a stored file name as messages do: newline, carriage return and tab escaped."""
    return f"replace(replace(replace({expr}, chr(10), '\\n'), chr(13), '\\r'), chr(9), '\\t')"


def _differences_sql(columns: list[str], here: str, there: str) -> str:
    """SQL listing each column whose value differs between this row and the earlier version, with both values
    (``col 'this' here, 'that' there``), or NULL when none does. ``here``/``there`` are templates for a column."""
    parts = []
    for name in columns:
        a, b = here.format(name), there.format(name)
        shown = [f"coalesce('''' || left(CAST({v} AS VARCHAR), {REASON_VALUE_CHARS}) || '''', 'empty')" for v in (a, b)]
        parts.append(
            f"CASE WHEN {a} IS DISTINCT FROM {b} THEN {lit(name + ' ')} || {shown[0]} || ' here, ' || {shown[1]} "
            "|| ' there' END"
        )
    if not parts:
        return "NULL::VARCHAR"
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


def reason_sql(ctx: LoadContext, template: str, *args: str) -> str:
    """SQL for a rejection reason '<file> row <n>: <message>'; ``template`` uses {} for the SQL ``args``."""
    literal = lit(fmt_escape(ctx.shown) + " row {}: " + template)
    return f"format({literal}, {', '.join(['_row_number', *args])})"


def _blank_to_null(expr: str) -> str:
    """SQL trimming :data:`BLANKS` from both ends of a value and mapping what is left empty to NULL.

    Trimming a set of Unicode characters is slow; a value that starts and ends with a visible ASCII character (nearly
    every value) has nothing to trim, and two code-point tests say so.
    """
    visible = f"ascii({expr}) BETWEEN 33 AND 126 AND ord(({expr})[-1]) BETWEEN 33 AND 126"
    return (
        f"CASE WHEN {expr} = '' THEN NULL WHEN {visible} THEN {expr} ELSE nullif(trim({expr}, {lit(BLANKS)}), '') END"
    )

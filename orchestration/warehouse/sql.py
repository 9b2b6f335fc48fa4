"""Small SQL helpers: literals and identifiers quoted safely, and a scalar query."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb


def lit(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def relation(schema: str, table: str) -> str:
    """A quoted ``schema.table``."""
    return f"{ident(schema)}.{ident(table)}"


def in_list(values: Iterable[str]) -> str:
    """``('a', 'b')``: a parenthesised list of string literals."""
    return "(" + ", ".join(lit(v) for v in values) + ")"


def ts_literal(moment: datetime) -> str:
    """A TIMESTAMPTZ literal."""
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat()}'"


def fmt_escape(text: str) -> str:
    """Escape braces for DuckDB's format()."""
    return text.replace("{", "{{").replace("}", "}}")


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The first column of the first row as an int (0 when there is none)."""
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0

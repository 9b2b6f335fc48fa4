"""PostgreSQL as the warehouse engine: the connection profiles.yml's `postgres` target describes, and tables copied
from DuckDB into it with COPY.

The connection comes from the same environment variables as the dbt profile (PARTNERLENS_PG_HOST, _PORT, _USER,
_PASSWORD, _DATABASE), so dbt and the orchestrator always reach the same database.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from typing import Any

import duckdb

#: PARTNERLENS_TARGET selects the dbt target (profiles.yml); this is the one that means PostgreSQL.
TARGET = "postgres"


def target() -> str:
    """The dbt target this process builds on: PARTNERLENS_TARGET, default duckdb."""
    return os.environ.get("PARTNERLENS_TARGET", "duckdb")


def is_postgres() -> bool:
    return target() == TARGET


def connection_params() -> dict[str, Any]:
    """psycopg2 keyword arguments for the database of the `postgres` target, with the profile's defaults."""
    params: dict[str, Any] = {
        "host": os.environ.get("PARTNERLENS_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("PARTNERLENS_PG_PORT", "5432")),
        "user": os.environ.get("PARTNERLENS_PG_USER", "partnerlens"),
        "dbname": os.environ.get("PARTNERLENS_PG_DATABASE", "partnerlens"),
        "application_name": "partnerlens",
    }
    password = os.environ.get("PARTNERLENS_PG_PASSWORD", "")
    if password:
        params["password"] = password
    return params


def connect(**overrides: Any):
    """A new psycopg2 connection to the warehouse database (autocommit off: the caller commits)."""
    import psycopg2

    return psycopg2.connect(**{**connection_params(), **overrides})


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type that holds every value of a DuckDB column type exactly."""
    name = duckdb_type.strip().upper()
    decimal = _DECIMAL.fullmatch(name)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    if name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[name]
    raise ValueError(f"no PostgreSQL type for the DuckDB type {duckdb_type}")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns_of(duck: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of a DuckDB table, in order."""
    return duck.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def copy_table(duck: duckdb.DuckDBPyConnection, pg, schema: str, table: str) -> int:
    """Replace `schema.table` in PostgreSQL by the DuckDB table of the same name (same columns, exact types), with
    COPY; returns the rows copied. Runs in the caller's PostgreSQL transaction."""
    columns = columns_of(duck, schema, table)
    if not columns:
        raise ValueError(f"no table {schema}.{table} in the DuckDB warehouse")
    target_relation = f"{quote(schema)}.{quote(table)}"
    definition = ", ".join(f"{quote(name)} {postgres_type(data_type)}" for name, data_type in columns)
    names = ", ".join(quote(name) for name, _ in columns)
    with pg.cursor() as cur:
        cur.execute(f"create schema if not exists {quote(schema)}")
        cur.execute(f"drop table if exists {target_relation}")
        cur.execute(f"create table {target_relation} ({definition})")
        buffer = io.BytesIO(csv_of(duck, f"select {names} from {target_relation}"))
        cur.copy_expert(f"copy {target_relation} ({names}) from stdin with (format csv, header false)", buffer)
        return cur.rowcount


def csv_of(duck: duckdb.DuckDBPyConnection, query: str) -> bytes:
    """The rows of a DuckDB query as CSV that PostgreSQL's COPY reads back exactly: UTC timestamps with offsets,
    NULL as an unquoted empty field and the empty string quoted."""
    import tempfile
    from pathlib import Path

    duck.execute("set TimeZone = 'UTC'").fetchall()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        duck.execute(f"copy ({query}) to '{path}' (format csv, header false)").fetchall()
        return path.read_bytes()


def copy_schemas(duckdb_file: str, schemas: Iterable[str] = ("raw",)) -> dict[str, int]:
    """Copy every table of `schemas` from a DuckDB warehouse file into PostgreSQL in one transaction (each table
    replaced); returns `schema.table` -> rows. The simple way to give a PostgreSQL build the feeds that a DuckDB
    nightly loaded: `python -m orchestration.warehouse.postgres WAREHOUSE.duckdb [SCHEMA ...]`."""
    duck = duckdb.connect(duckdb_file, read_only=True)
    pg = connect()
    copied: dict[str, int] = {}
    try:
        for schema in schemas:
            tables = duck.execute(
                "select table_name from information_schema.tables"
                " where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
                [schema],
            ).fetchall()
            for (table,) in tables:
                copied[f"{schema}.{table}"] = copy_table(duck, pg, schema, table)
        pg.commit()
    finally:
        pg.close()
        duck.close()
    return copied


_DUCKDB_TYPES = {
    "character varying": "VARCHAR",
    "text": "VARCHAR",
    "character": "VARCHAR",
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "uuid": "UUID",
    "interval": "INTERVAL",
}


def duckdb_type(data_type: str, precision: int | None, scale: int | None) -> str:
    """The DuckDB type that holds every value of a PostgreSQL column exactly (information_schema's data_type,
    numeric_precision and numeric_scale)."""
    if data_type == "numeric":
        if precision is None or precision > 38:
            raise ValueError("a numeric without a precision of at most 38 has no exact DuckDB type")
        return f"DECIMAL({precision}, {scale or 0})"
    if data_type in _DUCKDB_TYPES:
        return _DUCKDB_TYPES[data_type]
    raise ValueError(f"no DuckDB type for the PostgreSQL type {data_type}")


def copy_to_duckdb(pg, schema: str, table: str, duck: duckdb.DuckDBPyConnection, target: str) -> int:
    """Write the PostgreSQL relation `schema.table` into the DuckDB table `target` (replaced) with the same columns
    and exact types, through COPY ... TO STDOUT; returns the rows written."""
    import tempfile
    from pathlib import Path

    with pg.cursor() as cur:
        cur.execute(
            "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns"
            " where table_schema = %s and table_name = %s order by ordinal_position",
            [schema, table],
        )
        columns = cur.fetchall()
        if not columns:
            raise ValueError(f"no relation {schema}.{table} in the PostgreSQL warehouse")
        cur.execute("set local timezone = 'UTC'")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "rows.csv"
            with path.open("wb") as out:
                cur.copy_expert(
                    f"copy (select * from {quote(schema)}.{quote(table)}) to stdout with (format csv, header false)",
                    out,
                )
            types = {name: duckdb_type(data_type, precision, scale) for name, data_type, precision, scale in columns}
            duck.execute(
                f"create or replace table {target} as select * from read_csv(?, columns = ?, header = false,"
                " auto_detect = false, allow_quoted_nulls = false, quote = '\"', escape = '\"')",
                [str(path), types],
            ).fetchall()
    return duck.execute(f"select count(*) from {target}").fetchall()[0][0]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m orchestration.warehouse.postgres",
        description="copy the tables of a DuckDB warehouse's schemas (default: raw) into the PostgreSQL database of "
        "PARTNERLENS_PG_*",
    )
    parser.add_argument("warehouse", help="the DuckDB warehouse file")
    parser.add_argument("schemas", nargs="*", default=["raw"])
    args = parser.parse_args(argv)
    copied = copy_schemas(args.warehouse, args.schemas)
    for name, rows in copied.items():
        print(f"{name:45} {rows:>10,} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

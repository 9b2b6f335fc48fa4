"""The warehouse that the session fixture `built_warehouse` (tests/conftest.py) builds with one real nightly run."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass
class BuiltWarehouse:
    """A warehouse built by one real nightly run over a small generated ecosystem."""

    root: Path
    landing: Path
    warehouse: Path
    run_id: str
    end_date: object

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)

    @property
    def served(self) -> Path:
        return served_file(self.warehouse)


def served_file(warehouse: Path) -> Path:
    """The served file of a warehouse by default: ``<warehouse name>_served.duckdb`` beside it (as the README says)."""
    return warehouse.with_name(f"{warehouse.stem}_served.duckdb")


def marts_fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """mart -> [rows, sha256 of every row ordered by its text]: whatever `marts` holds (views or tables)."""
    names = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    ]
    fingerprint = {}
    for name in names:
        rows = sorted(repr(row) for row in con.execute(f'select * from marts."{name}"').fetchall())
        fingerprint[name] = [len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()]
    return fingerprint


def published_fingerprint(warehouse: Path) -> dict[str, tuple[str, str, str, int]]:
    """view -> (definition, columns and types, sha256 of every row ordered by its text, row count)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        views = con.execute(
            "select view_name, sql from duckdb_views() where schema_name = 'marts' and not internal order by 1"
        ).fetchall()
        fingerprint = {}
        for name, sql in views:
            relation = con.execute(f'select * from marts."{name}"')
            columns = json.dumps([(d[0], str(d[1])) for d in relation.description])
            rows = sorted(repr(row) for row in relation.fetchall())
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            fingerprint[name] = (sql, columns, digest, len(rows))
        return fingerprint
    finally:
        con.close()


def served_schema(con: duckdb.DuckDBPyConnection) -> str:
    """The versioned schema `marts` serves (intermediate models of that build live in it too), from the publish log."""
    return con.execute(
        "select schema_name from audit.publish_log where outcome in ('published', 'restored') "
        "order by published_at desc limit 1"
    ).fetchone()[0]

"""Versioned schemas: every run builds its candidate marts into a schema of its own, and `marts` serves one of them.

A run's candidate schema is ``marts_build_<run>``. The views of schema ``marts`` point at the tables of the version
being served; the publish log (``audit.publish_log``) says which one that is. The last few published versions are
kept, so that an earlier one can be served again.
"""

from __future__ import annotations

import duckdb

from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.sql import ident, relation

PUBLISHED_SCHEMA = "marts"
CANDIDATE_PREFIX = "marts_build_"
#: Published versions kept for restore, besides the one being served.
KEEP_VERSIONS = 3


def candidate_schema(run_id: str) -> str:
    """The schema a run builds its candidate marts into."""
    return CANDIDATE_PREFIX + run_id.replace("-", "")[:16]


def served_schema(con: duckdb.DuckDBPyConnection) -> str | None:
    """The versioned schema `marts` serves now, from the publish log."""
    ensure_audit(con)
    row = con.execute(
        "select schema_name from audit.publish_log where outcome in ('published', 'restored') "
        "order by published_at desc limit 1"
    ).fetchone()
    return row[0] if row else None


def existing_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The tables (and views) of a schema."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?",
        [schema],
    ).fetchall()
    return {r[0] for r in rows}


def point_views(con: duckdb.DuckDBPyConnection, schema: str, models: list[str]) -> None:
    """Make each view ``marts.<model>`` select from ``<schema>.<model>``."""
    con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
    for model in models:
        con.execute(
            f"create or replace view {PUBLISHED_SCHEMA}.{ident(model)} as select * from {relation(schema, model)}"
        )


def drop_stale_candidates(con: duckdb.DuckDBPyConnection, keep: int = KEEP_VERSIONS) -> list[str]:
    """Drop candidate schemas that are neither served nor among the last `keep` published versions."""
    ensure_audit(con)
    kept = {
        r[0]
        for r in con.execute(
            "select schema_name from audit.publish_log where outcome in ('published', 'restored') "
            "group by schema_name order by max(published_at) desc limit ?",
            [keep + 1],
        ).fetchall()
    }
    served = served_schema(con)
    if served:
        kept.add(served)
    schemas = [
        r[0]
        for r in con.execute(
            "select schema_name from information_schema.schemata where schema_name like ?",
            [CANDIDATE_PREFIX + "%"],
        ).fetchall()
    ]
    dropped = [s for s in schemas if s not in kept]
    for schema in dropped:
        con.execute(f"drop schema {ident(schema)} cascade")
    return dropped

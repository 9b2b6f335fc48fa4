"""Append-only ledgers that live outside the versioned schemas (``ledger.payout_lines``).

A dbt model whose meta names a ledger (see :mod:`orchestration.project`) holds the rows its run proposes, in the
candidate schema. Publishing the run appends them to the ledger in the same transaction as the view swap, so a run
that fails its gates books nothing; models read the ledger as it stood at the last publish. The ledger's columns are
the model's: the first publish creates the table from the built relation, so its columns are stated once, in dbt.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from orchestration.warehouse.sql import ident, relation, scalar
from orchestration.warehouse.versions import existing_tables


def append_proposed(con: duckdb.DuckDBPyConnection, schema: str, ledgers: Mapping[str, str]) -> dict[str, int]:
    """Append each ledger's proposed rows (``ledgers``: model -> ``schema.table``) from the candidate schema.

    Runs inside the caller's transaction; returns the rows appended per ledger. A model the candidate lacks is skipped.
    """
    present = existing_tables(con, schema)
    appended: dict[str, int] = {}
    for model, ledger in ledgers.items():
        if model not in present:
            continue
        ledger_schema, ledger_table = ledger.split(".")
        target = relation(ledger_schema, ledger_table)
        proposed = relation(schema, model)
        con.execute(f"create schema if not exists {ident(ledger_schema)}")
        con.execute(f"create table if not exists {target} as select * from {proposed} limit 0")
        before = scalar(con, f"select count(*) from {target}")
        con.execute(f"insert into {target} by name select * from {proposed}")
        appended[ledger] = scalar(con, f"select count(*) from {target}") - before
    return appended

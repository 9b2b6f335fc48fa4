"""The integrity check looks for every table's blocks by its full name: a whole file named like one of its schemas
(reference.duckdb holding the schema `reference`) is whole, not ambiguous to DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.warehouse.integrity import blocks_beyond_end, check_warehouse


def test_a_file_named_like_one_of_its_schemas_is_checked_and_found_whole(tmp_path: Path) -> None:
    path = tmp_path / "reference.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema reference")
    con.execute("create table reference.reference.seeds as select range as n from range(300000)")
    con.execute("checkpoint")
    try:
        assert blocks_beyond_end(con, path) is None
    finally:
        con.close()
    check_warehouse(path)  # raises WarehouseDamaged (or DuckDB's binder error) when it cannot tell

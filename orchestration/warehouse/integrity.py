"""Opening the warehouse file: a damaged file, or one that is not a DuckDB database, is refused by name and never
written to.

Every command and every step opens the warehouse through :func:`connect_warehouse`, and every reader opens the served
warehouse (:mod:`orchestration.warehouse.served`) the same way. Before DuckDB sees the file it is checked against
DuckDB's own layout: a main header that starts with the magic bytes ``DUCK`` and the two database headers after it (an
empty file, random bytes or a file cut within its headers fail here). DuckDB's own refusals when it opens the file (a
file cut short, e.g. by a full disk or an interrupted copy, lacks the blocks its header points to; a checksum that does
not match; a write-ahead log it cannot replay) are reported the same way, and DuckDB refuses before it writes anything.
A file cut short after the blocks DuckDB reads when it opens is found by looking where every table's blocks lie
(:func:`check_warehouse`, at the start of a run and of every command). Being busy (another process holds the file) is
not damage: that error is raised as DuckDB raises it. (The size a header describes is no test of a whole file: DuckDB
counts free blocks at the end that it has already cut from the file.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

#: DuckDB's file layout: a main header and two database headers of 4 KiB each, then the blocks.
HEADER_BYTES = 4096
DATA_START = 3 * HEADER_BYTES
MAGIC = b"DUCK"
MAGIC_OFFSET = 8
#: Words of DuckDB's errors that mean the file (or its write-ahead log) is damaged, not busy.
DAMAGE_MARKERS = (
    "not a valid duckdb database file",
    "could not read enough bytes",
    "corrupt database file",
    "checksum",
    "replaying wal",
    "wal file",
    "serialization error",
)


class WarehouseDamaged(RuntimeError):
    """The warehouse file cannot be opened: it is damaged or not a DuckDB database file. Nothing was written to it."""


def damage(path: Path) -> str | None:
    """Why the file at `path` is not a whole DuckDB database file, or None (also when there is no file yet)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if not path.is_file():
        return "it is not a regular file"
    if size == 0:
        return "it is empty: 0 bytes"
    with path.open("rb") as handle:
        head = handle.read(DATA_START)
    if head[MAGIC_OFFSET : MAGIC_OFFSET + len(MAGIC)] != MAGIC:
        return "it does not begin with a DuckDB file header"
    if len(head) < DATA_START:
        return f"it is truncated: {size:,} bytes, shorter than DuckDB's file headers, which take {DATA_START:,}"
    return None


def damaged_message(path: Path, reason: str, served: bool = False) -> str:
    """The refusal, naming the file, why, and the way out (for the served file: rewrite it from the warehouse)."""
    if served:
        return (
            f"The served warehouse file {path} cannot be opened: it is damaged or not a DuckDB database file "
            f"({reason}). Nothing was written to it. It is a copy of what the warehouse serves: the next published run "
            "rewrites it, or now `partnerlens restore --version <the version `marts` serves>` (audit.publish_log of "
            "the warehouse names it)."
        )
    return (
        f"The warehouse file {path} cannot be opened: it is damaged or not a DuckDB database file ({reason}). "
        "Nothing was written to it. Restore it from a backup, or point PARTNERLENS_WAREHOUSE (--warehouse) at another "
        "file to start a new warehouse (which loads every landed file again, with an empty payout ledger)."
    )


def blocks_beyond_end(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """Why the tables of the open file ``con`` cannot all be read (a block they keep lies past the end of the file,
    which was cut short), or None. DuckDB reads a table's blocks only when it is queried; this reads only where they
    lie (``pragma_storage_info``), which costs milliseconds per table."""
    block_size = con.execute("select block_size from pragma_database_size()").fetchone()[0]
    size = path.stat().st_size
    capacity = (size - DATA_START) // block_size if block_size else 0
    tables = con.execute(
        "select database_name, schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and not temporary order by all"
    ).fetchall()
    for database, schema, table in tables:
        # qualified by the catalog too: a file named like one of its schemas (reference.duckdb) is otherwise ambiguous
        quoted = ".".join('"' + name.replace('"', '""') + '"' for name in (database, schema, table))
        last = con.execute(
            "select max(block_id) from pragma_storage_info(?) where persistent and block_id >= 0", [quoted]
        ).fetchone()[0]
        if last is not None and last >= capacity:
            return (
                f"it is truncated: {size:,} bytes hold {capacity:,} blocks, but {schema}.{table} keeps data in block "
                f"{last:,}"
            )
    return None


def check_warehouse(path: Path, served: bool = False) -> None:
    """Raise WarehouseDamaged when the file at `path` is damaged (a missing file is fine: it is created).

    Besides the headers, DuckDB opens the file read-only, every table's blocks are looked for within the file
    (:func:`blocks_beyond_end`), and the file is let go of again: this writes nothing, and a file another process
    holds is not judged here. ``served``: the file is the served warehouse (another way out).
    """
    reason = damage(path)
    if reason:
        raise WarehouseDamaged(damaged_message(path, reason, served))
    if not path.exists():
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        if is_damage_error(error):
            raise WarehouseDamaged(damaged_message(path, str(error).strip().splitlines()[0], served)) from error
        return
    try:
        reason = blocks_beyond_end(con, path)
    except duckdb.Error as error:
        if not is_damage_error(error):
            raise
        reason = str(error).strip().splitlines()[0]
    finally:
        con.close()
    if reason:
        raise WarehouseDamaged(damaged_message(path, reason, served))


def is_damage_error(error: BaseException) -> bool:
    """Whether a DuckDB error says the database file or its write-ahead log is damaged."""
    text = str(error).lower()
    return isinstance(error, duckdb.Error) and any(marker in text for marker in DAMAGE_MARKERS)


def connect_warehouse(
    path: Path, read_only: bool = False, config: dict[str, Any] | None = None, served: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the warehouse file (or, ``served``, the served file); WarehouseDamaged (naming the
    file) when it is damaged."""
    reason = damage(path)
    if reason:
        raise WarehouseDamaged(damaged_message(path, reason, served))
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.Error as error:
        if is_damage_error(error):
            reason = str(error).strip().splitlines()[0]
            raise WarehouseDamaged(damaged_message(path, reason, served)) from error
        raise

"""The served warehouse: the DuckDB file that BI tools and every reader open, and that the nightly never holds.

The nightly writes the warehouse file (``PARTNERLENS_WAREHOUSE``) from its first load to publish. A reader holding that
file would make the next step of a run fail (DuckDB's "Could not set lock on file"), and could not open it while a run
writes. So readers open another file, the served warehouse (``PARTNERLENS_SERVED``, by default
``<warehouse name>_served.duckdb`` beside the warehouse; :func:`orchestration.paths.served_path`).

After a publish (or a restore) has committed, :func:`write_served` copies what `marts` serves into a new DuckDB file
at a temporary name beside the served file:

``marts.<mart>``         every published mart, as a table: the same names, columns and types as the views of `marts`
``ledger.<table>``       the append-only ledgers (``ledger.payout_lines``) as the publish left them
``audit.run_history``    one row per run (as in the warehouse), ``audit.publish_log`` every publish and restore
``audit.served``         one row: the version this file serves, the run that published it and when it was written

then closes it (DuckDB checkpoints on close: the file is complete on its own, without a WAL) and renames it over the
served file (``os.replace``, atomic on one file system). The nightly never opens the served file itself, so a reader,
however long it stays connected, neither blocks a run nor makes it fail. A reader keeps reading the file it opened
(the old file's data stay on disk until its last reader lets go): the previous marts, never a mix of two versions; it
sees the new ones once it reconnects. A failed run never publishes, so it leaves the served file byte for byte as it
was; a failure while the new file is written removes the temporary file and leaves the served file as it was too.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.sql import ident, lit
from orchestration.warehouse.versions import PUBLISHED_SCHEMA, served_schema

LEDGER_SCHEMA = "ledger"
#: Audit tables and views of the warehouse copied into the served file (views become tables).
AUDIT_COPIED = ("run_history", "publish_log")
_ALIAS = "partnerlens_served_build"


class ServedNotFound(RuntimeError):
    """There is no served warehouse file (yet): no run has published since it was configured."""


class ServedWriteError(RuntimeError):
    """The served file could not be rewritten; it was left as it was."""


@dataclass
class ServedOutcome:
    """What :func:`write_served` wrote."""

    path: Path
    schema_name: str | None
    row_counts: dict[str, int] = field(default_factory=dict)
    file_bytes: int = 0
    seconds: float = 0.0


def temporary_paths(served: Path) -> list[Path]:
    """Files a writer left behind at temporary names beside ``served`` (a write interrupted by a crash)."""
    return sorted(served.parent.glob(f".{served.name}.*.tmp*"))


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _names(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, kind: str) -> list[str]:
    function = "duckdb_views()" if kind == "view" else "duckdb_tables()"
    name = "view_name" if kind == "view" else "table_name"
    rows = con.execute(
        f"select {name} from {function} where database_name = ? and schema_name = ? and not internal order by 1",
        [catalog, schema],
    ).fetchall()
    return [r[0] for r in rows]


def write_served(con: duckdb.DuckDBPyConnection, served: Path) -> ServedOutcome:
    """Write the served file ``served`` from what `marts` of the warehouse (``con``, writable) serves now.

    Not inside a transaction of the caller (DuckDB writes one attached database per transaction): call it after the
    publish or restore has committed. Raises ServedWriteError, with the served file as it was, when it cannot.
    """
    started = time.perf_counter()
    ensure_audit(con)
    served = Path(served)
    tmp = served.with_name(f".{served.name}.{uuid.uuid4().hex[:12]}.tmp")
    catalog = con.execute("select current_database()").fetchone()[0]
    schema = served_schema(con)
    row_counts: dict[str, int] = {}
    attached = False
    try:
        served.parent.mkdir(parents=True, exist_ok=True)
        for leftover in temporary_paths(served):
            leftover.unlink(missing_ok=True)
        con.execute(f"attach {lit(str(tmp))} as {_ALIAS}")
        attached = True
        copies = [(PUBLISHED_SCHEMA, name) for name in _names(con, catalog, PUBLISHED_SCHEMA, "view")]
        copies += [(LEDGER_SCHEMA, name) for name in _names(con, catalog, LEDGER_SCHEMA, "table")]
        copies += [("audit", name) for name in AUDIT_COPIED]
        for target_schema in sorted({s for s, _ in copies}):
            con.execute(f"create schema {_ALIAS}.{ident(target_schema)}")
        for target_schema, name in copies:
            target = f"{_ALIAS}.{ident(target_schema)}.{ident(name)}"
            con.execute(f"create table {target} as select * from {ident(catalog)}.{ident(target_schema)}.{ident(name)}")
            row_counts[f"{target_schema}.{name}"] = con.execute(f"select count(*) from {target}").fetchone()[0]
        con.execute(
            f"""
            create table {_ALIAS}.audit.served as
            select schema_name, action, run_id, published_at, now() as written_at
            from {ident(catalog)}.audit.publish_log
            where outcome in ('published', 'restored')
            order by published_at desc
            limit 1
            """
        )
        con.execute(f"detach {_ALIAS}")  # closes the new file: DuckDB checkpoints it, no WAL remains
        attached = False
        if tmp.with_name(tmp.name + ".wal").exists():
            raise ServedWriteError(f"{tmp.name} kept a write-ahead log after it was closed")
        _fsync(tmp)
        os.replace(tmp, served)
        _fsync(served.parent, directory=True)
    except Exception as error:
        if attached:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"detach {_ALIAS}")
        with contextlib.suppress(OSError):
            _remove(tmp)
        if isinstance(error, ServedWriteError):
            raise
        raise ServedWriteError(
            f"the served warehouse {served} could not be rewritten ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0] if str(error).strip() else 'no message'}); it was left as it was"
        ) from error
    return ServedOutcome(served, schema, row_counts, served.stat().st_size, time.perf_counter() - started)


def served_file_version(served: Path) -> str | None:
    """The version the served file says it serves (``audit.served``), or None when there is no readable file."""
    served = Path(served)
    if not served.is_file():
        return None
    try:
        with duckdb.connect(str(served), read_only=True) as con:
            row = con.execute("select schema_name from audit.served").fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


def refresh_served(con: duckdb.DuckDBPyConnection, served: Path) -> ServedOutcome | None:
    """Rewrite the served file when it does not serve what `marts` serves (a run killed after its publish committed
    but before the rewrite); None when it already does. A night with nothing new calls it, since it publishes
    nothing that would rewrite the file. Opening the served file read-only to read its version blocks no reader."""
    published = served_schema(con)
    if published is None or served_file_version(served) == published:
        return None
    return write_served(con, served)


def connect_served(served: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the served warehouse (what every reader of Partnerlens opens).

    Raises ServedNotFound when there is no served file yet. Close every connection to the file to see a version
    published after it was opened: DuckDB shares one open database among the connections of a process.
    """
    served = Path(served)
    if not served.is_file():
        raise ServedNotFound(
            f"No served warehouse at {served}: the nightly job (`partnerlens run`) writes it when it publishes."
        )
    from orchestration.warehouse.integrity import check_warehouse, connect_warehouse

    check_warehouse(served, served=True)  # a damaged copy is refused by name
    return connect_warehouse(served, read_only=True, served=True)

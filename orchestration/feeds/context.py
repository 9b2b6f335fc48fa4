"""What the loader knows about the file it is loading, and what it reports about each file and feed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestration.feeds.contracts import FeedContract
from orchestration.feeds.files import shown_name

#: The status of a file in ``audit.load_log``.
STATUS_LOADED = "loaded"
STATUS_SKIPPED = "skipped_duplicate"
STATUS_REJECTED = "rejected_file"
#: Logged when a load crashed and was rolled back (the file is retried on the next run).
STATUS_FAILED = "failed"


class LoadError(RuntimeError):
    """A load failed unexpectedly and was rolled back; nothing of the file was kept. The message names the file."""


class FileRejected(Exception):
    """The file cannot be read as rows at all (raised while staging, before anything is written)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class EmptyFile(Exception):
    """The file has no header line or no non-blank line."""


@dataclass
class FileLoadResult:
    """What happened to one landed file (mirrors its ``audit.load_log`` row)."""

    feed: str
    source: str
    file: str
    checksum: str
    status: str
    rows_in_file: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    extra_columns: list[str] = field(default_factory=list)
    message: str = ""
    load_id: str = ""
    file_bytes: int = 0


@dataclass
class FeedLoadResult:
    """The files of one feed processed by :func:`load_feed`, in load order."""

    feed: str
    files: list[FileLoadResult] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def rows_in_files(self) -> int:
        return sum(f.rows_in_file for f in self.files)

    def count(self, status: str) -> int:
        """Number of files with the given status."""
        return sum(f.status == status for f in self.files)


@dataclass
class Stage:
    """A file staged as text.

    ``sql`` yields one row per data row: ``_rid`` (rowid in ``source_table``; NULL for lines the reader rejected),
    ``_row_number``, ``_reader_rule``/``_reader_detail``/``_reader_raw`` (set for lines the reader rejected) and the
    format's text columns, from which ``values`` gives each contract column. ``record_sql`` and ``extras_sql`` are
    expressions over ``source_table`` joined as ``_src`` on ``_src.rowid = _rid``, so that only the narrow typed rows
    are carried through validation and the raw text is looked up for the few rows that need it.
    """

    sql: str
    source_table: str
    values: dict[str, str]
    extras_sql: str
    record_sql: str
    file_columns: list[str] | None
    extra_columns: list[str]
    problem: tuple[str, str, str | None] | None = None  # (rule, message, column_name) of a file-level problem
    #: Per contract column, SQL that names what a value is when it is no single value of the column's type (a JSON
    #: object or array, a Parquet list), else NULL; such a value fails the column's ``type`` rule.
    shapes: dict[str, str] = field(default_factory=dict)
    empty_is_rejected: bool = False  # no row at all means an empty file (JSON Lines has no header to load)


@dataclass
class LoadContext:
    """Everything about the file being loaded."""

    contract: FeedContract
    path: Path
    rel: str
    source: str
    run_id: str | None
    load_id: str
    loaded_at: datetime
    checksum: str = ""
    file_bytes: int = 0
    physical_lines: int = 0
    temp_tables: list[str] = field(default_factory=list)
    #: Called with (con, ctx, checked table) before the repeated keys of an append feed are marked, when the rows
    #: already loaded live in another engine: it puts those with the file's keys into ``raw.<feed>`` of ``con``.
    existing_rows: Callable[[Any, LoadContext, str], None] | None = None

    @property
    def shown(self) -> str:
        """The file's relative path as messages show it (control characters escaped); ``rel`` is stored as it is."""
        return shown_name(self.rel)

    def temp(self, name: str) -> str:
        """A unique temp table name for this load (dropped before commit)."""
        table = f"_pl_{self.load_id[:8]}_{name}"
        self.temp_tables.append(table)
        return table

    def result(self, status: str, message: str, **counts: object) -> FileLoadResult:
        return FileLoadResult(
            feed=self.contract.feed,
            source=self.source,
            file=self.rel,
            checksum=self.checksum,
            status=status,
            message=message,
            load_id=self.load_id,
            file_bytes=self.file_bytes,
            **counts,  # type: ignore[arg-type]
        )


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type name when the message is empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

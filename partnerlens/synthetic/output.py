"""Writing one delivery: a writer per file (CSV, JSON Lines or Parquet), row counts and the dirty-row list.

Files are named ``<source>/<feed>/<feed>_<first day>_<last day>.<ext>``; every column is written as text in contract
order, so a file's header is its feed contract's column list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from partnerlens.synthetic.formatting import join
from partnerlens.synthetic.vocabulary import COLUMNS

EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


def jsonl_bytes(table: pa.Table) -> memoryview:
    """JSON Lines for a table of string columns (null for missing), built column-wise."""
    parts: list[pa.Array | str] = []
    for i, name in enumerate(table.column_names):
        column = table.column(i).combine_chunks()
        escaped = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
        parts += [("{" if i == 0 else ",") + json.dumps(name) + ":", pc.coalesce(join('"', escaped, '"'), "null")]
    lines = join(*parts, "}\n")
    if len(lines) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


class FileWriter:
    """Appends string tables to one CSV, JSON Lines or Parquet file."""

    def __init__(self, path: Path, fmt: str, columns: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.fmt, self.rows = path, fmt, 0
        self.schema = pa.schema([(c, pa.string()) for c in columns])
        self._csv: pacsv.CSVWriter | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._file: BinaryIO | None = None
        if fmt == "csv":
            self._csv = pacsv.CSVWriter(str(path), self.schema)
        elif fmt == "parquet":
            self._parquet = pq.ParquetWriter(str(path), self.schema, compression="snappy")
        else:
            self._file = path.open("wb")

    def write(self, table: pa.Table) -> None:
        if table.schema != self.schema:
            table = table.cast(self.schema)
        if self._csv is not None:
            self._csv.write_table(table)
        elif self._parquet is not None:
            self._parquet.write_table(table)
        else:
            self._file.write(jsonl_bytes(table))
        self.rows += table.num_rows

    def close(self) -> None:
        for handle in (self._csv, self._parquet, self._file):
            if handle is not None:
                handle.close()


class Output:
    """All files of one delivery, with their row counts and the injected defects."""

    def __init__(self, root: Path, tag: str) -> None:
        self.root, self.tag = root, tag
        self.writers: dict[str, FileWriter] = {}
        self.feed_of: dict[str, str] = {}
        self.dirty: list[tuple[str, str, int, str]] = []

    def open(self, feed: str, source: str, fmt: str) -> str:
        """Create (once) the file of a feed from a source; returns its path relative to the root."""
        ext = EXTENSIONS[fmt]
        rel = f"{source}/{feed}/{feed}_{self.tag}.{ext}"
        if rel not in self.writers:
            self.writers[rel] = FileWriter(self.root / rel, fmt, COLUMNS[feed])
            self.feed_of[rel] = feed
        return rel

    def write(
        self,
        feed: str,
        source: str,
        fmt: str,
        table: pa.Table,
        dirty_positions: np.ndarray | None = None,
        defects: np.ndarray | None = None,
    ) -> None:
        rel = self.open(feed, source, fmt)
        writer = self.writers[rel]
        first_row = writer.rows + 1
        if table.num_rows:
            writer.write(table)
        if dirty_positions is not None:
            for pos, defect in zip(dirty_positions.tolist(), defects.tolist(), strict=True):
                self.dirty.append((feed, rel, first_row + pos, defect))

    def close(self) -> dict[str, int]:
        for writer in self.writers.values():
            writer.close()
        return {rel: w.rows for rel, w in sorted(self.writers.items())}


def table_of(feed: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The feed's columns as a table in contract order (KeyError naming a column that was not built)."""
    return pa.table([columns[c] for c in COLUMNS[feed]], names=COLUMNS[feed])


def split_by(keys: np.ndarray, n_groups: int) -> list[tuple[int, int, int]]:
    """(group, first row, end row) of the non-empty groups of rows sorted by an integer group key."""
    bounds = np.searchsorted(keys, np.arange(n_groups + 1))
    return [(g, int(bounds[g]), int(bounds[g + 1])) for g in range(n_groups) if bounds[g + 1] > bounds[g]]


def write_by_partner(
    out: Output,
    feed: str,
    table: pa.Table,
    partner: np.ndarray,
    formats: list[str],
    sources: list[str],
    dirty: np.ndarray,
    defects: np.ndarray,
) -> None:
    """Append each partner's slice of a partner-sorted table to that partner's file."""
    for p, a, b in split_by(partner, len(sources)):
        local = np.flatnonzero(dirty[a:b])
        out.write(feed, sources[p], formats[p], table.slice(a, b - a), local, defects[a:b][local])

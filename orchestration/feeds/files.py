"""Landed files: finding a feed's files under the landing folder, and reading their bytes once.

Files land as ``landing/<source>/<feed>/<file>``; names starting with ``.`` or ``_`` (hidden files, ``_archive``
folders, partial uploads) are not deliveries. Each file is streamed once for its sha256, size and line count; only a
CSV file with more lines than records is searched for blank lines.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

#: File suffix (lower case) -> format (see :data:`orchestration.feeds.readers.READERS`).
FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: Files are streamed in chunks of this many bytes.
CHUNK_BYTES = 1 << 20
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")


def discover_files(landing_root: Path, feed: str) -> list[tuple[str, Path]]:
    """``(source, path)`` of every file under ``landing_root/<source>/<feed>/``, sorted by relative path.

    Names starting with ``.`` or ``_`` (hidden files, ``_archive`` folders, partial uploads) are skipped.
    """
    root = Path(landing_root)
    if not root.is_dir():
        return []
    found: list[tuple[str, str, Path]] = []
    for source_dir in root.iterdir():
        if is_hidden(source_dir.name) or not source_dir.is_dir():
            continue
        feed_dir = source_dir / feed
        if not feed_dir.is_dir():
            continue
        for path in feed_dir.iterdir():
            if not is_hidden(path.name) and path.is_file():
                found.append((path.relative_to(root).as_posix(), source_dir.name, path))
    return [(source, path) for _, source, path in sorted(found)]


def is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def relative_path(path: Path, landing_root: Path) -> str:
    """The file's path relative to the landing root, with forward slashes."""
    for candidate, root in ((path.absolute(), landing_root.absolute()), (path.resolve(), landing_root.resolve())):
        try:
            return candidate.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def scan_file(path: Path) -> tuple[str, int, int]:
    """Stream the file once: sha256 hex, size in bytes and number of physical lines."""
    digest = hashlib.sha256()
    size = newlines = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    return digest.hexdigest(), size, newlines + (1 if last not in (b"", b"\n") else 0)


def blank_lines(path: Path) -> list[int]:
    """1-based line numbers of the blank lines of a file (a second pass, only run when a file has any)."""
    blanks: list[int] = []
    newlines = 0  # newline bytes before the current buffer
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            buffer = carry + chunk
            # A match needs two bytes of lookahead: the last two bytes of a full chunk are searched again next time.
            limit = len(buffer) - 2 if len(chunk) == CHUNK_BYTES else len(buffer)
            counted = 0
            for match in _BLANK_LINE.finditer(buffer):
                if match.start() >= limit:
                    break
                newlines += buffer.count(b"\n", counted, match.start())
                counted = match.start()
                blanks.append(newlines + 2)  # this newline ends line newlines+1; the blank line is the next one
            newlines += buffer.count(b"\n", counted, limit)
            carry = buffer[limit:]
    return blanks


def read_csv_header(path: Path) -> list[str] | None:
    """Column names from the first line of a CSV file, or None if that line is blank."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        return None
    return next(csv.reader([text]))

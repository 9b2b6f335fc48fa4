"""Landed files: finding a feed's files under the landing folder, and reading their bytes once.

Files land as ``landing/<source>/<feed>/<file>``; names starting with ``.`` or ``_`` (hidden files, ``_archive``
folders, partial uploads) are not deliveries. Every other entry of a feed folder is a delivery, and only a regular file
that resolves inside the landing folder is read: a link that leads out of it, a folder (even one named ``x.csv``), a
broken link or a device is rejected by name, unread (:func:`entry_problem`). Each file is streamed once for its sha256,
size and line count; only a CSV file with more lines than records is searched for blank lines (outside quoted values).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

#: File suffix (lower case) -> format (see :data:`orchestration.feeds.readers.READERS`).
FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: The first bytes of compressed files and archives: a text feed that starts with them is not text.
COMPRESSED_MAGIC: dict[bytes, str] = {
    b"\x1f\x8b": "gzip-compressed",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}
#: Files are streamed in chunks of this many bytes.
CHUNK_BYTES = 1 << 20
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")


def discover_files(landing_root: Path, feed: str) -> list[tuple[str, Path]]:
    """``(source, path)`` of every entry under ``landing_root/<source>/<feed>/``, sorted by relative path.

    Names starting with ``.`` or ``_`` (hidden files, ``_archive`` folders, partial uploads) are skipped. Every other
    entry is returned, files or not: :func:`entry_problem` says which ones the loader must reject without reading.
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
            if not is_hidden(path.name):
                found.append((path.relative_to(root).as_posix(), source_dir.name, path))
    return [(source, path) for _, source, path in sorted(found)]


def is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def entry_problem(path: Path, landing_root: Path) -> tuple[str, str] | None:
    """``(rule, detail)`` when a feed folder entry must not be read, else None.

    Only a regular file whose real path (every link followed) lies inside the landing folder is read. The detail does
    not name a link's target: nothing outside the landing folder is read or repeated.
    """
    root = Path(landing_root).resolve()
    real = path.resolve()
    if not real.is_relative_to(root):
        return "outside_landing", "is a link to something outside the landing folder; only files inside it are read"
    if not real.exists():
        return "not_a_file", "is a link that leads nowhere"
    if real.is_dir():
        return "not_a_file", "is a folder, not a file (files are read from the feed folder itself, not from subfolders)"
    if not real.is_file():
        return "not_a_file", "is not a regular file"
    return None


def compression(path: Path) -> str | None:
    """How the file is compressed or archived (e.g. ``gzip-compressed``), judged by its first bytes; None for text."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return next((kind for magic, kind in COMPRESSED_MAGIC.items() if head.startswith(magic)), None)


def shown_name(name: str) -> str:
    """A file name as messages show it: control characters (a newline, a tab, ...) escaped, the rest as it is."""
    return "".join(_escaped(ch) for ch in name)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029):
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
        return named.get(ch, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return ch


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


def blank_lines(path: Path, quote: bytes | None = None) -> list[int]:
    """1-based line numbers of the blank lines of a file (a second pass, only run when a file has any).

    With ``quote`` (CSV: ``b'"'``), lines are counted as a CSV reader counts them: a newline inside a quoted value
    (an even number of quote characters before it; an escaped quote is a pair) neither ends a line nor, when an empty
    line follows, makes a blank line. Quoted stretches are measured with ``bytes.split``/``join``, never byte by byte.
    """
    blanks: list[int] = []
    newlines = 0  # newline bytes before the current position
    hidden = 0  # of those, newlines inside quoted values
    quoted = False  # inside a quoted value at the current position
    carry = b""

    def advance(segment: bytes) -> None:
        nonlocal newlines, hidden, quoted
        newlines += segment.count(b"\n")
        if quote is None or quote not in segment:
            hidden += segment.count(b"\n") if quoted else 0
            return
        parts = segment.split(quote)
        hidden += b"".join(parts[0::2] if quoted else parts[1::2]).count(b"\n")
        quoted ^= len(parts) % 2 == 0

    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            buffer = carry + chunk
            # A match needs two bytes of lookahead: the last two bytes of a full chunk are searched again next time.
            limit = len(buffer) - 2 if len(chunk) == CHUNK_BYTES else len(buffer)
            counted = 0
            for match in _BLANK_LINE.finditer(buffer):
                if match.start() >= limit:
                    break
                advance(buffer[counted : match.start()])
                counted = match.start()
                if not quoted:
                    # This newline ends line newlines+1 (hidden ones not counted); the blank line is the next one.
                    blanks.append(newlines - hidden + 2)
            advance(buffer[counted:limit])
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

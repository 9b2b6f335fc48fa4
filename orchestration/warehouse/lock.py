"""One run at a time per warehouse: an exclusive file lock beside the warehouse file, held for a whole run."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class WarehouseBusyError(RuntimeError):
    """Another run holds the warehouse."""


@contextlib.contextmanager
def run_lock(warehouse: Path, wait_seconds: float) -> Iterator[None]:
    """Hold an exclusive lock on the warehouse for a whole run.

    A second run started against the same warehouse waits up to `wait_seconds` for the first to finish, then fails
    with a message that says so; it never interleaves its steps with the first run's.
    """
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".run.lock")
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another run"
                    raise WarehouseBusyError(
                        f"The warehouse {warehouse.name} is in use by {holder}; waited {wait_seconds:.0f} s. "
                        "Run again when it has finished."
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

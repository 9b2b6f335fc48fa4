"""Resources: the DuckDB warehouse (with a run lock) and the dbt CLI, configured from the environment."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.project import dbt_project, landing_path, warehouse_path


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


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Connections are short-lived so that dbt (a subprocess) can open the file too."""

    path: str | None = None
    landing: str | None = None

    @property
    def warehouse_file(self) -> Path:
        """The configured path, else PARTNERLENS_WAREHOUSE (read when used, not when imported)."""
        return Path(self.path) if self.path else warehouse_path()

    @property
    def landing_root(self) -> Path:
        """The configured landing folder, else PARTNERLENS_LANDING."""
        return Path(self.landing) if self.landing else landing_path()

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.warehouse_file.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(
            str(self.warehouse_file),
            read_only=read_only,
            config={"memory_limit": os.environ.get("PARTNERLENS_DUCKDB_MEMORY_LIMIT", "3GB")},
        )
        try:
            yield con
        finally:
            con.close()


class RunLockResource(dg.ConfigurableResource):
    """Held for the whole run (the nightly job runs in process): one run at a time per warehouse."""

    path: str | None = None
    wait_seconds: float | None = None

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[RunLockResource]:
        warehouse = Path(self.path) if self.path else warehouse_path()
        wait = self.wait_seconds
        if wait is None:
            wait = float(os.environ.get("PARTNERLENS_LOCK_WAIT_SECONDS", "600"))
        with run_lock(warehouse, wait):
            yield self


def build_resources() -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(),
        "run_lock": RunLockResource(),
        "dbt": DbtCliResource(project_dir=dbt_project),
    }

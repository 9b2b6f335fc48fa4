"""Resources: the DuckDB warehouse (with a run lock and its served file) and the dbt CLI, configured from the
environment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.paths import landing_path, served_path, warehouse_path
from orchestration.project import TETHERED_DBT, dbt_project
from orchestration.warehouse.audit import flush_step_failures
from orchestration.warehouse.integrity import check_warehouse, connect_warehouse
from orchestration.warehouse.lock import run_lock


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Connections are short-lived so that dbt (a subprocess) can open the file too.

    Readers never open it: they open the served file (:mod:`orchestration.warehouse.served`), which publish rewrites.
    """

    path: str | None = None
    landing: str | None = None
    served: str | None = None

    @property
    def warehouse_file(self) -> Path:
        """The configured path, else PARTNERLENS_WAREHOUSE (read when used, not when imported)."""
        return Path(self.path) if self.path else warehouse_path()

    @property
    def served_file(self) -> Path:
        """The configured served file, else PARTNERLENS_SERVED, else ``<warehouse>_served.duckdb`` beside it."""
        return Path(self.served) if self.served else served_path(self.warehouse_file)

    @property
    def landing_root(self) -> Path:
        """The configured landing folder, else PARTNERLENS_LANDING."""
        return Path(self.landing) if self.landing else landing_path()

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.warehouse_file.parent.mkdir(parents=True, exist_ok=True)
        con = connect_warehouse(  # a damaged file is refused by name, never written to
            self.warehouse_file,
            read_only=read_only,
            config={"memory_limit": os.environ.get("PARTNERLENS_DUCKDB_MEMORY_LIMIT", "3GB")},
        )
        try:
            if not read_only:
                flush_step_failures(con, self.warehouse_file)  # failures spooled while the file was held elsewhere
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
        check_warehouse(warehouse)  # a damaged file fails the run at once, by name, before anything opens it
        with run_lock(warehouse, wait):
            yield self


def build_resources() -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(),
        "run_lock": RunLockResource(),
        # dbt runs as a child process that dies with the run's process (see orchestration/bin/dbt-tethered)
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(TETHERED_DBT)),
    }

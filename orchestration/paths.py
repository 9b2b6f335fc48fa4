"""Where Partnerlens keeps its files, from the environment: the warehouse, the served warehouse, the landing folder,
the GX data docs.

Relative paths are taken from the project directory, so that dbt (run as a subprocess from there), Dagster and the
command line all see the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = "warehouse/partnerlens.duckdb"
DEFAULT_LANDING = "landing"


def project_path(value: str) -> Path:
    """A path from the environment; relative paths are taken from the project directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_DIR / path)


def warehouse_path() -> Path:
    """The DuckDB warehouse file: PARTNERLENS_WAREHOUSE, default warehouse/partnerlens.duckdb."""
    return project_path(os.environ.get("PARTNERLENS_WAREHOUSE", DEFAULT_WAREHOUSE))


def served_path(warehouse: Path | None = None) -> Path:
    """The served warehouse, the file readers open (:mod:`orchestration.warehouse.served`): PARTNERLENS_SERVED, else
    ``<warehouse name>_served.duckdb`` beside the warehouse file (default warehouse/partnerlens_served.duckdb)."""
    configured = os.environ.get("PARTNERLENS_SERVED")
    if configured:
        return project_path(configured)
    warehouse = warehouse or warehouse_path()
    return warehouse.with_name(f"{warehouse.stem}_served{warehouse.suffix or '.duckdb'}")


def landing_path() -> Path:
    """Where feeds land: PARTNERLENS_LANDING, default landing/."""
    return project_path(os.environ.get("PARTNERLENS_LANDING", DEFAULT_LANDING))


def gx_docs_root() -> Path:
    """Where per-run GX data docs go: PARTNERLENS_GX_DOCS, else gx_docs/ beside the warehouse file."""
    configured = os.environ.get("PARTNERLENS_GX_DOCS")
    return project_path(configured) if configured else warehouse_path().parent / "gx_docs"


def export_warehouse_env() -> None:
    """dbt runs as a subprocess from the project directory: hand it the same, absolute, warehouse path."""
    os.environ["PARTNERLENS_WAREHOUSE"] = str(warehouse_path())

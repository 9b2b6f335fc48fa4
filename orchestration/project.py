"""The dbt project as Dagster sees it: paths, the warehouse location and a manifest that is kept current."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = "warehouse/partnerlens.duckdb"
DEFAULT_LANDING = "landing"


def _project_path(value: str) -> Path:
    """A path from the environment; relative paths are taken from the project directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_DIR / path)


def warehouse_path() -> Path:
    """The DuckDB warehouse file: PARTNERLENS_WAREHOUSE, default warehouse/partnerlens.duckdb."""
    return _project_path(os.environ.get("PARTNERLENS_WAREHOUSE", DEFAULT_WAREHOUSE))


def landing_path() -> Path:
    """Where feeds land: PARTNERLENS_LANDING, default landing/."""
    return _project_path(os.environ.get("PARTNERLENS_LANDING", DEFAULT_LANDING))


def export_warehouse_env() -> None:
    """dbt runs as a subprocess from the project directory: hand it the same, absolute, warehouse path."""
    os.environ["PARTNERLENS_WAREHOUSE"] = str(warehouse_path())


def expose_dbt_executable() -> None:
    """dagster-dbt runs `dbt` from PATH: make the one installed beside this Python findable even when the virtual
    environment is not activated (e.g. `.venv/bin/python -m partnerlens demo`)."""
    bin_dir = str(Path(sys.executable).parent)
    if (Path(bin_dir) / "dbt").exists() and bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _manifest_is_stale(project: DbtProject) -> bool:
    """True when any model, macro, seed, test or project file is newer than the manifest."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    watched = [PROJECT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "data-tests"):
        watched.extend(p for p in (PROJECT_DIR / folder).rglob("*") if p.is_file())
    return any(p.stat().st_mtime > built for p in watched)


# DBT_TARGET_PATH lets several checkouts or test sessions keep their dbt artifacts apart.
dbt_project = DbtProject(
    project_dir=PROJECT_DIR,
    profiles_dir=PROJECT_DIR,
    target_path=os.environ.get("DBT_TARGET_PATH", "target"),
)
export_warehouse_env()
expose_dbt_executable()
if _manifest_is_stale(dbt_project):
    dbt_project.preparer.prepare(dbt_project)

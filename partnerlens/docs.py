"""dbt docs of what the warehouse serves: every model and column described, the served marts with their column types.

A plain ``dbt docs generate`` documents the marts in the candidate schema of ``var('marts_schema')``
(``marts_candidate``), which the nightly job never builds: it builds a versioned schema per run and serves it through
schema ``marts``. So the docs are generated with ``marts_schema: marts`` against the served warehouse file (the one BI
tools read, :mod:`orchestration.warehouse.served`), opened read-only (``PARTNERLENS_DUCKDB_ACCESS_MODE=read_only``),
so that a nightly run is never locked out; dbt's catalog then reads the served marts' columns and types. They go into
their own target folder (``<dbt target path>/docs``), so that the orchestrator's manifest stays the one of the
candidate build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.paths import PROJECT_DIR

#: The schema the published marts are read from.
SERVED_SCHEMA = "marts"


def docs_dir() -> Path:
    """Where the docs go: docs/ in dbt's target path (DBT_TARGET_PATH, default target/ in the project)."""
    target = Path(os.environ.get("DBT_TARGET_PATH", "target")).expanduser()
    return (target if target.is_absolute() else PROJECT_DIR / target) / "docs"


@dataclass
class DocsResult:
    """What `generate_docs` wrote and which served marts the catalog describes."""

    out_dir: Path
    documented: dict[str, dict[str, str]]  # mart -> column -> type
    missing: list[str]

    @property
    def static_page(self) -> Path:
        """One self-contained page (manifest and catalog inlined): opens from disk, offline."""
        return self.out_dir / "static_index.html"


def served_columns(catalog: dict, marts: list[str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The columns and types the catalog lists for each served mart (read in schema `marts`), and the marts it lacks."""
    by_name = {
        node["metadata"]["name"]: node
        for node in catalog.get("nodes", {}).values()
        if (node["metadata"].get("schema") or "").lower() == SERVED_SCHEMA
    }
    documented, missing = {}, []
    for mart in marts:
        node = by_name.get(mart)
        if node and node.get("columns"):
            documented[mart] = {name: column["type"] for name, column in node["columns"].items()}
        else:
            missing.append(mart)
    return documented, missing


def generate_docs(served: Path, out_dir: Path | None = None) -> DocsResult:
    """Run ``dbt docs generate --static`` for the marts of the served file `served` into `out_dir` (default
    `docs_dir()`), reading it read-only.

    Raises ``RuntimeError`` with dbt's output when dbt fails.
    """
    from orchestration.project import published_models

    out_dir = out_dir or docs_dir()
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt if dbt.exists() else "dbt"),
        "docs",
        "generate",
        "--static",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(out_dir),
        "--vars",
        json.dumps({"marts_schema": SERVED_SCHEMA}),
    ]
    env = {**os.environ, "PARTNERLENS_WAREHOUSE": str(served), "PARTNERLENS_DUCKDB_ACCESS_MODE": "read_only"}
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt docs generate failed (exit code {completed.returncode}):\n{completed.stdout}")
    catalog = json.loads((out_dir / "catalog.json").read_text())
    documented, missing = served_columns(catalog, published_models())
    return DocsResult(out_dir, documented, missing)

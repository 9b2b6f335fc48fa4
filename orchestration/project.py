"""The dbt project as Dagster sees it, and the one reader of its manifest.

Everything the orchestrator needs to know about the dbt models comes from here: which models are marts (the models
under ``models/marts/``), which of them ``marts`` serves, their primary keys, and which models propose rows for an
append-only ledger. A model says the last two in its meta::

    config:
      meta:
        partnerlens:
          publish: false                 # built into the candidate schema, not served as a view of `marts`
          ledger: ledger.payout_lines    # its rows are appended to this table when the run is published

Importing this module keeps ``target/manifest.json`` current (it is re-parsed when a model, macro, seed, test or the
project file is newer).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from orchestration.paths import PROJECT_DIR, export_warehouse_env

#: dbt folder under models/ -> the layer (and Dagster group) of the models in it.
LAYERS = ("staging", "intermediate", "marts")
MARTS = "marts"
#: The key of Partnerlens's own settings in a model's meta.
META_KEY = "partnerlens"


#: What dagster-dbt runs as `dbt`: dbt itself, killed by the kernel when the process that started it dies (a nightly
#: run killed mid-build leaves no dbt behind that goes on writing into the warehouse).
TETHERED_DBT = PROJECT_DIR / "orchestration" / "bin" / "dbt-tethered"


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


# ---------------------------------------------------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------------------------------------------------


def layer(node: Mapping[str, Any]) -> str | None:
    """The models/ sub-folder a dbt node lives in (staging, intermediate, marts), if any."""
    fqn = node.get("fqn", [])
    return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else None


def model_meta(node: Mapping[str, Any]) -> dict[str, Any]:
    """A model's Partnerlens settings: ``meta.partnerlens`` (as a property or under ``config``)."""
    merged = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
    return dict(merged.get(META_KEY) or {})


def manifest() -> dict[str, Any]:
    """The parsed dbt manifest of the project."""
    return json.loads(dbt_project.manifest_path.read_text())


def _models(nodes: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """unique_id -> node of every model."""
    return {uid: node for uid, node in nodes.items() if node["resource_type"] == "model"}


def mart_models() -> list[str]:
    """Every model under models/marts/, sorted: the candidate marts a run builds and gate 2 sees."""
    return sorted(n["name"] for n in _models(manifest()["nodes"]).values() if layer(n) == MARTS)


def published_models() -> list[str]:
    """The marts `marts` serves as views: every mart unless its meta says ``publish: false``."""
    nodes = _models(manifest()["nodes"]).values()
    return sorted(n["name"] for n in nodes if layer(n) == MARTS and model_meta(n).get("publish", True) is not False)


def ledger_models() -> dict[str, str]:
    """model -> ledger table (``schema.table``) for every model whose meta names a ``ledger``.

    Such a model holds the rows its run proposes; publishing the run appends them to the ledger.
    """
    ledgers: dict[str, str] = {}
    for node in _models(manifest()["nodes"]).values():
        ledger = model_meta(node).get("ledger")
        if ledger:
            if not isinstance(ledger, str) or ledger.count(".") != 1:
                raise ValueError(f"model {node['name']}: meta {META_KEY}.ledger must be '<schema>.<table>'")
            ledgers[node["name"]] = ledger
    return dict(sorted(ledgers.items()))


def mart_primary_keys() -> dict[str, tuple[str, ...]]:
    """The key of every mart: its primary_key constraint (column or model level), else its
    unique_combination_of_columns test, else its one-column unique test."""
    nodes = manifest()["nodes"]
    tested: dict[str, tuple[str, ...]] = {}
    for node in nodes.values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        meta = node.get("test_metadata") or {}
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "unique_combination_of_columns" and kwargs.get("combination_of_columns"):
            tested[node["attached_node"]] = tuple(kwargs["combination_of_columns"])
        elif meta.get("name") == "unique" and kwargs.get("column_name"):
            tested.setdefault(node["attached_node"], (kwargs["column_name"],))
    keys: dict[str, tuple[str, ...]] = {}
    for unique_id, node in _models(nodes).items():
        if layer(node) != MARTS:
            continue
        columns = [
            name
            for name, column in node.get("columns", {}).items()
            if any(c.get("type") == "primary_key" for c in column.get("constraints") or [])
        ]
        for constraint in node.get("constraints") or []:
            if constraint.get("type") == "primary_key":
                columns.extend(constraint.get("columns") or [])
        keys[node["name"]] = tuple(dict.fromkeys(columns)) or tested.get(unique_id, ())
    return keys

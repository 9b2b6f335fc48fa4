"""One isolated environment for every test that touches a warehouse, a landing folder, dbt or Dagster."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def isolated_env(root: Path) -> dict[str, str]:
    """Environment that keeps a test's warehouse, landing folder, dbt artifacts and Dagster home apart."""
    return {
        "PARTNERLENS_WAREHOUSE": str(root / "warehouse.duckdb"),
        "PARTNERLENS_LANDING": str(root / "landing"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
    }


def apply_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Point this process at `root` for the rest of the test (undone by monkeypatch); returns `root`."""
    for key, value in isolated_env(root).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PARTNERLENS_GX_DOCS", raising=False)
    monkeypatch.delenv("PARTNERLENS_SERVED", raising=False)  # the served file: <warehouse>_served.duckdb beside it
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def env_at(root: Path) -> Iterator[Path]:
    """`apply_env` for a block, e.g. inside a session-scoped fixture where no function monkeypatch exists."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield apply_env(monkeypatch, root)


def child_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process (a second `partnerlens` command) that works on `root`."""
    inherited = ("PARTNERLENS_GX_DOCS", "PARTNERLENS_SERVED", "PARTNERLENS_DUCKDB_ACCESS_MODE")
    env = {**{k: v for k, v in os.environ.items() if k not in inherited}, **isolated_env(root), **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env

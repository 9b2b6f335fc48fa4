"""Shared fixtures: an isolated environment per session and one small nightly run that several tests read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class BuiltWarehouse:
    """A warehouse built by one real nightly run over a small generated ecosystem."""

    root: Path
    landing: Path
    warehouse: Path
    run_id: str
    end_date: object

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)


def isolated_env(root: Path) -> dict[str, str]:
    """Environment that keeps a test's warehouse, landing folder, dbt artifacts and Dagster home apart."""
    return {
        "PARTNERLENS_WAREHOUSE": str(root / "warehouse.duckdb"),
        "PARTNERLENS_LANDING": str(root / "landing"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
    }


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """Generate ~6k touchpoints (seed 11), run the nightly job once, and hand the warehouse to the tests."""
    from partnerlens.generator import generate
    from partnerlens.runner import run_nightly

    root = tmp_path_factory.mktemp("nightly")
    saved = {k: os.environ.get(k) for k in isolated_env(root)}
    os.environ.update(isolated_env(root))
    (root / "dagster_home").mkdir()
    end_date = datetime.now(UTC).date() - timedelta(days=1)
    try:
        generate(root / "landing", seed=11, touchpoints=6_000, partners=8, days=90, end_date=end_date)
        result = run_nightly()
        assert result.success, "the nightly run failed"
        yield BuiltWarehouse(root, root / "landing", root / "warehouse.duckdb", result.run_id, end_date)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

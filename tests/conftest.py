"""Shared fixtures: an isolated environment per session and one small nightly run that several tests read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.env import env_at
from tests.support.warehouse import BuiltWarehouse


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """Generate ~6k touchpoints (seed 11), run the nightly job once, and hand the warehouse to the tests."""
    from partnerlens.runner import run_nightly
    from partnerlens.synthetic import generate

    root = tmp_path_factory.mktemp("nightly")
    end_date = datetime.now(UTC).date() - timedelta(days=1)
    with env_at(root):
        generate(root / "landing", seed=11, touchpoints=6_000, partners=8, days=90, end_date=end_date)
        result = run_nightly()
        assert result.success, "the nightly run failed"
        yield BuiltWarehouse(root, root / "landing", root / "warehouse.duckdb", result.run_id, end_date)

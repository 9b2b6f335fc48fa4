"""The warehouse that the session fixture `built_warehouse` (tests/conftest.py) builds with one real nightly run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


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

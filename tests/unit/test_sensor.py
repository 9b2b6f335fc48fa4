"""The landing sensor asks for a run only when files newer than its cursor appear."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.defs.sensors import landed_files, new_files


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b\n1,2\n")
    os.utime(path, (mtime, mtime))


def test_new_files_advance_the_cursor(tmp_path: Path) -> None:
    _touch(tmp_path / "P001/touchpoints/a.csv", 1000.0)
    _touch(tmp_path / "internal/partners/p.csv", 2000.0)
    _touch(tmp_path / "_ground_truth/x/y.csv", 9000.0)  # underscore folders are not feeds
    _touch(tmp_path / "P001/touchpoints/.partial.csv", 9500.0)  # nor are hidden files

    assert set(landed_files(tmp_path)) == {"P001/touchpoints/a.csv", "internal/partners/p.csv"}
    fresh, cursor = new_files(tmp_path, None)
    assert fresh == ["P001/touchpoints/a.csv", "internal/partners/p.csv"]

    fresh_again, same_cursor = new_files(tmp_path, cursor)
    assert fresh_again == [] and same_cursor == cursor

    _touch(tmp_path / "P002/costs/c.csv", 3000.0)
    fresh, _ = new_files(tmp_path, cursor)
    assert fresh == ["P002/costs/c.csv"]


def test_missing_landing_folder_is_quiet(tmp_path: Path) -> None:
    assert new_files(tmp_path / "nothing", None)[0] == []

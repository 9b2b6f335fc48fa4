"""The landing sensor asks for a run only when files newer than its cursor appear."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def test_the_sensor_requests_a_run_for_a_new_file_and_skips_when_nothing_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.sensors import landing_sensor

    monkeypatch.setenv("PARTNERLENS_LANDING", str(tmp_path))
    _touch(tmp_path / "P001/touchpoints/a.csv", 1000.0)
    first = dg.build_sensor_context(cursor=None)
    assert isinstance(landing_sensor(first), dg.RunRequest)
    idle = dg.build_sensor_context(cursor=first.cursor)
    assert isinstance(landing_sensor(idle), dg.SkipReason) and idle.cursor == first.cursor

    _touch(tmp_path / "P001/touchpoints/b.csv", 1500.0)
    later = dg.build_sensor_context(cursor=first.cursor)
    request = landing_sensor(later)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["partnerlens/new_files"] == "1"
    assert defs.resolve_sensor_def("landing_sensor").minimum_interval_seconds == 30

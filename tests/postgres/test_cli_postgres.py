"""The commands that do not run on PostgreSQL yet refuse the postgres target by name, before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from partnerlens.cli import main


@pytest.mark.parametrize("command", ["run", "demo", "restore", "statements", "quarantine", "scorecards", "docs"])
def test_a_command_on_the_postgres_target_refuses_and_says_why(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARTNERLENS_TARGET", "postgres")
    monkeypatch.setenv("PARTNERLENS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("PARTNERLENS_LANDING", str(tmp_path / "landing"))
    assert main([command]) == 2
    error = capsys.readouterr().err
    assert f"partnerlens {command} does not run on PostgreSQL (PARTNERLENS_TARGET=postgres)" in error
    assert "postgres_loads" in error
    assert list(tmp_path.iterdir()) == []  # no warehouse file, no landing folder was made

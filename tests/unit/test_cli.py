"""The command line's options: never abbreviated, each with its default in --help, locations beside the environment
variables, and one Dagster home shared with `make dev`."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from partnerlens.cli import apply_location_options, build_parser, main
from tests.support.env import PROJECT_DIR


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]


def test_every_subcommand_is_listed() -> None:
    assert {"generate", "run", "demo", "restore", "statements", "scorecards"} <= set(subcommands())


def test_an_abbreviated_option_is_refused_with_a_message_that_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--touchpoint", "1000"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "unrecognized arguments: --touchpoint 1000" in error
    assert "never abbreviated" in error


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_no_option_of_any_subcommand_can_be_abbreviated(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = subcommands()[name]
    options = long_options(parser)
    assert options
    for option in options:
        prefix = option[:-1]
        if prefix in options or len(prefix) <= 2:
            continue
        with pytest.raises(SystemExit) as exit_info:
            main([name, prefix, "1"])
        assert exit_info.value.code == 2, f"{name} {prefix} was accepted for {option}"
        assert f"unrecognized arguments: {prefix}" in capsys.readouterr().err


def help_blocks(text: str) -> dict[str, str]:
    """Each option's block of an argparse help text: its line and the indented lines after it."""
    blocks: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^  (-{1,2}[\w-]+)", line)
        if match:
            current = match.group(1)
            blocks[current] = line
        elif current and line.startswith("      "):
            blocks[current] += " " + line.strip()
        else:
            current = None
    return blocks


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_help_of_every_subcommand_shows_each_options_help_and_default(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    blocks = help_blocks(capsys.readouterr().out)
    for option in long_options(subcommands()[name]):
        block = re.sub(r"\s+", " ", blocks[option])
        assert "default" in block.lower(), f"{name} {option}: {block}"
        # the help says more than the option's name and its metavar
        words = block.split(" ", 2)
        assert len(words) == 3 and len(words[2]) > 15, f"{name} {option} has no help text: {block}"


def test_defaults_are_the_values_argparse_would_use(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    blocks = help_blocks(capsys.readouterr().out)
    defaults = vars(build_parser().parse_args(["demo"]))
    assert f"(default: {defaults['touchpoints']})" in re.sub(r"\s+", " ", blocks["--touchpoints"])
    assert defaults["touchpoints"] == 200_000 and defaults["verbose"] is False


def test_warehouse_and_landing_options_stand_for_their_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.paths import landing_path, warehouse_path

    monkeypatch.setenv("PARTNERLENS_WAREHOUSE", "/nowhere/else.duckdb")
    monkeypatch.setenv("PARTNERLENS_LANDING", "/nowhere/landing")
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["run", "--warehouse", "wh/w.duckdb", "--landing", "feeds"])
    apply_location_options(args)
    # relative to the directory the command was given in, and what every part of the project then reads
    assert warehouse_path() == tmp_path / "wh" / "w.duckdb"
    assert landing_path() == tmp_path / "feeds"


def test_without_the_options_the_environment_variables_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.paths import warehouse_path

    monkeypatch.setenv("PARTNERLENS_WAREHOUSE", str(tmp_path / "from_env.duckdb"))
    apply_location_options(build_parser().parse_args(["restore"]))
    assert warehouse_path() == tmp_path / "from_env.duckdb"
    assert os.environ["PARTNERLENS_WAREHOUSE"] == str(tmp_path / "from_env.duckdb")


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_the_makefile_and_the_command_line_default_to_the_same_dagster_home() -> None:
    from partnerlens.runner import DEFAULT_DAGSTER_HOME

    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    shown = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "print-dagster-home: ; @echo $(DAGSTER_HOME)"]
        + ["print-dagster-home"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(shown) == DEFAULT_DAGSTER_HOME == PROJECT_DIR / ".dagster_home"


def test_a_new_dagster_home_gets_a_dagster_yaml_that_turns_telemetry_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from partnerlens.runner import ensure_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert ensure_dagster_home() == tmp_path / "home"
    instance = dg.DagsterInstance.get()
    assert instance.root_directory == str(tmp_path / "home")
    assert instance.telemetry_enabled is False


def test_an_existing_dagster_yaml_is_left_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from partnerlens.runner import ensure_dagster_home

    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    ensure_dagster_home()
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_restore_with_no_earlier_version_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    from orchestration.warehouse.audit import ensure_audit

    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PARTNERLENS_WAREHOUSE", str(warehouse))
    assert main(["restore"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"No warehouse at {warehouse}: nothing was ever published, so there is nothing to restore."
    )
    assert not warehouse.exists()  # not created by asking
    with duckdb.connect(str(warehouse)) as con:
        ensure_audit(con)
    assert main(["restore"]) == 1
    assert capsys.readouterr().err.strip() == f"{warehouse}: There is no earlier published version to restore."
    assert main(["restore", "--version", "marts_build_gone"]) == 1
    assert "Version marts_build_gone no longer exists in the warehouse" in capsys.readouterr().err


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-01", "March"])
def test_statements_for_a_month_that_does_not_exist_is_a_usage_error(
    month: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["statements", "--month", month])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --month: '{month}' is not a month: expected YYYY-MM, with a month from 01 to 12" in error
    assert "Traceback" not in error


def test_statements_for_an_unknown_partner_name_the_partners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    monkeypatch.setenv("PARTNERLENS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("PARTNERLENS_SERVED", raising=False)
    assert main(["statements", "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"No served warehouse at {tmp_path / 'warehouse_served.duckdb'}: the nightly job (`partnerlens run`) writes "
        "it when it publishes."
    )
    # statements read the served file beside the warehouse, never the warehouse itself (which does not exist here)
    with duckdb.connect(str(tmp_path / "warehouse_served.duckdb")) as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_partners as select * from (values ('P001'), ('P002')) as t(partner_id)")
    assert main(["statements", "--partner", "P999", "--out", str(tmp_path / "out")]) == 1
    assert (
        capsys.readouterr().err.strip() == "Unknown partner 'P999': not in marts.dim_partners (partners: P001, P002)."
    )
    # A known partner with no closed month yet: nothing to write, and it says why.
    assert main(["statements", "--partner", "P001", "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.strip() == "No closed payout month yet: nothing to write."
    assert not (tmp_path / "out").exists()

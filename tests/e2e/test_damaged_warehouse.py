"""A damaged warehouse file, or served file: every command and the nightly job refuse it by name, and leave its bytes
as they were.

Two kinds of damage: a real file (the session's warehouse and served file, built by one nightly run) cut to half its
size, as a full disk or an interrupted copy leaves it, and random bytes under the file's name. Each command of the
command line runs in a child process; the nightly job runs in this process, so that its Dagster resources meet the file.
After each, both files' SHA-256 are what they were and no write-ahead log was started beside them.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import apply_env, child_env
from tests.support.warehouse import served_file

pytestmark = pytest.mark.e2e

REFUSAL = "cannot be opened: it is damaged or not a DuckDB database file"
#: Commands that open the warehouse file, and those that read the served file (its copy for readers).
ON_WAREHOUSE = [
    ["run"],
    ["demo", "--touchpoints", "1000", "--partners", "2"],
    ["restore"],
    ["quarantine"],
    ["quarantine", "--drop", "P001/costs/old.csv", "--note", "never held"],
]
ON_SERVED = [["statements", "--out", "statements"], ["scorecards", "--out", "scorecards"], ["docs"]]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(params=["truncated", "random_bytes"])
def damaged(request: pytest.FixtureRequest, built_warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A damaged warehouse.duckdb and served file in a fresh environment (landing folder absent: nothing may be
    generated); returns the warehouse file."""
    apply_env(monkeypatch, tmp_path)
    target = tmp_path / "warehouse.duckdb"
    for source, path in ((built_warehouse.warehouse, target), (built_warehouse.served, served_file(target))):
        if request.param == "truncated":
            shutil.copy(source, path)
            with path.open("r+b") as handle:
                handle.truncate(path.stat().st_size // 2)
        else:
            path.write_bytes(random.Random(str(path)).randbytes(300_000))
    return target


def digests(warehouse: Path) -> tuple[str, str]:
    return sha256(warehouse), sha256(served_file(warehouse))


def assert_untouched(warehouse: Path, digest: tuple[str, str]) -> None:
    assert digests(warehouse) == digest
    for path in (warehouse, served_file(warehouse)):
        assert not path.with_name(path.name + ".wal").exists()


def test_every_command_refuses_a_damaged_warehouse_by_name_and_writes_nothing_to_it(damaged: Path) -> None:
    root = damaged.parent
    digest = digests(damaged)
    for command in ON_WAREHOUSE + ON_SERVED:
        file = damaged if command in ON_WAREHOUSE else served_file(damaged)
        what = "warehouse file" if command in ON_WAREHOUSE else "served warehouse file"
        completed = subprocess.run(
            [sys.executable, "-m", "partnerlens", *command],
            cwd=root,
            env=child_env(root),
            capture_output=True,
            text=True,
            timeout=600,
        )
        shown = " ".join(command)
        assert completed.returncode == 1, f"{shown}: {completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        assert f"The {what} {file} {REFUSAL}" in completed.stderr, f"{shown}: {completed.stderr[-2000:]}"
        way_out = "Restore it from a backup" if file == damaged else "the next published run rewrites it"
        assert way_out in completed.stderr
        assert "Traceback" not in completed.stderr + completed.stdout, shown
        assert_untouched(damaged, digest)
    # `demo` generated nothing, and nothing was written anywhere a command would write to
    assert not (root / "landing").exists()
    assert not (root / "statements").exists() and not (root / "scorecards").exists()


def test_the_nightly_job_fails_at_once_naming_the_damaged_file(damaged: Path, capsys: pytest.CaptureFixture) -> None:
    from orchestration.defs.resources import WarehouseResource
    from orchestration.warehouse.integrity import WarehouseDamaged
    from partnerlens.runner import run_nightly
    from partnerlens.summary import print_run_summary

    (damaged.parent / "landing").mkdir()
    digest = digests(damaged)
    result = run_nightly(console_log_level="ERROR")

    assert not result.success
    errors = [
        event.event_specific_data.error.message
        for event in result.all_events
        if event.event_type_value == "RESOURCE_INIT_FAILURE"
    ]
    assert errors and f"The warehouse file {damaged} {REFUSAL}" in errors[0]
    assert not any(e.event_type_value == "STEP_START" for e in result.all_events)  # no step touched the file
    assert_untouched(damaged, digest)

    # the warehouse resource itself, as every step uses it, for reading and for writing
    for read_only in (True, False):
        with pytest.raises(WarehouseDamaged, match=REFUSAL), WarehouseResource().connect(read_only=read_only):
            pass
    assert_untouched(damaged, digest)

    # the end-of-run summary says why it has nothing to show, and does not crash
    print_run_summary(damaged, result, wait_seconds=1)
    out = capsys.readouterr().out
    assert f"The summary from the warehouse is not shown: The warehouse file {damaged} {REFUSAL}" in out
    assert f"The marts are not shown: The served warehouse file {served_file(damaged)} {REFUSAL}" in out
    assert_untouched(damaged, digest)


def test_a_warehouse_that_is_whole_is_not_taken_for_damaged(built_warehouse) -> None:
    from orchestration.warehouse.integrity import check_warehouse, damage

    assert damage(built_warehouse.warehouse) is None and damage(built_warehouse.served) is None
    check_warehouse(built_warehouse.warehouse)
    check_warehouse(built_warehouse.served, served=True)
    assert damage(built_warehouse.root / "not-there.duckdb") is None  # a new warehouse is created, not refused

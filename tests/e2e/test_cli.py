"""`partnerlens run` as a person sees it, in a child process on a small generated landing folder.

A successful run prints a line per stage (what it did, how long it took), then warnings and the summary; nothing of
Dagster's debug log, dbt's own output, Great Expectations' progress bars or Dagster's telemetry banner. A failing run
prints its complete error and the checks that failed. `--verbose` prints Dagster's log. The run is recorded in the
Dagster instance of the Dagster home, the one `dagster dev` reads. The figures on the stage lines are compared with
what the generator wrote, the feed contracts' rejects, the suites in expectations/ and the dbt manifest. `partnerlens
docs` (`make docs`) documents the marts the run served, with the column types DuckDB reports for them.
"""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.support.env import PROJECT_DIR, child_env

pytestmark = pytest.mark.e2e

#: Lines a successful run may print before its summary (the first line, five stage lines, warnings).
MAX_LINES_BEFORE_SUMMARY = 20
SMUGGLED_EMAIL = "jane.doe@example.com"
STAGES = ["load", "gate 1", "dbt build", "gate 2", "publish", "share"]
NOISE = {
    "a Dagster debug line": re.compile(r" - DEBUG - "),
    "a Dagster log line": re.compile(r" - dagster - (INFO|DEBUG) - "),
    "a Great Expectations progress bar": re.compile(r"Calculating Metrics"),
    "Dagster's telemetry banner": re.compile(r"Telemetry:|usage statistics"),
    "Dagster's missing dagster.yaml notice": re.compile(r"No dagster instance configuration file"),
    "dbt's own output": re.compile(r"Running with dbt=|\d+ of \d+ START"),
}


def cli_env(root: Path) -> dict[str, str]:
    """The child's environment: PARTNERLENS_WAREHOUSE and PARTNERLENS_LANDING point elsewhere, so that the run only
    works on `root` through --warehouse and --landing."""
    env = child_env(root)
    env["PARTNERLENS_WAREHOUSE"] = str(root / "not_this" / "warehouse.duckdb")
    env["PARTNERLENS_LANDING"] = str(root / "not_this" / "landing")
    env.pop("PARTNERLENS_GX_PROGRESS_BARS", None)
    return env


def cli_args(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "partnerlens", "run", "--warehouse", str(root / "wh.duckdb")] + [
        "--landing",
        str(root / "landing"),
        *extra,
    ]


def run_cli(root: Path, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_args(root, *extra),
        cwd=PROJECT_DIR,
        env=cli_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def run_in_terminal(root: Path, *extra: str, timeout: float = 900) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its stdin, stdout and stderr; returns the exit code and all output."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        cli_args(root, *extra), cwd=PROJECT_DIR, env=cli_env(root), stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            raise AssertionError("the run did not finish in time")
    finally:
        os.close(master)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", errors="replace")


def before_summary(output: str) -> list[str]:
    lines = output.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("== ")), len(lines))
    return lines[:end]


def stage_lines(output: str) -> dict[str, str]:
    """The stage lines of the output, by stage (on a terminal: the text after the status line is cleared, and the
    status lines themselves, which end in "...", left out)."""
    found = {}
    for line in output.splitlines():
        line = line.split("\x1b[K")[-1].strip("\r")
        if line.endswith("..."):
            continue
        for stage in STAGES:
            if re.match(rf"^{stage} +(\d+\.\d (s|min)|-)  ", line) and stage not in found:
                found[stage] = line
    return found


def assert_quiet(output: str) -> None:
    for what, pattern in NOISE.items():
        match = pattern.search(output)
        assert match is None, f"the output has {what}: {output[max(0, match.start() - 200) : match.end() + 200]}"


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory):
    """A small generated ecosystem (seed 11, ~6k touchpoints) in a landing folder; nothing loaded yet."""
    from partnerlens.synthetic import generate

    root = tmp_path_factory.mktemp("cli")
    end_date = datetime.now(UTC).date() - timedelta(days=1)
    summary = generate(root / "landing", seed=11, touchpoints=6_000, partners=8, days=90, end_date=end_date)
    return root, summary


@pytest.fixture(scope="module")
def quiet_run(landed) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root, _ = landed
    completed = run_cli(root)
    assert completed.returncode == 0, completed.stdout[-6000:]
    return root, completed


def test_a_run_prints_a_line_per_stage_and_none_of_dagster_dbt_or_gx_output(quiet_run) -> None:
    _, completed = quiet_run
    output = completed.stdout
    assert_quiet(output)
    head = before_summary(output)
    assert len(head) < MAX_LINES_BEFORE_SUMMARY, "\n".join(head)
    lines = stage_lines("\n".join(head))
    assert list(lines) == STAGES, "\n".join(head)
    assert "== Loads (this run)" in output and "== Published marts" in output
    assert "The nightly run succeeded" in output
    # no terminal, so no status line rewritten in place
    assert "\x1b[K" not in output and "\r" not in output


def test_the_stage_lines_count_what_the_run_did(landed, quiet_run) -> None:
    _, summary = landed
    root, completed = quiet_run
    lines = stage_lines(completed.stdout)
    run_id = re.search(r"Dagster run ([0-9a-f-]{36})", completed.stdout).group(1)

    load = re.search(r"(\d+) feeds, (\d+) files: ([\d,]+) rows loaded, ([\d,]+) rejected", lines["load"])
    feeds, files, loaded, rejected = (int(g.replace(",", "")) for g in load.groups())
    assert feeds == len(summary.rows)
    assert files == len(summary.files)
    # every row the generator wrote is either loaded or rejected (the dirty ones), none is lost
    assert loaded + rejected == sum(summary.rows.values())
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        assert rejected == con.execute("select count(*) from audit.rejected_rows").fetchone()[0]
        gate_2 = con.execute(
            "select count(*) from audit.gate_results where run_id = ? and gate = 'gate_2'", [run_id]
        ).fetchone()[0]
        served = con.execute(
            "select schema_name from audit.publish_log where outcome = 'published' order by published_at desc limit 1"
        ).fetchone()[0]
    assert f"{rejected:,} rows rejected by the feed contracts" in completed.stdout

    suites = [yaml.safe_load(p.read_text()) for p in sorted((PROJECT_DIR / "expectations" / "raw").glob("*.yml"))]
    contracts = [yaml.safe_load(p.read_text()) for p in (PROJECT_DIR / "orchestration/feeds/contracts").glob("*.yml")]
    # every check of the suites, and the delivery check of each contract that expects its feed every night
    gate_1 = sum(len(suite["checks"]) for suite in suites) + sum("delivery" in contract for contract in contracts)
    assert f"{gate_1} checks on {len(suites)} feeds: {gate_1} passed" in lines["gate 1"]

    manifest = json.loads((root / "dbt_target" / "manifest.json").read_text())
    built = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert re.search(rf"\b{len(built)} models and seeds built; (\d+) tests: \1 passed$", lines["dbt build"])
    assert f"{gate_2} checks on " in lines["gate 2"] and f": {gate_2} passed" in lines["gate 2"]
    assert lines["publish"].endswith(f"`marts` now serves {served}; readers open wh_served.duckdb")
    assert (root / "wh_served.duckdb").is_file()
    dashboard = root / "scorecards" / "index.html"
    assert lines["share"].endswith(f"{summary_partners(root)} partner scorecards and the dashboard {dashboard}")
    assert dashboard.exists()


def test_a_run_from_the_command_line_is_recorded_in_the_dagster_instance_of_its_home(
    quiet_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    root, completed = quiet_run
    run_id = re.search(r"Dagster run ([0-9a-f-]{36})", completed.stdout).group(1)
    home = root / "dagster_home"
    assert f"Dagster home {home}" in completed.stdout
    # `dagster dev` opens DagsterInstance.get() on DAGSTER_HOME: the instance `make dev` shows
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(run_id)
    assert run is not None and run.job_name == "nightly" and run.status == dg.DagsterRunStatus.SUCCESS
    assert run_id in [r.run_id for r in instance.get_runs()]
    assert instance.telemetry_enabled is False
    # what the run printed is kept with the run: dbt's log among it
    logs = re.search(r"its output: (\S+)\.out/\.err", completed.stdout).group(1)
    assert "Running with dbt=" in Path(logs + ".out").read_text()


def summary_partners(root: Path) -> int:
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from marts.dim_partners").fetchone()[0]


def smuggle_an_email(landing: Path) -> str:
    """A late partner delivery, valid by the feed contract, with a raw email pasted into the account domain."""
    source = sorted(landing.glob("P*/touchpoints/*.csv"))[0]
    with source.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    row = dict(rows[-1])
    row.update(event_id="smuggled-1", account_domain=SMUGGLED_EMAIL)
    row["occurred_at"] = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = source.with_name("touchpoints_smuggled.csv")
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
    return row["partner_id"]


def test_a_failing_run_prints_the_complete_error_and_the_failed_check_with_live_progress_on_a_terminal(
    quiet_run, tmp_path: Path
) -> None:
    root, _ = quiet_run
    shutil.copytree(root / "landing", tmp_path / "landing")
    for name in ("wh.duckdb", "wh.duckdb.wal", "wh_served.duckdb"):
        if (root / name).exists():
            shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "dbt_target", tmp_path / "dbt_target")
    partner = smuggle_an_email(tmp_path / "landing")
    served = (tmp_path / "wh_served.duckdb").read_bytes()

    code, output = run_in_terminal(tmp_path)

    assert code == 1, output[-6000:]
    assert (tmp_path / "wh_served.duckdb").read_bytes() == served  # what readers open is untouched
    assert_quiet(output)
    assert SMUGGLED_EMAIL not in output
    # the complete error of the failing step: the gate, the check, the dataset and the offending row
    failure = output[output.index("The nightly run FAILED") :]
    assert "gate_2_marts (gate 2) failed:" in failure
    assert "Gate 2 failed (1 blocking check(s))" in failure
    assert "gate_2 check 'no_email_values' failed on marts.fct_touchpoints" in failure
    assert "account_domain" in failure and "j***@example.com" in failure and f"{partner}:smuggled-1" in failure
    assert "Gate report:" in failure
    # and the failed check by itself
    assert re.search(r"Failed checks \(1\):\s+gate 2: marts/fct_touchpoints no_email_values", failure)
    lines = stage_lines(output)
    assert "FAILED" in lines["gate 2"]
    assert lines["publish"].endswith("not run: an earlier step failed")
    assert lines["share"].endswith("not run: an earlier step failed")
    # on a terminal a status line shows the stage under way and is rewritten in place
    assert re.search(r"\r\x1b\[Kdbt build +\d+\.\d s  \d+/\d+ models and tests \.\.\.", output)


def test_a_run_that_cannot_start_says_why_and_verbose_shows_dagsters_log(quiet_run, tmp_path: Path) -> None:
    from orchestration.warehouse.lock import run_lock

    root, _ = quiet_run
    shutil.copytree(root / "landing", tmp_path / "landing")
    env_wait = {"PARTNERLENS_LOCK_WAIT_SECONDS": "1"}
    with run_lock(tmp_path / "wh.duckdb", wait_seconds=1):  # another run holds the warehouse
        os.environ.update(env_wait)
        try:
            quiet = run_cli(tmp_path, timeout=300)
            verbose = run_cli(tmp_path, "--verbose", timeout=300)
        finally:
            os.environ.pop("PARTNERLENS_LOCK_WAIT_SECONDS")
    for completed in (quiet, verbose):
        assert completed.returncode == 1, completed.stdout[-4000:]
        assert "The nightly run FAILED" in completed.stdout
        assert f"The warehouse wh.duckdb is in use by process {os.getpid()}; waited 1 s" in completed.stdout
    assert_quiet(quiet.stdout)
    assert " - DEBUG - " in verbose.stdout and "RUN_START" in verbose.stdout
    assert "Telemetry:" not in verbose.stdout  # the Dagster home's dagster.yaml turns it off


def test_docs_describe_every_served_mart_with_the_column_types_the_warehouse_serves(quiet_run) -> None:
    root, _ = quiet_run
    completed = subprocess.run(
        [sys.executable, "-m", "partnerlens", "docs", "--warehouse", str(root / "wh.duckdb")],
        cwd=PROJECT_DIR,
        env=cli_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-4000:]
    # what the warehouse serves, read from DuckDB itself: the served file the docs read (read-only, so never locked)
    served: dict[str, dict[str, str]] = {}
    assert str(root / "wh_served.duckdb") in completed.stdout
    with duckdb.connect(str(root / "wh_served.duckdb"), read_only=True) as con:
        for table, column, data_type in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall():
            served.setdefault(table, {})[column] = data_type
    assert {"dim_partners", "fct_touchpoints", "mart_partner_roi", "fct_partner_payouts"} <= set(served)

    docs = root / "dbt_target" / "docs"
    catalog = json.loads((docs / "catalog.json").read_text())
    documented = {
        node["metadata"]["name"]: {name: column["type"] for name, column in node["columns"].items()}
        for node in catalog["nodes"].values()
        if node["metadata"]["schema"] == "marts"
    }
    assert documented == served
    # the docs join each served mart's model (description, columns) with that catalog entry
    manifest = json.loads((docs / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for mart, columns in served.items():
        assert models[mart]["schema"] == "marts" and models[mart]["description"]
        assert set(models[mart]["columns"]) == set(columns)
    page = (docs / "static_index.html").read_text()
    assert all(f'"{mart}"' in page for mart in served)
    assert f"{len(served)} served marts documented" in completed.stdout
    assert str(docs / "static_index.html") in completed.stdout


def test_docs_without_a_warehouse_say_to_run_the_demo_first(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "partnerlens", "docs", "--warehouse", str(tmp_path / "none.duckdb")],
        cwd=PROJECT_DIR,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 1
    assert f"No served warehouse at {tmp_path / 'none_served.duckdb'}" in completed.stderr
    assert "make demo" in completed.stderr
    assert not (tmp_path / "none.duckdb").exists() and not (tmp_path / "none_served.duckdb").exists()

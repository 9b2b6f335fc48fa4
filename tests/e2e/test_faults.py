"""Faults and bad input, each through real Dagster runs of the nightly job on a temporary warehouse.

Runs that only need the loads and gate 1 select the load assets (their gate-1 checks run with them); real processes are
started and killed where the fault is a process fault. Expected counts come from the files themselves (read with the
csv module) or from hand-written rows, never from the loader.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.feeds.contracts import load_contracts
from tests.support.env import PROJECT_DIR, apply_env, child_env

pytestmark = pytest.mark.e2e

# A child process that runs the nightly job; with PARTNERLENS_TEST_HOLD_SECONDS set, the first touchpoints file load
# stops inside its transaction (after its rows were inserted, before COMMIT), says so on stdout and waits there until
# PARTNERLENS_TEST_RELEASE_FILE exists or the time is up.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    import dagster as dg
    import orchestration.feeds.loader as loader

    hold = float(os.environ.get("PARTNERLENS_TEST_HOLD_SECONDS", "0"))
    release = os.environ.get("PARTNERLENS_TEST_RELEASE_FILE", "")
    original = loader._validate_and_insert
    held = []

    def holding(con, ctx, stage):
        result = original(con, ctx, stage)
        if hold and ctx.contract.feed == "touchpoints" and not held:
            held.append(ctx.rel)
            rows = con.execute("select count(*) from raw.touchpoints").fetchone()[0]
            print(f"INSIDE_TRANSACTION {ctx.rel} rows_visible_in_transaction={rows}", flush=True)
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline and not (release and os.path.exists(release)):
                time.sleep(0.2)
        return result

    loader._validate_and_insert = holding
    from partnerlens.runner import failure_messages, run_nightly

    feeds = os.environ.get("PARTNERLENS_TEST_FEEDS")
    selection = [dg.AssetKey(["raw", feed]) for feed in feeds.split(",")] if feeds else None
    result = run_nightly(selection=selection)
    print("RUN_SUCCESS" if result.success else "RUN_FAILED", result.run_id, flush=True)
    for message in failure_messages(result):
        print("FAILURE", message.replace(chr(10), " "), flush=True)
    for event in result.all_events:
        if event.event_type_value in ("RUN_FAILURE", "RESOURCE_INIT_FAILURE", "STEP_FAILURE"):
            error = getattr(event.event_specific_data, "error", None)
            print("EVENT", event.event_type_value, (event.message or "").replace(chr(10), " "),
                  (error.message if error else "").replace(chr(10), " "), flush=True)
    sys.exit(0 if result.success else 1)
    """
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated warehouse, landing folder and Dagster home for this test (in this process)."""
    return apply_env(monkeypatch, tmp_path)


def start_child(root: Path, **extra: str) -> subprocess.Popen[str]:
    script = root / "child_run.py"
    script.write_text(CHILD)
    return subprocess.Popen(
        [sys.executable, str(script)],
        cwd=PROJECT_DIR,
        env=child_env(root, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], marker: str, timeout: float = 240) -> tuple[str, list[str]]:
    """Read the child's output until a line contains `marker`; returns that line and everything read."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line.rstrip())
        if marker in line:
            return line.rstrip(), seen
    raise AssertionError(f"child never printed {marker!r}; output:\n" + "\n".join(seen[-40:]))


# The feeds a touchpoints load needs (partners and campaigns resolve its references).
TOUCH_FEEDS = "partners,campaigns,touchpoints"


def run_loads(feeds: str = TOUCH_FEEDS):
    """The nightly job restricted to some load assets (their gate-1 checks run with them), in this process."""
    from partnerlens.runner import run_nightly

    return run_nightly(selection=[dg.AssetKey(["raw", feed]) for feed in feeds.split(",")])


def load_directly(root: Path, run_id: str) -> None:
    """Load every landed file with the loader itself, as run `run_id` would (to build up history quickly)."""
    from orchestration.feeds.contracts import load_order
    from orchestration.feeds.loader import ensure_warehouse, load_feed

    contracts = load_contracts()
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        ensure_warehouse(con)
        for feed in load_order(contracts):
            load_feed(con, contracts[feed], root / "landing", run_id=run_id)


def generate_landing(landing: Path, end_date: date, **kwargs) -> None:
    from partnerlens.synthetic import generate

    options = {"seed": 5, "touchpoints": 4_000, "partners": 4, "days": 30, "formats": "csv", "dirty_share": 0.0}
    generate(landing, end_date=end_date, **{**options, **kwargs})


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


# ---------------------------------------------------------------------------------------------------------------------


def test_a_load_killed_inside_its_transaction_leaves_nothing_and_the_next_run_loads_the_file_once(env: Path) -> None:
    generate_landing(env / "landing", yesterday())
    first_touch_file = sorted((env / "landing").glob("P*/touchpoints/*.csv"))[0]
    expected = len(csv_rows(first_touch_file))
    assert expected > 100

    child = start_child(env, PARTNERLENS_TEST_HOLD_SECONDS="600", PARTNERLENS_TEST_FEEDS=TOUCH_FEEDS)
    try:
        line, _ = wait_for_line(child, "INSIDE_TRANSACTION")
        # Inside the transaction the file's rows are already in raw.touchpoints ...
        assert int(line.rsplit("=", 1)[1]) == expected
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()

    relative = first_touch_file.relative_to(env / "landing").as_posix()
    with connect(env) as con:
        # ... but none of them survived the kill, and no load was recorded for the file.
        assert con.execute("select count(*) from raw.touchpoints").fetchone()[0] == 0
        assert con.execute("select count(*) from audit.load_log where source_file = ?", [relative]).fetchone()[0] == 0
        assert (
            con.execute("select count(*) from audit.rejected_rows where source_file = ?", [relative]).fetchone()[0] == 0
        )
        # Feeds loaded before the kill were committed file by file and stay.
        assert con.execute("select count(*) from raw.partners").fetchone()[0] == 4

    result = run_loads()
    assert result.success
    with connect(env) as con:
        loads = con.execute(
            "select status, rows_loaded, rows_rejected from audit.load_log where source_file = ?", [relative]
        ).fetchall()
        assert loads == [("loaded", expected, 0)]
        rows, distinct_rows, keys = con.execute(
            """select count(*), count(distinct _row_number), count(distinct (partner_id, event_id))
               from raw.touchpoints where _source_file = ?""",
            [relative],
        ).fetchone()
        assert rows == distinct_rows == keys == expected
        # Partners were loaded by the killed run and are skipped (same checksum) by the next one.
        statuses = con.execute(
            "select status, count(*) from audit.load_log where feed = 'partners' group by status order by status"
        ).fetchall()
        assert statuses == [("loaded", 1), ("skipped_duplicate", 1)]


def test_the_same_file_twice_or_under_another_name_loads_once(env: Path) -> None:
    generate_landing(env / "landing", yesterday())
    original = sorted((env / "landing").glob("P*/touchpoints/*.csv"))[0]
    expected = len(csv_rows(original))
    assert run_loads().success

    shutil.copy(original, original.with_name("redelivered_" + original.name))  # another name, same content
    os.utime(original)  # the same file delivered again (touched)
    result = run_loads()
    assert result.success

    with connect(env) as con:
        statuses = con.execute(
            """select source_file, status from audit.load_log
               where feed = 'touchpoints' and file_checksum = (
                   select file_checksum from audit.load_log where source_file = ? and status = 'loaded')
               order by started_at, source_file""",
            [original.relative_to(env / "landing").as_posix()],
        ).fetchall()
        assert [s for _, s in statuses] == ["loaded", "skipped_duplicate", "skipped_duplicate"]
        assert {f.rsplit("/", 1)[1] for f, _ in statuses} == {original.name, "redelivered_" + original.name}
        partner = original.parts[-3]
        assert con.execute("select count(*) from raw.touchpoints where partner_id = ?", [partner]).fetchone()[0] == (
            expected
        )


def test_schema_drift_keeps_an_extra_column_and_rejects_a_file_missing_a_required_column(env: Path) -> None:
    generate_landing(env / "landing", yesterday())
    source = sorted((env / "landing").glob("P*/touchpoints/*.csv"))[0]
    partner = source.parts[-3]
    rows = csv_rows(source)[:5]
    header = list(rows[0])
    drifted = write_csv(
        source.with_name("drift_extra.csv"),
        [*header, "promo_code"],
        [[*(r[h] if h != "event_id" else f"extra-{i}" for h in header), f"PROMO{i}"] for i, r in enumerate(rows)],
    )
    missing = write_csv(
        source.with_name("drift_missing.csv"),
        [h for h in header if h != "touch_type"],
        [
            [r[h] if h != "event_id" else f"missing-{i}" for h in header if h != "touch_type"]
            for i, r in enumerate(rows)
        ],
    )

    result = run_loads()
    assert result.success

    landing = env / "landing"
    with connect(env) as con:
        status, loaded, extra, message = con.execute(
            "select status, rows_loaded, extra_columns, message from audit.load_log where source_file = ?",
            [drifted.relative_to(landing).as_posix()],
        ).fetchone()
        assert (status, loaded, extra) == ("loaded", 5, "promo_code")
        assert "promo_code" in message
        kept = con.execute(
            "select event_id, _extra_columns from raw.touchpoints where _source_file = ? order by event_id",
            [drifted.relative_to(landing).as_posix()],
        ).fetchall()
        assert [(e, '{"promo_code":"PROMO' + e.split("-")[1] + '"}') for e, _ in kept] == kept

        status, in_file, loaded, rejected, message = con.execute(
            """select status, rows_in_file, rows_loaded, rows_rejected, message
               from audit.load_log where source_file = ?""",
            [missing.relative_to(landing).as_posix()],
        ).fetchone()
        assert (status, in_file, loaded, rejected) == ("rejected_file", 5, 0, 5)
        assert "touch_type" in message
        rules = con.execute(
            "select rule, column_name, count(*) from audit.rejected_rows where source_file = ? group by all",
            [missing.relative_to(landing).as_posix()],
        ).fetchall()
        assert rules == [("missing_column", "touch_type", 5)]
        assert (
            con.execute(
                "select count(*) from raw.touchpoints where event_id like 'missing-%' and partner_id = ?", [partner]
            ).fetchone()[0]
            == 0
        )


def test_malformed_rows_land_in_rejected_rows_with_the_rule_named(env: Path) -> None:
    landing = env / "landing"
    generate_landing(landing, yesterday())
    campaign = csv_rows(next((landing / "internal/campaigns").glob("*.csv")))[0]["campaign_id"]
    partners = [r["partner_id"] for r in csv_rows(next((landing / "internal/partners").glob("*.csv")))]
    partner = partners[0]
    now = datetime.now(UTC)
    ok_time = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    header = ["event_id", "occurred_at", "partner_id", "campaign_id", "channel", "touch_type", "anonymous_id"]
    touch_rows = [  # data row number: expected rule
        ["m1", ok_time, partner, campaign, "email", "click", "a1"],  # 1: loaded
        ["m2", "last tuesday", partner, campaign, "email", "click", "a2"],  # 2: type
        ["m3", "2026-02-30T10:00:00Z", partner, campaign, "email", "click", "a3"],  # 3: type (impossible date)
        ["m4", future, partner, campaign, "email", "click", "a4"],  # 4: not_in_future
        ["m5", ok_time, partner, "C999999", "email", "click", "a5"],  # 5: unknown_reference (campaign)
        ["m6", ok_time, partner, campaign, "carrier_pigeon", "click", "a6"],  # 6: allowed_values
        ["m7", ok_time, partner, campaign, "email", "click", ""],  # 7: require_one_of
    ]
    touches = write_csv(landing / partner / "touchpoints" / "malformed.csv", header, touch_rows)
    unknown = write_csv(
        landing / "P999" / "touchpoints" / "unknown_partner.csv",
        header,
        [["u1", ok_time, "P999", campaign, "email", "click", "a1"]],  # unknown_reference (partner)
    )
    cost_header = load_contracts()["costs"].column_names
    day = (now - timedelta(days=1)).date().isoformat()
    costs = write_csv(
        landing / partner / "costs" / "malformed_costs.csv",
        cost_header,
        [
            ["k1", day, partner, campaign, "10.00", "USD", "media"],  # 1: loaded
            ["k2", day, partner, campaign, "-5.00", "USD", "media"],  # 2: min (negative amount)
            ["k3", day, partner, campaign, "12,50", "USD", "media"],  # 3: type
            ["k4", "2026-13-01", partner, campaign, "1.00", "USD", "media"],  # 4: type (impossible date)
        ],
    )
    encoding = landing / partner / "costs" / "latin1_costs.csv"
    encoding.write_bytes(
        (",".join(cost_header) + "\n").encode()
        + f"k5,{day},{partner},{campaign},1.00,USD,media\n".encode()
        + f"k6,{day},{partner},{campaign},2.00,USD,m\xe9dia\n".encode("latin-1")  # 2: encoding
    )

    result = run_loads(TOUCH_FEEDS + ",costs")
    assert result.success

    def rejected(path: Path) -> list[tuple[int, str]]:
        with connect(env) as con:
            return con.execute(
                "select row_number, rule from audit.rejected_rows where source_file = ? order by row_number",
                [path.relative_to(landing).as_posix()],
            ).fetchall()

    assert rejected(touches) == [
        (2, "type"),
        (3, "type"),
        (4, "not_in_future"),
        (5, "unknown_reference"),
        (6, "allowed_values"),
        (7, "require_one_of"),
    ]
    assert rejected(unknown) == [(1, "unknown_reference")]
    assert rejected(costs) == [(2, "min"), (3, "type"), (4, "type")]
    assert rejected(encoding) == [(2, "encoding")]
    with connect(env) as con:
        for path, in_file in ((touches, 7), (unknown, 1), (costs, 4), (encoding, 2)):
            loaded, rejected_count, rows = con.execute(
                "select rows_loaded, rows_rejected, rows_in_file from audit.load_log where source_file = ?",
                [path.relative_to(landing).as_posix()],
            ).fetchone()
            assert loaded + rejected_count == rows == in_file
        reason = con.execute(
            "select reason from audit.rejected_rows where source_file = ? and row_number = 5",
            [touches.relative_to(landing).as_posix()],
        ).fetchone()[0]
        assert touches.name in reason and "row 5" in reason and "C999999" in reason
        assert con.execute("select count(*) from raw.touchpoints where event_id like 'm%'").fetchone()[0] == 1


def test_a_partner_feed_that_stops_or_arrives_at_a_tenth_fails_gate_1_for_that_partner(env: Path) -> None:
    from partnerlens.runner import failure_messages, run_nightly

    landing = env / "landing"
    end = datetime.now(UTC).date() - timedelta(days=4)
    generate_landing(landing, end)  # 30 days of history, then two daily deliveries: 3 deliveries per partner
    load_directly(env, "history-1")
    for i in (1, 2):
        day = end + timedelta(days=i)
        generate_landing(landing, day, since=day)
        load_directly(env, f"history-{i + 1}")

    day = end + timedelta(days=3)
    generate_landing(landing, day, since=day)
    files = {p.parts[-3]: p for p in landing.glob(f"P*/touchpoints/touchpoints_{day}_{day}.csv")}
    with connect(env) as con:
        medians = dict(
            con.execute(
                """select source, median(rows_loaded) from audit.load_log
                   where feed = 'touchpoints' and status = 'loaded' group by source"""
            ).fetchall()
        )
    judged = sorted(p for p, m in medians.items() if m >= 20)
    stopped, shrunk = judged[0], judged[1]
    files[stopped].unlink()  # stops arriving
    lines = files[shrunk].read_text().splitlines()
    keep = max(1, (len(lines) - 1) // 10)
    files[shrunk].write_text("\n".join(lines[: 1 + keep]) + "\n")  # a tenth of its usual volume

    result = run_nightly()

    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert "gate_1 check 'volume' failed on raw.touchpoints" in messages
    docs = env / "gx_docs" / result.run_id / "index.html"
    assert f"Gate report: {docs}" in messages and docs.exists()
    assert f"for {', '.join(sorted([stopped, shrunk]))}" in messages
    with connect(env) as con:
        outcome, failed_count, sample = con.execute(
            """select outcome, failed_count, sample from audit.gate_results
               where run_id = ? and dataset = 'raw.touchpoints' and check_name = 'volume'""",
            [result.run_id],
        ).fetchone()
        assert (outcome, failed_count) == ("failed", 2)
        rows = {r["source"]: r for r in json.loads(sample)}
        assert rows[stopped]["rows_this_run"] == 0 and rows[stopped]["volume_ratio"] == 0
        assert rows[shrunk]["rows_this_run"] == keep
        assert rows[shrunk]["volume_ratio"] == pytest.approx(keep / medians_after(con, shrunk, result.run_id))
        others = con.execute(
            """select count(*) from audit.gate_results where run_id = ? and outcome = 'failed'
               and not (dataset = 'raw.touchpoints' and check_name = 'volume')""",
            [result.run_id],
        ).fetchone()[0]
        assert others == 0
        # Gate 1 stopped the run before dbt: no candidate schema, nothing published.
        assert (
            con.execute("select count(*) from audit.publish_log where run_id = ?", [result.run_id]).fetchone()[0] == 0
        )
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "partnerlens_dbt" not in steps and not any("published" in s for s in steps)


def medians_after(con: duckdb.DuckDBPyConnection, source: str, run_id: str) -> float:
    """Median rows of the source's deliveries before `run_id` (computed here in Python, independently)."""
    rows = sorted(
        r[0]
        for r in con.execute(
            """select sum(rows_loaded) from audit.load_log
               where feed = 'touchpoints' and source = ? and status = 'loaded' and run_id <> ?
               group by run_id""",
            [source, run_id],
        ).fetchall()
    )
    middle = len(rows) // 2
    return rows[middle] if len(rows) % 2 else (rows[middle - 1] + rows[middle]) / 2


def test_two_runs_at_once_the_second_waits_or_fails_clearly_and_nothing_is_corrupted(env: Path) -> None:
    landing = env / "landing"
    generate_landing(landing, yesterday())
    files = sorted(p for feed in TOUCH_FEEDS.split(",") for p in landing.glob(f"*/{feed}/*.csv"))

    release = env / "release"
    first = start_child(
        env,
        PARTNERLENS_TEST_HOLD_SECONDS="240",
        PARTNERLENS_TEST_RELEASE_FILE=str(release),
        PARTNERLENS_TEST_FEEDS=TOUCH_FEEDS,
    )
    impatient = waiting = None
    try:
        wait_for_line(first, "INSIDE_TRANSACTION")  # the first run holds the run lock and is mid-load
        impatient = start_child(env, PARTNERLENS_LOCK_WAIT_SECONDS="1", PARTNERLENS_TEST_FEEDS=TOUCH_FEEDS)
        waiting = start_child(env, PARTNERLENS_LOCK_WAIT_SECONDS="300", PARTNERLENS_TEST_FEEDS=TOUCH_FEEDS)
        impatient_out, _ = impatient.communicate(timeout=240)  # gives up while the first run still holds the lock
        release.touch()
        first_out, _ = first.communicate(timeout=240)
        waiting_out, _ = waiting.communicate(timeout=300)
    finally:
        for process in (first, impatient, waiting):
            if process is not None and process.poll() is None:
                process.kill()

    assert first.returncode == 0, first_out[-3000:]
    assert impatient.returncode == 1, impatient_out[-3000:]
    assert "RUN_FAILED" in impatient_out
    assert "is in use by process" in impatient_out and "waited 1 s" in impatient_out
    assert waiting.returncode == 0, waiting_out[-3000:]

    with connect(env) as con:
        per_file = con.execute(
            """select source_file, count(*) filter (where status = 'loaded'),
                      count(*) filter (where status = 'skipped_duplicate')
               from audit.load_log group by source_file"""
        ).fetchall()
        assert len(per_file) == len(files)
        # Every file was loaded exactly once (by the first run) and skipped by the run that waited.
        assert all(loaded == 1 and skipped == 1 for _, loaded, skipped in per_file), per_file
        for feed in TOUCH_FEEDS.split(","):
            raw_rows, logged = con.execute(
                f"""select (select count(*) from raw.{feed}),
                           (select sum(rows_loaded) from audit.load_log where feed = '{feed}')"""
            ).fetchone()
            assert raw_rows == logged > 0
        expected_touches = sum(len(csv_rows(p)) for p in files if p.parts[-2] == "touchpoints")
        assert con.execute(
            "select count(*), count(distinct (partner_id, event_id)) from raw.touchpoints"
        ).fetchone() == (expected_touches, expected_touches)

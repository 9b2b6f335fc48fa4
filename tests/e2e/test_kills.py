"""A nightly killed with SIGKILL, during the dbt build and inside publish, by real processes on a real warehouse.

Every test starts from a copy of one warehouse that a nightly run published (30 days of feeds up to the day before
yesterday), with yesterday's delivery landed on top. The kills:

- `partnerlens run` killed while dbt is building: its parent process alone (dbt must not live on and go on writing
  into the warehouse; it is frozen with SIGSTOP first, so that only the kernel can end it), then the whole process
  group. `marts` and the payout ledger stay as they were; the next run publishes and books once.
- A process inside publish's transaction, killed right after it appended the proposed lines to the ledger (before
  COMMIT), and right after COMMIT (before DuckDB checkpointed the WAL). Reopened, the warehouse is wholly the old
  version, then wholly the new one; a later nightly books nothing twice.

The ledger's expected counts and sums come from the tables themselves (the ledger before, the candidate's proposed
lines), added up here; the served marts are compared through a SHA-256 of all their rows.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.support.env import PROJECT_DIR, apply_env, child_env, env_at
from tests.support.warehouse import published_fingerprint, served_file

pytestmark = pytest.mark.e2e

GENERATOR = {"seed": 5, "touchpoints": 4_000, "partners": 4, "days": 30, "formats": "csv", "dirty_share": 0.0}
WAREHOUSE = "warehouse.duckdb"
#: How long to wait for something that must happen (a process to appear or die); reaching it fails the test.
PATIENCE_SECONDS = 300


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse published by one nightly run over 30 days of feeds ending the day before yesterday."""
    from partnerlens.runner import run_nightly
    from partnerlens.synthetic import generate

    root = tmp_path_factory.mktemp("published")
    with env_at(root):
        generate(root / "landing", end_date=yesterday() - timedelta(days=1), **GENERATOR)
        result = run_nightly()
        assert result.success, "the first nightly run failed"
    return root


def copy_published(published: Path, root: Path) -> None:
    """The published warehouse, its served file, landing folder and dbt artifacts, copied into `root`."""
    for name in (WAREHOUSE, WAREHOUSE + ".wal"):
        if (published / name).exists():
            shutil.copy(published / name, root / name)
    shutil.copy(served_file(published / WAREHOUSE), served_file(root / WAREHOUSE))
    shutil.copytree(published / "landing", root / "landing")
    shutil.copytree(published / "dbt_target", root / "dbt_target")


def served_digest(root: Path) -> str:
    """SHA-256 of the served file, the one readers open."""
    return hashlib.sha256(served_file(root / WAREHOUSE).read_bytes()).hexdigest()


def served_version(root: Path) -> str:
    """The version the served file says it serves."""
    with duckdb.connect(str(served_file(root / WAREHOUSE)), read_only=True) as con:
        return con.execute("select schema_name from audit.served").fetchone()[0]


@pytest.fixture
def next_day(published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the published warehouse (and its landing folder, dbt artifacts), with yesterday's delivery
    landed; the environment points at it."""
    from partnerlens.synthetic import generate

    copy_published(published, tmp_path)
    apply_env(monkeypatch, tmp_path)
    generate(tmp_path / "landing", end_date=yesterday(), since=yesterday(), **GENERATOR)
    return tmp_path


# ---------------------------------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def started() -> list[int]:
    """Processes this test started or found (a run, its dbt); any still alive at the end, and still running the same
    command, is killed, so that a failed test leaves nothing behind."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid) and cmdline(pid) == commands.get(pid):
            os.kill(pid, signal.SIGKILL)


#: The command line of each process a test registered in `started`, as it was then.
commands: dict[int, list[str]] = {}


def track(pids: list[int], pid: int) -> int:
    commands[pid] = cmdline(pid)
    pids.append(pid)
    return pid


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """A process that exists and has not exited: any of its threads still runs. (A zombie has exited and only waits to
    be reaped; but its first thread turns zombie while the others are still being torn down, holding its files.)"""
    try:
        threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return False
    for thread in threads:
        try:
            state = Path(f"/proc/{pid}/task/{thread}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            return True
    return False


def processes() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group."""
    return [pid for pid in processes() if (f := _stat(pid)) and int(f[2]) == pgid and alive(pid)]


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def start_run(root: Path) -> subprocess.Popen[bytes]:
    """`partnerlens run` in a process group of its own, with its output in run_<n>.log."""
    log = root / f"run_{len(list(root.glob('run_*.log')))}.log"
    return subprocess.Popen(
        [sys.executable, "-m", "partnerlens", "run"],
        cwd=PROJECT_DIR,
        env=child_env(root),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def dbt_building(run: subprocess.Popen[bytes]) -> int:
    """Wait until the run's `dbt build` child has written its first model; returns dbt's process id."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    dbt = None
    while time.monotonic() < deadline:
        assert run.poll() is None, f"the run ended (exit {run.returncode}) before dbt built anything"
        if dbt is None:
            for pid in processes():
                fields = _stat(pid)
                args = cmdline(pid)
                if fields and int(fields[1]) == run.pid and "build" in args and any("dbt" in a for a in args[:2]):
                    dbt = pid
        if dbt is not None:
            log = Path(environ(dbt).get("DBT_LOG_PATH", "/nonexistent")) / "dbt.log"
            if log.exists() and "OK created" in log.read_text(errors="replace"):
                return dbt
        time.sleep(0.1)
    raise AssertionError("dbt never started building")


def wait_until_dead(pids: list[int]) -> list[int]:
    """Wait for the processes to exit; returns those still alive when patience runs out."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


# ---------------------------------------------------------------------------------------------------------------------
# The warehouse
# ---------------------------------------------------------------------------------------------------------------------


def ledger(root: Path) -> tuple[int, Decimal, dict[str, int]]:
    """Rows, sum of amounts and rows per booking run of ledger.payout_lines."""
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        rows = con.execute("select booked_in_run, amount from ledger.payout_lines").fetchall()
    per_run: dict[str, int] = {}
    for run_id, _ in rows:
        per_run[run_id] = per_run.get(run_id, 0) + 1
    return len(rows), sum((amount for _, amount in rows), Decimal(0)), per_run


def proposed(root: Path, schema: str) -> tuple[int, Decimal, set[str]]:
    """Rows, sum of amounts and booking runs of a candidate's proposed ledger lines."""
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        rows = con.execute(f'select booked_in_run, amount from "{schema}".fct_payout_lines_proposed').fetchall()
    return len(rows), sum((amount for _, amount in rows), Decimal(0)), {r for r, _ in rows}


def served(root: Path) -> str:
    """The candidate schema the views of `marts` read from (every one of them: a mix fails here)."""
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        schemas = {
            d[0]
            for d in con.execute(
                """select referenced_schema from (
                       select unnest(regexp_extract_all(sql, 'marts_build_[0-9a-f]+')) as referenced_schema
                       from duckdb_views() where schema_name = 'marts' and not internal)"""
            ).fetchall()
        }
    assert len(schemas) == 1, f"`marts` serves a mix of versions: {schemas}"
    return schemas.pop()


def publish_log(root: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        return con.execute("select run_id, outcome from audit.publish_log order by published_at").fetchall()


# ---------------------------------------------------------------------------------------------------------------------


def test_a_run_killed_while_dbt_builds_leaves_the_marts_and_the_ledger_and_no_dbt_behind(
    next_day: Path, started: list[int]
) -> None:
    root = next_day
    marts_before, ledger_before, log_before = published_fingerprint(root / WAREHOUSE), ledger(root), publish_log(root)
    served_before = served_digest(root)

    # The parent alone is killed. dbt is frozen first: nothing it could still do by itself (notice that its output
    # pipe broke, finish a model) can end it, only the kernel's tether to its parent.
    run = start_run(root)
    track(started, run.pid)
    dbt = dbt_building(run)
    track(started, dbt)
    os.kill(dbt, signal.SIGSTOP)
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait(timeout=60) == -signal.SIGKILL
    assert wait_until_dead([dbt]) == [], "dbt lived on after the run that started it was killed"
    assert published_fingerprint(root / WAREHOUSE) == marts_before
    assert ledger(root) == ledger_before
    assert publish_log(root) == log_before
    assert served_digest(root) == served_before  # readers' file, byte for byte

    # The whole process group is killed (a terminal's Ctrl-\ or a supervisor stopping the job).
    run = start_run(root)
    track(started, run.pid)
    dbt = dbt_building(run)
    track(started, dbt)
    os.killpg(run.pid, signal.SIGKILL)
    assert run.wait(timeout=60) == -signal.SIGKILL
    assert wait_until_dead([dbt]) == []
    deadline = time.monotonic() + PATIENCE_SECONDS
    while group_members(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_members(run.pid) == []
    assert published_fingerprint(root / WAREHOUSE) == marts_before
    assert ledger(root) == ledger_before
    assert publish_log(root) == log_before
    assert served_digest(root) == served_before

    # The next run goes through: it publishes yesterday's delivery and books what it proposed, once.
    run = start_run(root)
    track(started, run.pid)
    assert run.wait(timeout=1800) == 0, (root / "run_2.log").read_text()[-4000:]
    schema = served(root)
    assert schema != served_schema_of(log_before)
    rows, amount, runs = proposed(root, schema)
    assert rows > 0, "yesterday's delivery should have proposed payout lines"
    (final_run,) = runs
    count, total, per_run = ledger(root)
    assert (count, total) == (ledger_before[0] + rows, ledger_before[1] + amount)
    assert per_run == {**ledger_before[2], final_run: rows}
    assert publish_log(root) == [*log_before, (final_run, "published")]
    assert served_version(root) == schema  # and readers see it


def served_schema_of(log: list[tuple[str, str]]) -> str:
    """The candidate schema of the last published run in a publish log."""
    from orchestration.warehouse.versions import candidate_schema

    return candidate_schema([run_id for run_id, outcome in log if outcome == "published"][-1])


# A process that publishes a candidate with the real publish code on a real connection, and SIGKILLs itself right
# after the statement named on its command line has run: the ledger append (inside the transaction, before COMMIT),
# or the COMMIT.
PUBLISHER = textwrap.dedent(
    """
    import os, signal, sys
    import duckdb
    from orchestration.project import ledger_models, published_models
    from orchestration.warehouse.publish import publish_candidate

    warehouse, run_id, kill_after = sys.argv[1:4]

    def matches(sql):
        text = " ".join(sql.split()).lower()
        if kill_after == "ledger_append":
            return text.startswith('insert into "ledger"."payout_lines"')
        return text == "commit"

    class KilledAfter:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args, **kwargs):
            result = self.con.execute(sql, *args, **kwargs)
            if matches(sql):
                print("KILLED_AFTER", " ".join(sql.split())[:80], flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        def __getattr__(self, name):
            return getattr(self.con, name)

    con = duckdb.connect(warehouse)
    publish_candidate(KilledAfter(con), run_id, published_models(), ledger_models())
    print("PUBLISHED_WITHOUT_BEING_KILLED", flush=True)
    """
)


def publish_and_die(root: Path, run_id: str, kill_after: str) -> str:
    script = root / "publisher.py"
    script.write_text(PUBLISHER)
    completed = subprocess.run(
        [sys.executable, str(script), str(root / WAREHOUSE), run_id, kill_after],
        cwd=PROJECT_DIR,
        env=child_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert completed.returncode == -signal.SIGKILL, completed.stdout[-4000:]
    assert "KILLED_AFTER" in completed.stdout
    return completed.stdout


def test_a_publish_killed_inside_its_transaction_serves_wholly_old_or_wholly_new_and_books_once(
    next_day: Path,
) -> None:
    from orchestration.definitions import defs
    from orchestration.warehouse.versions import candidate_schema
    from partnerlens.runner import run_nightly

    root = next_day
    marts_before, ledger_before, log_before = published_fingerprint(root / WAREHOUSE), ledger(root), publish_log(root)
    old_schema = served(root)
    served_before = served_digest(root)
    assert served_version(root) == old_schema

    # A real candidate: the nightly job without its publish and share steps (loads, gate 1, dbt build, gate 2).
    unpublished = {dg.AssetKey(["published", "marts"]), dg.AssetKey(["share", "scorecards"])}
    selection = [key for key in defs.resolve_asset_graph().executable_asset_keys if key not in unpublished]
    built = run_nightly(selection=selection)
    assert built.success
    candidate = candidate_schema(built.run_id)
    rows, amount, runs = proposed(root, candidate)
    assert rows > 0 and runs == {built.run_id}
    assert published_fingerprint(root / WAREHOUSE) == marts_before

    # Killed after the ledger append, before COMMIT: the views had been re-pointed and the lines appended inside
    # the transaction. Reopened, none of it happened.
    publish_and_die(root, built.run_id, "ledger_append")
    assert served(root) == old_schema
    assert published_fingerprint(root / WAREHOUSE) == marts_before
    assert ledger(root) == ledger_before
    assert publish_log(root) == log_before
    assert served_digest(root) == served_before

    # Killed right after COMMIT, before any checkpoint: the change is only in the write-ahead log, which DuckDB
    # replays on the next open. Reopened, all of it happened: every view serves the candidate, the lines are booked.
    publish_and_die(root, built.run_id, "commit")
    wal = root / (WAREHOUSE + ".wal")
    assert wal.exists() and wal.stat().st_size > 0
    assert served(root) == candidate
    count, total, per_run = ledger(root)
    assert (count, total) == (ledger_before[0] + rows, ledger_before[1] + amount)
    assert per_run == {**ledger_before[2], built.run_id: rows}
    assert publish_log(root) == [*log_before, (built.run_id, "published")]
    # Readers' served file is rewritten after the commit, which the killed process never reached: still wholly old.
    assert served_digest(root) == served_before

    # The next nightly, on the same feeds, finds nothing new (the killed run had loaded and built them): it builds
    # and books nothing, and rewrites the served file the killed publish never reached, so readers see what `marts`
    # serves, wholly.
    rerun = run_nightly()
    assert rerun.success
    assert served(root) == candidate
    assert ledger(root) == (count, total, per_run)
    assert publish_log(root) == [*log_before, (built.run_id, "published")]
    assert served_version(root) == candidate


# ---------------------------------------------------------------------------------------------------------------------
# `make demo` again on a later day
# ---------------------------------------------------------------------------------------------------------------------


def test_the_demo_again_on_a_later_day_lands_the_next_delivery_and_loads_only_files_it_has_not_seen(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnerlens.synthetic import catch_up, generate

    root = tmp_path
    copy_published(published, root)
    apply_env(monkeypatch, root)
    # The demo ran yesterday: its loads are a day old (a night without new files fails gate 1's delivery check).
    with duckdb.connect(str(root / WAREHOUSE)) as con:
        con.execute(
            "update audit.load_log "
            "set started_at = started_at - interval 1 day, finished_at = finished_at - interval 1 day"
        )
        seen = {f for (f,) in con.execute("select source_file from audit.load_log").fetchall()}
        published_before = con.execute("select count(*) from audit.publish_log where outcome = 'published'").fetchone()
    # What the next night's delivery holds, written independently into a folder of its own.
    expected = generate(root / "expected", end_date=yesterday(), since=yesterday(), **GENERATOR)
    assert expected.files

    completed = subprocess.run(
        [sys.executable, "-m", "partnerlens", "demo"],
        cwd=PROJECT_DIR,
        env=child_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
    )

    assert completed.returncode == 0, completed.stdout[-6000:]
    before_day = yesterday() - timedelta(days=1)
    assert f"the next delivery after {before_day}: {len(expected.files)} files" in completed.stdout
    assert f"of {yesterday()} .. {yesterday()} into {root / 'landing'}" in completed.stdout
    for rel in expected.files:  # the demo wrote exactly the next delivery, byte for byte
        assert (root / "landing" / rel).read_bytes() == (root / "expected" / rel).read_bytes()
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        (run_id,) = con.execute(
            "select run_id from audit.publish_log where outcome = 'published' order by published_at desc limit 1"
        ).fetchone()
        loads = con.execute("select source_file, status from audit.load_log where run_id = ?", [run_id]).fetchall()
        published_after = con.execute("select count(*) from audit.publish_log where outcome = 'published'").fetchone()
    assert published_after[0] == published_before[0] + 1
    assert sorted(f for f, status in loads if status == "loaded") == sorted(expected.files)
    assert {status for f, status in loads if f in seen} == {"skipped_duplicate"}  # seen before: not loaded again

    # The same day once more: nothing is missing, nothing is written.
    again = catch_up(root / "landing")
    assert again.summary is None and again.last_day == yesterday()
    assert f"feeds up to {yesterday()} already landed (up to date)" in again.note

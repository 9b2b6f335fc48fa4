"""Readers never lock the nightly out: a reader connected to the served file through a whole real nightly run, and
`partnerlens statements` run again and again while it runs.

Two real nights on a small generated ecosystem, each `python -m partnerlens run` in a child process: the first on 90
days of feeds, the second on one more day the generator delivers. Before the second night starts, another process
connects to the served file read-only and keeps that connection until the end; while the night runs it queries the
marts again and again, and `partnerlens statements` runs in a loop. What a reader sees is compared with the marts of
the warehouse itself (its `marts` views, read by this test, after each night), never with the served-file code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.support.env import PROJECT_DIR, child_env
from tests.support.warehouse import marts_fingerprint, served_file

pytestmark = pytest.mark.e2e

#: A BI client: connects read-only once, answers every line on stdin with what the marts hold now, on the same
#: connection ("query") or on a new one ("reconnect").
READER = textwrap.dedent(
    """
    import json, sys
    import duckdb
    from tests.support.warehouse import marts_fingerprint

    def state(con):
        served_run = con.execute("select run_id from audit.served").fetchone()[0]
        return json.dumps({"marts": marts_fingerprint(con), "served_run": served_run})

    con = duckdb.connect(sys.argv[1], read_only=True)
    print(state(con), flush=True)
    for line in sys.stdin:
        if line.strip() == "reconnect":
            con.close()
            con = duckdb.connect(sys.argv[1], read_only=True)
        print(state(con), flush=True)
    """
)


@dataclass
class Nights:
    root: Path
    warehouse: Path
    served: Path
    first_marts: dict
    second_marts: dict
    second_run_id: str
    second_output: str
    second_code: int
    reader_initial: dict
    reader_during: list[dict] = field(default_factory=list)
    reader_after_same_connection: dict = field(default_factory=dict)
    reader_reconnected: dict = field(default_factory=dict)
    reader_alive_after: bool = False
    reader_holds_replaced_file: bool = False
    statements: list[tuple[int, str, str, bool]] = field(default_factory=list)


def partnerlens(*args: str) -> list[str]:
    return [sys.executable, "-m", "partnerlens", *args]


def warehouse_marts(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return marts_fingerprint(con)


def ask(reader: subprocess.Popen[str], command: str) -> dict:
    assert reader.stdin is not None and reader.stdout is not None
    reader.stdin.write(command + "\n")
    reader.stdin.flush()
    line = reader.stdout.readline()
    assert line, f"the reader stopped answering ({command})"
    return json.loads(line)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Nights:
    from partnerlens.synthetic import generate

    root = tmp_path_factory.mktemp("served")
    env = child_env(root)
    warehouse = root / "warehouse.duckdb"
    served = served_file(warehouse)
    end = datetime.now(UTC).date() - timedelta(days=2)
    generate(root / "landing", seed=11, touchpoints=6_000, partners=8, days=90, end_date=end)
    first = subprocess.run(partnerlens("run"), cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1500)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    first_marts = warehouse_marts(warehouse)
    # the second night: one more day of feeds
    next_day = end + timedelta(days=1)
    generate(root / "landing", seed=11, touchpoints=6_000, partners=8, days=90, end_date=next_day, since=next_day)

    script = root / "reader.py"
    script.write_text(READER)
    reader = subprocess.Popen(
        [sys.executable, str(script), str(served)],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        initial = json.loads(reader.stdout.readline())
        log = root / "second_night.log"
        with log.open("w") as output:
            nightly = subprocess.Popen(
                partnerlens("run"), cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
            )
            try:
                during: list[dict] = []
                statements: list[tuple[int, str, str, bool]] = []
                while nightly.poll() is None:
                    out = root / "statements" / str(len(statements))
                    done = subprocess.run(
                        partnerlens("statements", "--out", str(out)),
                        cwd=PROJECT_DIR,
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                    statements.append((done.returncode, done.stdout, done.stderr, nightly.poll() is None))
                    during.append(ask(reader, "query"))
                    time.sleep(1)
                code = nightly.wait(timeout=1500)
            finally:
                if nightly.poll() is None:
                    nightly.kill()
                    nightly.wait()
        output_text = log.read_text()
        run_id = re.search(r"Dagster run ([0-9a-f-]{36})", output_text)
        nights = Nights(
            root=root,
            warehouse=warehouse,
            served=served,
            first_marts=first_marts,
            second_marts=warehouse_marts(warehouse) if code == 0 else {},
            second_run_id=run_id.group(1) if run_id else "",
            second_output=output_text,
            second_code=code,
            reader_initial=initial,
            reader_during=during,
            statements=statements,
        )
        # the connection opened before the night, after the night: still the file it opened, now replaced
        nights.reader_after_same_connection = ask(reader, "query")
        fds = Path(f"/proc/{reader.pid}/fd")
        nights.reader_holds_replaced_file = any(
            os.readlink(fd) == f"{served} (deleted)" for fd in fds.iterdir() if fd.is_symlink()
        )
        nights.reader_alive_after = reader.poll() is None
        nights.reader_reconnected = ask(reader, "reconnect")
        return nights
    finally:
        if reader.stdin:
            reader.stdin.close()
        reader.wait(timeout=60)


def test_the_nightly_succeeds_while_a_reader_stays_connected_to_the_served_file(nights: Nights) -> None:
    assert nights.second_code == 0, nights.second_output[-6000:]
    assert "The nightly run succeeded" in nights.second_output
    assert "Could not set lock" not in nights.second_output
    assert f"readers open the published marts in schema `marts` of {nights.served}" in nights.second_output
    # connected before the night began, it answered during it and still answers after it
    assert nights.reader_during
    assert nights.reader_alive_after


def test_the_connected_reader_sees_the_previous_marts_until_it_reconnects(nights: Nights) -> None:
    assert nights.second_code == 0, nights.second_output[-6000:]
    previous, current = nights.first_marts, nights.second_marts
    # the second night added a day of touches: the published marts changed
    assert current["fct_touchpoints"][0] > previous["fct_touchpoints"][0]
    assert set(previous) == set(current) and len(previous) >= 13
    # the reader's connection: the first night's marts exactly, before, during and after the second night
    assert nights.reader_initial["marts"] == previous
    assert all(state["marts"] == previous for state in nights.reader_during)
    assert nights.reader_after_same_connection["marts"] == previous
    assert nights.reader_after_same_connection["served_run"] != nights.second_run_id
    assert nights.reader_holds_replaced_file  # it reads the file it opened, which the publish renamed over
    # reconnected: the second night's marts exactly, as its warehouse publishes them
    assert nights.reader_reconnected["marts"] == current
    assert nights.reader_reconnected["served_run"] == nights.second_run_id


def test_statements_run_during_the_nightly_succeed_and_do_not_make_it_fail(nights: Nights) -> None:
    assert nights.second_code == 0, nights.second_output[-6000:]
    assert nights.statements
    # at least one ran from start to end while the night was running
    assert any(running for *_, running in nights.statements)
    for index, (code, out, err, _) in enumerate(nights.statements):
        assert code == 0, err
        written = [Path(line) for line in out.splitlines()]
        assert written and all(path.is_file() for path in written)
        assert all(nights.root / "statements" / str(index) in path.parents for path in written)


def test_the_served_file_is_complete_on_its_own_and_the_nightly_leaves_nothing_beside_it(nights: Nights) -> None:
    assert nights.second_code == 0, nights.second_output[-6000:]
    beside = sorted(p.name for p in nights.served.parent.iterdir() if p.name.startswith((".", nights.served.name)))
    assert beside == [nights.served.name]  # no write-ahead log, no temporary file
    with duckdb.connect(str(nights.served), read_only=True) as con:
        kinds = con.execute(
            "select distinct table_type from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        assert kinds == [("BASE TABLE",)]
        ledger = con.execute("select count(*), sum(amount) from ledger.payout_lines").fetchone()
        runs = con.execute("select run_id, publish_outcome from audit.run_history order by last_event_at").fetchall()
    with duckdb.connect(str(nights.warehouse), read_only=True) as con:
        assert ledger == con.execute("select count(*), sum(amount) from ledger.payout_lines").fetchone()
        assert [r for r in runs if r[0] == nights.second_run_id] == [(nights.second_run_id, "published")]

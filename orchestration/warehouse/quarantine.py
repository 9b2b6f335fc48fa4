"""Quarantine: a delivery that gate 1 refused stays refused until a person releases or drops it.

Gate 1 judges the rows a run loaded, and the loader has already committed them to ``raw.<feed>``. So that a re-run
cannot publish what a gate refused, every file of a feed that a run loaded is *held* in ``audit.quarantine`` when a
blocking gate-1 check of that feed fails, with the failed checks as its reason. While a file is held:

- gate 1 judges it again on every run, as if the run had loaded it (:func:`held_loads_sql`), so every run fails the
  same check with the same message and nothing is built or published;
- it is listed in the failure message, with the commands that end the hold.

``partnerlens quarantine --release FILE`` accepts a held file as it is (its rows are then part of the next build,
like any file loaded before); ``partnerlens quarantine --drop FILE`` deletes its rows from ``raw.<feed>``. Either is one
transaction that also writes who decided, when and why into the file's ``audit.quarantine`` row, and the rows it
deleted.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from orchestration.warehouse.sql import ident, lit

QUARANTINE_DDL = """
create table if not exists audit.quarantine (
    load_id varchar,           -- the file's load in audit.load_log
    feed varchar,
    source varchar,
    source_file varchar,
    run_id varchar,            -- the run whose gate 1 refused it
    reason varchar,            -- the failed checks
    status varchar,            -- held | released | dropped
    quarantined_at timestamptz,
    decided_by varchar,        -- who released or dropped it
    decided_at timestamptz,
    decision_note varchar,
    rows_dropped bigint
)"""
HELD = "held"
RELEASED = "released"
DROPPED = "dropped"


class QuarantineError(ValueError):
    """A release or drop that cannot be done (no such held file); the message says why."""


@dataclass(frozen=True)
class HeldFile:
    load_id: str
    feed: str
    source_file: str
    run_id: str
    reason: str


def held_loads_sql(feed: str) -> str:
    """SQL listing the load ids of the feed's held files."""
    return f"select load_id from audit.quarantine where feed = {lit(feed)} and status = '{HELD}'"


def hold_refused_loads(con: duckdb.DuckDBPyConnection, run_id: str, feed: str, reason: str) -> list[HeldFile]:
    """Hold every file of ``feed`` that run ``run_id`` loaded (and is not held yet); returns every held file of the
    feed, oldest first."""
    con.execute(QUARANTINE_DDL)
    con.execute(
        f"""insert into audit.quarantine
            select load_id, feed, source, source_file, run_id, ?, '{HELD}', now(), null, null, null, null
            from audit.load_log
            where run_id = ? and feed = ? and status = 'loaded'
              and load_id not in (select load_id from audit.quarantine)""",
        [reason, run_id, feed],
    )
    return held_files(con, feed)


def held_files(con: duckdb.DuckDBPyConnection, feed: str | None = None) -> list[HeldFile]:
    """The held files (of one feed, or all), oldest first (audit.quarantine must exist)."""
    rows = con.execute(
        f"""select load_id, feed, source_file, run_id, reason from audit.quarantine
            where status = '{HELD}' and (? is null or feed = ?) order by quarantined_at, source_file""",
        [feed, feed],
    ).fetchall()
    return [HeldFile(*row) for row in rows]


def decide(
    con: duckdb.DuckDBPyConnection, what: str, action: str, note: str | None = None, actor: str | None = None
) -> list[tuple[HeldFile, int]]:
    """Release or drop the held file(s) named by ``what`` (a file as ``source_file`` names it, or a load id).

    Returns each file with the rows deleted from ``raw.<feed>`` (0 for a release). One transaction: the decision, its
    author, time and note, and the deletion.
    """
    if action not in (RELEASED, DROPPED):
        raise QuarantineError(f"unknown decision {action!r}: release or drop")
    con.execute(QUARANTINE_DDL)
    targets = [f for f in held_files(con) if what in (f.source_file, f.load_id)]
    if not targets:
        held = ", ".join(f.source_file for f in held_files(con)) or "none"
        raise QuarantineError(f"{what!r} is not a held file (held: {held})")
    who = actor or getpass.getuser()
    done: list[tuple[HeldFile, int]] = []
    con.execute("begin transaction")
    try:
        for held in targets:
            deleted = 0
            if action == DROPPED:
                deleted = int(
                    con.execute(f"delete from raw.{ident(held.feed)} where _load_id = ?", [held.load_id]).fetchone()[0]  # type: ignore[index]
                )
            con.execute(
                """update audit.quarantine set status = ?, decided_by = ?, decided_at = ?, decision_note = ?,
                       rows_dropped = ?
                   where load_id = ?""",
                [action, who, datetime.now(UTC), note, deleted, held.load_id],
            )
            done.append((held, deleted))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return done


def held_message(files: list[HeldFile]) -> str:
    """What a gate failure says about held files: which, since when, and the commands that end the hold."""
    if not files:
        return ""
    lines = [f"{f.source_file} (load {f.load_id}, refused by run {f.run_id})" for f in files]
    return (
        "\nHeld in quarantine (judged again by every run until released or dropped): "
        + "; ".join(lines)
        + ". Accept a file as it is: `partnerlens quarantine --release FILE --note WHY`; delete its rows: "
        "`partnerlens quarantine --drop FILE --note WHY`."
    )

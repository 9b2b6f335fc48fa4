"""Incremental state under write-audit-publish: what a night builds on, and how a failed night is undone.

The rows of incremental dbt models (materialization ``state_table``, see ``macros/state/state_table.sql``) persist
from night to night in a *state schema*, ``state_<run>``, named after the run whose full build started it (a
generation of the state). Each physical table ``<model>`` holds the current rows, each stamped with ``_build_seq``,
the build that wrote it; ``<model>__retired`` holds the rows later builds replaced, with ``_retired_seq``. A build's
candidate schema holds a view per incremental model that shows the rows of that build's version, so every
published version (and every version kept for restore) keeps showing exactly its rows while later nights write
into the same tables. Nothing is copied from night to night.

Every dbt invocation of the nightly job is a *build*, numbered by ``build_seq`` and recorded in ``audit.builds``
(its mode, why, the state schema, the build it continues from) with the loads of raw it covers in
``audit.build_loads``. :func:`plan_build` decides, before dbt runs:

- ``full``: a new generation, every model from all of raw, when ``--full-refresh`` is asked for, nothing published
  was built this way yet, the served version's state is gone, the dbt project (models, macros, seeds,
  dbt_project.yml) or the dbt vars changed, a feed in :data:`FULL_BUILD_FEEDS` delivered something, rows the
  served version was built from left raw, or a customer was erased since it was built (``audit.erasures``);
- ``incremental``: continue the served version's generation, reading only the loads it did not cover;
- ``skipped``: nothing new since the served version (no load it did not cover, nothing else changed): no build and
  no publish at all.

A night always builds on the version ``marts`` serves. :func:`rollback_state` undoes, in one transaction, every row
written by a build the served version does not include (a failed night, a version discarded by a restore), and
reinstates what those builds retired: it runs when a step of a build fails (the job's failure hook) and again before
every build (for a run that was killed). :func:`collect_state_garbage` (after publish) drops the retired rows no kept
version can see any more and the generations no kept version uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.paths import PROJECT_DIR
from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.sql import ident, relation
from orchestration.warehouse.versions import CANDIDATE_PREFIX, candidate_schema, served_schema

STATE_PREFIX = "state_"
RETIRED_SUFFIX = "__retired"
FULL = "full"
INCREMENTAL = "incremental"
SKIPPED = "skipped"
#: Feeds whose new deliveries make the next build a full one: agreements set the lookback windows of every path and
#: the payout terms of every conversion.
FULL_BUILD_FEEDS = ("agreements",)
#: dbt vars that do not decide what an incremental model holds: set per run by the orchestrator, or read only by
#: models that every build computes afresh (payout_as_of_date: payout statuses and open deals).
PER_RUN_VARS = frozenset({"run_id", "marts_schema", "state_schema", "build_seq", "payout_as_of_date"})
#: What the dbt build is made of: a change to any of these makes the next build a full one.
PROJECT_INPUTS = ("dbt_project.yml", "models", "macros", "seeds")

BUILDS_DDL = """
create table if not exists audit.builds (
    build_seq bigint not null,        -- the build; var build_seq of its dbt invocation
    run_id varchar not null,
    candidate_schema varchar not null,
    state_schema varchar,             -- the generation of the incremental state it writes (null when skipped)
    base_build_seq bigint,            -- the build it continues from (the served one), null for a full build
    mode varchar not null,            -- full | incremental | skipped
    reason varchar not null,
    fingerprint varchar not null,     -- json: project hash, dbt vars, loads of the feeds that force a full build
    loads bigint not null,            -- loads of raw it covers
    new_loads bigint not null,        -- of which it reads for the first time
    planned_at timestamptz not null
)"""
BUILD_LOADS_DDL = """
create table if not exists audit.build_loads (
    build_seq bigint not null,
    feed varchar not null,
    load_id varchar not null,
    is_new boolean not null           -- not covered by the build it continues from (every load of a full build)
)"""


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``audit.builds`` and ``audit.build_loads`` (idempotent)."""
    ensure_audit(con)
    con.execute(BUILDS_DDL)
    con.execute(BUILD_LOADS_DDL)


def state_schema_for(run_id: str) -> str:
    """The state schema a full build of this run starts."""
    return STATE_PREFIX + run_id.replace("-", "")[:16]


def project_fingerprint(root: Path = PROJECT_DIR) -> str:
    """SHA-256 over the paths and bytes of every file the dbt build is made of (:data:`PROJECT_INPUTS`)."""
    digest = hashlib.sha256()
    for name in PROJECT_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Build:
    """A row of audit.builds."""

    build_seq: int
    run_id: str
    candidate_schema: str
    state_schema: str | None
    base_build_seq: int | None
    mode: str
    reason: str
    fingerprint: dict[str, Any]


def _build(row: tuple) -> Build:
    return Build(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))


_BUILD_COLUMNS = "build_seq, run_id, candidate_schema, state_schema, base_build_seq, mode, reason, fingerprint"


def build_of_schema(con: duckdb.DuckDBPyConnection, schema: str | None) -> Build | None:
    """The build whose candidate schema is `schema` (None for a version built before builds were recorded)."""
    if schema is None:
        return None
    ensure_state_tables(con)
    row = con.execute(
        f"select {_BUILD_COLUMNS} from audit.builds where candidate_schema = ? and mode <> ? "
        "order by build_seq desc limit 1",
        [schema, SKIPPED],
    ).fetchone()
    return _build(row) if row else None


def served_build(con: duckdb.DuckDBPyConnection) -> Build | None:
    """The build `marts` serves, if it was recorded."""
    return build_of_schema(con, served_schema(con))


def last_build(con: duckdb.DuckDBPyConnection, run_id: str) -> Build | None:
    """The build a run planned, if any."""
    ensure_state_tables(con)
    row = con.execute(
        f"select {_BUILD_COLUMNS} from audit.builds where run_id = ? order by build_seq desc limit 1", [run_id]
    ).fetchone()
    return _build(row) if row else None


def schema_exists(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    return bool(
        con.execute("select count(*) from information_schema.schemata where schema_name = ?", [schema]).fetchone()[0]
    )


def current_loads(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """feed -> the loads whose rows are in raw.<feed> now: every loaded file, except those quarantine dropped."""
    ensure_audit(con)
    rows = con.execute(
        "select feed, load_id from audit.load_log where status = 'loaded' "
        "and load_id not in (select load_id from audit.quarantine where status = 'dropped')"
    ).fetchall()
    loads: dict[str, set[str]] = {}
    for feed, load_id in rows:
        loads.setdefault(feed, set()).add(load_id)
    return loads


def covered_loads(con: duckdb.DuckDBPyConnection, build_seq: int) -> dict[str, set[str]]:
    """feed -> the loads a build covered."""
    loads: dict[str, set[str]] = {}
    for feed, load_id in con.execute(
        "select feed, load_id from audit.build_loads where build_seq = ?", [build_seq]
    ).fetchall():
        loads.setdefault(feed, set()).add(load_id)
    return loads


def stable_vars(dbt_vars: Mapping[str, Any] | None) -> dict[str, Any]:
    """The dbt vars that decide what the incremental models hold (all but :data:`PER_RUN_VARS`)."""
    return {k: v for k, v in sorted((dbt_vars or {}).items()) if k not in PER_RUN_VARS}


@dataclass
class BuildPlan:
    """What the dbt step of a run does: a full or incremental build, or nothing."""

    mode: str
    reason: str
    build_seq: int
    run_id: str
    candidate_schema: str
    state_schema: str | None
    base: Build | None
    loads: dict[str, set[str]] = field(default_factory=dict)
    new_loads: dict[str, set[str]] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)

    @property
    def new_load_count(self) -> int:
        return sum(len(v) for v in self.new_loads.values())

    def describe(self) -> str:
        """One line for the run's log and the command line."""
        if self.mode == SKIPPED:
            return f"nothing new: build and publish skipped; `marts` keeps serving {self.base.candidate_schema}"
        if self.mode == INCREMENTAL:
            feeds = ", ".join(f"{feed} {len(ids)}" for feed, ids in sorted(self.new_loads.items()) if ids)
            return f"incremental build on {self.base.candidate_schema}: {self.new_load_count} new loads ({feeds})"
        return f"full build: {self.reason}"

    def headline(self) -> str:
        """A few words for the command line's stage line."""
        if self.mode == SKIPPED:
            return f"nothing new: build and publish skipped, `marts` keeps serving {self.base.candidate_schema}"
        if self.mode == INCREMENTAL:
            return f"incremental build, {self.new_load_count:,} new loads"
        return f"full build ({self.reason})"

    def dbt_vars(self) -> dict[str, Any]:
        """The vars that tell the dbt build which version it writes, and where."""
        return {"marts_schema": self.candidate_schema, "state_schema": self.state_schema, "build_seq": self.build_seq}


def _full_reason(
    con: duckdb.DuckDBPyConnection,
    base: Build | None,
    fingerprint: dict[str, Any],
    loads: dict[str, set[str]],
    full_refresh: bool,
) -> str | None:
    """Why this build must be a full one, or None when it can continue the served version."""
    if full_refresh:
        return "a full refresh was asked for (--full-refresh)"
    if base is None:
        return "no published version holds incremental state yet"
    if not base.state_schema or not schema_exists(con, base.state_schema):
        return f"the incremental state of {base.candidate_schema} is gone"
    before = base.fingerprint
    if before.get("project") != fingerprint["project"]:
        return "the dbt project changed (models, macros, seeds or dbt_project.yml)"
    if before.get("vars") != fingerprint["vars"]:
        changed = sorted(set(before.get("vars", {}).items()) ^ set(fingerprint["vars"].items()), key=str)
        return "the dbt vars changed: " + ", ".join(sorted({str(k) for k, _ in changed}))
    for feed in FULL_BUILD_FEEDS:
        if set(before.get("full_build_loads", {}).get(feed, [])) != set(fingerprint["full_build_loads"][feed]):
            return f"new {feed} were delivered (they apply to every conversion)"
    erased = con.execute(
        "select count(*) from audit.erasures where coalesce(build_seq_at_erasure, 0) >= ?", [base.build_seq]
    ).fetchone()[0]
    if erased:
        return f"a customer was erased since {base.candidate_schema} was built"
    covered = covered_loads(con, base.build_seq)
    gone = sorted(feed for feed, ids in covered.items() if ids - loads.get(feed, set()))
    if gone:
        return f"rows {base.candidate_schema} was built from are no longer in raw ({', '.join(gone)})"
    return None


def plan_build(
    con: duckdb.DuckDBPyConnection, run_id: str, dbt_vars: Mapping[str, Any] | None = None, full_refresh: bool = False
) -> BuildPlan:
    """Decide and record what this run's dbt step does (see the module documentation). For a build, the state is
    rolled back to the served version first and the loads it covers are recorded in audit.build_loads."""
    ensure_state_tables(con)
    rollback_state(con)
    base = served_build(con)
    loads = current_loads(con)
    fingerprint = {
        "project": project_fingerprint(),
        "vars": json.loads(json.dumps(stable_vars(dbt_vars), sort_keys=True, default=str)),
        "full_build_loads": {feed: sorted(loads.get(feed, set())) for feed in FULL_BUILD_FEEDS},
    }
    reason = _full_reason(con, base, fingerprint, loads, full_refresh)
    covered = covered_loads(con, base.build_seq) if base is not None and reason is None else {}
    new_loads = {feed: ids - covered.get(feed, set()) for feed, ids in loads.items()}
    new_loads = {feed: ids for feed, ids in new_loads.items() if ids}
    build_seq = con.execute("select coalesce(max(build_seq), 0) + 1 from audit.builds").fetchone()[0]
    if reason is None and not new_loads:
        mode, reason, state = SKIPPED, "no load of raw since the served version, and nothing else changed", None
    elif reason is None:
        mode, reason, state = INCREMENTAL, "new loads since the served version", base.state_schema
    else:
        mode, state = FULL, state_schema_for(run_id)
    plan = BuildPlan(
        mode=mode,
        reason=reason,
        build_seq=build_seq,
        run_id=run_id,
        candidate_schema=candidate_schema(run_id),
        state_schema=state,
        base=base if mode != FULL else None,
        loads=loads,
        new_loads=new_loads,
        fingerprint=fingerprint,
    )
    _record(con, plan)
    return plan


def _record(con: duckdb.DuckDBPyConnection, plan: BuildPlan) -> None:
    con.execute("begin transaction")
    try:
        con.execute(
            "insert into audit.builds values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan.build_seq,
                plan.run_id,
                plan.candidate_schema,
                plan.state_schema,
                plan.base.build_seq if plan.base else None,
                plan.mode,
                plan.reason,
                json.dumps(plan.fingerprint, sort_keys=True),
                sum(len(v) for v in plan.loads.values()),
                plan.new_load_count,
                datetime.now(UTC),
            ],
        )
        if plan.mode != SKIPPED:
            rows = [
                (plan.build_seq, feed, load_id, load_id in plan.new_loads.get(feed, ()))
                for feed, ids in sorted(plan.loads.items())
                for load_id in sorted(ids)
            ]
            if rows:
                con.executemany("insert into audit.build_loads values (?, ?, ?, ?)", rows)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


# ---------------------------------------------------------------------------------------------------------------------
# Rolling back and collecting garbage
# ---------------------------------------------------------------------------------------------------------------------


def state_schemas(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every generation of incremental state in the warehouse."""
    return [
        r[0]
        for r in con.execute(
            "select schema_name from information_schema.schemata where starts_with(schema_name, ?) order by 1",
            [STATE_PREFIX],
        ).fetchall()
    ]


def state_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The incremental models of a generation (tables with _build_seq and a <table>__retired beside them)."""
    tables = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.columns where table_schema = ? and column_name = '_build_seq'",
            [schema],
        ).fetchall()
    }
    return sorted(t for t in tables if not t.endswith(RETIRED_SUFFIX) and t + RETIRED_SUFFIX in tables)


def _kept_builds(con: duckdb.DuckDBPyConnection) -> list[Build]:
    """Published builds whose candidate schema is still in the warehouse (the versions that can be served)."""
    ensure_state_tables(con)
    schemas = {
        r[0]
        for r in con.execute(
            "select schema_name from information_schema.schemata where starts_with(schema_name, ?)",
            [CANDIDATE_PREFIX],
        ).fetchall()
    }
    published = {
        r[0] for r in con.execute("select schema_name from audit.publish_log where outcome = 'published'").fetchall()
    }
    rows = con.execute(f"select {_BUILD_COLUMNS} from audit.builds where mode <> ?", [SKIPPED]).fetchall()
    return [b for b in map(_build, rows) if b.candidate_schema in schemas and b.candidate_schema in published]


def _rollback_schema(con: duckdb.DuckDBPyConnection, schema: str, to_seq: int) -> int:
    """Undo, in every state table of `schema`, what builds after `to_seq` did; returns the rows removed."""
    removed = 0
    for table in state_tables(con, schema):
        current, retired = relation(schema, table), relation(schema, table + RETIRED_SUFFIX)
        columns = ", ".join(
            ident(r[0])
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [schema, table],
            ).fetchall()
        )
        removed += con.execute(f"delete from {current} where _build_seq > ?", [to_seq]).fetchone()[0]
        con.execute(
            f"insert into {current} ({columns}) select {columns} from {retired} "
            "where _retired_seq > ? and _build_seq <= ?",
            [to_seq, to_seq],
        )
        con.execute(f"delete from {retired} where _retired_seq > ?", [to_seq])
    return removed


def rollback_state(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Undo every build that the served version does not include, in one transaction (see the module docstring).

    - The served version's generation goes back to exactly what the served build left; published versions of that
      generation built after it (a restore served an older one) are discarded with their candidate schemas, since a
      night builds on what `marts` serves.
    - Any other generation keeps its published versions and loses the rows of builds after its last one.
    Generations no published version uses are left for :func:`collect_state_garbage`. Returns schema -> rows removed.
    """
    ensure_state_tables(con)
    served = served_build(con)
    kept = _kept_builds(con)
    outcome: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for schema in state_schemas(con):
            if served is not None and served.state_schema == schema:
                to_seq = served.build_seq
                for build in kept:
                    if build.state_schema == schema and build.build_seq > to_seq:
                        con.execute(f"drop schema if exists {ident(build.candidate_schema)} cascade")
            else:
                published = [b.build_seq for b in kept if b.state_schema == schema]
                if not published:
                    continue
                to_seq = max(published)
            outcome[schema] = _rollback_schema(con, schema, to_seq)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return outcome


def collect_state_garbage(con: duckdb.DuckDBPyConnection) -> list[str]:
    """After a publish: drop the generations that no kept version uses, and in the others the retired rows that no
    kept version can see (retired by or before the oldest kept build). Returns the dropped schemas."""
    kept = _kept_builds(con)
    dropped = []
    for schema in state_schemas(con):
        seqs = [b.build_seq for b in kept if b.state_schema == schema]
        if not seqs:
            con.execute(f"drop schema {ident(schema)} cascade")
            dropped.append(schema)
            continue
        oldest = min(seqs)
        for table in state_tables(con, schema):
            con.execute(f"delete from {relation(schema, table + RETIRED_SUFFIX)} where _retired_seq <= ?", [oldest])
    return dropped


def undo_failed_build(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int] | None:
    """When a step of a run fails after the run planned a build that `marts` does not serve: roll the state back
    (:func:`rollback_state`), so the failed night leaves it exactly as it was. None when there is nothing to undo."""
    build = last_build(con, run_id)
    if build is None or build.mode == SKIPPED:
        return None
    served = served_build(con)
    if served is not None and served.build_seq == build.build_seq:
        return None
    return rollback_state(con)

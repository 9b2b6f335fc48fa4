"""Write-audit-publish: a run's candidate marts become what `marts` serves, atomically, only after the gates pass.

Every nightly run builds the marts into a fresh schema of its own (`marts_build_<run>`). Publishing re-points the
views of the `marts` schema at that schema in one transaction, so BI tools see either yesterday's marts or today's,
never a mix. A failed gate leaves `marts` untouched. The last few published versions are kept so that the previous one
can be restored with one command (`partnerlens restore`).
"""

# Dagster inspects the annotations of asset functions at definition time: no postponed annotations here.

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import duckdb

from orchestration.project import dbt_project
from orchestration.resources import RunLockResource, WarehouseResource

PUBLISHED_SCHEMA = "marts"
CANDIDATE_PREFIX = "marts_build_"
# Published versions kept for restore, besides the one being served.
KEEP_VERSIONS = 3
# Append-only ledgers that live outside the versioned schemas: when a candidate is published, the rows its run
# proposes (a table in the candidate schema) are appended to the ledger in the same transaction as the view swap, so
# a run that fails its gates books nothing. Models read the ledger as it stood at the last publish.
LEDGER_APPENDS: dict[str, str] = {
    # candidate table -> ledger table
    "fct_payout_lines_proposed": "ledger.payout_lines",
}

AUDIT_DDL = """
create schema if not exists audit;
create table if not exists audit.publish_log (
    publish_id varchar,
    run_id varchar,
    action varchar,            -- publish | restore
    schema_name varchar,       -- the versioned schema `marts` serves after this action
    previous_schema_name varchar,
    models varchar,            -- JSON list of the views published
    row_counts varchar,        -- JSON {model: rows}
    outcome varchar,           -- published | restored | refused
    message varchar,
    published_at timestamptz
);
create table if not exists audit.gate_results (
    run_id varchar,
    gate varchar,              -- gate_1 (raw feeds) | gate_2 (candidate marts)
    check_name varchar,
    dataset varchar,
    outcome varchar,           -- passed | failed | warned
    failed_count bigint,
    sample varchar,            -- JSON sample of offending rows
    message varchar,
    checked_at timestamptz
);
"""


class PublishRefused(dg.Failure):
    """The candidate did not pass the gates; nothing was published."""


def candidate_schema(run_id: str) -> str:
    """The schema a run builds its candidate marts into."""
    return CANDIDATE_PREFIX + run_id.replace("-", "")[:16]


def published_model_names() -> list[str]:
    """Every model under models/marts/ except those marked `meta: {partnerlens: {publish: false}}` (the proposed
    ledger rows), sorted: these are the views `marts` serves."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    names = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and len(node["fqn"]) > 2
        and node["fqn"][1] == "marts"
        and (node.get("config", {}).get("meta") or {}).get("partnerlens", {}).get("publish", True)
    ]
    return sorted(names)


def ensure_audit(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(AUDIT_DDL)


def served_schema(con: duckdb.DuckDBPyConnection) -> str | None:
    """The versioned schema `marts` serves now, from the publish log."""
    ensure_audit(con)
    row = con.execute(
        "select schema_name from audit.publish_log where outcome in ('published', 'restored') "
        "order by published_at desc limit 1"
    ).fetchone()
    return row[0] if row else None


def failed_gate_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str, str]]:
    """(gate, check, dataset, message) of every failed gate check recorded for this run."""
    ensure_audit(con)
    return con.execute(
        "select gate, check_name, dataset, message from audit.gate_results "
        "where run_id = ? and outcome = 'failed' order by gate, check_name",
        [run_id],
    ).fetchall()


def _existing_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?",
        [schema],
    ).fetchall()
    return {r[0] for r in rows}


def _append_ledgers(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    """Append each ledger's proposed rows from the candidate schema; returns rows appended per ledger."""
    present = _existing_tables(con, schema)
    appended: dict[str, int] = {}
    for candidate_table, ledger in LEDGER_APPENDS.items():
        if candidate_table not in present:
            continue
        ledger_schema = ledger.split(".")[0]
        con.execute(f"create schema if not exists {ledger_schema}")
        con.execute(f'create table if not exists {ledger} as select * from "{schema}"."{candidate_table}" limit 0')
        before = con.execute(f"select count(*) from {ledger}").fetchone()[0]
        con.execute(f'insert into {ledger} by name select * from "{schema}"."{candidate_table}"')
        appended[ledger] = con.execute(f"select count(*) from {ledger}").fetchone()[0] - before
    return appended


def _point_views(con: duckdb.DuckDBPyConnection, schema: str, models: list[str]) -> None:
    con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
    for model in models:
        con.execute(f'create or replace view {PUBLISHED_SCHEMA}."{model}" as select * from "{schema}"."{model}"')


@dataclass
class PublishOutcome:
    schema_name: str
    previous_schema_name: str | None
    row_counts: dict[str, int]


def publish_candidate(con: duckdb.DuckDBPyConnection, run_id: str, models: list[str]) -> PublishOutcome:
    """Re-point `marts` at this run's candidate schema in one transaction, after checking that it is complete and
    that no gate check of the run failed. Raises PublishRefused (and records it) otherwise."""
    ensure_audit(con)
    schema = candidate_schema(run_id)
    previous = served_schema(con)
    now = datetime.now(UTC)
    problems: list[str] = []
    missing = sorted(set(models) - _existing_tables(con, schema))
    if missing:
        problems.append(f"candidate schema {schema} lacks {', '.join(missing)}")
    for gate, check, dataset, message in failed_gate_checks(con, run_id):
        problems.append(f"{gate} check '{check}' failed on {dataset}: {message}")
    if problems:
        message = "; ".join(problems)
        con.execute(
            "insert into audit.publish_log values (?, ?, 'publish', ?, ?, ?, null, 'refused', ?, ?)",
            [f"{run_id}:publish", run_id, previous, previous, json.dumps(models), message, now],
        )
        raise PublishRefused(
            description=f"Nothing was published; `marts` still serves {previous or 'nothing'}. {message}"
        )
    row_counts = {m: con.execute(f'select count(*) from "{schema}"."{m}"').fetchone()[0] for m in models}
    con.execute("begin transaction")
    try:
        _point_views(con, schema, models)
        appended = _append_ledgers(con, schema)
        row_counts.update({f"appended:{ledger}": rows for ledger, rows in appended.items()})
        con.execute(
            "insert into audit.publish_log values (?, ?, 'publish', ?, ?, ?, ?, 'published', ?, ?)",
            [
                f"{run_id}:publish",
                run_id,
                schema,
                previous,
                json.dumps(models),
                json.dumps(row_counts),
                f"published {len(models)} marts from {schema}",
                now,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return PublishOutcome(schema, previous, row_counts)


def drop_stale_candidates(con: duckdb.DuckDBPyConnection, keep: int = KEEP_VERSIONS) -> list[str]:
    """Drop candidate schemas that are neither served nor among the last `keep` published versions."""
    ensure_audit(con)
    kept = {
        r[0]
        for r in con.execute(
            "select schema_name from audit.publish_log where outcome in ('published', 'restored') "
            "group by schema_name order by max(published_at) desc limit ?",
            [keep + 1],
        ).fetchall()
    }
    served = served_schema(con)
    if served:
        kept.add(served)
    schemas = [
        r[0]
        for r in con.execute(
            "select schema_name from information_schema.schemata where schema_name like ?",
            [CANDIDATE_PREFIX + "%"],
        ).fetchall()
    ]
    dropped = [s for s in schemas if s not in kept]
    for schema in dropped:
        con.execute(f'drop schema "{schema}" cascade')
    return dropped


def restore_previous(con: duckdb.DuckDBPyConnection, to_schema: str | None = None) -> str:
    """Serve the previously published version again (or `to_schema`), atomically; returns the schema served."""
    ensure_audit(con)
    current = served_schema(con)
    history = [
        r[0]
        for r in con.execute(
            "select schema_name from audit.publish_log where outcome = 'published' "
            "group by schema_name order by max(published_at) desc"
        ).fetchall()
    ]
    if to_schema is None:
        earlier = [s for s in history if s != current]
        if not earlier:
            raise ValueError("There is no earlier published version to restore.")
        to_schema = earlier[0]
    present = _existing_tables(con, to_schema)
    # Serve exactly the marts that version published (its schema also holds e.g. the proposed ledger rows).
    recorded = con.execute(
        "select models from audit.publish_log where schema_name = ? and outcome = 'published' and models is not null "
        "order by published_at desc limit 1",
        [to_schema],
    ).fetchone()
    models = sorted(m for m in json.loads(recorded[0]) if m in present) if recorded else sorted(present)
    if not models:
        raise ValueError(f"Version {to_schema} no longer exists in the warehouse; it cannot be restored.")
    row_counts = {m: con.execute(f'select count(*) from "{to_schema}"."{m}"').fetchone()[0] for m in models}
    con.execute("begin transaction")
    try:
        for (view,) in con.execute(
            "select view_name from duckdb_views() where schema_name = ? and not internal", [PUBLISHED_SCHEMA]
        ).fetchall():
            if view not in models:  # a mart the restored version did not have
                con.execute(f'drop view {PUBLISHED_SCHEMA}."{view}"')
        _point_views(con, to_schema, models)
        con.execute(
            "insert into audit.publish_log values (?, null, 'restore', ?, ?, ?, ?, 'restored', ?, ?)",
            [
                f"restore:{datetime.now(UTC).isoformat()}",
                to_schema,
                current,
                json.dumps(models),
                json.dumps(row_counts),
                f"restored {to_schema} (was {current})",
                datetime.now(UTC),
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return to_schema


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["published", "marts"]),
        group_name="publish",
        deps=mart_keys,
        kinds={"duckdb"},
        description=(
            "Publishes this run's candidate marts into the `marts` schema in one transaction (write-audit-publish), "
            "only when every gate check of the run passed; otherwise `marts` stays exactly as it was."
        ),
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_lock: RunLockResource):
        models = published_model_names()
        with warehouse.connect() as con:
            outcome = publish_candidate(con, context.run.run_id, models)
            dropped = drop_stale_candidates(con)
        context.log.info(f"`marts` now serves {outcome.schema_name} (was {outcome.previous_schema_name})")
        if dropped:
            context.log.info(f"dropped old candidate schemas: {', '.join(dropped)}")
        return dg.MaterializeResult(
            metadata={
                "schema": outcome.schema_name,
                "previous_schema": outcome.previous_schema_name or "",
                "row_counts": outcome.row_counts,
            }
        )

    return published_marts

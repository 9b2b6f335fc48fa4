"""Batches: the small pandas frames GX validates, built by SQL in the warehouse.

A 10M-row table is never pulled into pandas. Row-level rules look at this run's newly loaded rows only (a
Bernoulli sample of about ``max_rows`` of them when a run loads more, e.g. the first full load; the loader has
already checked every row against its contract); everything that needs the whole table (keys, volume, freshness,
PII, reconciliation, conservation) is aggregated or filtered in SQL first, and GX validates the result:

``new_rows``        this run's new rows of ``raw.<feed>`` (columns the expectations name, plus ``derived_columns``);
                    a file held in quarantine counts as this run's until it is released or dropped.
``duplicate_keys``  the rows that share a key with another row or lack one: for append feeds across the whole raw
                    table (keys touched by this run), for snapshot feeds within one file, for marts across the whole
                    candidate table. Empty when all is well; the expectations (unique, not null) flag every row.
``delivery``        one row: when a file of the feed was last loaded (by any run) and how many hours ago, with this
                    run's loaded and rejected files (the check a feed contract's ``delivery`` adds).
``volume``          per source (partner): rows delivered in this run, the median of its last ``history_runs``
                    deliveries and their ratio (null when there is too little history to judge).
``freshness``       per source: newest event time, how far it lags the feed's newest event, the longest gap between its
                    events over the recent past (its cadence) and the lag that allows, hours since its last load.
``pii_columns``     the relation's column names and types.
``pii_values``      per varchar column: how many values look like an email address, with a masked example.
``personal_values`` per identifier or UTM column (``columns``, a regular expression on the name) and per shape
                    (``looks_like``: phone, person_name, email): how many values look like personal data, with a
                    masked example and the row it is in (see :mod:`orchestration.personal_data`).
``query``           any SQL from the suite (``{relation}``, ``{schema}``, ``{table}``, ``{run_id}`` are filled in);
                    ``requires`` lists relations that must exist (else the check passes with a note), ``sample_sql``
                    returns offending rows for the failure message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.personal_data import EMAIL_PATTERN, SHAPE_SQL, SHAPES, masked_sql
from orchestration.quality.suites import CheckDef
from orchestration.warehouse.quarantine import QUARANTINE_DDL, held_loads_sql
from orchestration.warehouse.sql import ident, lit, scalar

#: Offending rows fetched into a batch of offending rows (the exact count is computed in SQL).
MAX_OFFENDING_ROWS = 1000
#: Default cap on this run's new rows that GX sees per feed; above it a reproducible reservoir sample is taken.
DEFAULT_MAX_ROWS = 100_000
SAMPLE_SEED = 7
#: Columns that name an identifier or a UTM parameter: codes, never a person (``personal_values``).
IDENTIFIER_COLUMNS = r"^(anonymous_id|customer_id|customer_key|referral_code|utm_[a-z0-9_]+)$"
#: The identifier type a key may start with (``customer_key`` is ``anonymous_id:<value>`` when unresolved).
IDENTIFIER_PREFIX = r"^(anonymous_id|customer_id|email_sha256):"
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


@dataclass
class Scope:
    """What a check looks at in this run."""

    run_id: str
    gate: str
    dataset: str  # as reported: raw.<feed> or marts.<model>
    schema: str  # where the relation is: raw, or the run's candidate schema
    table: str
    key: tuple[str, ...] = ()
    load_mode: str | None = None  # raw feeds: append | snapshot

    @property
    def relation(self) -> str:
        return f'"{self.schema}"."{self.table}"'


@dataclass
class Batch:
    """A frame for GX plus what the gate needs to report about it."""

    frame: pd.DataFrame | None
    rows_in_scope: int = 0
    note: str = ""
    skip: str | None = None  # the check does not apply this run: it passes with this note
    offending_rows: int | None = None  # exact count, for batches that hold offending rows only
    sample_sql: str | None = None  # SQL returning offending rows, run only when the check fails


def build_batch(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    """Build the batch a check names."""
    builder: Callable[[duckdb.DuckDBPyConnection, CheckDef, Scope], Batch] = BUILDERS[check.batch_kind]
    if scope.gate == "gate_1":
        con.execute(QUARANTINE_DDL)  # gate 1 judges the files held there too
    return builder(con, check, scope)


# ---------------------------------------------------------------------------------------------------------------------
# Gate 1: raw feeds
# ---------------------------------------------------------------------------------------------------------------------


def this_run_loads_sql(scope: Scope) -> str:
    """The load ids of this run's loaded files of the scope's feed, and of the feed's files held in quarantine (a
    refused delivery is judged again by every run until a person releases or drops it)."""
    return (
        "select load_id from audit.load_log where run_id = "
        + lit(scope.run_id)
        + " and feed = "
        + lit(scope.table)
        + " and status = 'loaded' union "
        + held_loads_sql(scope.table)
    )


def new_rows(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    derived: dict[str, str] = dict(check.batch.get("derived_columns") or {})
    max_rows = int(check.batch.get("max_rows", DEFAULT_MAX_ROWS))
    wanted = [c for c in _referenced_columns(check) if c not in derived]
    columns = list(dict.fromkeys([*wanted, *(c for c in check.sample_columns if c not in derived)]))
    where = f"_load_id in ({this_run_loads_sql(scope)})"
    total = scalar(con, f"select count(*) from {scope.relation} where {where}")
    if total == 0:
        return Batch(None, skip=f"no rows were loaded into {scope.dataset} by this run")
    select = ", ".join([*(ident(c) for c in columns), *(f"{expr} as {ident(name)}" for name, expr in derived.items())])
    source = scope.relation
    note = f"{total:,} new rows"
    if total > max_rows:
        # A Bernoulli sample of the table, then this run's rows of it: about max_rows of them. Sampling the scan
        # itself keeps it streaming and parallel (sampling the filtered, projected rows is ten times slower).
        percent = min(100.0, 100.0 * max_rows / total)
        source = f"(select * from {scope.relation} using sample {percent:.6f} percent (bernoulli, {SAMPLE_SEED}))"
        note = f"a sample of about {max_rows:,} of {total:,} new rows"
    frame = con.execute(f"select {select} from {source} as new_rows where {where}").to_arrow_table().to_pandas()
    return Batch(frame, rows_in_scope=total, note=note)


def delivery(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    """One row: when a file of the feed was last loaded (by any run), how many hours ago, and this run's files."""
    run, feed = lit(scope.run_id), lit(scope.table)
    frame = con.execute(
        f"""select
                {feed} as feed,
                max(finished_at) filter (where status = 'loaded') as last_delivery_at,
                date_diff('second', max(finished_at) filter (where status = 'loaded'), now()) / 3600.0
                    as hours_since_last_delivery,
                count(*) filter (where status = 'loaded' and run_id = {run}) as files_loaded_this_run,
                count(*) filter (where status = 'rejected_file' and run_id = {run}) as files_rejected_this_run
            from audit.load_log
            where feed = {feed}"""
    ).df()
    loaded, rejected = int(frame["files_loaded_this_run"][0]), int(frame["files_rejected_this_run"][0])
    note = f"{loaded} file(s) loaded and {rejected} rejected by this run"
    return Batch(frame, rows_in_scope=1, note=note)


def duplicate_keys(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    """Rows sharing a key (or lacking one). One pass groups a 64-bit hash of the key, which is much cheaper than
    grouping the key's strings; only rows whose hash repeats are then compared on the key itself (exact)."""
    key = list(check.batch.get("key") or scope.key)
    if not key:
        return Batch(None, skip=f"{scope.dataset} declares no key")
    show = list(dict.fromkeys([*key, *check.sample_columns]))
    keys = ", ".join(ident(k) for k in key)
    t_keys = ", ".join(f"t.{ident(k)}" for k in key)
    any_null = " or ".join(f"t.{ident(k)} is null" for k in key)
    group = list(key)
    if scope.gate == "gate_1":
        show = list(dict.fromkeys([*show, "_source_file", "_row_number"]))
        mine = f"t._load_id in ({this_run_loads_sql(scope)})"
        rows_in_scope = scalar(con, f"select count(*) from {scope.relation} as t where {mine}")
        if rows_in_scope == 0:
            return Batch(None, skip=f"no rows were loaded into {scope.dataset} by this run")
        if scope.load_mode == "snapshot":
            # A snapshot feed may deliver a key again in a later file (a new version): unique within one file.
            group = ["_load_id", *key]
            scope_filter = mine
            hashes = f"""select hash(t._load_id, {t_keys}) as h from {scope.relation} as t where {mine}
                         group by h having count(*) > 1"""
        else:
            # Append feeds: a key may be loaded once, ever; only keys this run touched can have become duplicates.
            scope_filter = "true"
            hashes = f"""select hash({t_keys}) as h from {scope.relation} as t
                         group by h having count(*) > 1 and bool_or({mine})"""
        note = f"keys of {rows_in_scope:,} new rows"
        null_filter = f"{mine} and ({any_null})"
    else:
        rows_in_scope = scalar(con, f"select count(*) from {scope.relation}")
        scope_filter = "true"
        hashes = f"select hash({t_keys}) as h from {scope.relation} as t group by h having count(*) > 1"
        note = f"keys of {rows_in_scope:,} rows"
        null_filter = any_null
    hashed_key = f"hash({', '.join(f't.{ident(k)}' for k in group)})"
    con.execute(f"create or replace temp table _gate_repeated_hashes as {hashes}")
    parts = [f"select t.* from {scope.relation} as t where {null_filter}"]
    if scalar(con, "select count(*) from _gate_repeated_hashes"):
        candidates = f"""select t.* from {scope.relation} as t
                         where {scope_filter} and {hashed_key} in (select h from _gate_repeated_hashes)"""
        parts.append(
            f"""select c.* exclude (_n) from (
                    select t.*, count(*) over (partition by {", ".join(f"t.{ident(k)}" for k in group)}) as _n
                    from ({candidates}) as t
                ) as c where c._n > 1"""
        )
    offending = " union all ".join(parts)
    con.execute(f"create or replace temp table _gate_offending as {offending}")
    count = scalar(con, "select count(*) from _gate_offending")
    cols = ", ".join(ident(c) for c in show)
    frame = con.execute(
        f"select {cols} from _gate_offending order by {keys} nulls first limit {MAX_OFFENDING_ROWS}"
    ).df()
    con.execute("drop table if exists _gate_offending")
    con.execute("drop table if exists _gate_repeated_hashes")
    return Batch(frame, rows_in_scope=rows_in_scope, note=note, offending_rows=count)


def volume(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    history_runs = int(check.batch.get("history_runs", 7))
    min_history = int(check.batch.get("min_history_runs", 3))
    min_median = float(check.batch.get("min_median_rows", 0))
    run, feed = lit(scope.run_id), lit(scope.table)
    sql = f"""
        with deliveries as (
            -- a file held in quarantine counts as delivered by this run, until it is released or dropped
            select
                case when load_id in ({held_loads_sql(scope.table)}) then {run} else run_id end as run_id,
                source,
                sum(rows_loaded) as rows_loaded,
                min(started_at) as delivered_at
            from audit.load_log
            where feed = {feed} and status = 'loaded' and run_id is not null
            group by all
        ),
        this_run as (
            select source, rows_loaded from deliveries where run_id = {run}
        ),
        history as (
            select
                source,
                rows_loaded,
                row_number() over (partition by source order by delivered_at desc) as recency
            from deliveries
            where run_id <> {run} and rows_loaded > 0
        ),
        trailing_deliveries as (
            select source, count(*) as history_runs, median(rows_loaded) as trailing_median
            from history
            where recency <= {history_runs}
            group by source
        ),
        sources as (
            select source from trailing_deliveries union select source from this_run
        )
        select
            sources.source,
            cast(coalesce(this_run.rows_loaded, 0) as bigint) as rows_this_run,
            cast(coalesce(trailing_deliveries.history_runs, 0) as bigint) as history_runs,
            cast(trailing_deliveries.trailing_median as double) as trailing_median,
            case
                when coalesce(trailing_deliveries.history_runs, 0) < {min_history} then null
                when trailing_deliveries.trailing_median < {min_median} then null
                else coalesce(this_run.rows_loaded, 0) / trailing_deliveries.trailing_median
            end as volume_ratio
        from sources
        left join this_run on sources.source = this_run.source
        left join trailing_deliveries on sources.source = trailing_deliveries.source
        order by sources.source"""
    frame = con.execute(sql).df()
    delivered = int(frame["rows_this_run"].sum()) if len(frame) else 0
    if delivered == 0:
        return Batch(
            None, skip=f"nothing new was delivered for {scope.table} in this run (a re-run): no volume to judge"
        )
    judged = int(frame["volume_ratio"].notna().sum())
    note = (
        f"{delivered:,} rows from {int((frame['rows_this_run'] > 0).sum())} source(s) this run; "
        f"{judged} source(s) with at least {min_history} earlier deliveries judged against the median of their last "
        f"{history_runs}"
    )
    return Batch(frame, rows_in_scope=len(frame), note=note)


def freshness(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    """Per source: how far its newest event lags the feed's newest, against the quiet spells of its own history.

    A source's cadence is the longest gap between two of its events in the ``cadence_window_days`` before the
    feed's newest event, measured between the UTC days it has events on (the last event of one day to the first of
    the next active day; gaps within a day are never longer than one, and ``min_lag_hours`` is above that). It may
    lag ``gap_factor`` times that gap, and always ``min_lag_hours``: a partner that goes quiet for a week now and then
    is judged against its weeks, one that sends a touch an hour against its hours. A source with a single active day
    has no gap yet and is judged against ``min_lag_hours``.
    """
    event = f"cast({ident(str(check.batch['event_time_column']))} as timestamptz)"
    min_lag = float(check.batch.get("min_lag_hours", 72))
    gap_factor = float(check.batch.get("gap_factor", 2))
    window = int(check.batch.get("cadence_window_days", 90))
    sql = f"""
        with daily as (
            select
                _source as source,
                cast({event} as date) as event_day,
                min({event}) as first_event_at,
                max({event}) as newest_event_at,
                max(_loaded_at) as last_loaded_at
            from {scope.relation}
            group by all
        ),
        per_source as (
            select source, max(newest_event_at) as newest_event_at, max(last_loaded_at) as last_loaded_at
            from daily
            group by source
        ),
        feed as (
            select max(newest_event_at) as feed_newest_event_at from per_source
        ),
        gaps as (
            select
                source,
                event_day,
                date_diff(
                    'second', lag(newest_event_at) over (partition by source order by event_day), first_event_at
                ) / 3600.0 as gap_hours
            from daily
        ),
        cadence as (
            select gaps.source, max(gaps.gap_hours) as longest_gap_hours
            from gaps
            cross join feed
            where gaps.event_day > cast(feed.feed_newest_event_at as date) - {window}
            group by gaps.source
        )
        select
            per_source.source,
            per_source.newest_event_at,
            feed.feed_newest_event_at,
            date_diff('second', per_source.newest_event_at, feed.feed_newest_event_at) / 3600.0 as hours_behind_feed,
            cast(cadence.longest_gap_hours as double) as longest_gap_hours_last_{window}_days,
            greatest({min_lag}, coalesce({gap_factor} * cadence.longest_gap_hours, 0)) as allowed_lag_hours,
            per_source.last_loaded_at,
            date_diff('second', per_source.last_loaded_at, now()) / 3600.0 as hours_since_last_load
        from per_source
        cross join feed
        left join cadence on per_source.source = cadence.source
        order by per_source.source"""
    frame = con.execute(sql).df()
    if frame.empty:
        return Batch(None, skip=f"{scope.dataset} is empty")
    return Batch(frame, rows_in_scope=len(frame), note=f"{len(frame)} source(s)")


# ---------------------------------------------------------------------------------------------------------------------
# Gate 2: candidate marts
# ---------------------------------------------------------------------------------------------------------------------


def pii_columns(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    frame = con.execute(
        """select column_name, data_type from information_schema.columns
           where table_schema = ? and table_name = ? order by ordinal_position""",
        [scope.schema, scope.table],
    ).df()
    return Batch(frame, rows_in_scope=len(frame), note=f"{len(frame)} columns")


def pii_values(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    """Per varchar column: values that look like an email address, with a masked example and the row it is in."""
    pattern = lit(str(check.batch.get("pattern", EMAIL_PATTERN)))
    columns = [
        r[0]
        for r in con.execute(
            """select column_name from information_schema.columns
               where table_schema = ? and table_name = ? and data_type = 'VARCHAR' order by ordinal_position""",
            [scope.schema, scope.table],
        ).fetchall()
    ]
    rows_in_scope = scalar(con, f"select count(*) from {scope.relation}")
    frame = pd.DataFrame(
        {"column_name": pd.Series([], dtype=object), "email_like_values": pd.Series([], dtype="int64")}
    )
    if not columns:
        return Batch(frame, rows_in_scope=rows_in_scope, note="no varchar columns", offending_rows=0)
    key_expr = _key_text(scope.key) if scope.key else "null::varchar"
    # Pass 1 (one scan, cheap): which columns hold an '@' at all. Pass 2 only for those: the email pattern, a
    # masked example and the row it is in.
    at_signs = (
        con.execute(
            "select "
            + ", ".join(f"count(*) filter (where contains({ident(c)}, '@'))" for c in columns)
            + f" from {scope.relation}"
        ).fetchone()
        or ()
    )
    records = []
    for column, with_at in zip(columns, at_signs, strict=True):
        record = {"column_name": column, "email_like_values": 0, "example": None, "example_row": None}
        if with_at:
            c = ident(column)
            count, example, key = con.execute(
                f"""select count(*), min({c}), arg_min({key_expr}, {c})
                    from {scope.relation} where contains({c}, '@') and regexp_matches({c}, {pattern})"""
            ).fetchone()
            record.update(
                email_like_values=int(count or 0),
                example=mask_email(example) if example else None,
                example_row=key,
            )
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    offending = int(frame["email_like_values"].sum())
    return Batch(
        frame,
        rows_in_scope=rows_in_scope,
        note=f"{len(columns)} varchar columns of {rows_in_scope:,} rows",
        offending_rows=offending,
    )


def personal_values(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    """Per identifier or UTM column and per shape: values that look like personal data (a phone number, a person's
    name), with a masked example and the row it is in. A key's identifier type (``anonymous_id:``) is not judged."""
    pattern = re.compile(str(check.batch.get("columns", IDENTIFIER_COLUMNS)))
    shapes = [str(s) for s in check.batch.get("looks_like") or ["phone", "person_name"]]
    unknown = sorted(set(shapes) - set(SHAPE_SQL))
    if unknown:
        raise ValueError(f"{check.name}: looks_like names unknown shape(s) {', '.join(unknown)}")
    columns = [
        r[0]
        for r in con.execute(
            """select column_name from information_schema.columns
               where table_schema = ? and table_name = ? and data_type = 'VARCHAR' order by ordinal_position""",
            [scope.schema, scope.table],
        ).fetchall()
        if pattern.search(r[0])
    ]
    if not columns:
        return Batch(None, skip=f"{scope.dataset} has no identifier or UTM column")
    rows_in_scope = scalar(con, f"select count(*) from {scope.relation}")
    key_expr = _key_text(scope.key) if scope.key else "null::varchar"
    records = []
    for column in columns:
        value = f"regexp_replace({ident(column)}, {lit(IDENTIFIER_PREFIX)}, '')"
        aggregates = []
        for shape in shapes:
            found = SHAPE_SQL[shape](value)
            aggregates += [
                f"count(*) filter (where {found})",
                f"min({masked_sql(ident(column))}) filter (where {found})",
                f"arg_min({key_expr}, {ident(column)}) filter (where {found})",
            ]
        row = con.execute(
            f"select {', '.join(aggregates)} from {scope.relation} where {ident(column)} is not null"
        ).fetchone()
        for i, shape in enumerate(shapes):
            count, example, key = row[3 * i : 3 * i + 3]
            records.append(
                {
                    "column_name": column,
                    "looks_like": SHAPES[shape],
                    "offending_values": int(count or 0),
                    "example": example,
                    "example_row": key,
                }
            )
    frame = pd.DataFrame.from_records(records)
    return Batch(
        frame,
        rows_in_scope=rows_in_scope,
        note=f"{len(columns)} identifier or UTM column(s) of {rows_in_scope:,} rows: {', '.join(columns)}",
        offending_rows=int(frame["offending_values"].sum()),
    )


def query(con: duckdb.DuckDBPyConnection, check: CheckDef, scope: Scope) -> Batch:
    for required in check.batch.get("requires") or []:
        schema, table = _fill(str(required), scope).replace('"', "").split(".", 1)
        if not _relation_exists(con, schema, table):
            return Batch(None, skip=f"{schema}.{table} is not built in this run, nothing to check yet")
    frame = con.execute(_fill(str(check.batch["sql"]), scope)).df()
    sample_sql = _fill(str(check.batch["sample_sql"]), scope) if check.batch.get("sample_sql") else None
    return Batch(frame, rows_in_scope=len(frame), note=str(check.batch.get("note", "")), sample_sql=sample_sql)


BUILDERS: dict[str, Callable[[duckdb.DuckDBPyConnection, CheckDef, Scope], Batch]] = {
    "new_rows": new_rows,
    "delivery": delivery,
    "duplicate_keys": duplicate_keys,
    "volume": volume,
    "freshness": freshness,
    "pii_columns": pii_columns,
    "pii_values": pii_values,
    "personal_values": personal_values,
    "query": query,
}


# ---------------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------------


def mask_email(value: str) -> str:
    """Mask the local part of every email-like token (``jane.doe@example.com`` -> ``j***@example.com``)."""
    return re.sub(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@", r"\1***@", value)


def _referenced_columns(check: CheckDef) -> list[str]:
    columns: list[str] = []
    for expectation in check.expectations:
        kwargs = expectation.get("kwargs") or {}
        columns.extend(str(kwargs[k]) for k in _COLUMN_KWARGS if k in kwargs)
        for k in _COLUMN_LIST_KWARGS:
            columns.extend(str(c) for c in kwargs.get(k) or [])
    columns.extend(str(c) for c in check.batch.get("columns") or [])
    return list(dict.fromkeys(columns))


def _key_text(key: tuple[str, ...]) -> str:
    """A readable key value: ``touchpoint_id=P001:E1`` (or several ``col=value`` joined with ``, ``)."""
    return " || ', ' || ".join(f"'{k}=' || coalesce(cast({ident(k)} as varchar), 'null')" for k in key)


def _relation_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables where table_schema = "
            + lit(schema)
            + " and table_name = "
            + lit(table),
        )
    )


def _fill(sql: str, scope: Scope) -> str:
    for token, value in (
        ("{relation}", scope.relation),
        ("{schema}", f'"{scope.schema}"'),
        ("{table}", scope.table),
        ("{run_id}", scope.run_id.replace("'", "")),
    ):
        sql = sql.replace(token, value)
    return sql

"""Erasure of one customer (``partnerlens erase``): from raw, every model, the served file and the shared files.

:func:`erase` runs on the warehouse under the run lock (the caller takes it), in one transaction:

1. **Who.** The customer ids named (``--customer-id``, or every customer whose email in the customer master or a
   conversion hashes to ``--email``'s), and every identifier of theirs in raw: email hashes and anonymous ids from the
   customer master and conversions, and the partner touches carrying any of them or the customer id. Touches that
   resolved to the customer in any incremental state (``int_touchpoints_resolved``) are added, and the customer's
   conversions.
2. **Raw.** Their rows are deleted from ``raw.customers``, ``raw.conversions`` and ``raw.touchpoints``.
3. **Every other table** of the warehouse (incremental state of every generation, every kept candidate schema, the
   audit tables) is scrubbed: a row of a model table that names one of the identifiers (a customer id, email hash,
   anonymous id, customer key, touch id or link owner) is deleted; text in an audit table (rejected rows, gate
   samples) has the identifiers and the raw emails replaced by ``[erased]``, and a rejected row's record is
   dropped.
4. **Money stays.** The customer's conversion ids are replaced, in the payout ledger and wherever else they remain
   (payout lines of kept versions), by ``erased-<keyed hash>``: the booked amounts stay, their link to the person
   goes, and the payout build never reverses an erased basis (fct_payout_lines_proposed leaves them alone).
5. **Records.** ``audit.erasures`` gets one row (the customer's keyed hash, counts of what was removed) and
   ``audit.erasure_tombstones`` the keyed hashes of every identifier: the loader drops later deliveries carrying one
   (rule ``erased_subject``). The next build is a full one (:mod:`orchestration.warehouse.state`), so that aggregates
   are computed without the customer.

After the commit the warehouse is checkpointed, the served file is written anew from the scrubbed `marts`, and the
shared files (:func:`scrub_files`) are rewritten without the customer.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration import privacy
from orchestration.warehouse.audit import ensure_audit
from orchestration.warehouse.sql import ident, in_list, lit

#: Schemas erasure treats by rule rather than by scrubbing.
RAW_SCHEMA, LEDGER_SCHEMA, AUDIT_SCHEMA = "raw", "ledger", "audit"
#: The erasure's own records: keyed hashes only, never scrubbed.
OWN_TABLES = {("audit", "erasures"), ("audit", "erasure_tombstones")}
REDACTED = "[erased]"


class ErasureError(RuntimeError):
    """The request names nobody, or the warehouse has nothing to erase from."""


@dataclass
class Subject:
    """Everything that identifies the customer being erased."""

    customer_ids: set[str] = field(default_factory=set)
    email_hashes: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    anonymous_ids: set[str] = field(default_factory=set)
    conversion_ids: set[str] = field(default_factory=set)
    touchpoint_ids: set[str] = field(default_factory=set)

    def identifiers(self) -> set[str]:
        """The values a row of a model may carry (ids, hashes, customer keys, link owners); not conversion ids."""
        keys = (
            {f"customer_id:{c}" for c in self.customer_ids}
            | {f"customer:{c}" for c in self.customer_ids}
            | {f"email_sha256:{h}" for h in self.email_hashes}
            | {f"anonymous_id:{a}" for a in self.anonymous_ids}
            | {f"conversion:{v}" for v in self.conversion_ids}
        )
        return self.customer_ids | self.email_hashes | self.anonymous_ids | self.touchpoint_ids | keys

    def count(self) -> int:
        return len(self.customer_ids) + len(self.email_hashes) + len(self.anonymous_ids)


@dataclass
class ErasureResult:
    erasure_id: str
    subject_hash: str
    identifiers: int
    rows: dict[str, int]
    files_rewritten: int = 0
    subject: Subject | None = None


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, list[str]]]:
    """(schema, table, varchar columns) of every base table of the warehouse's own catalog."""
    rows = con.execute(
        """
        select c.schema_name, c.table_name, list(c.column_name order by c.column_index)
        from duckdb_columns() as c
        join duckdb_tables() as t
          on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
        where c.database_name = current_database() and c.data_type = 'VARCHAR'
        group by 1, 2
        order by 1, 2
        """
    ).fetchall()
    return [(s, t, cols) for s, t, cols in rows]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _values(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> set[str]:
    return {r[0] for r in con.execute(sql, params or []).fetchall() if r[0] is not None}


def find_subject(con: duckdb.DuckDBPyConnection, customer_id: str | None, email: str | None) -> Subject:
    """Every identifier of the customer named by ``customer_id`` or ``email`` that the warehouse holds."""
    subject = Subject()
    if customer_id:
        subject.customer_ids.add(customer_id.strip())
    if email:
        subject.emails.add(email.strip())
        subject.email_hashes.add(privacy.email_sha256(email))
    has = {t: _has_table(con, RAW_SCHEMA, t) for t in ("customers", "conversions", "touchpoints")}
    for table in ("customers", "conversions"):
        if not has[table]:
            continue
        if subject.email_hashes:
            subject.customer_ids |= _values(
                con,
                f"select customer_id from raw.{table} where email is not null "
                f"and sha256(lower(trim(email))) in {in_list(sorted(subject.email_hashes))}",
            )
    if not subject.customer_ids and not subject.email_hashes:
        return subject
    ids = in_list(sorted(subject.customer_ids)) if subject.customer_ids else "(NULL)"
    for table in ("customers", "conversions"):
        if not has[table]:
            continue
        subject.emails |= _values(con, f"select email from raw.{table} where customer_id in {ids}")
        subject.email_hashes |= _values(
            con, f"select sha256(lower(trim(email))) from raw.{table} where customer_id in {ids} and email is not null"
        )
        subject.anonymous_ids |= _values(con, f"select anonymous_id from raw.{table} where customer_id in {ids}")
    if has["conversions"]:
        subject.conversion_ids |= _values(con, f"select conversion_id from raw.conversions where customer_id in {ids}")
    if has["touchpoints"]:
        hashes = in_list(sorted(subject.email_hashes)) if subject.email_hashes else "(NULL)"
        anons = in_list(sorted(subject.anonymous_ids)) if subject.anonymous_ids else "(NULL)"
        where = (
            f"customer_id in {ids} or anonymous_id in {anons} or lower(email_sha256) in {hashes} "
            f"or (email is not null and sha256(lower(trim(email))) in {hashes})"
        )
        subject.touchpoint_ids |= _values(
            con, f"select partner_id || ':' || event_id from raw.touchpoints where {where}"
        )
        subject.emails |= _values(con, f"select email from raw.touchpoints where ({where}) and email is not null")
    for schema, table, columns in _tables(con):
        if table.startswith("int_touchpoints_resolved") and "customer_id" in columns and "touchpoint_id" in columns:
            subject.touchpoint_ids |= _values(
                con, f"select touchpoint_id from {ident(schema)}.{ident(table)} where customer_id in {ids}"
            )
    return subject


def _pattern(values: set[str]) -> str:
    """A regular expression matching any of ``values`` as a whole token (not inside a longer id)."""
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return f"(^|[^A-Za-z0-9_])({alternatives})($|[^A-Za-z0-9_])"


def pseudonym(conversion_id: str) -> str:
    """What a conversion id becomes where money stays (the ledger): ``erased-<keyed hash, 16 hex>``."""
    return "erased-" + privacy.keyed_hash("customer_id", f"conversion:{conversion_id}")[:16]


def erase(con: duckdb.DuckDBPyConnection, customer_id: str | None = None, email: str | None = None) -> ErasureResult:
    """Erase one customer from the warehouse (see the module documentation); one transaction."""
    if not (customer_id or email):
        raise ErasureError("name the customer to erase: --customer-id ID or --email ADDRESS")
    ensure_audit(con)
    con.execute("BEGIN TRANSACTION")
    try:
        result = _erase(con, customer_id, email)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("CHECKPOINT")
    return result


def _erase(con: duckdb.DuckDBPyConnection, customer_id: str | None, email: str | None) -> ErasureResult:
    subject = find_subject(con, customer_id, email)
    rows: dict[str, int] = {}
    ids = in_list(sorted(subject.customer_ids)) if subject.customer_ids else "(NULL)"
    for table in ("customers", "conversions"):
        if _has_table(con, RAW_SCHEMA, table):
            rows[f"raw.{table}"] = _count(con, f"delete from raw.{table} where customer_id in {ids}")
    if _has_table(con, RAW_SCHEMA, "touchpoints") and subject.touchpoint_ids:
        touches = in_list(sorted(subject.touchpoint_ids))
        rows["raw.touchpoints"] = _count(
            con, f"delete from raw.touchpoints where partner_id || ':' || event_id in {touches}"
        )
    identifiers = subject.identifiers()
    renamed = {v: pseudonym(v) for v in subject.conversion_ids}
    redact = identifiers | subject.emails
    for schema, table, columns in _tables(con):
        if schema == RAW_SCHEMA or (schema, table) in OWN_TABLES:
            continue
        name = f"{ident(schema)}.{ident(table)}"
        if renamed:
            # money stays, the link goes: conversion ids become their pseudonym wherever they are left
            for column in columns:
                col = ident(column)
                expr = col
                for old, new in renamed.items():
                    expr = f"replace({expr}, {lit(old)}, {lit(new)})"
                pattern = lit(_pattern(set(renamed)))
                n = _count(con, f"update {name} set {col} = {expr} where regexp_matches({col}, {pattern})")
                if n:
                    rows[f"{schema}.{table}.{column} (conversion ids pseudonymised)"] = n
        if schema == LEDGER_SCHEMA or not identifiers:
            continue
        if schema == AUDIT_SCHEMA:
            pattern = lit("(?i)" + "|".join(re.escape(v) for v in sorted(redact, key=len, reverse=True)))
            for column in columns:
                col = ident(column)
                if (table, column) == ("rejected_rows", "raw_record"):
                    continue
                n = _count(
                    con,
                    f"update {name} set {col} = regexp_replace({col}, {pattern}, {lit(REDACTED)}, 'g')"
                    + (", raw_record = NULL" if table == "rejected_rows" else "")
                    + f" where regexp_matches({col}, {pattern})",
                )
                if n:
                    rows[f"{schema}.{table}"] = rows.get(f"{schema}.{table}", 0) + n
            if table == "rejected_rows":
                n = _count(con, f"update {name} set raw_record = NULL where regexp_matches(raw_record, {pattern})")
                if n:
                    rows[f"{schema}.{table}"] = rows.get(f"{schema}.{table}", 0) + n
            continue
        pattern = lit(_pattern(identifiers))
        where = " or ".join(f"regexp_matches({ident(c)}, {pattern})" for c in columns)
        n = _count(con, f"delete from {name} where {where}")
        if n:
            rows[f"{schema}.{table}"] = n
    erasure_id = str(uuid.uuid4())
    subject_key = min(subject.customer_ids) if subject.customer_ids else None
    subject_hash = (
        privacy.keyed_hash("customer_id", subject_key)
        if subject_key
        else privacy.keyed_hash("email_sha256", min(subject.email_hashes))
    )
    now = datetime.now(UTC)
    tombstones = (
        [("customer_id", v) for v in subject.customer_ids]
        + [("email_sha256", v) for v in subject.email_hashes]
        + [("anonymous_id", v) for v in subject.anonymous_ids]
    )
    known = _values(con, "select subject_hash from audit.erasure_tombstones")
    for kind, value in sorted(tombstones):
        digest = privacy.keyed_hash(kind, value)
        if digest not in known:
            con.execute("insert into audit.erasure_tombstones values (?, ?, ?, ?)", [digest, kind, erasure_id, now])
    last_build = (
        con.execute("select max(build_seq) from audit.builds").fetchone()[0]
        if _has_table(con, AUDIT_SCHEMA, "builds")
        else None
    )
    con.execute(
        "insert into audit.erasures values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            erasure_id,
            subject_hash,
            "customer_id" if customer_id else "email",
            subject.count(),
            json.dumps(rows, sort_keys=True),
            0,
            last_build,
            now,
        ],
    )
    return ErasureResult(erasure_id, subject_hash, subject.count(), rows, subject=subject)


def record_files(con: duckdb.DuckDBPyConnection, erasure_id: str, files: int) -> None:
    """Record how many shared files the erasure rewrote."""
    con.execute("update audit.erasures set files_rewritten = ? where erasure_id = ?", [files, erasure_id])


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def scrub_files(folders: list[Path], subject: Subject) -> list[Path]:
    """Rewrite every CSV file under ``folders`` that names the customer: rows naming one of its identifiers are
    dropped, its conversion ids pseudonymised (a statement keeps the money). Returns the files rewritten.

    HTML scorecards are not edited here: the caller writes them anew from the scrubbed served file.
    """
    identifiers = subject.identifiers() | subject.emails
    token = re.compile(_pattern(identifiers)) if identifiers else None
    renamed = {v: pseudonym(v) for v in subject.conversion_ids}
    conversions = re.compile(_pattern(set(renamed))) if renamed else None
    rewritten = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.csv")):
            text = path.read_text()
            if not ((token and token.search(text)) or (conversions and conversions.search(text))):
                continue
            out = io.StringIO()
            writer = csv.writer(out)
            for row in csv.reader(io.StringIO(text)):
                if token and any(token.search(cell) for cell in row):
                    continue
                for old, new in renamed.items():
                    row = [cell.replace(old, new) for cell in row]
                writer.writerow(row)
            path.write_text(out.getvalue())
            rewritten.append(path)
    return rewritten

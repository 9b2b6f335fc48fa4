"""Who may read what on PostgreSQL: a group role per partner that sees only its own rows, and a read-only BI role.

Run by write-audit-publish (:func:`orchestration.warehouse.postgres_publish.publish_candidate_postgres`) inside its
transaction, on the candidate schema it is about to serve:

* one NOLOGIN group role per partner of the candidate's ``dim_partners``, ``partner_<partner_id>`` (lower-cased, every
  character outside ``a-z0-9_`` replaced by ``_``), created when missing; ``access.partner_roles`` maps each role to its
  partner id. A person or a program gets a login role that is a member of it (``create role acme_reader login password
  '...' in role partner_p001``).
* the NOLOGIN role ``partnerlens_bi``: SELECT on every served mart (``marts`` and the served candidate schema), no
  other privilege, so INSERT, UPDATE, DELETE and CREATE fail. BI tools log in as a member of it.
* on every relation listed in ``governance/shared_outputs.yml`` (``relations:``): row-level security enabled and
  forced, a policy that lets a partner role read the rows whose ``partner_column`` is its partner (and, for an entry
  with a ``customer_column``, no row of a customer who opted out, as the customer master's
  ``stg_internal__customers`` or ``fct_conversions`` says; each publish copies their ids into
  ``access.opted_out_customers``), and a policy that lets the warehouse's own role and ``partnerlens_bi`` read every
  row. Partner roles get SELECT on these relations and on their served views only; the served views are
  ``security_invoker`` (created so by publish), so the policies of the table apply to whoever reads the view.

The checks the policies make run in two SECURITY DEFINER functions of schema ``access``, so a partner role reads
neither the role map nor the opted-out customers themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestration.warehouse.postgres import quote

SHARED_OUTPUTS = Path(__file__).resolve().parents[2] / "governance" / "shared_outputs.yml"
BI_ROLE = "partnerlens_bi"
ACCESS_SCHEMA = "access"
PARTNER_ROLE_PREFIX = "partner_"
#: Where the opted-out customers are read: the customer master's staging view (is_opted_out) and the mart that
#: carries the flag on conversions (is_customer_opted_out).
OPT_OUT_STAGING = "stg_internal__customers"
OPT_OUT_MART = "fct_conversions"


@dataclass(frozen=True)
class SharedRelation:
    name: str
    partner_column: str
    customer_column: str | None = None


def shared_relations(path: Path = SHARED_OUTPUTS) -> list[SharedRelation]:
    """The partner-facing relations, from governance/shared_outputs.yml."""
    entries = (yaml.safe_load(path.read_text()) or {}).get("relations") or []
    relations = []
    for entry in entries:
        if not entry.get("name") or not entry.get("partner_column"):
            raise ValueError(f"{path.name}: every entry of relations needs a name and a partner_column: {entry}")
        relations.append(SharedRelation(entry["name"], entry["partner_column"], entry.get("customer_column")))
    return relations


def partner_role(partner_id: str) -> str:
    """The group role of a partner: ``partner_`` and the id lower-cased, other characters than a-z0-9_ as ``_``."""
    return (PARTNER_ROLE_PREFIX + re.sub(r"[^a-z0-9_]", "_", partner_id.lower()))[:63]


def _ensure_role(cur, role: str) -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", [role])
    if cur.fetchone() is None:
        cur.execute(f"create role {quote(role)} nologin")


def apply_access(cur, schema: str, published_schema: str, models: list[str]) -> dict[str, str]:
    """Roles, grants and row-level security for the candidate ``schema`` about to be served through the views of
    ``published_schema`` (in the caller's transaction). Returns partner id -> role."""
    relations = [r for r in shared_relations() if r.name in models]
    cur.execute("select current_user")
    (owner,) = cur.fetchone()
    partners: dict[str, str] = {}
    if "dim_partners" in models:
        cur.execute(f"select distinct partner_id from {quote(schema)}.dim_partners order by 1")
        partners = {pid: partner_role(pid) for (pid,) in cur.fetchall()}
    for role in [BI_ROLE, *partners.values()]:
        _ensure_role(cur, role)

    access = quote(ACCESS_SCHEMA)
    cur.execute(f"create schema if not exists {access}")
    cur.execute(f"create table if not exists {access}.partner_roles (role_name text primary key, partner_id text)")
    cur.execute(f"delete from {access}.partner_roles")
    for pid, role in partners.items():
        cur.execute(f"insert into {access}.partner_roles values (%s, %s)", [role, pid])
    cur.execute(f"create table if not exists {access}.opted_out_customers (customer_id text primary key)")
    cur.execute(f"delete from {access}.opted_out_customers")
    sources = []
    cur.execute("select table_schema from information_schema.tables where table_name = %s limit 1", [OPT_OUT_STAGING])
    staging = cur.fetchone()
    if staging:
        sources.append(f"select customer_id from {quote(staging[0])}.{quote(OPT_OUT_STAGING)} where is_opted_out")
    if OPT_OUT_MART in models:
        sources.append(f"select customer_id from {quote(schema)}.{quote(OPT_OUT_MART)} where is_customer_opted_out")
    if sources:
        cur.execute(
            f"insert into {access}.opted_out_customers select distinct customer_id from ({' union '.join(sources)})"
            " as o where customer_id is not null"
        )
    cur.execute(
        f"create or replace function {access}.partner_may_read(row_partner text, reader name) returns boolean"
        " language sql stable security definer set search_path = pg_catalog as $$"
        f" select exists (select 1 from {access}.partner_roles as m where m.partner_id = row_partner"
        " and pg_has_role(reader, m.role_name, 'member')) $$"
    )
    cur.execute(
        f"create or replace function {access}.is_opted_out(customer text) returns boolean"
        " language sql stable security definer set search_path = pg_catalog as $$"
        f" select exists (select 1 from {access}.opted_out_customers as o where o.customer_id = customer) $$"
    )
    cur.execute(f"revoke all on all tables in schema {access} from public")
    cur.execute(f"revoke all on all functions in schema {access} from public")
    cur.execute(f"grant usage on schema {access} to {quote(BI_ROLE)}")

    readers = [quote(BI_ROLE), *(quote(r) for r in partners.values())]
    for target in (schema, published_schema):
        cur.execute(f"grant usage on schema {quote(target)} to {', '.join(readers)}")
        cur.execute(f"grant select on all tables in schema {quote(target)} to {quote(BI_ROLE)}")
    cur.execute(f"grant usage on schema {access} to {', '.join(readers)}")
    cur.execute(
        f"grant execute on function {access}.partner_may_read(text, name), {access}.is_opted_out(text)"
        f" to {', '.join(readers)}"
    )
    cur.execute("select table_name, table_type from information_schema.tables where table_schema = %s", [schema])
    kinds = dict(cur.fetchall())
    for relation in relations:
        table = f"{quote(schema)}.{quote(relation.name)}"
        if kinds.get(relation.name) != "BASE TABLE":
            raise ValueError(
                f"{relation.name} is listed in governance/shared_outputs.yml but is a {kinds.get(relation.name)} in "
                f"{schema}: row-level security needs a table (materialize it as a table on PostgreSQL)"
            )
        cur.execute(f"alter table {table} enable row level security")
        cur.execute(f"alter table {table} force row level security")
        condition = f"{access}.partner_may_read({quote(relation.partner_column)}::text, current_user)"
        if relation.customer_column:
            column = quote(relation.customer_column)
            condition += f" and ({column} is null or not {access}.is_opted_out({column}::text))"
        cur.execute(f"drop policy if exists partner_rows on {table}")
        cur.execute(f"drop policy if exists all_rows on {table}")
        cur.execute(f"create policy partner_rows on {table} for select using ({condition})")
        cur.execute(f"create policy all_rows on {table} to {quote(owner)}, {quote(BI_ROLE)} using (true)")
        if partners:
            roles = ", ".join(quote(r) for r in partners.values())
            cur.execute(f"grant select on {table} to {roles}")
            cur.execute(f"grant select on {quote(published_schema)}.{quote(relation.name)} to {roles}")
    return partners

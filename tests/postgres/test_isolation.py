"""Partner isolation on PostgreSQL: two real partner logins and a BI login read the night the session published.

Publishing (orchestration.warehouse.postgres_publish) created a group role per partner and `partnerlens_bi`, and put
row-level security on every relation of governance/shared_outputs.yml. The logins are made here, as members of those
roles. What a partner may see is computed independently: as the cluster's superuser (who bypasses row-level
security) with `where partner_id = X`, and the opted-out customers from the DuckDB night's customer master.
"""

from __future__ import annotations

import uuid

import duckdb
import psycopg2
import pytest

from orchestration.project import published_models
from orchestration.warehouse.postgres_roles import BI_ROLE, partner_role, shared_relations
from orchestration.warehouse.versions import candidate_schema
from tests.postgres.conftest import PostgresBuild
from tests.support.postgres import PostgresCluster


@pytest.fixture(scope="module")
def logins(postgres_night: PostgresBuild, postgres_cluster: PostgresCluster):
    """Two partners with touchpoints, a login in each one's role and a login in the BI role."""
    assert postgres_night.published is not None, postgres_night.completed.stdout[-4000:]
    database = postgres_night.env["PARTNERLENS_PG_DATABASE"]
    admin = postgres_cluster.connect(database, user="postgres")
    admin.autocommit = True
    suffix = uuid.uuid4().hex[:8]
    with admin.cursor() as cur:
        cur.execute(
            "select partner_id from marts.fct_touchpoints group by 1 having count(*) > 0 order by count(*) desc limit 2"
        )
        partners = [r[0] for r in cur.fetchall()]
        names = {}
        for pid in partners:
            names[pid] = f"login_{pid.lower()}_{suffix}"
            cur.execute(f'create role "{names[pid]}" login in role "{partner_role(pid)}"')
        names["bi"] = f"login_bi_{suffix}"
        cur.execute(f'create role "{names["bi"]}" login in role "{BI_ROLE}"')
    yield partners, names, admin, database
    admin.close()


def count(cluster: PostgresCluster, database: str, user: str, query: str, args=()) -> int:
    con = cluster.connect(database, user=user)
    try:
        with con.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchone()[0]
    finally:
        con.close()


def opted_out_customers(night: PostgresBuild) -> list[str]:
    with duckdb.connect(str(night.duckdb_warehouse), read_only=True) as con:
        rows = con.execute(
            "select customer_id from staging.stg_internal__customers where is_opted_out order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_a_partner_sees_only_its_own_rows_of_every_shared_relation_and_view(
    logins, postgres_night: PostgresBuild, postgres_cluster: PostgresCluster
) -> None:
    partners, names, admin, database = logins
    schema = candidate_schema(postgres_night.run_id)
    opted_out = opted_out_customers(postgres_night)
    # the listed relations that are served (a mart with `publish: false` has no view and is granted to nobody)
    relations = [r for r in shared_relations() if r.name in published_models()]
    assert len(relations) >= 8
    checked = 0
    with admin.cursor() as cur:
        for relation in relations:
            for where in (schema, "marts"):
                target = f'"{where}"."{relation.name}"'
                column = f'"{relation.partner_column}"'
                for pid in partners:
                    exclude = ""
                    args: list = [pid]
                    if relation.customer_column:
                        customer = f'"{relation.customer_column}"'
                        exclude = f" and ({customer} is null or not {customer} = any(%s))"
                        args.append(opted_out)
                    cur.execute(f"select count(*) from {target} where {column} = %s{exclude}", args)
                    (expected,) = cur.fetchone()
                    seen = count(postgres_cluster, database, names[pid], f"select count(*) from {target}")
                    assert seen == expected, f"{names[pid]} on {target}: {seen} rows, expected {expected}"
                    foreign = count(
                        postgres_cluster,
                        database,
                        names[pid],
                        f"select count(*) from {target} where {column} <> %s",
                        [pid],
                    )
                    assert foreign == 0, f"{names[pid]} sees {foreign} rows of other partners in {target}"
                    if relation.name == "fct_touchpoints":
                        assert expected > 0 and seen < count(
                            postgres_cluster, database, names["bi"], f"select count(*) from {target}"
                        )
                    checked += 1
    assert checked == len(relations) * 2 * 2


def test_opted_out_customers_are_never_visible_to_a_partner(
    logins, postgres_night: PostgresBuild, postgres_cluster: PostgresCluster
) -> None:
    partners, names, admin, database = logins
    opted_out = opted_out_customers(postgres_night)
    assert opted_out, "the generated customers include opted-out ones"
    with admin.cursor() as cur:
        cur.execute("select count(*) from marts.fct_touchpoints where customer_id = any(%s)", [opted_out])
        (all_partners,) = cur.fetchone()
    assert all_partners > 0, "opted-out customers have touchpoints, so the exclusion is tested"
    for pid in partners:
        seen = count(
            postgres_cluster,
            database,
            names[pid],
            "select count(*) from marts.fct_touchpoints where customer_id = any(%s)",
            [opted_out],
        )
        assert seen == 0


def test_a_partner_cannot_read_relations_that_are_not_shared(
    logins, postgres_night: PostgresBuild, postgres_cluster: PostgresCluster
) -> None:
    partners, names, _, database = logins
    shared = {r.name for r in shared_relations()}
    private = sorted(set(published_models()) - shared)
    assert {"fct_conversions", "dim_campaigns"} <= set(private)
    for name in [f"marts.{m}" for m in private] + ["raw.touchpoints", "ledger.payout_lines", "access.partner_roles"]:
        con = postgres_cluster.connect(database, user=names[partners[0]])
        try:
            with con.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(f"select count(*) from {name}")
        finally:
            con.close()


def test_the_bi_role_sees_every_row_and_can_write_nothing(
    logins, postgres_night: PostgresBuild, postgres_cluster: PostgresCluster
) -> None:
    _, names, admin, database = logins
    schema = candidate_schema(postgres_night.run_id)
    with admin.cursor() as cur:
        for model in published_models():
            cur.execute(f'select count(*) from marts."{model}"')
            (expected,) = cur.fetchone()
            assert count(postgres_cluster, database, names["bi"], f'select count(*) from marts."{model}"') == expected
    writes = [
        "insert into marts.dim_partners (partner_id) values ('PX')",
        f"insert into \"{schema}\".dim_partners (partner_id) values ('PX')",
        f"update \"{schema}\".fct_touchpoints set partner_id = 'PX'",
        f'delete from "{schema}".mart_partner_roi',
        "create table marts.bi_scratch (x int)",
        f'create table "{schema}".bi_scratch (x int)',
        "create schema bi_scratch",
        "insert into ledger.payout_lines select * from ledger.payout_lines",
    ]
    for statement in writes:
        con = postgres_cluster.connect(database, user=names["bi"])
        try:
            with con.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(statement)
        finally:
            con.close()

"""Write-audit-publish on PostgreSQL (orchestration.warehouse.postgres_publish), on candidate schemas made here.

Two runs' candidates hold a mart `dim_x` and the proposed ledger rows `proposed`. Publishing re-points `marts.dim_x`
and appends to `ledger.lines` in one transaction; a failed gate check or a failure inside the transaction leaves the
served views, the ledger and the log exactly as they were.
"""

from __future__ import annotations

import psycopg2
import pytest

from orchestration.warehouse.postgres_publish import (
    ensure_publish_tables,
    publish_candidate_postgres,
    served_schema_postgres,
)
from orchestration.warehouse.publish import PublishRefused
from orchestration.warehouse.versions import candidate_schema
from tests.support.postgres import PostgresCluster

RUN_1, RUN_2 = "11111111-aaaa-4000-8000-000000000001", "22222222-bbbb-4000-8000-000000000002"
LEDGERS = {"proposed": "ledger.lines"}


@pytest.fixture
def pg(postgres_cluster: PostgresCluster):
    con = postgres_cluster.connect(postgres_cluster.create_database("publish"))
    yield con
    con.close()


def candidate(pg, run_id: str, partners: list[str], lines: list[tuple[str, float]], extra_column: bool = False) -> None:
    schema = candidate_schema(run_id)
    with pg.cursor() as cur:
        cur.execute(f'create schema "{schema}"')
        extra = ", 'x' as note" if extra_column else ""
        cur.execute(
            f'create table "{schema}".dim_x as select partner_id{extra} from unnest(%s::text[]) as p (partner_id)',
            [partners],
        )
        cur.execute(f'create table "{schema}".proposed (line_id text, amount numeric(18, 6))')
        for line in lines:
            cur.execute(f'insert into "{schema}".proposed values (%s, %s)', list(line))
    pg.commit()


def served(pg) -> tuple[list[str], list[tuple], str | None]:
    with pg.cursor() as cur:
        cur.execute("select partner_id from marts.dim_x order by 1")
        partners = [r[0] for r in cur.fetchall()]
        cur.execute("select line_id, amount from ledger.lines order by 1")
        ledger = [(r[0], float(r[1])) for r in cur.fetchall()]
    schema = served_schema_postgres(pg)
    pg.rollback()
    return partners, ledger, schema


def test_publish_re_points_the_views_and_appends_the_ledger(pg) -> None:
    candidate(pg, RUN_1, ["P001", "P002"], [("l1", 10.5)])
    first = publish_candidate_postgres(pg, RUN_1, ["dim_x"], LEDGERS)
    assert (first.schema_name, first.previous_schema_name) == (candidate_schema(RUN_1), None)
    assert first.row_counts == {"dim_x": 2, "appended:ledger.lines": 1}
    assert served(pg) == (["P001", "P002"], [("l1", 10.5)], candidate_schema(RUN_1))
    # the next version has another column: the view is replaced whole, in the same transaction
    candidate(pg, RUN_2, ["P001", "P002", "P003"], [("l2", -2.25)], extra_column=True)
    second = publish_candidate_postgres(pg, RUN_2, ["dim_x"], LEDGERS)
    assert second.previous_schema_name == candidate_schema(RUN_1)
    assert served(pg) == (["P001", "P002", "P003"], [("l1", 10.5), ("l2", -2.25)], candidate_schema(RUN_2))
    with pg.cursor() as cur:
        cur.execute("select outcome, schema_name, previous_schema_name from audit.publish_log order by published_at")
        assert cur.fetchall() == [
            ("published", candidate_schema(RUN_1), None),
            ("published", candidate_schema(RUN_2), candidate_schema(RUN_1)),
        ]
        cur.execute("select note from marts.dim_x limit 1")
        assert cur.fetchone() == ("x",)


def test_a_failed_gate_check_publishes_nothing(pg) -> None:
    candidate(pg, RUN_1, ["P001"], [("l1", 1.0)])
    publish_candidate_postgres(pg, RUN_1, ["dim_x"], LEDGERS)
    candidate(pg, RUN_2, ["P001", "P009"], [("l2", 2.0)])
    ensure_publish_tables(pg)
    with pg.cursor() as cur:
        cur.execute(
            "insert into audit.gate_results (run_id, gate, check_name, dataset, outcome, message)"
            " values (%s, 'gate_2', 'primary_key', 'marts.dim_x', 'failed', '1 duplicate key')",
            [RUN_2],
        )
    pg.commit()
    with pytest.raises(PublishRefused, match=r"still serves marts_build_11111111aaaa4000.*primary_key"):
        publish_candidate_postgres(pg, RUN_2, ["dim_x"], LEDGERS)
    assert served(pg) == (["P001"], [("l1", 1.0)], candidate_schema(RUN_1))
    with pg.cursor() as cur:
        cur.execute("select outcome from audit.publish_log where run_id = %s", [RUN_2])
        assert cur.fetchall() == [("refused",)]


def test_a_failure_inside_the_publish_transaction_leaves_everything_as_it_was(pg) -> None:
    """The second run's proposed rows do not fit the ledger (a text amount): the insert fails after the view was
    already dropped and created anew, and the rollback takes that back too."""
    candidate(pg, RUN_1, ["P001"], [("l1", 1.0)])
    publish_candidate_postgres(pg, RUN_1, ["dim_x"], LEDGERS)
    schema = candidate_schema(RUN_2)
    with pg.cursor() as cur:
        cur.execute(f'create schema "{schema}"')
        cur.execute(f"create table \"{schema}\".dim_x as select 'P777'::text as partner_id")
        cur.execute(f"create table \"{schema}\".proposed as select 'l2'::text as line_id, 'lots'::text as amount")
    pg.commit()
    with pytest.raises(psycopg2.Error):
        publish_candidate_postgres(pg, RUN_2, ["dim_x"], LEDGERS)
    assert served(pg) == (["P001"], [("l1", 1.0)], candidate_schema(RUN_1))
    with pg.cursor() as cur:
        cur.execute("select count(*) from audit.publish_log where run_id = %s", [RUN_2])
        assert cur.fetchone() == (0,)


def test_a_candidate_without_a_mart_is_refused(pg) -> None:
    candidate(pg, RUN_1, ["P001"], [])
    with pytest.raises(PublishRefused, match="lacks dim_y"):
        publish_candidate_postgres(pg, RUN_1, ["dim_x", "dim_y"], LEDGERS)
    with pg.cursor() as cur:
        cur.execute("select count(*) from information_schema.views where table_schema = 'marts'")
        assert cur.fetchone() == (0,)

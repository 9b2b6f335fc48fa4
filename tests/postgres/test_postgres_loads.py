"""The feed loader with PostgreSQL as the warehouse (orchestration.feeds.postgres_loads), on files written here.

Validation runs in DuckDB as on the DuckDB warehouse; what matters here is what reaches PostgreSQL: valid rows in
raw.<feed> with the lineage columns, rejected rows and one audit.load_log row per file, the checksum dedupe against
PostgreSQL's load log, repeated keys judged against the rows PostgreSQL already holds, and one transaction per file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from orchestration.feeds.context import LoadError
from orchestration.feeds.contracts import load_contracts
from orchestration.feeds.postgres_loads import (
    ensure_postgres_tables,
    load_all_postgres,
    load_feed_postgres,
    load_order,
)
from tests.support.postgres import PostgresCluster

PARTNERS = """partner_id,partner_name,partner_type,tier,joined_on,country,referral_code
P001,Acme Co,reseller,gold,2024-01-15,DE,ACME
P002,Brightline,referral,silver,2024-03-01,GB,
"""
TOUCH_HEADER = "event_id,occurred_at,partner_id,campaign_id,channel,touch_type,email,customer_id\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def pg(postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch):
    database = postgres_cluster.create_database("loads")
    for key, value in postgres_cluster.env(database).items():
        monkeypatch.setenv(key, value)
    con = postgres_cluster.connect(database)
    yield con
    con.close()


def rows(pg, sql: str) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(sql)
        result = cur.fetchall()
    pg.rollback()
    return result


def test_load_order_puts_referenced_feeds_first() -> None:
    order = load_order(load_contracts())
    assert order.index("partners") < order.index("touchpoints")
    assert order.index("campaigns") < order.index("touchpoints")
    assert order.index("partners") < order.index("agreements")
    assert sorted(order) == sorted(load_contracts())


def test_valid_rows_rejected_rows_and_the_log_reach_postgres(pg, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(landing / "internal/partners/partners_1.csv", PARTNERS)
    write(
        landing / "P001/touchpoints/t1.csv",
        TOUCH_HEADER
        + "e1,2025-03-01T10:00:00+05:30,P001,,email,click,Ann@Example.com,\n"
        + "e2,2025-03-01T11:00:00Z,P001,,fax,click,,C1\n"  # channel not allowed
        + "e3,2025-03-01T12:00:00Z,P009,,email,click,,C2\n"  # partner of another folder
        + "e4,2025-03-02T09:30:00.123456Z,P001,,social,impression,,C3\n",
    )
    results = load_all_postgres(pg, landing, run_id="run-1")
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in results["touchpoints"].files] == [("loaded", 2, 2)]
    assert rows(pg, "select count(*) from raw.partners") == [(2,)]
    loaded = rows(
        pg,
        "select event_id, occurred_at at time zone 'UTC', email, customer_id, _source, _source_file, _row_number,"
        " _file_checksum = (select file_checksum from audit.load_log where source_file = 'P001/touchpoints/t1.csv'),"
        " _load_id is not null, _loaded_at is not null from raw.touchpoints order by event_id",
    )
    assert loaded == [
        (
            "e1",
            datetime(2025, 3, 1, 4, 30),
            "Ann@Example.com",
            None,
            "P001",
            "P001/touchpoints/t1.csv",
            1,
            True,
            True,
            True,
        ),
        (
            "e4",
            datetime(2025, 3, 2, 9, 30, 0, 123456),
            None,
            "C3",
            "P001",
            "P001/touchpoints/t1.csv",
            4,
            True,
            True,
            True,
        ),
    ]
    rejected = rows(pg, "select row_number, rule, column_name, reason from audit.rejected_rows order by row_number")
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        (2, "allowed_values", "channel"),
        (3, "source_mismatch", "partner_id"),
    ]
    assert rejected[0][3].startswith("P001/touchpoints/t1.csv row 2: channel 'fax' is not one of: ")
    log = rows(
        pg,
        "select feed, source, status, rows_in_file, rows_loaded, rows_rejected, run_id from audit.load_log"
        " order by feed",
    )
    assert log == [
        ("partners", "internal", "loaded", 2, 2, 0, "run-1"),
        ("touchpoints", "P001", "loaded", 4, 2, 2, "run-1"),
    ]


def test_a_file_seen_before_is_skipped_by_checksum_under_any_name(pg, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(landing / "internal/partners/partners_1.csv", PARTNERS)
    load_all_postgres(pg, landing)
    write(landing / "internal/partners/partners_1_again.csv", PARTNERS)  # the same bytes under another name
    second = load_all_postgres(pg, landing)
    assert [f.status for f in second["partners"].files] == ["skipped_duplicate", "skipped_duplicate"]
    assert "already loaded as internal/partners/partners_1.csv" in second["partners"].files[1].message
    assert rows(pg, "select count(*) from raw.partners") == [(2,)]
    assert rows(pg, "select status, count(*) from audit.load_log group by 1 order by 1") == [
        ("loaded", 1),
        ("skipped_duplicate", 2),
    ]


def test_repeated_keys_are_judged_against_the_rows_postgres_holds(pg, tmp_path: Path) -> None:
    """A later file repeats e1 exactly (a replay) and e2 with another channel (a conflict); e3 is new."""
    landing = tmp_path / "landing"
    write(landing / "internal/partners/partners_1.csv", PARTNERS)
    write(
        landing / "P001/touchpoints/a.csv",
        TOUCH_HEADER + "e1,2025-03-01T10:00:00Z,P001,,email,click,,C1\ne2,2025-03-01T11:00:00Z,P001,,email,click,,C2\n",
    )
    load_all_postgres(pg, landing)
    write(
        landing / "P001/touchpoints/b.csv",
        TOUCH_HEADER
        + "e1,2025-03-01T10:00:00Z,P001,,email,click,,C1\n"
        + "e2,2025-03-01T11:00:00Z,P001,,social,click,,C2\n"
        + "e3,2025-03-01T12:00:00Z,P001,,email,click,,C3\n",
    )
    result = load_feed_postgres(pg, load_contracts()["touchpoints"], landing)
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in result.files] == [
        ("skipped_duplicate", 0, 0),
        ("loaded", 1, 2),
    ]
    rejected = rows(
        pg, "select row_number, rule, reason from audit.rejected_rows where source_file = 'P001/touchpoints/b.csv'"
    )
    assert sorted((r[0], r[1]) for r in rejected) == [(1, "duplicate_key"), (2, "conflicting_duplicate")]
    reasons = {r[0]: r[2] for r in rejected}
    assert "already loaded from P001/touchpoints/a.csv row 1" in reasons[1]
    assert "channel 'social' here, 'email' there" in reasons[2]
    assert rows(pg, "select event_id, channel from raw.touchpoints order by 1") == [
        ("e1", "email"),
        ("e2", "email"),
        ("e3", "email"),
    ]


def test_a_file_whose_copy_fails_leaves_nothing_but_a_failed_log_row(pg, tmp_path: Path) -> None:
    """A trigger refuses the second touchpoints row written to PostgreSQL: the file's transaction is rolled back
    whole (no row of it in raw or in rejected_rows), the log says `failed`, and the next load loads it."""
    landing = tmp_path / "landing"
    write(landing / "internal/partners/partners_1.csv", PARTNERS)
    write(
        landing / "P001/touchpoints/a.csv",
        TOUCH_HEADER
        + "e1,2025-03-01T10:00:00Z,P001,,email,click,,C1\n"
        + "e2,2025-03-01T11:00:00Z,P001,,fax,click,,C2\n"
        + "e3,2025-03-01T12:00:00Z,P001,,email,click,,C3\n",
    )
    ensure_postgres_tables(pg)
    with pg.cursor() as cur:
        cur.execute(
            """create function refuse_e3() returns trigger language plpgsql as $$
            begin
                if new.event_id = 'e3' then raise exception 'the disk is full (a test)'; end if;
                return new;
            end $$;
            create trigger refuse_e3 before insert on raw.touchpoints for each row execute function refuse_e3();"""
        )
    pg.commit()
    load_feed_postgres(pg, load_contracts()["partners"], landing)
    with pytest.raises(LoadError, match=r"P001/touchpoints/a.csv: load failed and was rolled back.*the disk is full"):
        load_feed_postgres(pg, load_contracts()["touchpoints"], landing)
    assert rows(pg, "select count(*) from raw.touchpoints") == [(0,)]
    assert rows(pg, "select count(*) from audit.rejected_rows") == [(0,)]
    assert rows(pg, "select feed, status, rows_loaded from audit.load_log order by feed") == [
        ("partners", "loaded", 2),
        ("touchpoints", "failed", 0),
    ]
    with pg.cursor() as cur:
        cur.execute("drop trigger refuse_e3 on raw.touchpoints")
    pg.commit()
    again = load_feed_postgres(pg, load_contracts()["touchpoints"], landing)
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in again.files] == [("loaded", 2, 1)]
    assert rows(pg, "select event_id from raw.touchpoints order by 1") == [("e1",), ("e3",)]


def test_a_missing_landing_folder_fails_the_load(pg, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="does not exist or is not a folder"):
        load_feed_postgres(pg, load_contracts()["partners"], tmp_path / "nowhere")

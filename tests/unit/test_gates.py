"""The quality gates on hand-built warehouses: suites, volume, freshness, keys, PII, audit rows and data docs.

Every warehouse here is a real DuckDB file in a temporary folder and every check runs through GX; the expected numbers
are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.feeds.contracts import load_contracts
from orchestration.feeds.loader import ensure_warehouse
from tests.support.env import apply_env

CORE_MARTS = ("dim_partners", "dim_campaigns", "fct_touchpoints", "fct_conversions")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    apply_env(monkeypatch, tmp_path)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_warehouse(con)
    yield con
    con.close()


def _suite_check(dataset: str, name: str):
    from orchestration.quality.suites import load_suites

    suite = load_suites()[dataset]
    return next(c for c in suite.checks if c.name == name)


def _raw_scope(run_id: str, feed: str = "touchpoints"):
    from orchestration.quality.batches import Scope

    contract = load_contracts()[feed]
    return Scope(run_id, "gate_1", f"raw.{feed}", "raw", feed, tuple(contract.key), contract.load_mode)


def _evaluate(con, run_id: str, dataset: str, check_name: str, scope):
    from orchestration.quality.evaluation import evaluate_check
    from orchestration.quality.gx_adapter import gx_run

    check = _suite_check(dataset, check_name)
    return evaluate_check(con, gx_run(run_id), check, scope, dg.AssetKey(dataset.split(".")))


def _log_delivery(con, run_id: str, source: str, rows: int, at: datetime, load_id: str | None = None) -> None:
    con.execute(
        "insert into audit.load_log values (?, ?, 'touchpoints', ?, ?, ?, 1, 'loaded', ?, ?, 0, null, 'ok', ?, ?)",
        [
            load_id or f"{run_id}-{source}",
            run_id,
            source,
            f"{source}/touchpoints/{run_id}.csv",
            f"sum-{run_id}-{source}",
            rows,
            rows,
            at,
            at,
        ],
    )


def test_every_feed_and_core_mart_has_a_suite_whose_expectations_build_in_gx() -> None:
    from orchestration.quality.suites import build_expectations, expand_expectations, load_suites

    suites = load_suites()
    for feed in load_contracts():
        assert f"raw.{feed}" in suites, f"no gate 1 suite for {feed}"
        assert {"values", "keys"} <= {c.name for c in suites[f"raw.{feed}"].checks}
    for mart in CORE_MARTS:
        assert f"marts.{mart}" in suites
    shared = suites["marts.*"]
    assert {c.name for c in shared.checks} == {
        "primary_key",
        "no_pii_columns",
        "no_email_values",
        "no_phone_or_name_values",
    }
    for suite in suites.values():
        for check in suite.checks:
            check = type(check)(
                **{**check.__dict__, "expectations": tuple(expand_expectations(check.expectations, ("k1", "k2")))}
            )
            assert build_expectations(check, where=suite.dataset)
            assert check.blocking == (check.severity == "error")


def test_a_suite_typo_is_reported_with_file_and_check() -> None:
    from orchestration.quality.suites import SuiteError, build_expectations, parse_suite

    suite = parse_suite(
        {
            "dataset": "raw.touchpoints",
            "gate": "gate_1",
            "checks": [
                {
                    "name": "values",
                    "batch": {"kind": "new_rows"},
                    "expectations": [{"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "x"}}],
                }
            ],
        },
        where="expectations/raw/touchpoints.yml",
    )
    with pytest.raises(
        SuiteError, match=r"touchpoints.yml: check values: expectation expect_column_values_to_be_betwen"
    ):
        build_expectations(suite.checks[0], where="expectations/raw/touchpoints.yml")
    with pytest.raises(SuiteError, match="batch.kind"):
        parse_suite(
            {
                "dataset": "raw.x",
                "gate": "gate_1",
                "checks": [{"name": "v", "batch": {"kind": "nope"}, "expectations": [{"type": "t"}]}],
            },
            where="x.yml",
        )


def test_volume_fails_for_the_partner_at_a_tenth_and_the_one_that_stopped(warehouse) -> None:
    con = warehouse
    history = {  # four earlier runs, one day apart
        "P001": [100, 120, 80, 110],  # median 105; this run 10 -> 10 / 105 = 0.0952 < 0.25: fails
        "P002": [50, 50, 50],  # median 50; nothing this run -> 0 / 50 = 0: fails (stopped arriving)
        "P003": [30, 30],  # two deliveries only: not judged (needs 3)
        "P004": [100, 100, 100],  # median 100; this run 30 -> 0.30: passes
        "P005": [10, 10, 10],  # median 10 < min_median_rows 20: not judged
    }
    for source, counts in history.items():
        for i, rows in enumerate(counts):
            _log_delivery(con, f"r{i + 1}", source, rows, T0 + timedelta(days=i))
    for source, rows in {"P001": 10, "P003": 1, "P004": 30, "P005": 1}.items():
        _log_delivery(con, "r5", source, rows, T0 + timedelta(days=5))

    outcome = _evaluate(con, "r5", "raw.touchpoints", "volume", _raw_scope("r5"))

    assert outcome.outcome == "failed"
    assert outcome.failed_count == 2
    assert "for P001, P002" in outcome.message
    by_source = {row["source"]: row for row in outcome.sample}
    assert set(by_source) == {"P001", "P002"}
    assert by_source["P001"]["trailing_median"] == 105
    assert by_source["P001"]["volume_ratio"] == pytest.approx(10 / 105)
    assert by_source["P002"]["rows_this_run"] == 0 and by_source["P002"]["volume_ratio"] == 0


def test_volume_passes_with_a_note_when_nothing_new_arrived(warehouse) -> None:
    con = warehouse
    for i in range(4):
        _log_delivery(con, f"r{i + 1}", "P001", 100, T0 + timedelta(days=i))
    outcome = _evaluate(con, "r9", "raw.touchpoints", "volume", _raw_scope("r9"))
    assert outcome.outcome == "passed"
    assert "nothing new was delivered" in outcome.message


def _insert_touch(con, source: str, event_id: str, at: datetime, load_id: str = "L1") -> None:
    con.execute(
        """insert into raw.touchpoints (event_id, occurred_at, partner_id, channel, touch_type, anonymous_id,
               _source, _source_file, _row_number, _file_checksum, _loaded_at, _load_id)
           values (?, ?, ?, 'email', 'click', 'a1', ?, ?, 1, 'x', ?, ?)""",
        [event_id, at, source, source, f"{source}/touchpoints/{load_id}.csv", T0, load_id],
    )


def test_freshness_judges_each_partner_against_its_own_quiet_spells(warehouse) -> None:
    from orchestration.quality.batches import build_batch

    con = warehouse
    # The feed's newest touch is P001's at T0 (2026-03-10 12:00 UTC).
    _insert_touch(con, "P001", "a0", T0)
    # P002 touched every 8 hours for 30 days, until 130 hours ago; before that it was quiet for 150 hours once, and
    # touched every 8 hours again before. Its longest quiet spell in 90 days is 150 h: it may lag 2 * 150 = 300 h and
    # lags 130: passes. (Judged by its recent rate alone, ~73 touches in the last 30 days, it would have been allowed
    # max(72, 7 * 720 / 73) = 72 h and failed.)
    recent = [T0 - timedelta(hours=130 + 8 * i) for i in range(90)]
    earlier = [recent[-1] - timedelta(hours=150 + 8 * j) for j in range(90)]
    for i, at in enumerate(recent + earlier):
        _insert_touch(con, "P002", f"b{i}", at)
    # P003 touches every 72 minutes (300 touches over 15 days): its longest gap is 1.2 h, so it may lag
    # max(72, 2 * 1.2) = 72 hours, and lags 80: fails.
    for i in range(300):
        _insert_touch(con, "P003", f"c{i}", T0 - timedelta(hours=80) - timedelta(minutes=72 * i))
    # P004 touched three times on one day only, 60 hours ago: no gap yet, the floor of 72 hours applies: passes.
    for i in range(3):
        _insert_touch(con, "P004", f"d{i}", T0 - timedelta(hours=60 + i))

    outcome = _evaluate(con, "r1", "raw.touchpoints", "freshness", _raw_scope("r1"))
    assert outcome.outcome == "failed", outcome.message
    assert [row["source"] for row in outcome.sample] == ["P003"]
    assert outcome.failed_count == 1
    assert outcome.sample[0]["hours_behind_feed"] == pytest.approx(80)
    assert outcome.sample[0]["allowed_lag_hours"] == pytest.approx(72)
    frame = build_batch(con, _suite_check("raw.touchpoints", "freshness"), _raw_scope("r1")).frame
    by_source = frame.set_index("source")
    assert by_source.loc["P002", "longest_gap_hours_last_90_days"] == pytest.approx(150)
    assert by_source.loc["P002", "allowed_lag_hours"] == pytest.approx(300)
    assert by_source.loc["P003", "longest_gap_hours_last_90_days"] == pytest.approx(1.2)
    assert by_source.loc["P004", "allowed_lag_hours"] == pytest.approx(72)


def test_a_sparse_generated_partner_passes_freshness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ecosystem of seed 11 with 25 partners: P009's newest touch lags the feed's by about 165 hours, after quiet
    spells of up to 96 hours in the last 90 days (it may lag 192). Judged by its recent rate it failed every night."""
    from orchestration.feeds.loader import load_feed
    from partnerlens.synthetic import generate

    apply_env(monkeypatch, tmp_path)
    generate(tmp_path / "landing", seed=11, touchpoints=40_000, partners=25, end_date=date(2026, 12, 2))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    contracts = load_contracts()
    ensure_warehouse(con, contracts)
    for feed in ("partners", "campaigns", "touchpoints"):
        load_feed(con, contracts[feed], tmp_path / "landing", run_id="r1")
    frame = con.execute(
        """select _source, date_diff('second', max(occurred_at), (select max(occurred_at) from raw.touchpoints))
                           / 3600.0
           from raw.touchpoints group by 1 order by 2 desc limit 1"""
    ).fetchone()
    assert frame[0] == "P009" and frame[1] == pytest.approx(164.85, abs=0.01)  # the partner of the report

    outcome = _evaluate(con, "r1", "raw.touchpoints", "freshness", _raw_scope("r1"))
    assert outcome.outcome == "passed", outcome.message
    con.close()


def _evaluate_delivery(con, run_id: str, feed: str):
    from orchestration.quality.evaluation import evaluate
    from orchestration.quality.gx_adapter import gx_run
    from orchestration.quality.plan import gate_1_plan
    from orchestration.quality.suites import load_suites

    plan = gate_1_plan(load_contracts()[feed], load_suites().get(f"raw.{feed}"))
    item = next(item for item in plan if item.check.name == "delivery")
    return evaluate(con, gx_run(run_id), item, item.scope(run_id))


def test_an_expected_feed_that_delivered_nothing_fails_or_warns_as_its_contract_says(warehouse) -> None:
    con = warehouse
    now = datetime.now(UTC)
    # Nothing ever loaded (an empty landing folder on a new warehouse): touchpoints are expected every night (fail).
    never = _evaluate_delivery(con, "r1", "touchpoints")
    assert (never.outcome, never.severity) == ("failed", "error")
    assert "expect_column_values_to_not_be_null(last_delivery_at)" in never.message
    assert never.sample == [
        {
            "feed": "touchpoints",
            "last_delivery_at": None,
            "hours_since_last_delivery": None,
            "files_loaded_this_run": 0,
            "files_rejected_this_run": 0,
        }
    ]
    # Last night's files were loaded 30 hours ago and nothing since: more than the contract's 20 hours.
    _log_delivery(con, "r1", "P001", 10, now - timedelta(hours=30))
    late = _evaluate_delivery(con, "r2", "touchpoints")
    assert late.outcome == "failed"
    assert late.sample[0]["hours_since_last_delivery"] == pytest.approx(30, abs=0.1)
    # Tonight's run loaded a file two hours ago and failed later: its re-run loads nothing new and passes.
    _log_delivery(con, "r2", "P001", 10, now - timedelta(hours=2))
    rerun = _evaluate_delivery(con, "r3", "touchpoints")
    assert rerun.outcome == "passed", rerun.message
    # Costs follow the campaign calendar: their contract only warns.
    con.execute("update audit.load_log set feed = 'costs'")
    con.execute("update audit.load_log set finished_at = finished_at - interval 1 day")
    costs = _evaluate_delivery(con, "r3", "costs")
    assert (costs.outcome, costs.severity) == ("warned", "warn")
    assert costs.sample[0]["hours_since_last_delivery"] == pytest.approx(26, abs=0.1)


def test_keys_of_an_append_feed_are_unique_across_loads(warehouse) -> None:
    con = warehouse
    _log_delivery(con, "r1", "P001", 2, T0, load_id="L1")
    _log_delivery(con, "r2", "P001", 2, T0 + timedelta(days=1), load_id="L2")
    _insert_touch(con, "P001", "e1", T0, "L1")
    _insert_touch(con, "P001", "e2", T0, "L1")
    _insert_touch(con, "P001", "e2", T0, "L2")  # loaded again by run r2 (the loader would have rejected it)
    _insert_touch(con, "P001", "e3", T0, "L2")

    outcome = _evaluate(con, "r2", "raw.touchpoints", "keys", _raw_scope("r2"))

    assert outcome.outcome == "failed"
    assert outcome.failed_count == 2  # both rows that hold (P001, e2)
    assert {row["_source_file"] for row in outcome.sample} == {"P001/touchpoints/L1.csv", "P001/touchpoints/L2.csv"}
    assert all(row["event_id"] == "e2" for row in outcome.sample)


def test_keys_of_a_snapshot_feed_are_unique_within_a_file_only(warehouse) -> None:
    con = warehouse
    _log_delivery(con, "r1", "internal", 2, T0, load_id="L1")
    _log_delivery(con, "r2", "internal", 3, T0 + timedelta(days=1), load_id="L2")
    con.execute("update audit.load_log set feed = 'partners'")
    rows = [("P001", "L1"), ("P002", "L1"), ("P001", "L2"), ("P003", "L2"), ("P003", "L2")]
    for i, (partner, load) in enumerate(rows, start=1):
        con.execute(
            """insert into raw.partners (partner_id, partner_name, partner_type, tier, joined_on, _source,
                   _source_file, _row_number, _file_checksum, _loaded_at, _load_id)
               values (?, 'Acme', 'reseller', 'gold', date '2020-01-01', 'internal', ?, ?, 'x', ?, ?)""",
            [partner, f"internal/partners/{load}.csv", i, T0, load],
        )
    outcome = _evaluate(con, "r2", "raw.partners", "keys", _raw_scope("r2", "partners"))
    # P001 again in a later file is a new version (fine); P003 twice in the same file is not.
    assert outcome.outcome == "failed" and outcome.failed_count == 2
    assert {(row["partner_id"], row["_row_number"]) for row in outcome.sample} == {("P003", 4), ("P003", 5)}


def _candidate(con, run_id: str) -> str:
    from orchestration.warehouse.versions import candidate_schema

    schema = candidate_schema(run_id)
    con.execute(f'create schema "{schema}"')
    con.execute(
        f"""create table "{schema}".fct_touchpoints as select * from (values
            ('P001:e1', 'P001', 'Lumen Works', repeat('ab', 32), 'spring_sale'),
            ('P001:e2', 'P001', 'Lumen Works', null, 'Jane.Doe@example.com'),
            ('P001:e2', 'P001', 'Lumen Works', null, 'mail me at bob@corp.io please'),
            ('P001:e4', 'P001', 'Lumen Works', null, 'not-an-email@')
        ) as t(touchpoint_id, partner_id, partner_name, email_sha256, utm_campaign)"""
    )
    con.execute(f'alter table "{schema}".fct_touchpoints add column contact_email varchar')
    return schema


def test_gate_2_finds_pii_columns_email_values_and_duplicate_keys(warehouse) -> None:
    from orchestration.quality.plan import candidate_scope

    con = warehouse
    _candidate(con, "run-pii")
    scope = candidate_scope("run-pii", "fct_touchpoints", ("touchpoint_id",))

    columns = _evaluate(con, "run-pii", "marts.*", "no_pii_columns", scope)
    assert columns.outcome == "failed"
    # contact_email only: email_sha256 is a hash, partner_name an organisation.
    assert [row["column_name"] for row in columns.sample] == ["contact_email"]

    values = _evaluate(con, "run-pii", "marts.*", "no_email_values", scope)
    assert values.outcome == "failed"
    assert values.failed_count == 2  # two utm_campaign values; 'not-an-email@' and the hex hash do not count
    (row,) = values.sample
    assert row["column_name"] == "utm_campaign" and row["email_like_values"] == 2
    assert row["example"] == "J***@example.com"  # masked: min() of the two values
    assert row["example_row"] == "touchpoint_id=P001:e2"
    assert "Jane.Doe" not in json.dumps(values.sample) + values.message

    keys = _evaluate(con, "run-pii", "marts.*", "primary_key", scope)
    assert keys.outcome == "failed" and keys.failed_count == 2
    assert {row["touchpoint_id"] for row in keys.sample} == {"P001:e2"}


def test_gate_2_finds_phone_numbers_and_names_in_identifier_and_utm_columns(warehouse) -> None:
    from orchestration.quality.plan import candidate_scope
    from orchestration.warehouse.versions import candidate_schema

    con = warehouse
    schema = candidate_schema("run-phones")
    con.execute(f'create schema "{schema}"')
    con.execute(
        f"""create table "{schema}".fct_touchpoints as select * from (values
            ('P001:e1', 'anonymous_id:8f14e45f-ceea-467f-a0e6-4c3b2f1e0a11', 'webinar_c0001', 'Lumen Works', 'cpc'),
            ('P001:e2', 'anonymous_id:+44 20 7946 0958', 'always-on', 'Jane Doe', 'email'),
            ('P001:e3', 'CU0000042', 'Maria Garcia', 'Spring Sale 2026', '(555) 123-4567'),
            ('P001:e4', 'email_sha256:' || repeat('ab', 32), 'summer sale', '2026-12-03', '192.168.100.200')
        ) as t(touchpoint_id, customer_key, utm_campaign, partner_name, utm_medium)"""
    )
    scope = candidate_scope("run-phones", "fct_touchpoints", ("touchpoint_id",))

    outcome = _evaluate(con, "run-phones", "marts.*", "no_phone_or_name_values", scope)

    assert outcome.outcome == "failed"
    # a phone in customer_key (behind its identifier type) and in utm_medium, a name in utm_campaign; partner_name
    # is no identifier (an organisation's name), and the uuid, hash, date, address and slugs are no person
    assert outcome.failed_count == 3
    found = {(r["column_name"], r["looks_like"]): (r["example"], r["example_row"]) for r in outcome.sample}
    assert found == {
        ("customer_key", "a phone number"): ("a***_i***:+## ## #### ####", "touchpoint_id=P001:e2"),
        ("utm_campaign", "a person's name"): ("M*** G***", "touchpoint_id=P001:e3"),
        ("utm_medium", "a phone number"): ("(###) ###-####", "touchpoint_id=P001:e3"),
    }
    assert "7946" not in outcome.message + json.dumps(outcome.sample)
    assert "Garcia" not in outcome.message + json.dumps(outcome.sample)


def test_failed_gate_rows_make_publish_refuse_and_show_in_run_history(warehouse) -> None:
    from orchestration.quality.evaluation import record_outcomes
    from orchestration.quality.gx_adapter import gx_run, run_docs_dir, write_runs_index
    from orchestration.quality.plan import candidate_scope
    from orchestration.quality.report import write_run_docs
    from orchestration.warehouse.publish import PublishRefused, publish_candidate

    con = warehouse
    _candidate(con, "run-refused")
    scope = candidate_scope("run-refused", "fct_touchpoints", ("touchpoint_id",))
    outcome = _evaluate(con, "run-refused", "marts.*", "no_email_values", scope)
    record_outcomes(con, "run-refused", [outcome])

    row = con.execute(
        "select gate, check_name, dataset, outcome, failed_count, sample, message from audit.gate_results"
    ).fetchone()
    assert row[:5] == ("gate_2", "no_email_values", "marts.fct_touchpoints", "failed", 2)
    assert json.loads(row[5])[0]["column_name"] == "utm_campaign"
    with pytest.raises(PublishRefused, match="gate_2 check 'no_email_values' failed on marts.fct_touchpoints"):
        publish_candidate(con, "run-refused", ["fct_touchpoints"])
    history = con.execute(
        "select gate_2_failed, failed_checks, publish_outcome from audit.run_history where run_id = 'run-refused'"
    ).fetchone()
    assert history == (1, "gate_2:marts.fct_touchpoints:no_email_values", "refused")

    index = gx_run("run-refused").build_docs()
    assert index == run_docs_dir("run-refused") / "gx" / "index.html"
    assert index.parent.parent.parent.name == "gx_docs"
    html = index.read_text()
    assert "gate_2.marts.fct_touchpoints.no_email_values" in html and "Failed" in html
    (page,) = index.parent.glob("validations/gate_2/marts/fct_touchpoints/no_email_values/**/*.html")
    assert "utm_campaign" in page.read_text()  # the docs name the offending column, not just a count
    assert write_runs_index(con).read_text().count("run-refused") == 0  # listed once it has a gate report
    report = write_run_docs(con, "run-refused")
    assert report == run_docs_dir("run-refused") / "index.html"
    text = report.read_text()
    assert "J***@example.com" in text and "Jane.Doe" not in text  # the masked example, never the value
    assert "<b>Publish:</b> refused" in text
    runs = (report.parent.parent / "index.html").read_text()
    assert "run-refused/index.html" in runs and "marts.fct_touchpoints no_email_values" in runs
    assert "<td>refused</td>" in runs

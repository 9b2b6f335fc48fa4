"""Incremental nights through real nightly runs: a night reads only what is new, and what it publishes equals a full
rebuild on the same landed files.

The session's built warehouse (one real full night, tests/conftest.py) is copied twice. Night 2 lands, on top of
it, deliveries that exercise every kind of late data:

- a late touch: a partner touch of an existing customer a minute before one of its earlier conversions;
- a late conversion: a purchase of an existing customer dated a day before its first conversion;
- a new identity link: a conversion of another customer (with a lower id) giving the email that earlier partner
  touches carry, so that those touches now resolve to it;
- a refund of an old conversion, for half its revenue.

Copy A runs night 2 incrementally (after a night that fails halfway through, which must leave everything as it
was), then a night with nothing new, then a restore and another night; copy B runs night 2 as a full refresh.
Every published mart of A must equal B's (row counts exact, numbers within 1e-9: partnerlens.compare), and each
kind of late data must show the effect worked out here from the delivered rows.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.support.env import apply_env
from tests.support.warehouse import served_schema

pytestmark = pytest.mark.e2e

LATE_TOUCH = "late-touch-1"
LATE_CONVERSION = "late-conversion-1"
LINKING_CONVERSION = "linking-conversion-1"
REFUND = "late-refund-1"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


@dataclass
class LateData:
    """What night 2 delivers, and what it must change."""

    touch_partner: str
    touch_conversion: str  # the conversion the late touch must join as its most recent touch
    touch_customer: str
    late_customer: str  # the customer the late conversion belongs to
    late_first_before: str  # that customer's first conversion until night 2
    linked_email: str
    linked_touches: set[str]
    linked_customer: str  # the customer the email links to from night 2 on
    previous_customer: str  # the one it resolved to before
    refunded_conversion: str
    refunded_lines: list[tuple[str, str, float]]  # (line type, agreement, amount) of the refunded conversion


def pick_late_data(warehouse: Path) -> LateData:
    """Choose, in night 1's warehouse, the rows the late deliveries attach to."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        schema = served_schema(con)
        # a conversion with a path, whose customer converted at least 2 days before it (or never), so a touch a
        # minute before it belongs to it under the default reset-after-conversion rule
        touch_conversion, touch_customer, touch_partner = con.execute(
            """
            with conversions as (
                select conversion_id, customer_id, converted_at,
                       lag(converted_at) over (partition by customer_id order by converted_at) as previous_at
                from marts.fct_conversions where not is_refund
            )
            select c.conversion_id, c.customer_id, min(credits.partner_id)
            from conversions as c
            inner join marts.fct_attribution_credits as credits on credits.conversion_id = c.conversion_id
            where c.previous_at is null or c.previous_at < c.converted_at - interval 2 day
            group by c.conversion_id, c.customer_id, c.converted_at
            order by c.converted_at desc, c.conversion_id
            limit 1
            """
        ).fetchone()
        late_customer, late_first_before = con.execute(
            """
            select customer_id, conversion_id from marts.fct_conversions
            where conversion_sequence = 1 and customer_id <> ?
            order by converted_at desc, conversion_id limit 1
            """,
            [touch_customer],
        ).fetchone()
        # a customer's email that partner touches carry without a customer id: a conversion of a customer with a
        # lower id that gives the same email links it to that customer (the lowest id wins), so those touches move
        linked_customer = con.execute(
            "select min(customer_id) from raw.customers where customer_id not in (?, ?)",
            [touch_customer, late_customer],
        ).fetchone()[0]
        linked_email, previous_customer = con.execute(
            f"""
            select customers.email, customers.customer_id
            from raw.customers as customers
            inner join "{schema}".int_touchpoints_resolved as touches
                on touches.touch_email_sha256 = sha256(lower(trim(customers.email)))
            where touches.touch_customer_id is null and customers.customer_id not in (?, ?, ?)
            group by customers.email, customers.customer_id
            order by max(touches.occurred_at) desc, customers.customer_id limit 1
            """,
            [touch_customer, late_customer, linked_customer],
        ).fetchone()
        linked_touches = {
            r[0]
            for r in con.execute(
                f'select touchpoint_id from "{schema}".int_touchpoints_resolved '
                "where touch_customer_id is null and touch_email_sha256 = sha256(lower(trim(?)))",
                [linked_email],
            ).fetchall()
        }
        # an old conversion the ledger pays commission on, of a customer none of the above touches
        refunded_conversion = con.execute(
            """
            select lines.conversion_id from ledger.payout_lines as lines
            inner join marts.fct_conversions as conversions on conversions.conversion_id = lines.conversion_id
            where lines.line_type = 'revenue_share' and conversions.customer_id not in (?, ?, ?, ?)
            order by conversions.converted_at, lines.conversion_id limit 1
            """,
            [touch_customer, late_customer, linked_customer, previous_customer],
        ).fetchone()[0]
        refunded_lines = [
            (line_type, agreement, float(amount))
            for line_type, agreement, amount in con.execute(
                "select line_type, agreement_id, sum(amount) from ledger.payout_lines "
                "where conversion_id = ? and line_type in ('revenue_share', 'referral_commission') "
                "group by all order by all",
                [refunded_conversion],
            ).fetchall()
        ]
    finally:
        con.close()
    return LateData(
        touch_partner=touch_partner,
        touch_conversion=touch_conversion,
        touch_customer=touch_customer,
        late_customer=late_customer,
        late_first_before=late_first_before,
        linked_email=linked_email,
        linked_touches=linked_touches,
        linked_customer=linked_customer,
        previous_customer=previous_customer,
        refunded_conversion=refunded_conversion,
        refunded_lines=refunded_lines,
    )


def deliver_late_data(warehouse: Path, landing: Path, late: LateData, now: datetime) -> None:
    """Land night 2's files: one partner file with the late touch, one commerce file with the three conversions
    (the linking conversion and the refund an hour or two before `now`)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        touch_at = con.execute(
            "select converted_at from marts.fct_conversions where conversion_id = ?", [late.touch_conversion]
        ).fetchone()[0] - timedelta(minutes=1)
        first_at = con.execute(
            "select converted_at from marts.fct_conversions where conversion_id = ?", [late.late_first_before]
        ).fetchone()[0]
        refunded = con.execute(
            "select customer_id, currency, revenue_local from marts.fct_conversions where conversion_id = ?",
            [late.refunded_conversion],
        ).fetchone()
    finally:
        con.close()
    _write_csv(
        landing / late.touch_partner / "touchpoints" / "late_touch.csv",
        ["event_id", "occurred_at", "partner_id", "channel", "touch_type", "customer_id"],
        [[LATE_TOUCH, _ts(touch_at.replace(tzinfo=UTC)), late.touch_partner, "email", "click", late.touch_customer]],
    )
    refund_revenue = -(refunded[2] / 2)
    _write_csv(
        landing / "internal" / "conversions" / "late_conversions.csv",
        [
            "conversion_id",
            "converted_at",
            "customer_id",
            "email",
            "conversion_type",
            "revenue",
            "currency",
            "gross_margin",
            "refunded_conversion_id",
        ],
        [
            [
                LATE_CONVERSION,
                _ts(first_at.replace(tzinfo=UTC) - timedelta(days=1)),
                late.late_customer,
                None,
                "purchase",
                "100.00",
                "USD",
                "40.00",
                None,
            ],
            [
                LINKING_CONVERSION,
                _ts(now - timedelta(hours=2)),
                late.linked_customer,
                late.linked_email,
                "purchase",
                "80.00",
                "USD",
                "30.00",
                None,
            ],
            [
                REFUND,
                _ts(now - timedelta(hours=1)),
                refunded[0],
                None,
                "refund",
                f"{refund_revenue:.4f}",
                refunded[1],
                "0.00",
                late.refunded_conversion,
            ],
        ],
    )


def state_fingerprint(warehouse: Path) -> dict[str, tuple[int, str]]:
    """schema.table -> (rows, sha256 of its rows in order) of every table of every state schema."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'state%' and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        out = {}
        for schema, table in tables:
            rows = sorted(repr(r) for r in con.execute(f'select * from "{schema}"."{table}"').fetchall())
            out[f"{schema}.{table}"] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return out
    finally:
        con.close()


def published_fingerprint(warehouse: Path) -> dict[str, tuple[str, int, str]]:
    """view of `marts` -> (definition, rows, sha256 of its rows in order)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for name, sql in con.execute(
            "select view_name, sql from duckdb_views() where schema_name = 'marts' and not internal order by 1"
        ).fetchall():
            rows = sorted(repr(r) for r in con.execute(f'select * from marts."{name}"').fetchall())
            out[name] = (sql, len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return out
    finally:
        con.close()


def builds(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select build_seq, run_id, mode, reason, base_build_seq, state_schema, candidate_schema, new_loads "
            "from audit.builds order by build_seq"
        ).fetchall()
    finally:
        con.close()


@dataclass
class Nights:
    a: Path
    b: Path
    late: LateData
    before: dict  # published fingerprint of night 1
    state_before_failure: dict
    state_after_failure: dict
    published_after_failure: dict
    failed_run: object
    night_2: object
    published_after_2: dict
    night_2_touches: tuple[int, int]  # rows of int_touchpoints_resolved night 2 wrote, and all of them
    nothing_new: object
    published_after_nothing_new: dict
    after_restore: object
    reference: object


@pytest.fixture(scope="module")
def nights(built_warehouse, tmp_path_factory: pytest.TempPathFactory) -> Nights:
    from partnerlens.cli import main
    from partnerlens.runner import run_nightly

    roots = {}
    for name in ("a", "b"):
        root = tmp_path_factory.mktemp(f"incremental_{name}")
        shutil.copy(built_warehouse.warehouse, root / "warehouse.duckdb")
        wal = built_warehouse.warehouse.with_name(built_warehouse.warehouse.name + ".wal")
        if wal.exists():
            shutil.copy(wal, root / "warehouse.duckdb.wal")
        shutil.copytree(built_warehouse.landing, root / "landing")
        roots[name] = root
    late = pick_late_data(roots["a"] / "warehouse.duckdb")
    now = datetime.now(UTC)
    for root in roots.values():  # the very same files for both
        deliver_late_data(root / "warehouse.duckdb", root / "landing", late, now)

    with pytest.MonkeyPatch.context() as monkeypatch:
        a = apply_env(monkeypatch, roots["a"])
        warehouse = a / "warehouse.duckdb"
        before = published_fingerprint(warehouse)
        state_before = state_fingerprint(warehouse)
        # A night that fails after the incremental models have written tonight's rows: the payout models cannot
        # read the as-of date (payout_as_of_date decides nothing the incremental models hold).
        failed = run_nightly(dbt_vars={"payout_as_of_date": "not-a-date"})
        state_after_failure = state_fingerprint(warehouse)
        published_after_failure = published_fingerprint(warehouse)
        night_2 = run_nightly()
        published_after_2 = published_fingerprint(warehouse)
        night_2_touches = touches_written(warehouse, night_2.run_id)
        nothing_new = run_nightly()
        published_after_nothing_new = published_fingerprint(warehouse)
        assert main(["restore"]) == 0
        after_restore = run_nightly()
    with pytest.MonkeyPatch.context() as monkeypatch:
        apply_env(monkeypatch, roots["b"])
        reference = run_nightly(full_refresh=True)
    return Nights(
        a=roots["a"],
        b=roots["b"],
        late=late,
        before=before,
        state_before_failure=state_before,
        state_after_failure=state_after_failure,
        published_after_failure=published_after_failure,
        failed_run=failed,
        night_2=night_2,
        published_after_2=published_after_2,
        night_2_touches=night_2_touches,
        nothing_new=nothing_new,
        published_after_nothing_new=published_after_nothing_new,
        after_restore=after_restore,
        reference=reference,
    )


def _build_of(warehouse: Path, run_id: str) -> tuple:
    return next(b for b in builds(warehouse) if b[1] == run_id)


def touches_written(warehouse: Path, run_id: str) -> tuple[int, int]:
    """Rows of the touch resolution state the run's build wrote, and all current rows."""
    seq, state = _build_of(warehouse, run_id)[0], _build_of(warehouse, run_id)[5]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            f'select count(*) filter (where _build_seq = ?), count(*) from "{state}".int_touchpoints_resolved', [seq]
        ).fetchone()
    finally:
        con.close()


def test_a_night_that_fails_leaves_the_served_marts_and_the_incremental_state_exactly_as_they_were(
    nights: Nights,
) -> None:
    assert not nights.failed_run.success
    build = _build_of(nights.a / "warehouse.duckdb", nights.failed_run.run_id)
    assert build[2] == "incremental"  # it did write into the state before it failed
    assert nights.state_after_failure == nights.state_before_failure
    assert nights.published_after_failure == nights.before


def test_the_next_night_is_incremental_and_reads_only_the_new_files(nights: Nights) -> None:
    assert nights.night_2.success and nights.reference.success
    warehouse = nights.a / "warehouse.duckdb"
    _, _, mode, _, base, state, _, new_loads = _build_of(warehouse, nights.night_2.run_id)
    first = builds(warehouse)[0]
    assert (mode, base, state) == ("incremental", first[0], first[5])
    assert new_loads == 2  # the late touch file and the late conversions file
    written, total = nights.night_2_touches
    # the late touch, and the touches re-resolved by the new link: nothing else was resolved again
    assert written == 1 + len(nights.late.linked_touches)
    assert total > 100 * written
    reference = _build_of(nights.b / "warehouse.duckdb", nights.reference.run_id)
    assert reference[2] == "full" and "--full-refresh" in reference[3] and reference[5] != first[5]


def test_every_published_mart_equals_a_full_rebuild_on_the_same_files(nights: Nights) -> None:
    from partnerlens.compare import compare

    result = compare(nights.a / "warehouse.duckdb", nights.b / "warehouse.duckdb", tolerance=1e-9)
    assert len(result.marts) >= 13
    assert result.equal, [f"{d.mart}: {d.problem}" for d in result.differences]


def _credits(warehouse: Path, conversion_id: str) -> dict[tuple[str, str], float]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            (model, touch): credit
            for model, touch, credit in con.execute(
                "select attribution_model, touchpoint_id, credit from marts.fct_attribution_credits "
                "where conversion_id = ?",
                [conversion_id],
            ).fetchall()
        }
    finally:
        con.close()


def test_a_late_touch_joins_the_path_of_the_conversion_it_preceded(nights: Nights) -> None:
    late = nights.late
    touch = f"{late.touch_partner}:{LATE_TOUCH}"
    credits = _credits(nights.a / "warehouse.duckdb", late.touch_conversion)
    models = {model for model, _ in credits}
    assert len(models) == 7
    # a minute before the conversion, it is the path's most recent touch: last touch gives it everything
    assert credits[("last_touch", touch)] == pytest.approx(1.0)
    assert all((model, touch) in credits for model in models)
    for model in models:
        assert sum(c for (m, _), c in credits.items() if m == model) == pytest.approx(1.0, abs=1e-9)


def test_a_late_conversion_renumbers_the_customers_later_conversions(nights: Nights) -> None:
    late = nights.late
    con = duckdb.connect(str(nights.a / "warehouse.duckdb"), read_only=True)
    try:
        rows = dict(
            con.execute(
                "select conversion_id, conversion_sequence from marts.fct_conversions "
                "where customer_id = ? and not is_refund",
                [late.late_customer],
            ).fetchall()
        )
        first_at = con.execute(
            "select distinct customer_first_converted_at from marts.fct_conversions where customer_id = ?",
            [late.late_customer],
        ).fetchall()
        late_at = con.execute(
            "select converted_at from marts.fct_conversions where conversion_id = ?", [LATE_CONVERSION]
        ).fetchone()[0]
    finally:
        con.close()
    assert rows[LATE_CONVERSION] == 1
    assert rows[late.late_first_before] == 2
    assert sorted(rows.values()) == list(range(1, len(rows) + 1))
    assert first_at == [(late_at,)]


def test_a_new_identity_link_moves_the_old_touches_to_their_customer(nights: Nights) -> None:
    late = nights.late
    con = duckdb.connect(str(nights.a / "warehouse.duckdb"), read_only=True)
    try:
        moved = con.execute(
            "select touchpoint_id, customer_id, customer_key from marts.fct_touchpoints where touchpoint_id in "
            f"({', '.join('?' for _ in late.linked_touches)})",
            sorted(late.linked_touches),
        ).fetchall()
    finally:
        con.close()
    assert len(moved) == len(late.linked_touches) > 0
    assert late.linked_customer < late.previous_customer  # so the new link wins
    assert {(customer, key) for _, customer, key in moved} == {(late.linked_customer, late.linked_customer)}


def test_a_refund_of_an_old_conversion_reverses_half_of_its_commission(nights: Nights) -> None:
    late = nights.late
    assert late.refunded_lines
    con = duckdb.connect(str(nights.a / "warehouse.duckdb"), read_only=True)
    try:
        reversals = {
            (reversed_type, agreement): float(amount)
            for reversed_type, agreement, amount in con.execute(
                "select reversed_line_type, agreement_id, sum(amount) from marts.fct_partner_payouts "
                "where line_type = 'reversal' and conversion_id = ? and refunded_conversion_id = ? group by all",
                [REFUND, late.refunded_conversion],
            ).fetchall()
        }
    finally:
        con.close()
    expected = {(line_type, agreement): -amount / 2 for line_type, agreement, amount in late.refunded_lines}
    assert reversals.keys() == expected.keys()
    for key, amount in expected.items():
        # half of what the conversion earned; its Markov and Shapley credits move a little with every night's new
        # journeys, by less than the restatement tolerance (half a cent) the ledger was booked with
        assert reversals[key] == pytest.approx(amount, abs=0.006)


def test_a_night_with_nothing_new_builds_and_publishes_nothing(nights: Nights) -> None:
    run = nights.nothing_new
    assert run.success
    build = _build_of(nights.a / "warehouse.duckdb", run.run_id)
    assert build[2] == "skipped" and build[7] == 0
    started = {e.step_key for e in run.all_events if e.event_type_value == "STEP_START"}
    assert "partnerlens_dbt" in started
    assert not any(step.startswith(("published", "gate_2", "share")) for step in started)
    assert nights.published_after_nothing_new == nights.published_after_2
    con = duckdb.connect(str(nights.a / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from audit.publish_log where run_id = ?", [run.run_id]).fetchone()[0] == 0
    finally:
        con.close()


def test_after_a_restore_the_next_night_builds_on_the_restored_version(nights: Nights) -> None:
    from partnerlens.compare import compare

    run = nights.after_restore
    assert run.success
    warehouse = nights.a / "warehouse.duckdb"
    first = builds(warehouse)[0]
    seq, _, mode, _, base, state, _, new_loads = _build_of(warehouse, run.run_id)
    assert (mode, base, state, new_loads) == ("incremental", first[0], first[5], 2)
    night_2_schema = _build_of(warehouse, nights.night_2.run_id)[6]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # the version the restore stepped back from was discarded: the state no longer holds it
        assert not con.execute(
            "select count(*) from information_schema.schemata where schema_name = ?", [night_2_schema]
        ).fetchone()[0]
    finally:
        con.close()
    result = compare(warehouse, nights.b / "warehouse.duckdb", tolerance=1e-9)
    assert result.equal, [f"{d.mart}: {d.problem}" for d in result.differences]

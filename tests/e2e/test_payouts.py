"""The payout ledger end to end: two real nightly runs with late data in between.

Run 1 books a small generated ecosystem while month M is still open (as-of date one day before M locks). Between the
runs, late conversions dated in M and a partial refund of an M conversion land as an extra conversions file. Run 2,
as of today, finds M locked: every line booked by run 1 must be byte-for-byte unchanged, nothing may be booked into
a locked month, and the differences must come as adjustment lines in an open month; afterwards the ledger holds
exactly what is owed, so a re-run books nothing. Expected payouts are recomputed independently in pandas from the
published attribution credits, the raw agreements and the currency-rate seed, never from the payout models.
"""

from __future__ import annotations

import calendar
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.feeds.contracts import load_contracts
from tests.support.env import env_at
from tests.support.oracles import currency_rates, usd_per_unit
from tests.support.warehouse import served_schema

pytestmark = pytest.mark.e2e

LOCK_DAYS = 10  # dbt var payout_lock_days (project default)
LATE_CONVERSIONS = 12
REFUNDED_SHARE = 0.4


def _last_day(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _locks_on(month: date) -> date:
    return _last_day(month) + timedelta(days=LOCK_DAYS)


def _previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def _latest_locked_month(as_of: date) -> date:
    """The latest month whose lock date (last day + LOCK_DAYS) is on or before `as_of`."""
    month = _previous_month(as_of.replace(day=1))
    while _locks_on(month) > as_of:
        month = _previous_month(month)
    return month


@dataclass
class LedgerRuns:
    root: Path
    month: date  # M: open at run 1, locked at run 2
    as_of_1: date
    as_of_2: date
    ledger_1: pd.DataFrame
    ledger_2: pd.DataFrame
    run_ids: list[str]
    late_ids: list[str]
    refund_id: str
    refunded_id: str
    refunded_amounts_before: pd.DataFrame
    summary: str

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)


def _ledger(warehouse: Path) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select * from ledger.payout_lines order by payout_line_id").fetchdf()
    finally:
        con.close()


def _write_late_conversions(warehouse: Path, landing: Path, month: date, yesterday: date) -> tuple[list[str], str, str]:
    """Late purchases dated in `month` by customers with a partner touch two hours before, plus a 40 % refund
    (dated yesterday) of one `month` conversion that run 1 paid a revenue share on."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        touches = con.execute(
            """
            select customer_id, min(occurred_at) as occurred_at
            from marts.fct_touchpoints
            where customer_id is not null
              and occurred_on between ? and ?
            group by customer_id
            order by customer_id
            limit ?
            """,
            [month, month + timedelta(days=19), LATE_CONVERSIONS],
        ).fetchall()
        refunded = con.execute(
            """
            select conversions.conversion_id, conversions.customer_id, conversions.revenue_local,
                   conversions.gross_margin_local, conversions.currency
            from marts.fct_conversions as conversions
            inner join ledger.payout_lines as lines
                on lines.conversion_id = conversions.conversion_id and lines.line_type = 'revenue_share'
            where conversions.converted_on between ? and ?
              and not conversions.is_refund
              and conversions.revenue_local > 0
              and conversions.conversion_id not in (
                  select refunded_conversion_id from marts.fct_conversions where refunded_conversion_id is not null)
              and conversions.customer_id not in (select unnest(?::varchar[]))
            order by conversions.conversion_id
            limit 1
            """,
            [month, _last_day(month), [customer_id for customer_id, _ in touches]],
        ).fetchone()
    finally:
        con.close()
    assert len(touches) >= 5, "the generated month has too few resolved partner touches"
    assert refunded is not None, "no paid conversion to refund in the month"
    rows = []
    late_ids = []
    for i, (customer_id, occurred_at) in enumerate(touches, start=1):
        converted_at = min(occurred_at + timedelta(hours=2), datetime.combine(_last_day(month), datetime.min.time()))
        conversion_id = f"LATE{i:05d}"
        late_ids.append(conversion_id)
        rows.append(
            [
                conversion_id,
                converted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                customer_id,
                "",
                "",
                "purchase",
                "500.00",
                "USD",
                "200.00",
                "",
            ]
        )
    refund_id = "LATEREFUND1"
    conversion_id, customer_id, revenue, margin, currency = refunded
    rows.append(
        [
            refund_id,
            f"{yesterday.isoformat()}T12:00:00Z",
            customer_id,
            "",
            "",
            "refund",
            f"{-float(revenue) * REFUNDED_SHARE:.2f}",
            currency,
            f"{-float(margin) * REFUNDED_SHARE:.2f}",
            conversion_id,
        ]
    )
    folder = landing / "internal" / "conversions"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "conversions_late_delivery.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(load_contracts()["conversions"].column_names)
        writer.writerows(rows)
    return late_ids, refund_id, conversion_id


@pytest.fixture(scope="module")
def ledger_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerRuns]:
    from partnerlens.runner import failure_messages, run_nightly
    from partnerlens.synthetic import generate

    root = tmp_path_factory.mktemp("payouts")
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    month = _latest_locked_month(today)
    as_of_1 = _locks_on(month) - timedelta(days=1)
    with env_at(root):
        generate(root / "landing", seed=11, touchpoints=6_000, partners=8, days=90, end_date=yesterday)

        results = [run_nightly(dbt_vars={"payout_as_of_date": as_of_1.isoformat()})]
        assert results[0].success, failure_messages(results[0])
        ledger_1 = _ledger(root / "warehouse.duckdb")

        late_ids, refund_id, refunded_id = _write_late_conversions(
            root / "warehouse.duckdb", root / "landing", month, yesterday
        )
        refunded_before = ledger_1[ledger_1["conversion_id"] == refunded_id][["line_type", "amount"]]

        results.append(run_nightly(dbt_vars={"payout_as_of_date": today.isoformat()}))
        assert results[1].success, failure_messages(results[1])
        ledger_2 = _ledger(root / "warehouse.duckdb")

        from partnerlens.statements import payable_summary

        con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
        try:
            summary = payable_summary(con)
        finally:
            con.close()
        yield LedgerRuns(
            root,
            month,
            as_of_1,
            today,
            ledger_1,
            ledger_2,
            [r.run_id for r in results],
            late_ids,
            refund_id,
            refunded_id,
            refunded_before,
            summary,
        )


def test_run_1_books_month_m_while_it_is_open(ledger_runs: LedgerRuns) -> None:
    first = ledger_runs.ledger_1
    assert len(first) > 50
    assert set(first["booked_in_run"]) == {ledger_runs.run_ids[0]}
    in_m = first[first["period_month"] == pd.Timestamp(ledger_runs.month)]
    assert len(in_m) > 0
    # the opening books history into its own months: nothing is an adjustment yet
    assert not first["is_adjustment"].any()
    assert (first["period_month"] == first["original_period_month"]).all()


def test_every_line_of_run_1_is_byte_for_byte_unchanged(ledger_runs: LedgerRuns) -> None:
    first, second = ledger_runs.ledger_1, ledger_runs.ledger_2
    kept = second[second["booked_in_run"] == ledger_runs.run_ids[0]].reset_index(drop=True)
    assert len(kept) == len(first)
    pd.testing.assert_frame_equal(kept, first.reset_index(drop=True), check_exact=True)
    # the same, as text, column by column: what a statement printed from them would show
    assert kept.astype(str).equals(first.reset_index(drop=True).astype(str))


def test_run_2_books_nothing_into_a_locked_month(ledger_runs: LedgerRuns) -> None:
    second = ledger_runs.ledger_2
    added = second[second["booked_in_run"] == ledger_runs.run_ids[1]]
    assert len(added) > 0, "the late data booked nothing"
    for period in added["period_month"].dt.date.unique():
        assert _locks_on(period) > ledger_runs.as_of_2, f"run 2 booked into {period}, locked at its as-of date"
    # whatever belongs to a locked month arrives as an adjustment of that month in a later, open one
    locked = added[added["original_period_month"].dt.date.map(lambda m: _locks_on(m) <= ledger_runs.as_of_2)]
    assert len(locked) > 0
    assert locked["is_adjustment"].all()
    assert (locked["period_month"] > locked["original_period_month"]).all()


def test_late_conversions_in_month_m_become_adjustment_lines(ledger_runs: LedgerRuns) -> None:
    second = ledger_runs.ledger_2
    late = second[second["conversion_id"].isin(ledger_runs.late_ids)]
    assert len(late) > 0, "no late conversion earned a commission"
    assert set(late["booked_in_run"]) == {ledger_runs.run_ids[1]}
    assert (late["original_period_month"] == pd.Timestamp(ledger_runs.month)).all()
    assert late["is_adjustment"].all()
    assert set(late["line_type"]) <= {"revenue_share", "referral_commission"}


def test_refund_after_lock_reverses_pro_rata_in_its_own_open_month(ledger_runs: LedgerRuns) -> None:
    second = ledger_runs.ledger_2
    reversals = second[(second["line_type"] == "reversal") & (second["conversion_id"] == ledger_runs.refund_id)]
    assert len(reversals) > 0
    assert (reversals["refunded_conversion_id"] == ledger_runs.refunded_id).all()
    refund_month = pd.Timestamp((ledger_runs.as_of_2 - timedelta(days=1)).replace(day=1))
    assert (reversals["original_period_month"] == refund_month).all()
    assert (reversals["period_month"] == refund_month).all()
    assert not reversals["is_adjustment"].any()
    before = ledger_runs.refunded_amounts_before.groupby("line_type")["amount"].sum()
    for reversed_type, amount in reversals.groupby("reversed_line_type")["amount"].sum().items():
        expected = -REFUNDED_SHARE * float(before[reversed_type])
        assert float(amount) == pytest.approx(expected, abs=0.01)


def test_after_run_2_the_ledger_holds_exactly_what_is_owed(ledger_runs: LedgerRuns) -> None:
    """Per basis, the ledger sums to what run 2 computed as owed, so a re-run on the same data books nothing."""
    con = ledger_runs.connect()
    try:
        off = con.execute(
            f"""
            with booked as (
                select basis_id, sum(amount) as booked from ledger.payout_lines group by basis_id
            )
            select coalesce(expected.basis_id, booked.basis_id) as basis_id, expected.amount, booked.booked
            from {served_schema(con)}.int_payout_lines_expected as expected
            full outer join booked on expected.basis_id = booked.basis_id
            where abs(coalesce(expected.amount, 0) - coalesce(booked.booked, 0)) >= 0.005
            """
        ).fetchall()
    finally:
        con.close()
    assert off == []


def _agreements_in_force(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Agreement versions with the range each is in force, from the raw feed, independently of the dbt models."""
    raw = con.execute("select * from raw.agreements").fetchdf()
    raw = raw.sort_values("_loaded_at").drop_duplicates(["agreement_id", "version"], keep="last")
    raw = raw.sort_values(["agreement_id", "version"]).reset_index(drop=True)
    raw["effective_from"] = pd.to_datetime(raw["effective_from"])
    far = pd.Timestamp("9999-12-31")
    raw["effective_to"] = pd.to_datetime(raw["effective_to"]).fillna(far)
    next_from = (
        raw.groupby("agreement_id")["effective_from"].transform(lambda s: s[::-1].cummin()[::-1].shift(-1)).fillna(far)
    )
    raw["valid_to"] = raw["effective_to"].where(raw["effective_to"] < next_from, next_from)
    return raw


def _usd_rate(rates: pd.DataFrame, currency: pd.Series, on: pd.Series) -> pd.Series:
    """USD per unit of `currency` on each date (the seed's latest valid_from on or before it)."""
    return usd_per_unit(rates, currency, on).to_numpy()


def test_revenue_share_equals_rate_times_revenue_attributed_under_the_agreements_model(ledger_runs: LedgerRuns) -> None:
    con = ledger_runs.connect()
    try:
        credits = con.execute(
            "select c.conversion_id, c.partner_id, c.attribution_model, c.attributed_revenue, v.converted_on "
            "from marts.fct_attribution_credits as c inner join marts.fct_conversions as v using (conversion_id) "
            "where not v.is_refund"
        ).fetchdf()
        agreements = _agreements_in_force(con)
        rates = currency_rates(con)
        payouts = con.execute(
            "select partner_id, currency, original_period_month, sum(amount) as paid from marts.fct_partner_payouts "
            "where line_type = 'revenue_share' group by all"
        ).fetchdf()
        published, booked = con.execute(
            "select (select count(*) from marts.fct_partner_payouts), (select count(*) from ledger.payout_lines)"
        ).fetchone()
    finally:
        con.close()
    assert published == booked

    credits["converted_on"] = pd.to_datetime(credits["converted_on"])
    paid_on = credits.merge(agreements, on="partner_id")
    paid_on = paid_on[
        (paid_on["attribution_model_x"] == paid_on["attribution_model_y"])
        & (paid_on["converted_on"] >= paid_on["effective_from"])
        & (paid_on["converted_on"] < paid_on["valid_to"])
    ].copy()
    # reporting currency is USD: an agreement-currency amount is the USD amount / USD per unit on the conversion date
    usd_per_unit = _usd_rate(rates, paid_on["currency"], paid_on["converted_on"])
    paid_on["owed"] = (
        paid_on["revenue_share_pct"].astype(float) / 100 * paid_on["attributed_revenue"].astype(float) / usd_per_unit
    )
    paid_on["month"] = paid_on["converted_on"].dt.to_period("M").dt.to_timestamp()
    owed = paid_on.groupby(["partner_id", "currency", "month"])["owed"].sum().reset_index()
    payouts["month"] = pd.to_datetime(payouts["original_period_month"])
    compared = owed.merge(payouts, on=["partner_id", "currency", "month"], how="outer").fillna(
        {"owed": 0.0, "paid": 0.0}
    )
    assert len(compared) >= 6
    assert compared["owed"].sum() > 0
    off = compared[(compared["owed"] - compared["paid"].astype(float)).abs() > 0.01]
    assert off.empty, f"revenue share does not reconcile:\n{off}"


def test_no_month_pays_more_than_its_cap(ledger_runs: LedgerRuns) -> None:
    con = ledger_runs.connect()
    try:
        agreements = _agreements_in_force(con)
        totals = con.execute(
            "select agreement_id, original_period_month, sum(amount) as total from marts.fct_partner_payouts "
            "group by all"
        ).fetchdf()
    finally:
        con.close()
    totals["month"] = pd.to_datetime(totals["original_period_month"])
    capped = 0
    for row in totals.itertuples():
        month_end = row.month + pd.offsets.MonthEnd(0)
        versions = agreements[
            (agreements["agreement_id"] == row.agreement_id)
            & (agreements["effective_from"] <= month_end)
            & (agreements["valid_to"] > row.month)
        ]
        cap = versions.sort_values(["effective_from", "version"]).iloc[-1]["payout_cap"]
        if pd.notna(cap):
            capped += 1
            assert float(row.total) <= float(cap) + 0.01, f"{row.agreement_id} {row.month:%Y-%m} pays over its cap"
    assert capped > 0, "no agreement of the generated ecosystem has a cap"


def test_statuses_and_the_payable_summary(ledger_runs: LedgerRuns) -> None:
    con = ledger_runs.connect()
    try:
        statuses = dict(
            con.execute(
                "select period_month, min(status) from marts.fct_partner_payouts "
                "group by all having count(distinct status) = 1"
            ).fetchall()
        )
        months = con.execute("select count(distinct period_month) from marts.fct_partner_payouts").fetchone()[0]
    finally:
        con.close()
    assert len(statuses) == months  # one status per month
    assert statuses[ledger_runs.month] in ("locked", "paid")
    for month, status in statuses.items():
        last = _last_day(month)
        expected = (
            "paid"
            if ledger_runs.as_of_2 >= last + timedelta(days=30)
            else "locked"
            if ledger_runs.as_of_2 >= last + timedelta(days=LOCK_DAYS)
            else "pending"
        )
        assert status == expected, month
    closed = max(m for m, s in statuses.items() if s in ("locked", "paid"))
    assert f"{closed:%B %Y}" in ledger_runs.summary
    assert "payable" in ledger_runs.summary


def test_the_proposed_lines_are_appended_to_the_ledger_not_served(ledger_runs: LedgerRuns) -> None:
    """fct_payout_lines_proposed is built with the marts but `marts` never serves it: its rows reach the ledger."""
    con = ledger_runs.connect()
    try:
        served = {
            r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'marts'").fetchall()
        }
        built = con.execute(
            "select count(*) from information_schema.tables "
            "where table_name = 'fct_payout_lines_proposed' and table_schema like 'marts_build_%'"
        ).fetchone()[0]
    finally:
        con.close()
    assert "fct_partner_payouts" in served
    assert "fct_payout_lines_proposed" not in served
    assert built == 2  # one per run's candidate schema
    assert set(ledger_runs.ledger_2["booked_in_run"]) == set(ledger_runs.run_ids)

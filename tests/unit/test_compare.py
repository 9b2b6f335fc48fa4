"""partnerlens.compare on small hand-made warehouses: what counts as the same published marts and what does not."""

from __future__ import annotations

from pathlib import Path

import duckdb

from partnerlens.compare import compare, snapshot


def _warehouse(path: Path, rows: list[tuple], run_id: str = "run-a") -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_credits (credit_id varchar, share double, amount decimal(18,4), booked_in_run varchar)"
    )
    con.executemany("insert into marts.fct_credits values (?, ?, ?, ?)", [(*r, run_id) for r in rows])
    con.close()
    return path


ROWS = [("a", 1 / 3, "10.0000"), ("b", 2 / 3, "20.0000"), ("c", 0.5, "2912.6666")]


def test_same_rows_in_another_order_from_another_run_are_identical(tmp_path: Path) -> None:
    a = _warehouse(tmp_path / "a.duckdb", ROWS)
    b = _warehouse(tmp_path / "b.duckdb", list(reversed(ROWS)), run_id="run-b")
    result = compare(a, b)
    assert result.equal, result.differences
    assert result.marts == ["fct_credits"]


def test_float_noise_and_one_unit_of_a_decimal_are_tolerated(tmp_path: Path) -> None:
    noisy = [("a", 1 / 3 + 1e-15, "10.0000"), ("b", 2 / 3, "20.0000"), ("c", 0.5, "2912.6667")]
    assert compare(_warehouse(tmp_path / "a.duckdb", ROWS), _warehouse(tmp_path / "b.duckdb", noisy)).equal


def test_a_changed_value_a_missing_row_and_a_missing_mart_are_reported(tmp_path: Path) -> None:
    a = _warehouse(tmp_path / "a.duckdb", ROWS)
    changed = _warehouse(tmp_path / "b.duckdb", [("a", 1 / 3, "10.0000"), ("b", 2 / 3, "20.0100"), ROWS[2]])
    result = compare(a, changed)
    assert not result.equal
    assert [d.mart for d in result.differences] == ["fct_credits"]
    assert "amount" in result.differences[0].problem
    assert abs(result.max_abs_difference - 0.01) < 1e-9

    shorter = compare(a, _warehouse(tmp_path / "c.duckdb", ROWS[:2]))
    assert [d.problem for d in shorter.differences] == ["3 rows against 2"]

    empty = tmp_path / "d.duckdb"
    duckdb.connect(str(empty)).execute("create schema marts").close()
    assert [d.problem for d in compare(a, empty).differences] == ["missing from the second"]


def test_a_snapshot_compares_like_the_warehouse_it_was_taken_from(tmp_path: Path) -> None:
    a = _warehouse(tmp_path / "a.duckdb", ROWS)
    assert snapshot(a, tmp_path / "snap") == ["fct_credits"]
    assert compare(tmp_path / "snap", a).equal
    changed = _warehouse(tmp_path / "b.duckdb", [("a", 0.25, "10.0000"), *ROWS[1:]])
    assert not compare(tmp_path / "snap", changed).equal

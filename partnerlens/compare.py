"""Compare the published marts of two warehouses, or of a warehouse and a saved snapshot of its marts.

Used to show that a change of structure leaves every published number as it was, and that an incremental night
equals a full rebuild:

    python -m partnerlens.compare snapshot WAREHOUSE DIR   # write each published mart to DIR/<mart>.parquet

Both open their files read-only: point them at served files (``<warehouse>_served.duckdb``), which no run ever holds.
    python -m partnerlens.compare diff A B                 # A and B: warehouse or served files, or snapshots
    python -m partnerlens.compare snapshot-postgres SCHEMA DIR --like WAREHOUSE
                                                           # the same marts of a PostgreSQL schema (PARTNERLENS_PG_*)

Rows are compared as multisets after sorting on every column; numbers within a tolerance relative to their size
(1e-9 unless --tolerance says otherwise), and fixed-point decimals within one unit of their last place: DuckDB sums
in parallel, so the order of a sum (and with it the rounding of a decimal(18,4) that is half-way) can differ between
two runs on the same data. Columns that name a run or the moment something was loaded or booked (run ids,
`booked_in_run`, payout and statement line ids, which hash the booking run,
`*_loaded_at`, `booked_at`) differ between any two runs and are left out.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

PUBLISHED_SCHEMA = "marts"
VOLATILE_SUFFIXES = ("_loaded_at", "booked_at", "_run_id")
# Payout line ids hash the booking run into the id, so a line booked by another run has another id.
VOLATILE_NAMES = frozenset({"run_id", "booked_in_run", "payout_line_id", "statement_line_id"})


def _volatile(column: str) -> bool:
    return column in VOLATILE_NAMES or column.endswith(VOLATILE_SUFFIXES)


@dataclass
class MartDifference:
    mart: str
    problem: str


@dataclass
class Comparison:
    marts: list[str] = field(default_factory=list)
    differences: list[MartDifference] = field(default_factory=list)
    max_abs_difference: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.differences


def published_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by table_name",
        [PUBLISHED_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _frames_of_warehouse(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        # Through Arrow, so that decimals stay decimals (their scale sets the comparison's unit).
        return {
            m: con.sql(f'select * from "{PUBLISHED_SCHEMA}"."{m}"').to_arrow_table().to_pandas()
            for m in published_marts(con)
        }
    finally:
        con.close()


def _frames_of_snapshot(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pq.read_table(p).to_pandas() for p in sorted(folder.glob("*.parquet"))}


def load_marts(source: Path) -> dict[str, pd.DataFrame]:
    """The published marts of a warehouse file, or of a snapshot folder written by `snapshot`."""
    return _frames_of_snapshot(source) if source.is_dir() else _frames_of_warehouse(source)


def snapshot(warehouse: Path, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    frames = _frames_of_warehouse(warehouse)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return sorted(frames)


def snapshot_postgres(schema: str, folder: Path, marts: list[str]) -> list[str]:
    """Write each of `marts` from the PostgreSQL schema `schema` (the database of PARTNERLENS_PG_*) to
    DIR/<mart>.parquet, with the same exact types as a DuckDB snapshot, so that `diff` compares the two engines."""
    from orchestration.warehouse.postgres import connect, copy_to_duckdb

    folder.mkdir(parents=True, exist_ok=True)
    pg = connect()
    duck = duckdb.connect()
    try:
        for mart in marts:
            copy_to_duckdb(pg, schema, mart, duck, f'"{mart}"')
            duck.sql(f'select * from "{mart}"').to_arrow_table().to_pandas().to_parquet(
                folder / f"{mart}.parquet", index=False
            )
        pg.rollback()
    finally:
        duck.close()
        pg.close()
    return sorted(marts)


def _normalised(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Stable columns only, rows in a canonical order: sorted on the exact (non-float) columns first, which hold the
    keys, then on floats rounded to 9 decimals, so that noise in the last bits of a float cannot reorder rows."""
    keep = sorted(c for c in frame.columns if not _volatile(c))
    out = frame[keep].copy()
    units: dict[str, float] = {}
    for column in keep:
        series = out[column]
        if series.dtype == object and series.map(lambda v: isinstance(v, Decimal)).any():
            exponents = [v.as_tuple().exponent for v in series if isinstance(v, Decimal)]
            units[column] = 10.0 ** min(exponents) if exponents else 0.0
            out[column] = series.map(lambda v: None if v is None else float(v))
    floats = [c for c in keep if pd.api.types.is_float_dtype(out[c])]
    exact = [c for c in keep if c not in floats]
    if not keep:
        return out, units
    keys = out[exact].copy()
    for column in floats:
        keys[f"__sort_{column}"] = out[column].round(9)
    order = keys.sort_values(list(keys.columns), na_position="last", kind="mergesort").index
    return out.loc[order].reset_index(drop=True), units


def _compare_values(a: object, b: object, tolerance: float, unit: float = 0.0) -> tuple[bool, float]:
    a_null = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NaT or a is pd.NA
    b_null = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NaT or b is pd.NA
    if a_null or b_null:
        return a_null and b_null, 0.0
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        diff = abs(float(a) - float(b))
        allowed = max(tolerance * max(1.0, abs(float(a)), abs(float(b))), unit * (1 + 1e-6))
        return diff <= allowed, diff
    return a == b, 0.0


def compare_frames(
    name: str, a: pd.DataFrame, b: pd.DataFrame, tolerance: float, last_place: bool = True
) -> tuple[list[str], float]:
    """Differences between two versions of a mart (at most one per column) and the largest numeric difference.
    With last_place=False a decimal may differ only within the tolerance, not by one unit of its last place."""
    problems: list[str] = []
    if len(a) != len(b):
        return [f"{len(a)} rows against {len(b)}"], 0.0
    (na, units), (nb, _) = _normalised(a), _normalised(b)
    if list(na.columns) != list(nb.columns):
        return [f"columns differ: {sorted(set(na.columns) ^ set(nb.columns))}"], 0.0
    worst = 0.0
    for column in na.columns:
        unit = units.get(column, 0.0) if last_place else 0.0
        candidates, column_worst = _candidate_rows(na[column], nb[column], tolerance, unit)
        worst = max(worst, column_worst)
        xs, ys = na[column].to_numpy(), nb[column].to_numpy()
        for row in candidates:
            same, diff = _compare_values(xs[row], ys[row], tolerance, unit)
            worst = max(worst, diff)
            if not same:
                problems.append(f"column {column}, sorted row {row}: {xs[row]!r} against {ys[row]!r}")
                break
    return problems, worst


def _candidate_rows(x: pd.Series, y: pd.Series, tolerance: float, unit: float) -> tuple[np.ndarray, float]:
    """The rows where two aligned columns may differ (each is then judged by _compare_values, which has the last
    word), found column-wise so that millions of rows compare in a second; and the largest numeric difference of
    the rows that agree in being null or not."""
    x_null, y_null = x.isna().to_numpy(), y.isna().to_numpy()
    both = ~x_null & ~y_null
    numeric = all(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) for s in (x, y))
    if numeric:
        xv = x.to_numpy(dtype=float, na_value=np.nan)
        yv = y.to_numpy(dtype=float, na_value=np.nan)
        diff = np.where(both, np.abs(xv - yv), 0.0)
        allowed = np.maximum(tolerance * np.maximum(1.0, np.maximum(np.abs(xv), np.abs(yv))), unit * (1 + 1e-6))
        suspect = (x_null != y_null) | (both & ~(diff <= np.where(both, allowed, np.inf)))
        return np.flatnonzero(suspect), float(diff.max()) if len(diff) else 0.0
    xv, yv = x.to_numpy(dtype=object), y.to_numpy(dtype=object)
    unequal = np.zeros(len(xv), dtype=bool)
    if both.any():
        unequal[both] = xv[both] != yv[both]
    return np.flatnonzero((x_null != y_null) | unequal), 0.0


def compare(a: Path, b: Path, tolerance: float = 1e-9, last_place: bool = True) -> Comparison:
    frames_a, frames_b = load_marts(a), load_marts(b)
    result = Comparison(marts=sorted(set(frames_a) | set(frames_b)))
    for mart in result.marts:
        if mart not in frames_a or mart not in frames_b:
            where = "first" if mart not in frames_a else "second"
            result.differences.append(MartDifference(mart, f"missing from the {where}"))
            continue
        problems, worst = compare_frames(mart, frames_a[mart], frames_b[mart], tolerance, last_place)
        result.max_abs_difference = max(result.max_abs_difference, worst)
        result.differences.extend(MartDifference(mart, p) for p in problems)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m partnerlens.compare", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="write every published mart of WAREHOUSE to DIR/<mart>.parquet")
    snap.add_argument("warehouse", type=Path)
    snap.add_argument("folder", type=Path)
    snap_pg = sub.add_parser(
        "snapshot-postgres", help="write the marts that WAREHOUSE publishes, read from a PostgreSQL schema, to DIR"
    )
    snap_pg.add_argument("schema")
    snap_pg.add_argument("folder", type=Path)
    snap_pg.add_argument("--like", type=Path, required=True, help="the DuckDB warehouse whose published marts to read")
    diff = sub.add_parser("diff", help="compare the published marts of A and B (warehouse files or snapshot folders)")
    diff.add_argument("a", type=Path)
    diff.add_argument("b", type=Path)
    diff.add_argument("--tolerance", type=float, default=1e-9, help="absolute tolerance for numbers (default: 1e-9)")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        names = snapshot(args.warehouse, args.folder)
        print(f"{len(names)} marts written to {args.folder}")
        return 0
    if args.command == "snapshot-postgres":
        con = duckdb.connect(str(args.like), read_only=True)
        try:
            marts = published_marts(con)
        finally:
            con.close()
        names = snapshot_postgres(args.schema, args.folder, marts)
        print(f"{len(names)} marts written to {args.folder}")
        return 0
    result = compare(args.a, args.b, args.tolerance)
    for d in result.differences:
        print(f"{d.mart}: {d.problem}")
    rows = len(result.marts)
    verdict = "identical" if result.equal else f"{len(result.differences)} differences"
    print(f"{rows} marts compared: {verdict} (largest numeric difference {result.max_abs_difference:.3g})")
    return 0 if result.equal else 1


if __name__ == "__main__":
    sys.exit(main())

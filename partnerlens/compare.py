"""Compare the published marts of two warehouses, or of a warehouse and a saved snapshot of its marts.

Used to show that a change of structure leaves every published number as it was, and that an incremental night
equals a full rebuild:

    python -m partnerlens.compare snapshot WAREHOUSE DIR   # write each published mart to DIR/<mart>.parquet
    python -m partnerlens.compare diff A B                 # A and B: warehouse files or snapshot folders

Rows are compared as multisets after sorting on every column; numbers within an absolute tolerance (1e-9 unless
--tolerance says otherwise). Columns that name a run or the moment something was loaded or booked (run ids,
`booked_in_run`, `*_loaded_at`, `booked_at`) differ between any two runs and are left out.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

PUBLISHED_SCHEMA = "marts"
VOLATILE_SUFFIXES = ("_loaded_at", "booked_at", "_run_id")
VOLATILE_NAMES = frozenset({"run_id", "booked_in_run"})


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
        return {m: con.execute(f'select * from "{PUBLISHED_SCHEMA}"."{m}"').df() for m in published_marts(con)}
    finally:
        con.close()


def _frames_of_snapshot(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def load_marts(source: Path) -> dict[str, pd.DataFrame]:
    """The published marts of a warehouse file, or of a snapshot folder written by `snapshot`."""
    return _frames_of_snapshot(source) if source.is_dir() else _frames_of_warehouse(source)


def snapshot(warehouse: Path, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    frames = _frames_of_warehouse(warehouse)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return sorted(frames)


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    keep = sorted(c for c in frame.columns if not _volatile(c))
    out = frame[keep].copy()
    for column in keep:
        series = out[column]
        if series.dtype == object and series.map(lambda v: isinstance(v, Decimal)).any():
            out[column] = series.map(lambda v: None if v is None else float(v))
    if keep:
        out = out.sort_values(keep, na_position="last", kind="mergesort").reset_index(drop=True)
    return out


def _compare_values(a: object, b: object, tolerance: float) -> tuple[bool, float]:
    a_null = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NaT or a is pd.NA
    b_null = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NaT or b is pd.NA
    if a_null or b_null:
        return a_null and b_null, 0.0
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        diff = abs(float(a) - float(b))
        return diff <= tolerance, diff
    return a == b, 0.0


def compare_frames(name: str, a: pd.DataFrame, b: pd.DataFrame, tolerance: float) -> tuple[list[str], float]:
    problems: list[str] = []
    if len(a) != len(b):
        return [f"{len(a)} rows against {len(b)}"], 0.0
    na, nb = _normalised(a), _normalised(b)
    if list(na.columns) != list(nb.columns):
        return [f"columns differ: {sorted(set(na.columns) ^ set(nb.columns))}"], 0.0
    worst = 0.0
    for column in na.columns:
        for row, (x, y) in enumerate(zip(na[column].tolist(), nb[column].tolist(), strict=True)):
            same, diff = _compare_values(x, y, tolerance)
            worst = max(worst, diff)
            if not same:
                problems.append(f"column {column}, sorted row {row}: {x!r} against {y!r}")
                break
    return problems, worst


def compare(a: Path, b: Path, tolerance: float = 1e-9) -> Comparison:
    frames_a, frames_b = load_marts(a), load_marts(b)
    result = Comparison(marts=sorted(set(frames_a) | set(frames_b)))
    for mart in result.marts:
        if mart not in frames_a or mart not in frames_b:
            where = "first" if mart not in frames_a else "second"
            result.differences.append(MartDifference(mart, f"missing from the {where}"))
            continue
        problems, worst = compare_frames(mart, frames_a[mart], frames_b[mart], tolerance)
        result.max_abs_difference = max(result.max_abs_difference, worst)
        result.differences.extend(MartDifference(mart, p) for p in problems)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m partnerlens.compare", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="write every published mart of WAREHOUSE to DIR/<mart>.parquet")
    snap.add_argument("warehouse", type=Path)
    snap.add_argument("folder", type=Path)
    diff = sub.add_parser("diff", help="compare the published marts of A and B (warehouse files or snapshot folders)")
    diff.add_argument("a", type=Path)
    diff.add_argument("b", type=Path)
    diff.add_argument("--tolerance", type=float, default=1e-9, help="absolute tolerance for numbers (default: 1e-9)")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        names = snapshot(args.warehouse, args.folder)
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

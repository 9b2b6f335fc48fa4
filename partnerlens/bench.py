"""The benchmark: wall time and peak memory of each stage of a nightly run at given scales.

    python -m partnerlens.bench 1000000 10000000      (what `make bench` runs)

For each scale it generates a partner ecosystem, runs the full nightly job on a fresh warehouse, then adds one more
day of data and runs the nightly job again (an incremental build), then runs it once more with nothing new (the build
and publish are skipped). Stages are the job's steps grouped as load, gate, build, publish and share; a sampler thread
records the resident memory of this process and its children (dbt runs as a subprocess) every 50 ms, and each stage's
peak is the highest sample inside its steps' time windows.

The floor (partnerlens.bench_floor) is measured first on the same landed files: DuckDB alone reading every file
once, resolving touches to customers and joining conversions to their 30 days of touches. Every end-to-end figure
is given as a multiple of it. Last, one partner's touchpoints file of a later day lands, the landing sensor's real
evaluation requests a run and the nightly job runs it: the time from the file's arrival to the rewritten served
file (the sensor's polling interval comes on top in production).

The check: a copy of the warehouse as the full night left it runs the same second night as a full refresh
(`--full-refresh`, on the same landed files), and every published mart of the incremental night must equal it (row
counts exact, numbers within 1e-9; partnerlens.compare). The full refresh's time is reported too, not measured
against the targets.

The scores: after the full night, every attribution model's row of mart_attribution_model_scores (rank correlation
and share error against the generator's true incremental conversions), read from the served warehouse. The data is
generated with ``--truth hard`` (intent-targeting partners, see partnerlens.synthetic) unless ``--truth standard``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil

from partnerlens.bench_floor import measure_floor

STAGES = ("generate", "load", "gate", "build", "publish", "share")


class MemorySampler:
    """Samples the RSS of this process tree (MiB) with timestamps, in a background thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._process = psutil.Process()

    def _tree_rss(self) -> float:
        total = 0
        for proc in [self._process, *self._process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._tree_rss()))
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> float:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=0.0)


@dataclass
class StageFigure:
    seconds: float = 0.0
    peak_mib: float = 0.0
    windows: list[tuple[float, float]] = field(default_factory=list)


def stage_of(step_key: str) -> str:
    """Which benchmark stage a step of the nightly job belongs to."""
    if step_key.startswith("raw__"):
        return "load"
    if step_key.startswith("partnerlens_dbt"):
        return "build"
    if step_key.startswith("published__"):
        return "publish"
    if step_key.startswith("share__"):
        return "share"
    return "gate"


def step_windows(instance, run_id: str) -> dict[str, list[tuple[float, float]]]:
    """Start and end time of every step of a finished run, by stage, from the run's event log."""
    starts: dict[str, float] = {}
    windows: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            windows[stage_of(event.step_key)].append((starts[event.step_key], entry.timestamp))
    return windows


def measure_run(
    sampler: MemorySampler, dbt_vars: dict | None = None, full_refresh: bool = False
) -> tuple[dict[str, StageFigure], float, bool]:
    from partnerlens.runner import dagster_instance, run_nightly

    instance = dagster_instance()
    started = time.time()
    result = run_nightly(dbt_vars=dbt_vars, instance=instance, full_refresh=full_refresh)
    wall = time.time() - started
    figures: dict[str, StageFigure] = {}
    for stage, windows in step_windows(instance, result.run_id).items():
        if not windows:
            continue
        figure = StageFigure(windows=windows)
        figure.seconds = sum(end - start for start, end in windows)
        figure.peak_mib = max(sampler.peak(start, end) for start, end in windows)
        figures[stage] = figure
    return figures, wall, result.success


def stage_rows(run: str, figures: dict[str, StageFigure]) -> list[list[str]]:
    return [
        [run, stage, f"{figures[stage].seconds:.1f}", f"{figures[stage].peak_mib:,.0f}", ""]
        for stage in STAGES[1:]
        if stage in figures
    ]


def end_to_end(run: str, figures: dict[str, StageFigure], wall: float, ok: bool, note: str) -> list[str]:
    peak = max((f.peak_mib for f in figures.values()), default=0.0)
    return [run, "nightly run (end to end)", f"{wall:.1f}", f"{peak:,.0f}", note + ("" if ok else " (FAILED)")]


def copy_warehouse(source: Path, target: Path) -> None:
    """Copy a warehouse file (and its write-ahead log, if any) that no process holds."""
    shutil.copy(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy(wal, target.with_name(target.name + ".wal"))


def equality_check(incremental: Path, reference: Path) -> str:
    """Every published mart of the incremental night against the full refresh of the same night."""
    from partnerlens.compare import compare

    result = compare(incremental, reference, tolerance=1e-9)
    if result.equal:
        return (
            f"yes: {len(result.marts)} marts identical (row counts exact; largest numeric difference "
            f"{result.max_abs_difference:.2g})"
        )
    shown = "; ".join(f"{d.mart}: {d.problem}" for d in result.differences[:5])
    return f"NO: {len(result.differences)} differences ({shown})"


def one_file_through_sensor(
    sampler: MemorySampler, workdir: Path, landing: Path, generator: dict, day: date
) -> tuple[dict[str, StageFigure], float, bool, str]:
    """One partner's touchpoints file of `day` lands; the landing sensor (its real evaluation) requests a run, and the
    nightly job runs it. The wall time runs from the file's arrival to the end of the run; the note says when its rows
    reached the served file (publish rewrites it; the scorecards come after). Polling is excluded (the sensor's
    interval is added to it in production)."""
    import dagster as dg

    from orchestration.defs.sensors import landing_sensor
    from orchestration.paths import served_path
    from partnerlens.synthetic import generate

    staging = workdir / "next_delivery"
    generate(staging, **generator, end_date=day, since=day)
    candidates = sorted(staging.glob("P*/touchpoints/*"), key=lambda path: path.stat().st_size)
    if not candidates:
        return {}, 0.0, False, "no touchpoints file to land"
    chosen = candidates[-1]
    first = dg.build_sensor_context(cursor=None)
    landing_sensor(first)  # the tick before the file: its cursor is the newest file already landed
    cursor = first.cursor
    target = landing / chosen.relative_to(staging)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    shutil.copy(chosen, target)
    request = landing_sensor(dg.build_sensor_context(cursor=cursor))
    if not isinstance(request, dg.RunRequest):
        return {}, time.time() - started, False, f"the sensor did not request a run: {request}"
    figures, run_wall, ok = measure_run(sampler)
    wall = time.time() - started
    served = served_path()
    rewritten = served.exists() and served.stat().st_mtime >= started
    reached = f"in the served file after {served.stat().st_mtime - started:.1f} s" if rewritten else "NOT served"
    note = f"a file of {target.stat().st_size:,} bytes, {reached}"
    shutil.rmtree(staging, ignore_errors=True)
    return figures, wall, ok and rewritten, note


def table(rows: list[list[str]], headers: list[str]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


SCORE_HEADERS = ["model", "rank", "rank correlation", "share total variation", "share mean absolute error"]


def model_scores(served: Path) -> list[list[str]]:
    """Every attribution model's score against the ground truth, best first, from a served warehouse."""
    import duckdb

    con = duckdb.connect(str(served), read_only=True)
    try:
        rows = con.sql(
            "select attribution_model, model_rank, spearman_rank_correlation, share_total_variation, "
            "share_mean_absolute_error from marts.mart_attribution_model_scores order by model_rank"
        ).fetchall()
    finally:
        con.close()

    def number(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    return [[m, str(rank), number(rho, 3), number(tv, 3), number(mae, 4)] for m, rank, rho, tv, mae in rows]


def bench_scale(touchpoints: int, workdir: Path, seed: int = 7, truth: str = "hard") -> str:
    from partnerlens.synthetic import generate

    landing = workdir / "landing"
    warehouse = workdir / "warehouse.duckdb"
    os.environ["PARTNERLENS_WAREHOUSE"] = str(warehouse)
    os.environ["PARTNERLENS_LANDING"] = str(landing)
    partners = max(50, touchpoints // 100_000)
    end = datetime.now(UTC).date() - timedelta(days=2)
    rows: list[list[str]] = []
    with MemorySampler() as sampler:
        t0 = time.time()
        summary = generate(landing, seed=seed, touchpoints=touchpoints, partners=partners, end_date=end, truth=truth)
        gen_seconds = time.time() - t0
        gen_peak = sampler.peak(t0, time.time())
        touch_rows = summary.rows.get("touchpoints", touchpoints) if hasattr(summary, "rows") else touchpoints
        rows.append(["full", "generate", f"{gen_seconds:.1f}", f"{gen_peak:,.0f}", f"{touch_rows / gen_seconds:,.0f}"])

        floor = measure_floor(landing)
        rows.append(["floor", "read every landed file", f"{floor.read_seconds:.1f}", "", ""])
        rows.append(["floor", "resolve touches, join conversions to 30 days", f"{floor.paths_seconds:.1f}", "", ""])
        rows.append(["floor", "total", f"{floor.seconds:.1f}", "", f"{floor.touches / floor.seconds:,.0f}"])

        full, full_wall, ok = measure_run(sampler)
        for stage in STAGES[1:]:
            if stage in full:
                f = full[stage]
                rows.append(["full", stage, f"{f.seconds:.1f}", f"{f.peak_mib:,.0f}", f"{touch_rows / f.seconds:,.0f}"])
        full_peak = max((f.peak_mib for f in full.values()), default=0.0)
        rows.append(
            [
                "full",
                "nightly run (end to end)",
                f"{full_wall:.1f}",
                f"{full_peak:,.0f}",
                f"{touch_rows / full_wall:,.0f}; {full_wall / floor.seconds:.1f}x floor" + ("" if ok else " (FAILED)"),
            ]
        )

        from orchestration.paths import served_path

        scores = model_scores(served_path(warehouse)) if ok else []

        # the full night's warehouse, copied before the second night: the full-refresh reference of the check
        reference = workdir / "reference.duckdb"
        copy_warehouse(warehouse, reference)
        generate(
            landing,
            seed=seed,
            touchpoints=touchpoints,
            partners=partners,
            end_date=end + timedelta(days=1),
            since=end + timedelta(days=1),
            truth=truth,
        )
        incr, incr_wall, ok2 = measure_run(sampler)
        rows += stage_rows("incremental (+1 day)", incr)
        note = f"{incr_wall / full_wall:.0%} of full; {incr_wall / floor.seconds:.1f}x floor"
        rows.append(end_to_end("incremental (+1 day)", incr, incr_wall, ok2, note))

        idle, idle_wall, ok3 = measure_run(sampler)
        rows += stage_rows("nothing new", idle)
        note = f"{idle_wall / full_wall:.0%} of full; {idle_wall / floor.seconds:.1f}x floor"
        rows.append(end_to_end("nothing new", idle, idle_wall, ok3, note))

        os.environ["PARTNERLENS_WAREHOUSE"] = str(reference)
        refreshed, refresh_wall, ok4 = measure_run(sampler, full_refresh=True)
        os.environ["PARTNERLENS_WAREHOUSE"] = str(warehouse)
        rows.append(end_to_end("full refresh (+1 day, the check)", refreshed, refresh_wall, ok4, ""))
        check = equality_check(warehouse, reference) if ok2 and ok4 else "not checked: a run failed"

        generator = {"seed": seed, "touchpoints": touchpoints, "partners": partners, "truth": truth}
        sensed, sensed_wall, ok5, sensed_note = one_file_through_sensor(
            sampler, workdir, landing, generator, end + timedelta(days=2)
        )
        rows += stage_rows("one new file (sensor)", sensed)
        rows.append(
            end_to_end(
                "one new file (sensor)",
                sensed,
                sensed_wall,
                ok5,
                f"{sensed_note}; {sensed_wall / floor.seconds:.1f}x floor",
            )
        )
    header = (
        f"### {touchpoints:,} touchpoints ({partners} partners, truth {truth}), {date.today().isoformat()}, "
        f"{os.cpu_count()} cores"
    )
    scored = table(scores, SCORE_HEADERS) if scores else "not scored: the full night failed"
    return (
        header
        + "\n\n"
        + table(rows, ["run", "stage", "wall s", "peak MiB", "touchpoints/s"])
        + f"\n\nIncremental equals full: {check}"
        + "\n\nAttribution models against the true incremental conversions (full night):\n\n"
        + scored
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partnerlens.bench", description=__doc__)
    parser.add_argument("scales", nargs="*", type=int, default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", help="where to put the generated data and warehouse (default: a temp dir)")
    parser.add_argument("--out", default="bench/results/latest.md")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and warehouse")
    parser.add_argument(
        "--truth", choices=["standard", "hard"], default="hard", help="the generator's ground truth (default: hard)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="partnerlens-bench-dagster-"))
    sections = []
    for scale in args.scales:
        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="partnerlens-bench-")) / f"scale_{scale}"
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        section = bench_scale(scale, workdir, truth=args.truth)
        print(section + "\n", flush=True)
        sections.append(section)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Partnerlens benchmark\n\n" + "\n\n".join(sections) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

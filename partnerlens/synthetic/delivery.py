"""One delivery: ``generate()`` writes a full delivery, or an incremental one for ``since .. end_date``.

A full delivery writes every feed for the ``days`` UTC days ending at ``end_date``. An incremental delivery
(``since``) writes the window ``[since, end_date]``: touchpoints, conversions and costs of the window, the
opportunities created or changed in it (their state at the end of the window) and the customers created in it;
the master feeds are not repeated (the full delivery already lists campaigns and agreement versions planned up to
``PLANNING_DAYS`` after its ``end_date``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np

from partnerlens.synthetic.ground_truth import true_campaign_increments, true_increments, write_ground_truth
from partnerlens.synthetic.output import Output
from partnerlens.synthetic.plan import make_plan
from partnerlens.synthetic.simulate.conversions import write_conversions
from partnerlens.synthetic.simulate.costs import write_costs
from partnerlens.synthetic.simulate.customers import simulate_customers, write_customers
from partnerlens.synthetic.simulate.opportunities import write_opportunities
from partnerlens.synthetic.simulate.touchpoints import write_touchpoints
from partnerlens.synthetic.vocabulary import COLUMNS
from partnerlens.synthetic.world import build_world
from partnerlens.synthetic.world.masters import write_masters


@dataclass
class GenerateSummary:
    """What one ``generate()`` call wrote."""

    out_dir: Path
    window_start: date
    window_end: date
    incremental: bool
    files: list[str]
    rows: dict[str, int]
    dirty_rows: dict[str, int]
    wall_seconds: float

    def __str__(self) -> str:
        kind = "incremental delivery" if self.incremental else "full delivery"
        lines = [
            f"{kind} {self.window_start} .. {self.window_end} into {self.out_dir}: {len(self.files)} files "
            f"in {self.wall_seconds:.1f} s"
        ]
        for feed in sorted(self.rows):
            lines.append(f"  {feed:<18} {self.rows[feed]:>12,} rows  ({self.dirty_rows.get(feed, 0):,} dirty)")
        return "\n".join(lines)


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    touchpoints: int = 200_000,
    partners: int = 50,
    days: int = 180,
    end_date: date | None = None,
    dirty_share: float = 0.01,
    since: date | None = None,
    formats: str = "mixed",
    truth: str = "standard",
) -> GenerateSummary:
    """Write a synthetic partner ecosystem into ``out_dir`` (see :mod:`partnerlens.synthetic` for layout and rules).

    Deterministic from the arguments (when ``end_date`` is before today). Customers are simulated in calendar
    blocks of at most ``plan.CHUNK_CUSTOMERS`` and appended to the files block by block, so memory stays flat.
    """
    started = time.perf_counter()
    plan = make_plan(seed, touchpoints, partners, days, end_date, dirty_share, since, formats, datetime.now(UTC), truth)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    world = build_world(plan)
    out = Output(root, plan.tag)
    if not plan.incremental:
        write_masters(out, plan, world)
    for p in range(len(world.partners)):
        out.open("touchpoints", world.partners.ids[p], world.partners.touch_formats[p])
    for feed in ("customers", "conversions", "opportunities"):
        out.open(feed, "internal", "csv")
    increments = np.zeros(len(world.partners))
    campaign_increments = np.zeros((len(world.partners), len(world.campaigns.ids) + 1))
    con = duckdb.connect()
    try:
        for block in plan.blocks():
            cust = simulate_customers(plan, world, block)
            write_customers(out, plan, world, cust)
            touches = write_touchpoints(out, plan, world, cust, con) if plan.block_has_touches(block) else None
            write_conversions(out, plan, world, cust)
            write_opportunities(out, plan, world, cust)
            increments += true_increments(plan, world, cust)
            campaign_increments += true_campaign_increments(plan, world, cust, touches)
    finally:
        con.close()
    write_costs(out, plan, world)
    files = out.close()
    rows = {
        feed: sum(n for rel, n in files.items() if out.feed_of[rel] == feed)
        for feed in sorted(COLUMNS)
        if any(out.feed_of[rel] == feed for rel in files)
    }
    dirty = {feed: sum(1 for d in out.dirty if d[0] == feed) for feed in rows}
    write_ground_truth(root, plan, world, increments, campaign_increments, files, out, rows, dirty)
    return GenerateSummary(
        root,
        plan.window_start,
        plan.end_date,
        plan.incremental,
        list(files),
        rows,
        dirty,
        time.perf_counter() - started,
    )


@dataclass
class CatchUp:
    """What :func:`catch_up` found in a landing folder, and the delivery it wrote (if any)."""

    last_day: date | None  # the last day of the newest delivery the folder's manifest lists (None: no manifest)
    summary: GenerateSummary | None  # the delivery written now, or None when there was nothing to write
    note: str


def catch_up(out_dir: Path, end_date: date | None = None) -> CatchUp:
    """Write the days a generated landing folder lacks, as the next night's delivery would bring them.

    Reads ``_ground_truth/manifest.json``: when the newest delivery ends before ``end_date`` (default yesterday,
    UTC), writes an incremental delivery from the day after it to ``end_date`` with the same arguments (seed,
    volume, partners, days, dirty share, formats, truth), so that the world goes on where it stopped. It writes at most
    ``PLANNING_DAYS`` after the newest full delivery (campaigns and agreement versions beyond that were never
    delivered). A folder without a manifest (feeds that were not generated here) is left as it is.
    """
    import json
    from datetime import timedelta

    from partnerlens.synthetic.parameters import PLANNING_DAYS

    end_date = end_date or (datetime.now(UTC).date() - timedelta(days=1))
    manifest_path = Path(out_dir) / "_ground_truth" / "manifest.json"
    try:
        deliveries = json.loads(manifest_path.read_text(encoding="utf-8")).get("deliveries") or {}
    except (OSError, ValueError):
        deliveries = {}
    if not deliveries:
        return CatchUp(None, None, "its feeds were not generated here (no manifest): the run loads what is new")
    newest = max(deliveries.values(), key=lambda d: d["window"]["end"])
    last_day = date.fromisoformat(newest["window"]["end"])
    full_ends = [date.fromisoformat(d["window"]["end"]) for d in deliveries.values() if not d.get("incremental")]
    horizon = max(full_ends, default=last_day) + timedelta(days=PLANNING_DAYS)
    until = min(end_date, horizon)
    if until <= last_day:
        why = "up to date" if end_date <= last_day else f"past the {PLANNING_DAYS} days its campaigns are planned for"
        return CatchUp(last_day, None, f"feeds up to {last_day} already landed ({why}): the run loads what is new")
    arguments = newest["arguments"]
    summary = generate(
        Path(out_dir),
        seed=int(arguments["seed"]),
        touchpoints=int(arguments["touchpoints"]),
        partners=int(arguments["partners"]),
        days=int(arguments["days"]),
        end_date=until,
        dirty_share=float(arguments["dirty_share"]),
        since=last_day + timedelta(days=1),
        formats=str(arguments["formats"]),
        truth=str(arguments.get("truth", "standard")),
    )
    return CatchUp(last_day, summary, f"the next delivery after {last_day}")

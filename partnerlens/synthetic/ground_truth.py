"""The ground truth beside the feeds: each partner's true effect, the dirty rows, and a manifest of deliveries.

Everything is written under ``<out_dir>/_ground_truth/`` (the loader ignores folders starting with ``_``).
``partner_effects.csv`` (``partner_effects_<first>_<last>.csv`` for an incremental delivery) holds each partner's
true lift and its true incremental conversions among the customers deciding in the window; ``campaign_effects.csv``
splits them per joint campaign (a partner's increment for a customer shared equally among its touches of that
customer, by the touch's campaign; an empty campaign_id for touches of no campaign); ``dirty_rows.csv`` lists
every injected defect of every delivery in the folder; ``manifest.json`` records each delivery's arguments, window,
files and row counts.
"""

from __future__ import annotations

import contextlib
import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from partnerlens.synthetic.output import Output
from partnerlens.synthetic.parameters import BASE_LOG_ODDS
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.simulate.customers import Customers
from partnerlens.synthetic.streams import sigmoid
from partnerlens.synthetic.world import World


def true_increments(plan: Plan, world: World, cust: Customers) -> np.ndarray:
    """Per partner: sum over customers deciding in the window of p(convert | S) - p(convert | S without it)."""
    sel = ~cust.organic & (cust.t_dec >= plan.lo_ts) & (cust.t_dec <= plan.cut_ts)
    cand, distinct, lift_sum = cust.cand[sel], cust.distinct[sel], cust.lift_sum[sel]
    full = sigmoid(BASE_LOG_ODDS + lift_sum)
    without = sigmoid(BASE_LOG_ODDS + lift_sum[:, None] - world.partners.lift[cand])
    delta = full[:, None] - without
    return np.bincount(cand[distinct], weights=delta[distinct], minlength=len(world.partners))


def true_campaign_increments(
    plan: Plan, world: World, cust: Customers, touches: dict[str, np.ndarray] | None
) -> np.ndarray:
    """Per partner and campaign (column 0: touches of no campaign, column c + 1: campaign c): each partner's true
    increment for a customer deciding in the window, split equally among that partner's touches of the customer by
    the touch's campaign. Rows sum to :func:`true_increments` (intent partners' touches carry 0)."""
    result = np.zeros((len(world.partners), len(world.campaigns.ids) + 1))
    if touches is None or not len(touches["ci"]):
        return result
    sel = ~cust.organic & (cust.t_dec >= plan.lo_ts) & (cust.t_dec <= plan.cut_ts)
    full = sigmoid(BASE_LOG_ODDS + cust.lift_sum)
    without = sigmoid(BASE_LOG_ODDS + cust.lift_sum[:, None] - world.partners.lift[cust.cand])
    delta = np.where(cust.distinct & sel[:, None], full[:, None] - without, 0.0)  # customer x candidate slot
    ci, partner, campaign = touches["ci"], touches["partner"], touches["campaign"]
    match = (cust.cand[ci] == partner[:, None]) & cust.distinct[ci]
    own = match.any(axis=1)
    weight = np.where(own, delta[ci, np.argmax(match, axis=1)], 0.0)
    pair = ci * len(world.partners) + partner
    _, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
    weight = weight / counts[inverse]
    cell = partner * result.shape[1] + campaign + 1
    result += np.bincount(cell, weights=weight, minlength=result.size).reshape(result.shape)
    return result


def write_ground_truth(
    root: Path,
    plan: Plan,
    world: World,
    increments: np.ndarray,
    campaign_increments: np.ndarray,
    files: dict[str, int],
    out: Output,
    rows: dict[str, int],
    dirty: dict[str, int],
) -> None:
    """partner_effects, dirty_rows (merged over deliveries) and manifest under _ground_truth/."""
    truth_dir = root / "_ground_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    name = f"partner_effects_{plan.tag}.csv" if plan.incremental else "partner_effects.csv"
    total = increments.sum()
    with (truth_dir / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["partner_id", "true_lift", "true_incremental_conversions", "true_share"])
        for p, pid in enumerate(world.partners.ids):
            share = increments[p] / total if total > 0 else 0.0
            writer.writerow([pid, f"{world.partners.lift[p]:.6f}", f"{increments[p]:.4f}", f"{share:.6f}"])
    campaign_name = f"campaign_effects_{plan.tag}.csv" if plan.incremental else "campaign_effects.csv"
    with (truth_dir / campaign_name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["partner_id", "campaign_id", "true_incremental_conversions"])
        for p, c in zip(*np.nonzero(campaign_increments), strict=True):
            campaign_id = world.campaigns.ids[c - 1] if c > 0 else ""
            writer.writerow([world.partners.ids[p], campaign_id, f"{campaign_increments[p, c]:.4f}"])
    _merge_dirty_rows(truth_dir / "dirty_rows.csv", set(files), out.dirty)
    manifest_path = truth_dir / "manifest.json"
    manifest = {"generator": "partnerlens.synthetic", "deliveries": {}}
    if manifest_path.exists():
        with contextlib.suppress(ValueError):
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.setdefault("deliveries", {})[plan.tag] = {
        "arguments": {
            "seed": plan.seed,
            "touchpoints": plan.touchpoints,
            "partners": plan.partners,
            "days": plan.days,
            "end_date": plan.end_date.isoformat(),
            "since": plan.since.isoformat() if plan.since else None,
            "dirty_share": plan.dirty_share,
            "formats": plan.formats,
            "truth": plan.truth,
        },
        "incremental": plan.incremental,
        "window": {
            "start": plan.window_start.isoformat(),
            "end": plan.end_date.isoformat(),
            "cut_at": datetime.fromtimestamp(plan.cut_ts, UTC).isoformat(),
        },
        "ground_truth": name,
        "rows": rows,
        "dirty_rows": dirty,
        "files": files,
    }
    manifest["deliveries"] = dict(sorted(manifest["deliveries"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _merge_dirty_rows(path: Path, rewritten: set[str], new_rows: list[tuple[str, str, int, str]]) -> None:
    """dirty_rows.csv covers every delivery in the folder: keep entries of files not written by this run."""
    rows: list[tuple[str, str, int, str]] = []
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                if r["file"] not in rewritten:
                    rows.append((r["feed"], r["file"], int(r["row_number"]), r["defect"]))
    rows += new_rows
    rows.sort(key=lambda r: (r[1], r[2]))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["feed", "file", "row_number", "defect"])
        writer.writerows(rows)

"""B2B opportunities: deals opened during some B2B journeys, partner deal registrations, the CRM feed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.formatting import NULL, fmt_cents, fmt_timestamps, join, strs, take, to_cents, where
from partnerlens.synthetic.output import Output, table_of
from partnerlens.synthetic.parameters import DAY, FX, STAGE_FRACTIONS
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.vocabulary import CURRENCIES, LOST_STAGE, OPEN_STAGES, REGISTRATION_STATUSES, WON_STAGE
from partnerlens.synthetic.world import World

if TYPE_CHECKING:
    from partnerlens.synthetic.simulate.customers import Customers

_OPEN = len(OPEN_STAGES)  # stages 0 .. _OPEN - 1 are open, then closed_won and closed_lost


def simulate_opportunities(
    rng: np.random.Generator,
    n: int,
    organic: np.ndarray,
    b2b: np.ndarray,
    t0: np.ndarray,
    span: np.ndarray,
    kk: np.ndarray,
    cand: np.ndarray,
    currency: np.ndarray,
) -> dict[str, np.ndarray]:
    """B2B deals opened by some B2B contacts during their journey; partners register some of them."""
    has = b2b & (rng.random(n) < np.where(organic, 0.10, 0.15))
    created = np.where(organic, t0 + rng.random(n) * 5 * DAY, t0 + (0.1 + 0.8 * rng.random(n)) * span)
    created = created.astype(np.int64)
    cycle = (14 + rng.random(n) * 76) * DAY
    registered = has & ~organic & (rng.random(n) < 0.40)
    slot = (rng.random(n) * np.maximum(kk, 1)).astype(np.int64)
    reg_partner = np.where(registered, cand[np.arange(n), slot], -1)
    status = rng.choice(3, size=n, p=[0.70, 0.15, 0.15])
    registered_at = created - (rng.random(n) * 7 * DAY).astype(np.int64)
    valid_days = rng.choice(np.array([60, 90, 120]), size=n)
    win_p = 0.25 + 0.15 * (registered & (status == 0)) + 0.10 * ~organic
    won = rng.random(n) < win_p
    lost_after = rng.integers(0, _OPEN, n)  # last open stage reached by a lost deal
    stage_times = created[:, None] + (STAGE_FRACTIONS[None, :] * cycle[:, None]).astype(np.int64)
    reached = won[:, None] | (np.arange(_OPEN)[None, :] <= lost_after[:, None])
    close = np.where(won, stage_times[:, _OPEN], stage_times[np.arange(n), lost_after + 1])
    amount = np.exp(np.log(20_000) + 0.8 * rng.standard_normal(n)) * FX[currency]
    return {
        "has": has,
        "created": created,
        "registered": registered,
        "partner": reg_partner,
        "status": status,
        "registered_at": registered_at,
        "expires_at": registered_at + valid_days * DAY,
        "won": won,
        "stage_times": stage_times[:, :_OPEN],
        "reached": reached,
        "close": close,
        "amount_cents": to_cents(np.round(amount, -2), currency),
    }


def write_opportunities(out: Output, plan: Plan, world: World, cust: Customers) -> None:
    """Opportunities as of the end of the window: all open or changed ones (full) or those changed (incremental)."""
    o = cust.opp
    lo, cut = plan.lo_ts, plan.cut_ts
    stage_times = np.where(o["reached"], o["stage_times"], np.iinfo(np.int64).max)
    if plan.incremental:
        changed = ((stage_times >= lo) & (stage_times <= cut)).any(axis=1)
        changed |= (o["close"] >= lo) & (o["close"] <= cut)
        changed |= o["registered"] & (o["registered_at"] >= lo) & (o["registered_at"] <= cut)
    else:
        changed = o["close"] >= lo
    keep = np.flatnonzero(o["has"] & (o["created"] <= cut) & changed)
    closed = o["close"][keep] <= cut
    won = o["won"][keep]
    open_stage = ((stage_times[keep] <= cut).sum(axis=1) - 1).clip(0, _OPEN - 1)
    stage_names = pa.array([*OPEN_STAGES, WON_STAGE, LOST_STAGE])
    stage = np.where(closed, np.where(won, _OPEN, _OPEN + 1), open_stage)
    registered = o["registered"][keep]
    partner = o["partner"][keep]
    columns = {
        "opportunity_id": join("OPP", pc.utf8_lpad(strs(cust.num[keep]), 8, "0")),
        "account_domain": world.accounts.domains.take(pa.array(cust.account[keep])),
        "created_at": fmt_timestamps(o["created"][keep]),
        "closed_at": where(closed, fmt_timestamps(o["close"][keep]), NULL),
        "stage": stage_names.take(pa.array(stage)),
        "amount": fmt_cents(o["amount_cents"][keep]),
        "currency": pa.array(CURRENCIES).take(pa.array(cust.currency[keep])),
        "is_won": where(closed, where(won, "true", "false"), NULL),
        "registering_partner_id": take(world.partners.id_array, partner, registered),
        "registration_status": take(pa.array(REGISTRATION_STATUSES), o["status"][keep], registered),
        "registered_at": where(registered, fmt_timestamps(o["registered_at"][keep]), NULL),
        "registration_expires_at": where(registered, fmt_timestamps(o["expires_at"][keep]), NULL),
    }
    out.write("opportunities", "internal", "csv", table_of("opportunities", columns))

"""Costs: daily cost reports of partners per campaign they take part in, and the host's own share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.defects import COST_DEFECTS, dirty_costs, previous_in_group
from partnerlens.synthetic.formatting import fmt_cents, fmt_dates, join, take, to_cents, where
from partnerlens.synthetic.output import Output, table_of, write_by_partner
from partnerlens.synthetic.parameters import CAMPAIGN_COST_TYPE, FX
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.streams import S_COSTS, stream
from partnerlens.synthetic.vocabulary import COST_TYPES, CURRENCIES
from partnerlens.synthetic.world import World

_DUPLICATE, _FALLBACK = COST_DEFECTS.index("duplicate_key"), COST_DEFECTS.index("non_numeric_amount")


def cost_rows(plan: Plan, world: World) -> dict[str, np.ndarray]:
    """Daily cost reports of partners (per campaign they take part in) and of the host, one stream per day."""
    c = world.campaigns
    host_share = c.host_share()
    duration = (c.end - c.start + 1).astype(float)
    chunks: list[dict[str, np.ndarray]] = []
    for day in range(plan.lo_day, plan.cut_day + 1):
        rng = stream(plan.seed, S_COSTS, day - plan.cal_offset)
        members = np.flatnonzero((c.start[c.member_campaign] <= day) & (c.end[c.member_campaign] >= day))
        active = np.flatnonzero((c.start <= day) & (c.end >= day))
        camp = np.concatenate([c.member_campaign[members], active])
        partner = np.concatenate([c.member_partner[members], c.lead[active]])
        share = np.concatenate([c.member_share[members], host_share[active]])
        host = np.concatenate([np.zeros(len(members), bool), np.ones(len(active), bool)])
        n = len(camp)
        report_p = np.where(host, 0.5, 0.6)
        reported = (rng.random(n) < report_p) & (share > 0)
        noise = rng.lognormal(0.0, 0.35, n)
        currency = np.where(host, c.currency[camp], world.partners.currencies[partner])
        amount = c.budget[camp] * share / 100 / duration[camp] / report_p * noise
        amount = amount * FX[currency] / FX[c.currency[camp]]
        main = CAMPAIGN_COST_TYPE[c.types[camp]]
        cost_type = np.where(rng.random(n) < 0.7, main, rng.integers(0, len(COST_TYPES), n))
        dirty = rng.random(n) < plan.dirty_share
        defect = (rng.random(n) * len(COST_DEFECTS)).astype(np.int64)
        variant = rng.random(n)
        chunk = {
            "day": np.full(n, day),
            "campaign": camp,
            "partner": partner,
            "host": host,
            "cents": to_cents(amount, currency),
            "currency": currency,
            "cost_type": cost_type,
            "dirty": dirty,
            "defect": defect,
            "variant": variant,
        }
        chunks.append({k: v[reported] for k, v in chunk.items()})
    if not chunks:
        return {}
    return {k: np.concatenate([ch[k] for ch in chunks]) for k in chunks[0]}


def write_costs(out: Output, plan: Plan, world: World) -> None:
    """Partner cost reports into each partner's file, the host's own costs into internal/costs."""
    rows = cost_rows(plan, world)
    partners = world.partners
    for p in range(len(partners)):
        out.open("costs", partners.ids[p], partners.cost_formats[p])
    out.open("costs", "internal", "csv")
    if not rows or len(rows["day"]) == 0:
        return
    for host in (False, True):
        sel = rows["host"] == host
        r = {k: v[sel] for k, v in rows.items()}
        order = np.lexsort((r["campaign"], r["day"], r["partner"]))
        r = {k: v[order] for k, v in r.items()}
        can_dup = previous_in_group([r["partner"], r["day"]], ~r["dirty"])
        r["defect"] = np.where(r["dirty"] & (r["defect"] == _DUPLICATE) & ~can_dup, _FALLBACK, r["defect"])
        table = format_costs(r, world, host)
        defects = np.array(COST_DEFECTS, dtype=object)[r["defect"]]
        if host:
            positions = np.flatnonzero(r["dirty"])
            out.write("costs", "internal", "csv", table, positions, defects[positions])
        else:
            write_by_partner(
                out, "costs", table, r["partner"], partners.cost_formats, partners.ids, r["dirty"], defects
            )


def format_costs(r: dict[str, np.ndarray], world: World, host: bool) -> pa.Table:
    """Cost rows (sorted by partner, day, campaign) as contract columns, with their defects applied."""
    dates = fmt_dates(r["day"])
    cost_id = join(
        "H-" if host else "", take(world.campaigns.id_array, r["campaign"]), "-", pc.replace_substring(dates, "-", "")
    )
    is_dup = r["dirty"] & (r["defect"] == _DUPLICATE)
    if is_dup.any():
        previous = pa.array(np.roll(np.arange(len(is_dup)), 1))
        cost_id = where(is_dup, cost_id.take(previous), cost_id)
    columns = {
        "cost_id": cost_id,
        "cost_date": dates,
        "partner_id": take(world.partners.id_array, r["partner"]),
        "campaign_id": take(world.campaigns.id_array, r["campaign"]),
        "amount": fmt_cents(r["cents"]),
        "currency": pa.array(CURRENCIES).take(pa.array(r["currency"])),
        "cost_type": pa.array(COST_TYPES).take(pa.array(r["cost_type"])),
    }
    dirty_costs(columns, r, world.partners.unknown_id)
    return table_of("costs", columns)

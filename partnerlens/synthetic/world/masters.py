"""The master feeds of a full delivery: partners, agreements, campaigns and campaign_partners."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from partnerlens.synthetic.formatting import fmt_cents, fmt_dates, take, to_cents
from partnerlens.synthetic.output import Output, table_of
from partnerlens.synthetic.parameters import PLANNING_DAYS
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.vocabulary import CAMPAIGN_TYPES, COLUMNS, CURRENCIES, PARTNER_TYPES
from partnerlens.synthetic.world import World


def write_masters(out: Output, plan: Plan, world: World) -> None:
    """Partners, agreements, and the campaigns running in the window or planned up to PLANNING_DAYS after it."""
    p, c = world.partners, world.campaigns
    partners = {
        "partner_id": p.id_array,
        "partner_name": pa.array(p.names),
        "partner_type": pa.array([PARTNER_TYPES[t] for t in p.types]),
        "tier": pa.array(p.tiers),
        "joined_on": pa.array([d.isoformat() for d in p.joined]),
        "country": pa.array(p.countries),
        "referral_code": p.referral_array,
    }
    out.write("partners", "internal", "csv", table_of("partners", partners))
    agreement_columns = list(zip(*world.agreements, strict=True))
    agreements = {
        name: pa.array(list(agreement_columns[i]), pa.string()) for i, name in enumerate(COLUMNS["agreements"])
    }
    out.write("agreements", "internal", "csv", table_of("agreements", agreements))
    keep = np.flatnonzero((c.end >= plan.lo_day) & (c.start <= plan.cut_day + PLANNING_DAYS))
    campaigns = {
        "campaign_id": pa.array([c.ids[i] for i in keep], pa.string()),
        "campaign_name": pa.array([c.names[i] for i in keep], pa.string()),
        "campaign_type": pa.array([CAMPAIGN_TYPES[c.types[i]] for i in keep], pa.string()),
        "start_date": fmt_dates(c.start[keep]),
        "end_date": fmt_dates(c.end[keep]),
        "budget": fmt_cents(to_cents(c.budget[keep], c.currency[keep])),
        "currency": pa.array([CURRENCIES[c.currency[i]] for i in keep], pa.string()),
    }
    out.write("campaigns", "internal", "csv", table_of("campaigns", campaigns))
    members = np.flatnonzero(np.isin(c.member_campaign, keep))
    campaign_partners = {
        "campaign_id": take(c.id_array, c.member_campaign[members]),
        "partner_id": take(p.id_array, c.member_partner[members]),
        "cost_share_pct": fmt_cents(np.round(c.member_share[members] * 100).astype(np.int64)),
        "role": pa.array([c.member_role[i] for i in members], pa.string()),
    }
    out.write("campaign_partners", "internal", "csv", table_of("campaign_partners", campaign_partners))

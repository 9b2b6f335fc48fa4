"""The reference data of a run: partners, B2B accounts, campaigns (and who takes part when), agreements."""

from __future__ import annotations

from dataclasses import dataclass

from partnerlens.synthetic.parameters import MAX_SPAN_DAYS, PLANNING_DAYS
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.world.accounts import Accounts, build_accounts
from partnerlens.synthetic.world.agreements import build_agreements, expected_monthly_revenue_usd
from partnerlens.synthetic.world.campaigns import CampaignLookup, Campaigns, build_campaigns
from partnerlens.synthetic.world.partners import Partners, build_partners

__all__ = ["World", "build_world"]


@dataclass
class World:
    """The reference data every block of a run draws on."""

    partners: Partners
    accounts: Accounts
    campaigns: Campaigns
    lookup: CampaignLookup
    agreements: list[list[str | None]]


def build_world(plan: Plan) -> World:
    """All reference data: partners, campaigns (and who takes part when), agreements, B2B accounts."""
    partners = build_partners(plan.seed, plan.partners, plan.formats, plan.truth)
    horizon = plan.cut_day + PLANNING_DAYS
    campaigns = build_campaigns(plan.seed, partners, horizon)
    blocks = plan.blocks()
    first_day = plan.cal_offset + blocks.start * plan.block_days
    last_day = plan.cal_offset + blocks.stop * plan.block_days + MAX_SPAN_DAYS + 2
    lookup = CampaignLookup(campaigns, len(partners), first_day, last_day)
    monthly = expected_monthly_revenue_usd(plan.seed, partners, plan.per_day)
    agreements = build_agreements(plan.seed, partners, monthly, horizon)
    return World(partners, build_accounts(plan.seed, plan.per_day), campaigns, lookup, agreements)

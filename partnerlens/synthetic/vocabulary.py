"""The feeds' columns and allowed values, read from the feed contracts (``orchestration/feeds/contracts``).

The contracts are the one statement of what a feed holds; the generator writes their columns in contract order and
draws categorical values from their ``allowed`` lists, in the order listed there. The simulation's weights are keyed
by these names (see :mod:`partnerlens.synthetic.parameters`), and :func:`by_name` refuses a weight table that does
not cover a vocabulary exactly, so a value added to a contract fails loudly instead of never being generated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from orchestration.feeds.contracts import FeedContract, load_contracts

T = TypeVar("T")

CONTRACTS: dict[str, FeedContract] = load_contracts()

#: Feed -> contract column names in contract order (the header of every file of the feed).
COLUMNS: dict[str, list[str]] = {feed: contract.column_names for feed, contract in CONTRACTS.items()}


def allowed(feed: str, column: str) -> list[str]:
    """The allowed values of ``feed.column`` in contract order (ValueError if the column lists none)."""
    values = CONTRACTS[feed].column(column).allowed
    if not values:
        raise ValueError(f"the {feed} contract lists no allowed values for {column}")
    return list(values)


def by_name(names: Sequence[str], table: Mapping[str, T], what: str) -> list[T]:
    """``table``'s values in the order of ``names``; ValueError unless its keys are exactly ``names``."""
    missing, unknown = sorted(set(names) - set(table)), sorted(set(table) - set(names))
    if missing or unknown:
        raise ValueError(f"{what}: no value for {missing or 'none'}, values for unknown {unknown or 'none'}")
    return [table[name] for name in names]


def index_of(names: Sequence[str], name: str, what: str) -> int:
    """Position of ``name`` in a vocabulary (ValueError naming the vocabulary if it is not there)."""
    if name not in names:
        raise ValueError(f"{what}: {name!r} is not one of {', '.join(names)}")
    return list(names).index(name)


PARTNER_TYPES = allowed("partners", "partner_type")
TIERS = allowed("partners", "tier")
CURRENCIES = allowed("agreements", "currency")
ATTRIBUTION_MODELS = allowed("agreements", "attribution_model")
CAMPAIGN_TYPES = allowed("campaigns", "campaign_type")
ROLES = allowed("campaign_partners", "role")
#: Role of the partner that leads a campaign; the others are the co-partners' roles.
LEAD_ROLE = ROLES[index_of(ROLES, "lead", "campaign_partners.role")]
CO_PARTNER_ROLES = [role for role in ROLES if role != LEAD_ROLE]
CONVERSION_TYPES = allowed("conversions", "conversion_type")
COST_TYPES = allowed("costs", "cost_type")
STAGES = allowed("opportunities", "stage")
WON_STAGE = STAGES[index_of(STAGES, "closed_won", "opportunities.stage")]
LOST_STAGE = STAGES[index_of(STAGES, "closed_lost", "opportunities.stage")]
OPEN_STAGES = [stage for stage in STAGES if stage not in (WON_STAGE, LOST_STAGE)]
REGISTRATION_STATUSES = allowed("opportunities", "registration_status")
TOUCH_TYPES = allowed("touchpoints", "touch_type")
CHANNELS = allowed("touchpoints", "channel")
#: The columns by which a touchpoint names its customer (at least one is set), in contract order.
IDENTIFIERS = list(CONTRACTS["touchpoints"].require_one_of)
#: Feeds that describe the ecosystem rather than events; an incremental delivery does not repeat them.
MASTER_FEEDS = ("partners", "agreements", "campaigns", "campaign_partners")

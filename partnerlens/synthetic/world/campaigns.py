"""Joint campaigns on the absolute calendar, who takes part in them, and which campaign a touch belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from partnerlens.synthetic.formatting import unix_day
from partnerlens.synthetic.parameters import CAMPAIGN_LABELS, FX, MONTHS, UNIX_ORD
from partnerlens.synthetic.streams import S_CAMPAIGNS, stream
from partnerlens.synthetic.vocabulary import CAMPAIGN_TYPES, CO_PARTNER_ROLES, LEAD_ROLE
from partnerlens.synthetic.world.partners import Partners


@dataclass
class Campaigns:
    """Campaigns (one entry each, days as unix days) and their members (one entry per campaign and partner)."""

    ids: list[str]
    names: list[str]
    types: np.ndarray
    start: np.ndarray  # unix day
    end: np.ndarray  # unix day, inclusive
    budget: np.ndarray
    currency: np.ndarray
    lead: np.ndarray
    member_campaign: np.ndarray
    member_partner: np.ndarray
    member_share: np.ndarray
    member_role: list[str]
    id_array: pa.Array = field(init=False)
    utm_array: pa.Array = field(init=False)

    def __post_init__(self) -> None:
        self.id_array = pa.array(self.ids, pa.string())
        self.utm_array = pa.array(
            [f"{CAMPAIGN_TYPES[t]}_{c.lower()}" for c, t in zip(self.ids, self.types, strict=True)], pa.string()
        )

    def host_share(self) -> np.ndarray:
        """Share of each campaign's cost the host carries (100 - partners' shares)."""
        carried = np.bincount(self.member_campaign, weights=self.member_share, minlength=len(self.ids))
        return np.maximum(0.0, 100.0 - carried)


def build_campaigns(seed: int, partners: Partners, horizon_day: int) -> Campaigns:
    """Joint campaigns on the absolute calendar: each partner leads one every ~45 days, with 0-2 co-partners."""
    n = len(partners)
    width = max(3, len(str(n)))
    rows: list[tuple] = []
    members: list[tuple[int, int, float, str]] = []
    for p in range(n):
        rng = stream(seed, S_CAMPAIGNS, p)
        day = unix_day(date(2019, 7, 1)) + int(rng.integers(0, 45))
        seq = 0
        while day <= horizon_day:
            u = rng.random(12)
            seq += 1
            ctype = int(u[1] * len(CAMPAIGN_TYPES))
            duration = 14 + int(u[2] * 86)
            currency = int(partners.currencies[p])
            budget = round((5000 + u[3] * 40000) * FX[currency], -2)
            start = date.fromordinal(day + UNIX_ORD)
            c = len(rows)
            name = f"{partners.names[p]} {CAMPAIGN_LABELS[ctype]} {MONTHS[start.month - 1]} {start.year}"
            rows.append((f"C{p + 1:0{width}d}{seq:03d}", name, ctype, day, day + duration - 1, budget, currency, p))
            extras: list[int] = []
            n_extra = 0 if u[4] < 0.45 else (1 if u[4] < 0.8 else 2)
            for j in range(min(n_extra, n - 1)):
                other = (p + 1 + int(u[5 + j] * (n - 1))) % n
                if other not in extras:
                    extras.append(other)
            lead_share = 20 + u[7] * 40
            extra_shares = [5 + u[8 + j] * 20 for j in range(len(extras))]
            if lead_share + sum(extra_shares) > 100:
                scale = (100 - lead_share) / sum(extra_shares)
                extra_shares = [s * scale for s in extra_shares]
            members.append((c, p, round(lead_share, 2), LEAD_ROLE))
            for j, other in enumerate(extras):
                members.append(
                    (c, other, round(extra_shares[j], 2), CO_PARTNER_ROLES[int(u[10 + j] * len(CO_PARTNER_ROLES))])
                )
            day += 25 + int(u[0] * 40)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(8)]
    mcols = list(zip(*members, strict=True)) if members else [[] for _ in range(4)]
    return Campaigns(
        ids=list(cols[0]),
        names=list(cols[1]),
        types=np.array(cols[2], dtype=np.int64),
        start=np.array(cols[3], dtype=np.int64),
        end=np.array(cols[4], dtype=np.int64),
        budget=np.array(cols[5], dtype=float),
        currency=np.array(cols[6], dtype=np.int64),
        lead=np.array(cols[7], dtype=np.int64),
        member_campaign=np.array(mcols[0], dtype=np.int64),
        member_partner=np.array(mcols[1], dtype=np.int64),
        member_share=np.array(mcols[2], dtype=float),
        member_role=list(mcols[3]),
    )


class CampaignLookup:
    """Campaigns each partner takes part in, per day, for assigning touches to campaigns."""

    SLOTS = 8

    def __init__(self, campaigns: Campaigns, n_partners: int, first_day: int, last_day: int) -> None:
        self.first_day = first_day
        n_days = last_day - first_day + 1
        self.table = np.full((n_partners, n_days, self.SLOTS), -1, dtype=np.int64)
        self.count = np.zeros((n_partners, n_days), dtype=np.int64)
        for c, p in zip(campaigns.member_campaign, campaigns.member_partner, strict=True):
            lo = max(int(campaigns.start[c]), first_day) - first_day
            hi = min(int(campaigns.end[c]), last_day) - first_day
            if hi < lo:
                continue
            days = np.arange(lo, hi + 1)
            slot = self.count[p, days]
            ok = slot < self.SLOTS
            self.table[p, days[ok], slot[ok]] = c
            self.count[p, days[ok]] += 1

    def pick(self, partner: np.ndarray, unix_day: np.ndarray, u_use: np.ndarray, u_slot: np.ndarray) -> np.ndarray:
        """A campaign active that day for the partner (85 % of touches), else -1."""
        d = np.clip(unix_day - self.first_day, 0, self.table.shape[1] - 1)
        count = self.count[partner, d]
        slot = np.minimum((u_slot * count).astype(np.int64), self.SLOTS - 1)
        chosen = self.table[partner, d, slot]
        return np.where((count > 0) & (u_use < 0.85), chosen, -1)

"""Partners: the partner master and how customers' journeys pick partners (by reach)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from partnerlens.synthetic.formatting import offset_label
from partnerlens.synthetic.names import NAME_HEADS, NAME_TAILS
from partnerlens.synthetic.parameters import (
    IDENT_P,
    INTENT_REFERRAL_SHARE,
    INTENT_TYPES,
    LOCATION_CURRENCY,
    PARTNER_LOCATIONS,
    PARTNER_TYPE_P,
    TIER_P,
)
from partnerlens.synthetic.streams import S_PARTNERS, S_TRUTH, cdf, stream
from partnerlens.synthetic.vocabulary import CURRENCIES, IDENTIFIERS, PARTNER_TYPES, TIERS


@dataclass
class Partners:
    """The partner master, one entry per partner, with the simulation's hidden traits (reach, true lift)."""

    ids: list[str]
    names: list[str]
    slugs: list[str]
    types: np.ndarray
    tiers: list[str]
    joined: list[date]
    countries: list[str]
    offset_minutes: np.ndarray
    currencies: np.ndarray
    referral_codes: list[str | None]
    reach_cdf: np.ndarray
    lift: np.ndarray
    touch_formats: list[str]
    cost_formats: list[str]
    ident_cdf: np.ndarray
    event_style: np.ndarray
    unknown_id: str
    #: intent-targeting partners (truth "hard"; none otherwise): true lift 0, touch buyers just before they buy
    intent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: reach over the partners that create demand (all partners unless some target intent), and over intent partners
    demand_reach_cdf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intent_reach_cdf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # arrow views for vectorised formatting
    id_array: pa.Array = field(init=False)
    slug_array: pa.Array = field(init=False)
    offset_array: pa.Array = field(init=False)
    referral_array: pa.Array = field(init=False)
    currency_array: pa.Array = field(init=False)

    def __post_init__(self) -> None:
        self.id_array = pa.array(self.ids)
        self.slug_array = pa.array(self.slugs)
        self.offset_array = pa.array([offset_label(int(m)) for m in self.offset_minutes])
        self.referral_array = pa.array(self.referral_codes, pa.string())
        self.currency_array = pa.array([CURRENCIES[c] for c in self.currencies])

    def __len__(self) -> int:
        return len(self.ids)


def build_partners(seed: int, n: int, formats: str, truth: str = "standard") -> Partners:
    """Partner master: types, tiers, locations, reach (touch volume) and true lift (independent of each other).

    With ``truth="hard"`` some partners target intent (see :func:`intent_partners`): their true lift is 0 and they
    leave the demand partners' draw; every other trait is drawn exactly as for the standard truth.
    """
    rng = stream(seed, S_PARTNERS)
    width = max(3, len(str(n)))
    ids = [f"P{i + 1:0{width}d}" for i in range(n)]
    combos = rng.permutation(len(NAME_HEADS) * len(NAME_TAILS))
    names = []
    for i in range(n):
        c = int(combos[i % len(combos)])
        suffix = f" {i // len(combos) + 1}" if i >= len(combos) else ""
        names.append(f"{NAME_HEADS[c // len(NAME_TAILS)]} {NAME_TAILS[c % len(NAME_TAILS)]}{suffix}")
    slugs = [name.lower().replace(" ", "-") for name in names]
    types = rng.choice(len(PARTNER_TYPES), size=n, p=PARTNER_TYPE_P)
    tiers = [TIERS[t] for t in rng.choice(len(TIERS), size=n, p=TIER_P)]
    joined = [date(2016, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 4 * 365, size=n)]
    loc = rng.choice(len(PARTNER_LOCATIONS), size=n, p=[p for *_, p in PARTNER_LOCATIONS])
    countries = [PARTNER_LOCATIONS[i][0] for i in loc]
    offsets = np.array([PARTNER_LOCATIONS[i][1] for i in loc])
    currencies = np.array([CURRENCIES.index(LOCATION_CURRENCY[c]) for c in countries])
    reach = rng.lognormal(0.0, 1.0, size=n)
    # true lifts: a third near zero, a third moderate, a third strong
    group = rng.permutation(np.arange(n) % 3)
    lift = np.select(
        [group == 0, group == 1], [rng.uniform(0.0, 0.08, n), rng.uniform(0.3, 0.8, n)], rng.uniform(1.0, 1.7, n)
    )
    primary = rng.choice(len(IDENTIFIERS), size=n, p=IDENT_P)
    ident_cdf = cdf(0.7 * IDENT_P[None, :] + 0.3 * np.eye(len(IDENTIFIERS))[primary])
    wants_code = np.isin(types, [PARTNER_TYPES.index(t) for t in ("referral", "affiliate", "reseller")])
    has_code = wants_code | (rng.random(n) < 0.4)
    codes = [f"{names[i].split()[0].upper()}{i + 1:03d}" if has_code[i] else None for i in range(n)]
    touch_formats = ["csv"] * n
    cost_formats = ["csv"] * n
    if formats == "mixed":
        for i in range(n):
            touch_formats[i] = {3: "jsonl", 4: "parquet"}.get(i % 5, "csv")
            cost_formats[i] = "jsonl" if touch_formats[i] == "jsonl" else "csv"
    unknown = "P" + "9" * width if n < 10**width - 1 else "P" + "9" * (width + 1)
    intent = intent_partners(seed, types) if truth == "hard" else np.zeros(n, dtype=bool)
    lift = np.where(intent, 0.0, lift)
    demand_reach = np.where(intent, 0.0, reach)
    return Partners(
        ids,
        names,
        slugs,
        types,
        tiers,
        joined,
        countries,
        offsets,
        currencies,
        codes,
        cdf(reach),
        lift,
        touch_formats,
        cost_formats,
        ident_cdf,
        np.arange(n) % 3,
        unknown,
        intent,
        cdf(demand_reach),
        cdf(np.where(intent, reach, 0.0)) if intent.any() else np.zeros(0),
    )


def intent_partners(seed: int, types: np.ndarray) -> np.ndarray:
    """Which partners target intent: every affiliate and about half of the referral partners (own stream).

    At least one partner targets intent and at least one creates demand (with two partners or more).
    """
    rng = stream(seed, S_TRUTH)
    n = len(types)
    u = rng.random(n)
    intent = np.isin(types, [PARTNER_TYPES.index(t) for t in INTENT_TYPES])
    intent |= (types == PARTNER_TYPES.index("referral")) & (u < INTENT_REFERRAL_SHARE)
    if n >= 2 and not intent.any():
        intent[int(np.argmin(u))] = True
    if n >= 2 and intent.all():
        intent[int(np.argmax(u))] = False
    return intent


def partner_sets(
    rng: np.random.Generator, n_touch: np.ndarray, reach_cdf: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each customer: 4 candidate partners, how many are used (kk) and which used slots are distinct."""
    n = len(n_touch)
    k = rng.choice(4, size=n, p=[0.40, 0.30, 0.18, 0.12]) + 1
    cand = np.minimum(np.searchsorted(reach_cdf, rng.random((n, 4)), side="right"), len(reach_cdf) - 1)
    kk = np.minimum(k, n_touch)
    used = np.arange(4)[None, :] < kk[:, None]
    repeat = np.zeros((n, 4), dtype=bool)
    for s in range(1, 4):
        repeat[:, s] = (cand[:, :s] == cand[:, s : s + 1]).any(axis=1)
    return cand, kk, used & ~repeat

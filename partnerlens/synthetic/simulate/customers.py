"""Customers of one calendar block (the "skeleton": everything but the touches) and the CRM feed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.formatting import NULL, fmt_timestamps, hex_ids, join, strs, to_cents, where
from partnerlens.synthetic.names import (
    CONSUMER_DOMAIN_NAMES,
    CONSUMER_DOMAIN_P,
    CONSUMER_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
)
from partnerlens.synthetic.output import Output, table_of
from partnerlens.synthetic.parameters import (
    B2B_ORGANIC,
    B2B_PRICE_FACTOR,
    B2B_TOUCHED,
    BASE_LOG_ODDS,
    COUNTRIES,
    COUNTRY_CURRENCY,
    COUNTRY_P,
    DAY,
    FX,
    LEAD_DAYS,
    MAX_SPAN_DAYS,
    MAX_TOUCHES,
    MEAN_EXTRA_TOUCHES,
    MONTHLY_SHARE,
    ORGANIC_CONVERSION,
    ORGANIC_SHARE,
    PRICE_P,
    PRICES,
)
from partnerlens.synthetic.plan import Plan, arrivals_before
from partnerlens.synthetic.simulate.opportunities import simulate_opportunities
from partnerlens.synthetic.streams import S_CUSTOMERS, categorical, sigmoid, stream
from partnerlens.synthetic.world import World
from partnerlens.synthetic.world.partners import partner_sets

COUNTRY_CODES = pa.array([c[0] for c in COUNTRIES])


@dataclass
class Customers:
    """The customers arriving in one calendar block: attributes, partner set, journey and outcomes (one row each)."""

    block: int
    num: np.ndarray
    t0: np.ndarray  # arrival = CRM creation (unix seconds)
    organic: np.ndarray
    b2b: np.ndarray
    account: np.ndarray
    country: np.ndarray
    currency: np.ndarray
    first: np.ndarray
    last: np.ndarray
    pattern: np.ndarray
    domain: np.ndarray
    has_email: np.ndarray
    mixed_case: np.ndarray
    has_anon: np.ndarray
    opted_out: np.ndarray
    n_touch: np.ndarray
    cand: np.ndarray
    kk: np.ndarray
    distinct: np.ndarray
    lift_sum: np.ndarray
    span: np.ndarray
    t_dec: np.ndarray
    converted: np.ndarray
    has_signup: np.ndarray
    t_signup: np.ndarray
    revenue_cents: np.ndarray
    margin: np.ndarray
    refund: np.ndarray
    t_refund: np.ndarray
    renewals: np.ndarray
    renewal_jitter: np.ndarray
    opp: dict[str, np.ndarray]
    strings: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.num)


def simulate_customers(plan: Plan, world: World, block: int) -> Customers:
    """Arrivals of one calendar block and their journeys' outcomes; touches are drawn separately."""
    rng = stream(plan.seed, S_CUSTOMERS, block)
    rel_days = np.arange(block * plan.block_days, (block + 1) * plan.block_days + 1)
    before = arrivals_before(plan.per_day, rel_days)
    counts = np.diff(before)
    n = int(counts.sum())
    num = before[0] + 1 + np.arange(n, dtype=np.int64)
    day = np.repeat(rel_days[:-1] + plan.cal_offset, counts).astype(np.int64)
    busy = rng.normal(14.5 * 3600, 3.5 * 3600, n)
    anytime = rng.random(n) * DAY
    t0 = day * DAY + np.where(rng.random(n) < 0.75, np.clip(busy, 0, DAY - 1), anytime).astype(np.int64)
    organic = rng.random(n) < ORGANIC_SHARE
    b2b = rng.random(n) < np.where(organic, B2B_ORGANIC, B2B_TOUCHED)
    account = np.where(b2b, categorical(rng.random(n), world.accounts.cdf), -1)
    country = np.where(
        b2b, world.accounts.country[np.maximum(account, 0)], rng.choice(len(COUNTRIES), size=n, p=COUNTRY_P)
    )
    currency = COUNTRY_CURRENCY[country]
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    pattern = rng.integers(0, 4, n)
    domain = rng.choice(len(CONSUMER_DOMAINS), size=n, p=CONSUMER_DOMAIN_P)
    has_email = rng.random(n) < 0.97
    mixed_case = rng.random(n) < 0.10
    has_anon = rng.random(n) < 0.85
    opted_out = rng.random(n) < 0.05
    n_touch = np.where(organic, 0, 1 + np.minimum(rng.poisson(MEAN_EXTRA_TOUCHES, n), MAX_TOUCHES - 1))
    cand, kk, distinct = partner_sets(rng, n_touch, world.partners.demand_reach_cdf)
    lift_sum = (world.partners.lift[cand] * distinct).sum(axis=1)
    span = np.where(organic, 0, np.minimum(rng.exponential(10 * DAY, n) + 0.2 * DAY, MAX_SPAN_DAYS * DAY))
    span = span.astype(np.int64)
    t_dec = t0 + span + (rng.random(n) * 2 * DAY).astype(np.int64)
    p_convert = np.where(organic, ORGANIC_CONVERSION, sigmoid(BASE_LOG_ODDS + lift_sum))
    converted = rng.random(n) < p_convert
    signup_u = rng.random(n)
    signup_lead = (rng.random(n) * 3 * DAY).astype(np.int64)
    has_signup = np.where(converted, signup_u < 0.6, (signup_u < 0.08) & ~organic)
    t_signup = np.where(converted, np.maximum(t0, t_dec - signup_lead), t_dec)
    monthly = rng.random(n) < MONTHLY_SHARE
    price = PRICES[rng.choice(len(PRICES), size=n, p=PRICE_P)]
    price = price * np.where(b2b, B2B_PRICE_FACTOR, 1.0) * np.where(monthly, 1.0, 10.0)
    revenue_cents = to_cents(price * FX[currency], currency)
    margin = rng.uniform(0.60, 0.85, n)
    refund = converted & (rng.random(n) < 0.03)
    t_refund = t_dec + ((1 + rng.random(n) * 13) * DAY).astype(np.int64)
    keeps = np.cumprod(rng.random((n, 3)) < 0.8, axis=1).sum(axis=1)
    renewals = np.where(converted & monthly & ~refund, keeps, 0)
    renewal_jitter = rng.integers(0, 3600, (n, 3))
    opp = simulate_opportunities(rng, n, organic, b2b, t0, span, kk, cand, currency)
    return Customers(
        block,
        num,
        t0,
        organic,
        b2b,
        account,
        country,
        currency,
        first,
        last,
        pattern,
        domain,
        has_email,
        mixed_case,
        has_anon,
        opted_out,
        n_touch,
        cand,
        kk,
        distinct,
        lift_sum,
        span,
        t_dec,
        converted,
        has_signup,
        t_signup,
        revenue_cents,
        margin,
        refund,
        t_refund,
        renewals,
        renewal_jitter,
        opp,
    )


def customer_strings(plan: Plan, world: World, cust: Customers, rows: np.ndarray) -> dict[str, pa.Array]:
    """customer_id, CRM email and anonymous_id of the block's customers at ``rows`` (aligned with ``rows``).

    When a large part of the block is needed the strings are built once for the whole block and reused; small
    subsets (an incremental run reaching back into older blocks) are built directly.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) * 4 < len(cust) and not cust.strings:
        return build_customer_strings(plan, world, cust, rows)
    if not cust.strings:
        cust.strings = build_customer_strings(plan, world, cust, np.arange(len(cust)))
    index = pa.array(rows)
    return {name: values.take(index) for name, values in cust.strings.items()}


def build_customer_strings(plan: Plan, world: World, cust: Customers, rows: np.ndarray) -> dict[str, pa.Array]:
    """Identifier strings, pure functions of each customer's number and drawn attributes."""
    num = strs(cust.num[rows])
    first = FIRST_NAMES.take(pa.array(cust.first[rows]))
    last = LAST_NAMES.take(pa.array(cust.last[rows]))
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    local = pc.choose(
        pa.array(cust.pattern[rows].astype(np.int8)),
        join(first, ".", last, num),
        join(initial, last, num),
        join(first, "_", last, num),
        join(last, ".", first, num),
    )
    domain = where(
        cust.b2b[rows],
        world.accounts.domains.take(pa.array(np.maximum(cust.account[rows], 0))),
        CONSUMER_DOMAIN_NAMES.take(pa.array(cust.domain[rows])),
    )
    email = join(local, "@", domain)
    email = where(cust.mixed_case[rows], pc.utf8_title(email), email)
    return {
        "customer_id": join("CU", pc.utf8_lpad(num, 7, "0")),
        "email": where(cust.has_email[rows], email, NULL),
        "anonymous_id": where(cust.has_anon[rows], hex_ids(cust.num[rows], plan.seed), NULL),
    }


def write_customers(out: Output, plan: Plan, world: World, cust: Customers) -> None:
    """CRM records of the block: created in the window (incremental) or up to LEAD_DAYS before it."""
    lower = plan.lo_ts if plan.incremental else plan.lo_ts - LEAD_DAYS * DAY
    keep = np.flatnonzero((cust.t0 >= lower) & (cust.t0 <= plan.cut_ts))
    s = customer_strings(plan, world, cust, keep)
    columns = {
        "customer_id": s["customer_id"],
        "email": s["email"],
        "anonymous_id": s["anonymous_id"],
        "created_at": fmt_timestamps(cust.t0[keep]),
        "country": COUNTRY_CODES.take(pa.array(cust.country[keep])),
        "is_opted_out": where(cust.opted_out[keep], "true", "false"),
    }
    out.write("customers", "internal", "csv", table_of("customers", columns))

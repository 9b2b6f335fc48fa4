"""Touchpoints: every touch of a block's customers, formatted as each partner sends them."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.defects import TOUCH_DEFECTS, dirty_touches, previous_in_group
from partnerlens.synthetic.formatting import NULL, fmt_timestamps, join, strs, take, where
from partnerlens.synthetic.output import Output, table_of, write_by_partner
from partnerlens.synthetic.parameters import (
    B2B_TOUCH_TYPES,
    CHANNEL_P,
    DAY,
    INTENT_MEAN_EXTRA_TOUCHES,
    INTENT_MEAN_GAP_SECONDS,
    INTENT_REACH_BUYER,
    INTENT_REACH_OTHER,
    INTENT_TOUCH_SEQ,
    STAGE_MEAN,
    TOUCH_P,
    UTM_MEDIUM,
    UTM_TOUCH_TYPES,
)
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.simulate.customers import Customers, customer_strings
from partnerlens.synthetic.streams import S_INTENT, S_TOUCHES, categorical, cdf, sigmoid, stream
from partnerlens.synthetic.vocabulary import CHANNELS, IDENTIFIERS, TOUCH_TYPES
from partnerlens.synthetic.world import World

_TT = {name: i for i, name in enumerate(TOUCH_TYPES)}
_CH = {name: i for i, name in enumerate(CHANNELS)}
_EMAIL, _SHA, _CUSTOMER, _ANON = (
    IDENTIFIERS.index(c) for c in ("email", "email_sha256", "customer_id", "anonymous_id")
)
_DUPLICATE, _FALLBACK = TOUCH_DEFECTS.index("duplicate_key"), TOUCH_DEFECTS.index("malformed_timestamp")
_B2B_TOUCHES = np.array([_TT[t] for t in B2B_TOUCH_TYPES])
_UTM_TOUCHES = np.array([_TT[t] for t in UTM_TOUCH_TYPES])
_TOUCH_CDF = cdf(TOUCH_P)
_CHANNEL_CDF = cdf(CHANNEL_P)
_STAGE_LOGIT = np.log(np.array(STAGE_MEAN) / (1 - np.array(STAGE_MEAN)))
_TOUCH_TYPE_NAMES = pa.array(TOUCH_TYPES)
_CHANNEL_NAMES = pa.array(CHANNELS)
_MEDIUM_NAMES = pa.array([UTM_MEDIUM.get(c) for c in CHANNELS], pa.string())


def email_hashes(con: duckdb.DuckDBPyConnection, emails: pa.Array) -> pa.Array:
    """SHA-256 hex of the normalised (trimmed, lower-cased) email, vectorised in DuckDB."""
    con.register("_emails", pa.table({"e": emails}))
    try:
        result = con.sql("select sha256(lower(trim(e))) as h from _emails").to_arrow_table()
    finally:
        con.unregister("_emails")
    return result.column("h").combine_chunks().cast(pa.string())


def intent_touches(plan: Plan, world: World, cust: Customers) -> tuple[np.ndarray, ...]:
    """Touches of the intent-targeting partners (truth "hard"), from their own stream: (customer, seq, partner, time).

    Whether a customer is reached depends on its outcome, never the other way round: a customer who buys (organic or
    not) is reached with probability INTENT_REACH_BUYER, any other with INTENT_REACH_OTHER. A reached customer gets
    1 + Poisson(INTENT_MEAN_EXTRA_TOUCHES) touches from intent partners drawn by reach, each an exponential gap
    (mean INTENT_MEAN_GAP_SECONDS, at least a minute) before the decision and never before the arrival. Their true
    lift is 0: the conversion probability does not change, so they add nothing to the true incremental conversions.
    """
    rng = stream(plan.seed, S_INTENT, cust.block)
    n = len(cust)
    reached = rng.random(n) < np.where(cust.converted, INTENT_REACH_BUYER, INTENT_REACH_OTHER)
    count = np.where(reached, 1 + np.minimum(rng.poisson(INTENT_MEAN_EXTRA_TOUCHES, n), 64 - INTENT_TOUCH_SEQ - 1), 0)
    total = int(count.sum())
    ci = np.repeat(np.arange(n), count)
    seq = INTENT_TOUCH_SEQ + np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    partner = categorical(rng.random(total), world.partners.intent_reach_cdf)
    gap = 60 + rng.exponential(INTENT_MEAN_GAP_SECONDS, total).astype(np.int64)
    occurred = np.maximum(cust.t0[ci], cust.t_dec[ci] - gap)
    occurred = np.minimum(occurred, cust.t_dec[ci] - 1)
    return ci, seq.astype(np.int64), partner.astype(np.int64), occurred.astype(np.int64)


def simulate_touches(plan: Plan, world: World, cust: Customers) -> dict[str, np.ndarray]:
    """All touches of a block's customers, sorted by (partner, time, event), with their defects decided."""
    rng = stream(plan.seed, S_TOUCHES, cust.block)
    partners = world.partners
    total = int(cust.n_touch.sum())
    ci = np.repeat(np.arange(len(cust)), cust.n_touch)
    seq = np.arange(total) - np.repeat(np.cumsum(cust.n_touch) - cust.n_touch, cust.n_touch)
    kk = cust.kk[ci]
    slot = np.where(seq < kk, seq, (rng.random(total) * kk).astype(np.int64))
    partner = cust.cand[ci, slot]
    ptype = partners.types[partner]
    position = sigmoid(_STAGE_LOGIT[ptype] + 1.2 * rng.standard_normal(total))
    occurred = cust.t0[ci] + (cust.span[ci] * position).astype(np.int64)
    if partners.intent.any():
        i_ci, i_seq, i_partner, i_occurred = intent_touches(plan, world, cust)
        ci, seq = np.concatenate([ci, i_ci]), np.concatenate([seq, i_seq])
        partner, occurred = np.concatenate([partner, i_partner]), np.concatenate([occurred, i_occurred])
        ptype = partners.types[partner]
        total = len(ci)
    touch_type = categorical(rng.random(total), _TOUCH_CDF[ptype])
    b2b = cust.b2b[ci]
    touch_type = np.where(~b2b & np.isin(touch_type, _B2B_TOUCHES), _TT["click"], touch_type)
    channel = categorical(rng.random(total), _CHANNEL_CDF[touch_type])
    campaign = world.lookup.pick(partner, occurred // DAY, rng.random(total), rng.random(total))
    ident = categorical(rng.random(total), partners.ident_cdf[partner])
    ident = np.where(np.isin(ident, [_EMAIL, _SHA]) & ~cust.has_email[ci], _CUSTOMER, ident)
    ident = np.where((ident == _ANON) & ~cust.has_anon[ci], _CUSTOMER, ident)
    case_u = rng.random(total)
    email_case = np.where(case_u < 0.15, 1, np.where(case_u < 0.20, 2, 0))  # as in CRM, lower, upper
    has_domain = b2b & (np.isin(touch_type, _B2B_TOUCHES) | (rng.random(total) < 0.3))
    has_utm = (
        np.isin(touch_type, _UTM_TOUCHES) & np.isin(channel, [_CH[c] for c in UTM_MEDIUM]) & (rng.random(total) < 0.9)
    )
    has_ref = (
        np.array([code is not None for code in partners.referral_codes])[partner]
        & ((touch_type == _TT["referral_visit"]) | (channel == _CH["referral_link"]))
        & (rng.random(total) < 0.9)
    )
    event_num = cust.num[ci] * 64 + seq
    dirty = rng.random(total) < plan.dirty_share
    defect = (rng.random(total) * len(TOUCH_DEFECTS)).astype(np.int64)
    variant = rng.random(total)
    order = np.lexsort((event_num, occurred, partner))
    t = {
        "ci": ci,
        "partner": partner,
        "occurred": occurred,
        "touch_type": touch_type,
        "channel": channel,
        "campaign": campaign,
        "ident": ident,
        "email_case": email_case,
        "has_domain": has_domain,
        "has_utm": has_utm,
        "has_ref": has_ref,
        "event_num": event_num,
        "dirty": dirty,
        "defect": defect,
        "variant": variant,
    }
    t = {k: v[order] for k, v in t.items()}
    # a duplicate copies the key of the previous clean row of the same partner and UTC day
    can_dup = previous_in_group([t["partner"], t["occurred"] // DAY], ~t["dirty"])
    t["defect"] = np.where(t["dirty"] & (t["defect"] == _DUPLICATE) & ~can_dup, _FALLBACK, t["defect"])
    is_dup = t["dirty"] & (t["defect"] == _DUPLICATE)
    t["event_num"] = np.where(is_dup, np.roll(t["event_num"], 1), t["event_num"])
    return t


def write_touchpoints(
    out: Output, plan: Plan, world: World, cust: Customers, con: duckdb.DuckDBPyConnection
) -> dict[str, np.ndarray]:
    """Format the block's touches inside the window and append them to each partner's file; returns every touch of
    the block (customer, partner, campaign), inside the window or not, for the per-campaign ground truth."""
    t = simulate_touches(plan, world, cust)
    every = {"ci": t["ci"], "partner": t["partner"], "campaign": t["campaign"]}
    keep = (t["occurred"] >= plan.lo_ts) & (t["occurred"] <= plan.cut_ts)
    t = {k: v[keep] for k, v in t.items()}
    partners, campaigns = world.partners, world.campaigns
    ci, partner, ident = t["ci"], t["partner"], t["ident"]
    s = customer_strings(plan, world, cust, ci)  # aligned with the touches
    rows = np.arange(len(ci))
    email = take(s["email"], rows, ident == _EMAIL)
    email = where(t["email_case"] == 1, pc.utf8_lower(email), where(t["email_case"] == 2, pc.utf8_upper(email), email))
    needs_hash = ident == _SHA
    if needs_hash.any():
        hashed_customers, position = np.unique(ci[needs_hash], return_inverse=True)
        digest = email_hashes(con, customer_strings(plan, world, cust, hashed_customers)["email"])
        digest_of_touch = np.full(len(ci), -1)
        digest_of_touch[needs_hash] = position
        email_sha = take(digest, digest_of_touch)
    else:
        email_sha = pa.nulls(len(ci), pa.string())
    num = strs(t["event_num"])
    style = partners.event_style[partner].astype(np.int8)
    pid = partners.id_array.take(pa.array(partner))
    event_id = pc.choose(pa.array(style), join("evt_", num), join(pid, "-", pc.utf8_lpad(num, 12, "0")), join("T", num))
    campaign = t["campaign"]
    columns = {
        "event_id": event_id,
        "occurred_at": fmt_timestamps(
            t["occurred"], partners.offset_minutes[partner], partners.offset_array.take(pa.array(partner))
        ),
        "partner_id": pid,
        "campaign_id": take(campaigns.id_array, campaign),
        "channel": _CHANNEL_NAMES.take(pa.array(t["channel"])),
        "touch_type": _TOUCH_TYPE_NAMES.take(pa.array(t["touch_type"])),
        "email": email,
        "email_sha256": email_sha,
        "customer_id": take(s["customer_id"], rows, ident == _CUSTOMER),
        "anonymous_id": take(s["anonymous_id"], rows, ident == _ANON),
        "account_domain": take(world.accounts.domains, np.maximum(cust.account[ci], 0), t["has_domain"]),
        "utm_source": take(partners.slug_array, partner, t["has_utm"]),
        "utm_medium": take(_MEDIUM_NAMES, t["channel"], t["has_utm"]),
        "utm_campaign": where(t["has_utm"], pc.coalesce(take(campaigns.utm_array, campaign), "always-on"), NULL),
        "referral_code": take(partners.referral_array, partner, t["has_ref"]),
    }
    dirty_touches(columns, t, partners.unknown_id)
    table = table_of("touchpoints", columns)
    defects = np.array(TOUCH_DEFECTS, dtype=object)[t["defect"]]
    write_by_partner(out, "touchpoints", table, partner, partners.touch_formats, partners.ids, t["dirty"], defects)
    return every

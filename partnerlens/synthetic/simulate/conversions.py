"""Conversions: signups, first purchases, monthly renewals and refunds of a block's customers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.defects import CONVERSION_DEFECTS, dirty_conversions, previous_in_group
from partnerlens.synthetic.formatting import NULL, fmt_cents, fmt_timestamps, join, strs, take, where
from partnerlens.synthetic.output import Output, table_of
from partnerlens.synthetic.parameters import DAY
from partnerlens.synthetic.plan import Plan
from partnerlens.synthetic.simulate.customers import Customers, customer_strings
from partnerlens.synthetic.streams import S_CONVERSIONS, stream
from partnerlens.synthetic.vocabulary import CONVERSION_TYPES, CURRENCIES, index_of
from partnerlens.synthetic.world import World

#: Conversion type of each event code: 0 signup, 1 first purchase, 2-4 the 1st-3rd renewal, 9 refund.
_CODES = {0: "signup", 1: "purchase", 2: "renewal", 3: "renewal", 4: "renewal", 9: "refund"}
_CONVERSION_TYPES = pa.array(
    [
        CONVERSION_TYPES[index_of(CONVERSION_TYPES, _CODES[code], "conversion types")] if code in _CODES else None
        for code in range(10)
    ],
    pa.string(),
)
_DUPLICATE, _FALLBACK = CONVERSION_DEFECTS.index("duplicate_key"), CONVERSION_DEFECTS.index("non_numeric_amount")


def conversion_rows(plan: Plan, cust: Customers) -> dict[str, np.ndarray]:
    """Every conversion of the block's customers in canonical order (time, id), with defects decided."""
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = []  # (customer, time, code, revenue sign)
    signup = np.flatnonzero(cust.has_signup)
    parts.append((signup, cust.t_signup[signup], 0, np.zeros(len(signup))))
    bought = np.flatnonzero(cust.converted)
    parts.append((bought, cust.t_dec[bought], 1, np.ones(len(bought))))
    for r in (1, 2, 3):
        renew = np.flatnonzero(cust.renewals >= r)
        times = cust.t_dec[renew] + r * 30 * DAY + cust.renewal_jitter[renew, r - 1]
        parts.append((renew, times, 1 + r, np.ones(len(renew))))
    refunded = np.flatnonzero(cust.refund)
    parts.append((refunded, cust.t_refund[refunded], 9, -np.ones(len(refunded))))
    ci = np.concatenate([p[0] for p in parts])
    at = np.concatenate([p[1] for p in parts]).astype(np.int64)
    code = np.concatenate([np.full(len(p[0]), p[2]) for p in parts]).astype(np.int64)
    sign = np.concatenate([p[3] for p in parts])
    conv_num = cust.num[ci] * 10 + code
    order = np.lexsort((conv_num, at))
    ci, at, code, sign, conv_num = ci[order], at[order], code[order], sign[order], conv_num[order]
    rng = stream(plan.seed, S_CONVERSIONS, cust.block)
    n = len(ci)
    c = {
        "ci": ci,
        "at": at,
        "code": code,
        "conv_num": conv_num,
        "revenue": (cust.revenue_cents[ci] * sign).astype(np.int64),
        "margin": np.round(cust.revenue_cents[ci] * sign * cust.margin[ci]).astype(np.int64),
        "with_email": rng.random(n) < 0.85,
        "with_anon": rng.random(n) < 0.80,
        "dirty": rng.random(n) < plan.dirty_share,
        "defect": (rng.random(n) * len(CONVERSION_DEFECTS)).astype(np.int64),
        "variant": rng.random(n),
    }
    # a duplicate reuses the id of the same customer's previous clean conversion on the same UTC day
    by_customer = np.lexsort((conv_num, at, ci))
    can_dup = np.zeros(n, dtype=bool)
    source = conv_num.copy()
    same = previous_in_group([ci[by_customer], at[by_customer] // DAY], ~c["dirty"][by_customer])
    can_dup[by_customer] = same
    source[by_customer] = np.roll(conv_num[by_customer], 1)
    c["defect"] = np.where(c["dirty"] & (c["defect"] == _DUPLICATE) & ~can_dup, _FALLBACK, c["defect"])
    c["id_num"] = np.where(c["dirty"] & (c["defect"] == _DUPLICATE), source, conv_num)
    return c


def write_conversions(out: Output, plan: Plan, world: World, cust: Customers) -> None:
    """Format the block's conversions inside the window, apply their defects, append them."""
    c = conversion_rows(plan, cust)
    keep = (c["at"] >= plan.lo_ts) & (c["at"] <= plan.cut_ts)
    c = {k: v[keep] for k, v in c.items()}
    ci = c["ci"]
    s = customer_strings(plan, world, cust, ci)  # aligned with the conversions
    rows = np.arange(len(ci))
    refunded = c["code"] == 9
    columns = {
        "conversion_id": join("CV", pc.utf8_lpad(strs(c["id_num"]), 9, "0")),
        "converted_at": fmt_timestamps(c["at"]),
        "customer_id": s["customer_id"],
        "email": take(s["email"], rows, c["with_email"]),
        "anonymous_id": take(s["anonymous_id"], rows, c["with_anon"]),
        "conversion_type": _CONVERSION_TYPES.take(pa.array(c["code"])),
        "revenue": fmt_cents(c["revenue"]),
        "currency": pa.array(CURRENCIES).take(pa.array(cust.currency[ci])),
        "gross_margin": fmt_cents(c["margin"]),
        "refunded_conversion_id": where(refunded, join("CV", pc.utf8_lpad(strs(c["conv_num"] - 8), 9, "0")), NULL),
    }
    dirty_conversions(columns, c)
    positions = np.flatnonzero(c["dirty"])
    out.write(
        "conversions",
        "internal",
        "csv",
        table_of("conversions", columns),
        positions,
        np.array(CONVERSION_DEFECTS, dtype=object)[c["defect"][positions]],
    )

"""Agreement versions: revenue shares, referral commissions, volume tiers, caps and attribution models."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from partnerlens.synthetic.formatting import plain_number, unix_day
from partnerlens.synthetic.parameters import (
    BASE_LOG_ODDS,
    FX,
    MAX_TOUCHES,
    MEAN_EXTRA_TOUCHES,
    MEAN_FIRST_PURCHASE_USD,
    ORGANIC_SHARE,
    SHARE_RANGES,
)
from partnerlens.synthetic.streams import S_AGREEMENTS, S_CALIBRATION, sigmoid, stream
from partnerlens.synthetic.vocabulary import ATTRIBUTION_MODELS, CURRENCIES
from partnerlens.synthetic.world.partners import Partners, partner_sets


def expected_monthly_revenue_usd(seed: int, partners: Partners, per_day: float) -> np.ndarray:
    """Rough first-purchase revenue per partner and month (credit split evenly), for sizing caps and tiers."""
    rng = stream(seed, S_CALIBRATION)
    n = 20_000
    n_touch = 1 + np.minimum(rng.poisson(MEAN_EXTRA_TOUCHES, n), MAX_TOUCHES - 1)
    cand, _, distinct = partner_sets(rng, n_touch, partners.reach_cdf)
    p = sigmoid(BASE_LOG_ODDS + (partners.lift[cand] * distinct).sum(axis=1))
    share = distinct / distinct.sum(axis=1, keepdims=True)
    credit = np.bincount(cand[distinct], weights=(p[:, None] * share)[distinct], minlength=len(partners))
    return credit / n * per_day * (1 - ORGANIC_SHARE) * 30.4 * MEAN_FIRST_PURCHASE_USD


def build_agreements(
    seed: int, partners: Partners, monthly_usd: np.ndarray, horizon_day: int
) -> list[list[str | None]]:
    """Agreement versions: version 1 from the joining date, renegotiated on some anniversaries."""
    model_offset = int(stream(seed, S_AGREEMENTS).integers(0, len(ATTRIBUTION_MODELS)))
    rows: list[list[str | None]] = []
    for p in range(len(partners)):
        rng = stream(seed, S_AGREEMENTS, p)
        u = rng.random(12)
        cur = int(partners.currencies[p])
        monthly = max(1.0, monthly_usd[p] * FX[cur])
        lo, hi = SHARE_RANGES[partners.types[p]]
        share = round(lo + u[0] * (hi - lo), 1)
        has_referral = u[1] < 0.6
        referral_pct = round(5 + u[2] * 15, 1) if has_referral else 0.0
        referral_months = 3 + int(u[3] * 10) if has_referral else 0
        has_tiers = u[4] < 0.3
        middle = max(100.0, round(0.5 * monthly, -2))
        steps = [0.0, middle, max(middle + 100.0, round(monthly, -2))]
        cost_share = round(u[5] * 50, 1)
        cap_factor = 0.4 + u[7] * 1.2 if u[6] < 0.4 else None
        lookback = None if u[8] >= 0.15 else (14 if u[9] < 0.5 else 60)
        model = ATTRIBUTION_MODELS[(p + model_offset) % len(ATTRIBUTION_MODELS)]
        versions: list[tuple[date, float]] = [(partners.joined[p], share)]
        k = 1
        while True:
            effective = partners.joined[p] + timedelta(days=365 * k)
            if unix_day(effective) > horizon_day:
                break
            v = rng.random(2)
            if v[0] < 0.3:
                share = float(np.clip(share + (-3 + int(v[1] * 9)), 5, 30))
                versions.append((effective, share))
            k += 1
        for i, (start, pct) in enumerate(versions):
            end = versions[i + 1][0] if i + 1 < len(versions) else None
            tiers = None
            if has_tiers:
                rates = [pct, min(100.0, pct + 2), min(100.0, pct + 5)]
                tiers = "|".join(f"{t:.0f}:{plain_number(r)}" for t, r in zip(steps, rates, strict=True))
            cap = None if cap_factor is None else f"{max(100.0, round(monthly * pct / 100 * cap_factor, -2)):.2f}"
            rows.append(
                [
                    f"AG-{partners.ids[p]}",
                    str(i + 1),
                    partners.ids[p],
                    start.isoformat(),
                    end.isoformat() if end else None,
                    f"{pct:.2f}",
                    f"{referral_pct:.2f}",
                    str(referral_months),
                    tiers,
                    f"{cost_share:.2f}",
                    cap,
                    None if lookback is None else str(lookback),
                    model,
                    CURRENCIES[cur],
                ]
            )
    return rows

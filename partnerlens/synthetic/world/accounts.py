"""B2B accounts: the company domains B2B customers belong to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from partnerlens.synthetic.names import ACCOUNT_WORDS_A, ACCOUNT_WORDS_B
from partnerlens.synthetic.parameters import COUNTRIES, COUNTRY_P
from partnerlens.synthetic.streams import S_ACCOUNTS, cdf, stream


@dataclass
class Accounts:
    """B2B accounts: company domain, country and the popularity distribution contacts are drawn from."""

    domains: pa.Array
    country: np.ndarray
    cdf: np.ndarray


def build_accounts(seed: int, per_day: float) -> Accounts:
    """B2B accounts (company domains); popularity is skewed so that accounts have several contacts."""
    rng = stream(seed, S_ACCOUNTS)
    n = max(50, round(per_day * 6))
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_P)
    generic = rng.random(n)
    order = rng.permutation(n)
    a, b = len(ACCOUNT_WORDS_A), len(ACCOUNT_WORDS_B)
    domains = []
    for i in range(n):
        k = int(order[i])
        rep = k // (a * b)
        tld = COUNTRIES[country[i]][3] if generic[i] < 0.5 else (".com" if generic[i] < 0.85 else ".io")
        domains.append(f"{ACCOUNT_WORDS_A[k % a]}{ACCOUNT_WORDS_B[(k // a) % b]}{rep or ''}{tld}")
    weights = 1.0 / np.arange(1, n + 1) ** 0.8
    return Accounts(pa.array(domains), country, cdf(weights))

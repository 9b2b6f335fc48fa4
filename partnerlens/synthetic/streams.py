"""Random streams and the draws built on them.

Every part of the world draws from its own stream, a PCG64 generator seeded with ``(seed, stream, *keys)``: partners
once, campaigns and agreements once per partner, customers, touches and conversions once per calendar block, costs
once per calendar day. A run can therefore simulate any block or day alone and get the same values as a longer run.
"""

from __future__ import annotations

import numpy as np

S_PARTNERS, S_CAMPAIGNS, S_AGREEMENTS, S_ACCOUNTS, S_CALIBRATION = 1, 2, 3, 4, 5
S_CUSTOMERS, S_TOUCHES, S_CONVERSIONS, S_COSTS, S_INTENT = 11, 12, 13, 14, 15
S_TRUTH = 6


def stream(seed: int, *keys: int) -> np.random.Generator:
    """An independent PCG64 stream for (seed, *keys); the key count is appended so (s, 3) and (s, 3, 0) differ."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *keys, len(keys)])))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, element-wise."""
    return 1.0 / (1.0 + np.exp(-x))


def cdf(probabilities: np.ndarray) -> np.ndarray:
    """Row-wise cumulative distribution whose last column is exactly 1."""
    result = np.cumsum(np.asarray(probabilities, dtype=float), axis=-1)
    result /= result[..., -1:]
    result[..., -1] = 1.0
    return result


def categorical(u: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """Index of the category of each uniform draw; ``cdf`` is one row per draw or one shared row."""
    if cdf.ndim == 1:
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)

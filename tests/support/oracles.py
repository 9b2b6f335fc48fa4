"""Independent computations that the tests compare the marts with: written here, never read from the models."""

from __future__ import annotations

import pandas as pd


def currency_rates(con) -> pd.DataFrame:
    """The currency-rate seed as loaded (currency, valid_from as a timestamp, rate_to_usd)."""
    rates = con.execute("select currency, valid_from, rate_to_usd from reference.currency_rates").fetchdf()
    rates["valid_from"] = pd.to_datetime(rates["valid_from"])
    return rates


def usd_per_unit(rates: pd.DataFrame, currency: pd.Series, on: pd.Series) -> pd.Series:
    """USD per unit of each row's currency on its date: the seed's latest valid_from on or before it (NaN where the
    date is missing or precedes every rate). Indexed like `currency`."""
    left = pd.DataFrame(
        {"currency": currency.to_numpy(), "_on": pd.to_datetime(pd.Series(on.to_numpy())).dt.normalize()}
    )
    left["_i"] = range(len(left))
    known = left[left["_on"].notna()]
    merged = pd.merge_asof(
        known.sort_values("_on"),
        rates.sort_values("valid_from"),
        left_on="_on",
        right_on="valid_from",
        by="currency",
        direction="backward",
    )
    out = pd.Series(float("nan"), index=range(len(left)))
    out[merged["_i"].to_numpy()] = merged["rate_to_usd"].to_numpy()
    return pd.Series(out.to_numpy(), index=currency.index)

"""Markov removal effects, solved exactly from the transition matrix (no simulation).

States: (start), one per partner, and the absorbing states (conversion) and (null). With Q the transition
probabilities among the transient states and r the probabilities of moving into (conversion), the probabilities of
ending in (conversion) from each transient state solve (I - Q) x = r; P = x[(start)] is the chain's conversion
probability. Removing partner k sends every transition into k to (null) (column k of Q becomes zero), and P_k is
solved the same way. The removal effect of k is 1 - P_k / P: the share of conversions lost without k.

A dbt Python model because it needs linear algebra (numpy). It runs where dbt runs Python models: on DuckDB in the
dbt process (dbt-duckdb), and on Python-capable adapters (Databricks, BigQuery, Snowflake). dbt-postgres has no
Python models, so on PostgreSQL this model must be computed by the DuckDB build or by an external step. The input is
the small table of transition counts, never touch-level data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
COLUMNS = [
    "partner_id",
    "removal_effect",
    "conversion_probability",
    "conversion_probability_without_partner",
    "transitions_from_partner",
]


def conversion_probabilities(transitions: pd.DataFrame) -> tuple[list[str], float, dict[str, float]]:
    """Partners, the chain's conversion probability, and the conversion probability with each partner removed."""
    counts = transitions.groupby(["from_state", "to_state"], as_index=False)["transitions"].sum()
    partners = sorted((set(counts["from_state"]) | set(counts["to_state"])) - {START, CONVERSION, NULL})
    states = [START, *partners]
    index = {state: i for i, state in enumerate(states)}
    size = len(states)
    q = np.zeros((size, size))
    r = np.zeros(size)
    totals = counts.groupby("from_state")["transitions"].sum()
    for row in counts.itertuples(index=False):
        if row.from_state not in index:
            continue
        probability = row.transitions / totals[row.from_state]
        if row.to_state == CONVERSION:
            r[index[row.from_state]] += probability
        elif row.to_state in index:
            q[index[row.from_state], index[row.to_state]] += probability
    identity = np.eye(size)
    base = float(np.linalg.solve(identity - q, r)[0])
    without: dict[str, float] = {}
    for partner in partners:
        removed = q.copy()
        removed[:, index[partner]] = 0.0
        without[partner] = float(np.linalg.solve(identity - removed, r)[0])
    return partners, base, without


def removal_effects(transitions: pd.DataFrame) -> pd.DataFrame:
    """One row per partner: its removal effect and the probabilities it comes from."""
    if transitions.empty:
        return pd.DataFrame(
            {
                "partner_id": pd.Series(dtype="str"),
                "removal_effect": pd.Series(dtype="float64"),
                "conversion_probability": pd.Series(dtype="float64"),
                "conversion_probability_without_partner": pd.Series(dtype="float64"),
                "transitions_from_partner": pd.Series(dtype="int64"),
            }
        )
    partners, base, without = conversion_probabilities(transitions)
    outgoing = transitions.groupby("from_state")["transitions"].sum()
    rows = [
        {
            "partner_id": partner,
            # clipped to [0, 1]: mathematically it is, floating point may stray by an ulp
            "removal_effect": min(max(1.0 - without[partner] / base, 0.0), 1.0) if base > 0 else 0.0,
            "conversion_probability": base,
            "conversion_probability_without_partner": without[partner],
            "transitions_from_partner": int(outgoing.get(partner, 0)),
        }
        for partner in partners
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def model(dbt, session):
    dbt.config(materialized="table")
    transitions = dbt.ref("int_attribution_markov_transitions").df()
    return removal_effects(transitions[["from_state", "to_state", "transitions"]])

"""Dirty rows: the defects injected into event rows and how each one changes a row.

Each event row (touchpoint, conversion, cost) is dirty with probability ``dirty_share`` and then carries one defect,
drawn uniformly from its feed's list. The defect names are the loader's rejection reasons; every injected row is
listed in ``_ground_truth/dirty_rows.csv``. A duplicate copies the key of the clean row just before it in the same
file (same partner and UTC day), so it differs from that row and the loader rejects it as a ``conflicting_duplicate``;
where there is no such row the defect falls back to another one of the list.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.formatting import NULL, where

TOUCH_DEFECTS = ["duplicate_key", "malformed_timestamp", "unknown_partner", "missing_required", "not_allowed_value"]
CONVERSION_DEFECTS = [
    "duplicate_key",
    "malformed_timestamp",
    "non_numeric_amount",
    "missing_required",
    "not_allowed_value",
]
COST_DEFECTS = [
    "duplicate_key",
    "impossible_date",
    "non_numeric_amount",
    "unknown_partner",
    "missing_required",
    "not_allowed_value",
]
#: Values outside the contracts' allowed lists, one per column that gets a ``not_allowed_value`` defect.
NOT_ALLOWED = {
    ("touchpoints", "touch_type"): "carrier_pigeon",
    ("touchpoints", "channel"): "fax",
    ("conversions", "conversion_type"): "chargeback",
    ("costs", "cost_type"): "travel",
}
BAD_TIMESTAMPS = ["2026-13-45T25:61:00+00:00", "not-a-timestamp"]
BAD_NUMBERS = ["n/a", "12,50", "1.234,56"]

_T = {name: i for i, name in enumerate(TOUCH_DEFECTS)}
_V = {name: i for i, name in enumerate(CONVERSION_DEFECTS)}
_C = {name: i for i, name in enumerate(COST_DEFECTS)}


def replace_variants(
    column: pa.Array, mask: np.ndarray, variant: np.ndarray, replacements: list[pa.Array | str]
) -> pa.Array:
    """Where ``mask``, replace the value by ``replacements[int(variant * len(replacements))]``."""
    which = np.minimum((variant * len(replacements)).astype(np.int64), len(replacements) - 1)
    for i, replacement in enumerate(replacements):
        column = where(mask & (which == i), replacement, column)
    return column


def previous_in_group(keys: list[np.ndarray], eligible: np.ndarray) -> np.ndarray:
    """True where the row before (in the given order) has equal keys and is eligible as an original."""
    n = len(eligible)
    same = np.zeros(n, dtype=bool)
    if n > 1:
        same[1:] = eligible[:-1]
        for key in keys:
            same[1:] &= key[1:] == key[:-1]
    return same


def _impossible_day(timestamps: pa.Array) -> pa.Array:
    """The same text with its month and day replaced by 02-30."""
    return pc.utf8_replace_slice(timestamps, 5, 10, "02-30")


def dirty_touches(columns: dict[str, pa.Array], t: dict[str, np.ndarray], unknown_id: str) -> None:
    """Apply the decided defects (duplicates were applied to the event number already)."""
    dirty, defect, v = t["dirty"], t["defect"], t["variant"]
    ts = columns["occurred_at"]
    columns["occurred_at"] = replace_variants(
        ts, dirty & (defect == _T["malformed_timestamp"]), v, [_impossible_day(ts), *BAD_TIMESTAMPS]
    )
    columns["partner_id"] = where(dirty & (defect == _T["unknown_partner"]), unknown_id, columns["partner_id"])
    missing = dirty & (defect == _T["missing_required"])
    columns["event_id"] = where(missing & (v < 0.5), NULL, columns["event_id"])
    columns["touch_type"] = where(missing & (v >= 0.5), NULL, columns["touch_type"])
    invalid = dirty & (defect == _T["not_allowed_value"])
    columns["touch_type"] = where(invalid & (v < 0.5), NOT_ALLOWED["touchpoints", "touch_type"], columns["touch_type"])
    columns["channel"] = where(invalid & (v >= 0.5), NOT_ALLOWED["touchpoints", "channel"], columns["channel"])


def dirty_conversions(columns: dict[str, pa.Array], c: dict[str, np.ndarray]) -> None:
    """Apply the decided defects (duplicates were applied to the conversion number already)."""
    dirty, defect, v = c["dirty"], c["defect"], c["variant"]
    ts = columns["converted_at"]
    columns["converted_at"] = replace_variants(
        ts, dirty & (defect == _V["malformed_timestamp"]), v, [_impossible_day(ts), *BAD_TIMESTAMPS]
    )
    columns["revenue"] = replace_variants(
        columns["revenue"], dirty & (defect == _V["non_numeric_amount"]), v, BAD_NUMBERS
    )
    missing = dirty & (defect == _V["missing_required"])
    columns["customer_id"] = where(missing & (v < 0.5), NULL, columns["customer_id"])
    columns["conversion_id"] = where(missing & (v >= 0.5), NULL, columns["conversion_id"])
    columns["conversion_type"] = where(
        dirty & (defect == _V["not_allowed_value"]),
        NOT_ALLOWED["conversions", "conversion_type"],
        columns["conversion_type"],
    )


def dirty_costs(columns: dict[str, pa.Array], r: dict[str, np.ndarray], unknown_id: str) -> None:
    """Apply the decided defects (duplicates were applied to the cost id already)."""
    dirty, defect, v = r["dirty"], r["defect"], r["variant"]
    columns["cost_date"] = where(
        dirty & (defect == _C["impossible_date"]), _impossible_day(columns["cost_date"]), columns["cost_date"]
    )
    columns["amount"] = replace_variants(
        columns["amount"], dirty & (defect == _C["non_numeric_amount"]), v, BAD_NUMBERS
    )
    columns["partner_id"] = where(dirty & (defect == _C["unknown_partner"]), unknown_id, columns["partner_id"])
    missing = dirty & (defect == _C["missing_required"])
    columns["cost_id"] = where(missing & (v < 0.5), NULL, columns["cost_id"])
    columns["amount"] = where(missing & (v >= 0.5), NULL, columns["amount"])
    columns["cost_type"] = where(
        dirty & (defect == _C["not_allowed_value"]), NOT_ALLOWED["costs", "cost_type"], columns["cost_type"]
    )

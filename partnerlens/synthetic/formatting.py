"""Vectorised text formatting of feed values (dates, timestamps with offsets, money, ids) with pyarrow compute."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partnerlens.synthetic.parameters import DAY, JPY, UNIX_ORD

NULL = pa.scalar(None, pa.string())
_TIME_OF_DAY = pc.utf8_slice_codeunits(
    pa.array(np.datetime_as_string(np.arange(DAY).astype("datetime64[s]"), unit="s")), 10, 19
)  # "T00:00:00" .. "T23:59:59"


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def strs(values: np.ndarray) -> pa.Array:
    """Numbers as decimal text."""
    return pc.cast(pa.array(values), pa.string())


def take(labels: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """labels[index], null where ``valid`` is False or the index is negative."""
    mask = index < 0 if valid is None else (~valid) | (index < 0)
    return labels.take(pa.array(np.where(mask, 0, index), mask=mask))


def where(mask: np.ndarray, values: pa.Array | str | pa.Scalar, other: pa.Array | str | pa.Scalar) -> pa.Array:
    """``values`` where ``mask`` is True, else ``other``."""
    return pc.if_else(pa.array(mask, pa.bool_()), values, other)


def unix_day(d: date) -> int:
    """Days since 1970-01-01."""
    return d.toordinal() - UNIX_ORD


def fmt_dates(unix_days: np.ndarray) -> pa.Array:
    """ISO dates (YYYY-MM-DD) from unix days."""
    return pa.array(np.asarray(unix_days, dtype=np.int32), pa.date32()).cast(pa.string())


def offset_label(minutes: int) -> str:
    """A UTC offset in minutes as text, e.g. -300 -> '-05:00'."""
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def fmt_timestamps(
    seconds: np.ndarray, offset_minutes: np.ndarray | int = 0, offset_labels: pa.Array | str = "+00:00"
) -> pa.Array:
    """ISO 8601 local time with offset, e.g. 2026-10-03T14:22:10+02:00, from UTC epoch seconds."""
    local = np.asarray(seconds, dtype=np.int64) + np.asarray(offset_minutes, dtype=np.int64) * 60
    days = local // DAY
    return join(fmt_dates(days), _TIME_OF_DAY.take(pa.array(local - days * DAY)), offset_labels)


def fmt_cents(cents: np.ndarray) -> pa.Array:
    """Decimal text with two places from integer cents, e.g. -1234 -> '-12.34'."""
    cents = np.asarray(cents, dtype=np.int64)
    magnitude = np.abs(cents)
    fraction = pc.utf8_lpad(strs(magnitude % 100), 2, "0")
    return join(where(cents < 0, "-", ""), strs(magnitude // 100), ".", fraction)


def to_cents(amount: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Round amounts to cents, and to whole units for JPY."""
    whole = np.round(amount) * 100
    return np.where(currency == JPY, whole, np.round(amount * 100)).astype(np.int64)


def plain_number(value: float) -> str:
    """Decimal text without exponent or trailing zeros, e.g. 12.5 -> '12.5', 15.0 -> '15'."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def hex_ids(values: np.ndarray, salt: int) -> pa.Array:
    """UUID-shaped pseudo-random ids (8-4-4-4-12 hex), a pure function of (value, salt)."""
    with np.errstate(over="ignore"):
        z = np.asarray(values, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt & (2**64 - 1))
        halves = []
        for _ in range(2):
            z = z + np.uint64(0x9E3779B97F4A7C15)
            x = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            halves.append(x ^ (x >> np.uint64(31)))
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    nibbles = np.concatenate([(h[:, None] >> shifts) & np.uint64(15) for h in halves], axis=1).astype(np.uint8)
    hex_chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    chars = np.full((len(values), 36), ord("-"), dtype=np.uint8)
    positions = [i for i in range(36) if i not in (8, 13, 18, 23)]
    chars[:, positions] = hex_chars
    return pa.array(np.ascontiguousarray(chars).view("S36").ravel()).cast(pa.string())

"""The plan of one run: validated arguments, the output window, the daily volume and the calendar blocks.

The simulation lives on an absolute calendar starting on ``CALENDAR_START``. Arrival days are grouped in blocks of
``block_days`` days; a run simulates every block whose customers can still produce an event in the output window
(arrivals up to ``LEAD_DAYS`` before it) and keeps what falls inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from partnerlens.synthetic.formatting import unix_day
from partnerlens.synthetic.parameters import (
    CAL_ORD,
    CALENDAR_START,
    DAY,
    LEAD_DAYS,
    MAX_BLOCK_DAYS,
    MAX_SPAN_DAYS,
    MEAN_EXTRA_TOUCHES,
    ORGANIC_SHARE,
    UNIX_ORD,
    WEEKDAY_FACTORS,
)

CHUNK_CUSTOMERS = 50_000  # customers simulated per block (upper bound); read when a plan is made
FORMATS = ("mixed", "csv")
TRUTHS = ("standard", "hard")


@dataclass(frozen=True)
class Plan:
    """The arguments of one ``generate()`` call and what follows from them."""

    seed: int
    touchpoints: int
    partners: int
    days: int
    end_date: date
    since: date | None
    dirty_share: float
    formats: str
    truth: str  # "standard" or "hard" (intent-targeting partners, see partnerlens.synthetic)
    lo_day: int  # first output day (unix day)
    cut_ts: int  # last output second (unix, inclusive)
    per_day: float  # mean customer arrivals per day
    block_days: int

    @property
    def incremental(self) -> bool:
        return self.since is not None

    @property
    def window_start(self) -> date:
        return date.fromordinal(self.lo_day + UNIX_ORD)

    @property
    def lo_ts(self) -> int:
        return self.lo_day * DAY

    @property
    def cut_day(self) -> int:
        return self.cut_ts // DAY

    @property
    def tag(self) -> str:
        return f"{self.window_start.isoformat()}_{self.end_date.isoformat()}"

    @property
    def cal_offset(self) -> int:
        """Unix day of CALENDAR_START."""
        return CAL_ORD - UNIX_ORD

    def blocks(self) -> range:
        first = (self.lo_day - self.cal_offset - LEAD_DAYS) // self.block_days
        last = (self.cut_day - self.cal_offset) // self.block_days
        return range(first, last + 1)

    def block_has_touches(self, block: int) -> bool:
        first_day = self.cal_offset + block * self.block_days
        last_day = first_day + self.block_days - 1
        return last_day >= self.lo_day - MAX_SPAN_DAYS - 3 and first_day <= self.cut_day


def make_plan(
    seed: int,
    touchpoints: int,
    partners: int,
    days: int,
    end_date: date | None,
    dirty_share: float,
    since: date | None,
    formats: str,
    now: datetime,
    truth: str = "standard",
) -> Plan:
    """Validate the arguments and fix the output window, the daily volume and the block size."""
    if formats not in FORMATS:
        raise ValueError(f"formats must be 'mixed' or 'csv', got {formats!r}")
    if truth not in TRUTHS:
        raise ValueError(f"truth must be 'standard' or 'hard', got {truth!r}")
    if seed < 0 or touchpoints < 1 or partners < 1 or days < 1:
        raise ValueError("seed must be >= 0 and touchpoints, partners, days >= 1")
    if not 0.0 <= dirty_share <= 1.0:
        raise ValueError("dirty_share must be between 0 and 1")
    end_date = end_date or (now.date() - timedelta(days=1))
    start = since or end_date - timedelta(days=days - 1)
    if start > end_date:
        raise ValueError(f"since ({since}) is after end_date ({end_date})")
    if (start - CALENDAR_START).days < LEAD_DAYS:
        earliest = CALENDAR_START + timedelta(days=LEAD_DAYS)
        raise ValueError(f"the output window must start on or after {earliest}")
    now_ts = int(now.timestamp())
    cut_ts = min((unix_day(end_date) + 1) * DAY - 1, now_ts)
    if cut_ts < unix_day(start) * DAY:
        raise ValueError("the output window lies entirely in the future")
    per_day = touchpoints / days / ((1 + MEAN_EXTRA_TOUCHES) * (1 - ORGANIC_SHARE))
    block_days = int(min(MAX_BLOCK_DAYS, max(1, CHUNK_CUSTOMERS // max(per_day, 1.0))))
    return Plan(
        seed,
        touchpoints,
        partners,
        days,
        end_date,
        since,
        dirty_share,
        formats,
        truth,
        unix_day(start),
        cut_ts,
        per_day,
        block_days,
    )


def arrivals_before(per_day: float, rel_day: np.ndarray) -> np.ndarray:
    """Customers arrived before calendar day ``rel_day`` (days since CALENDAR_START): closed form, no history."""
    rel_day = np.asarray(rel_day, dtype=np.int64)
    first_weekday = CALENDAR_START.weekday()
    week = np.roll(WEEKDAY_FACTORS, -first_weekday)
    prefix = np.concatenate([[0.0], np.cumsum(week)])
    return np.floor(per_day * (prefix[7] * (rel_day // 7) + prefix[rel_day % 7])).astype(np.int64)

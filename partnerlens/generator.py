"""Synthetic partner-ecosystem generator: realistic feeds at any scale, with a known ground truth.

``generate()`` writes every feed of the data contract (``orchestration/feeds/contracts``) into a landing folder::

    <out_dir>/internal/<feed>/<feed>_<first day>_<last day>.csv        partners, agreements, campaigns,
                                                                        campaign_partners, customers, conversions,
                                                                        opportunities and the host's own costs
    <out_dir>/<partner id>/touchpoints/touchpoints_<first>_<last>.<csv|jsonl|parquet>
    <out_dir>/<partner id>/costs/costs_<first>_<last>.<csv|jsonl>
    <out_dir>/_ground_truth/                                            partner_effects.csv, dirty_rows.csv,
                                                                        manifest.json (ignored by the loader)

Simulation model
----------------
Customers arrive every day. A customer is either organic (no partner touch) or touched by one to four partners
(drawn by partner reach); the touches fall between the arrival and the customer's decision, at most
``MAX_SPAN_DAYS`` later (most within 30 days). A touched customer converts (first purchase) with probability
``sigmoid(BASE_LOG_ODDS + sum of the true lifts of the distinct partners touched)``; the lifts are the ground truth.
Purchases may be preceded by a signup and followed by monthly renewals or a refund; B2B customers belong to an
account (company domain) and some open an opportunity, often registered by one of their partners.

Time model and the incremental rule
-----------------------------------
The simulation lives on an absolute calendar starting on ``CALENDAR_START``; it never depends on ``end_date`` or
``since``. Arrival days are grouped in fixed blocks of that calendar and every block draws from its own random
streams (numpy PCG64 seeded with ``(seed, stream, block)``); costs draw from one stream per calendar day. The daily
volume is fixed by ``touchpoints / days``, so runs are comparable when ``seed``, ``touchpoints``, ``partners`` and
``days`` are equal. A run simulates every block whose customers can still produce an event in the output window
(arrivals up to ``LEAD_DAYS`` before it) and keeps what falls inside the window:

* full run: the window is the ``days`` UTC days ending at ``end_date``; every feed is written.
* incremental run (``since``): the window is ``[since, end_date]``; it writes touchpoints, conversions and costs of
  the window, the opportunities created or changed in it (their state at the end of the window), and the customers
  created in it (new CRM records, so new conversions resolve). Partners, agreements, campaigns and
  campaign_partners are not written: the full run already lists campaigns and agreement versions planned up to
  ``PLANNING_DAYS`` after its ``end_date``.

Hence a full run to day D plus an incremental run ``since=D+1, end_date=D+1`` hold, row for row, the events of a
full run to D+1. Day boundaries are UTC; the window never extends past the current time (if ``end_date`` is today
or later the output is cut at the moment of the run and is then not reproducible).

Dirty rows
----------
With probability ``dirty_share`` per event row (touchpoints, conversions, costs) one defect is injected and listed in
``_ground_truth/dirty_rows.csv`` (feed, file, 1-based data row number, defect). Duplicate keys copy the key of the
row just before in the same file (same partner, same UTC day), so the original is always in the same delivery.
Master feeds stay clean.
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["GenerateSummary", "generate"]

# --------------------------------------------------------------------------------------------------------------------
# Calendar and scale
# --------------------------------------------------------------------------------------------------------------------
CALENDAR_START = date(2020, 1, 1)
_CAL_ORD = CALENDAR_START.toordinal()
_UNIX_ORD = date(1970, 1, 1).toordinal()
DAY = 86_400
MAX_SPAN_DAYS = 45  # longest journey from arrival to decision
LEAD_DAYS = 150  # latest event (renewal, deal close) after an arrival
PLANNING_DAYS = 90  # campaigns and agreement versions are known this long before they start
CHUNK_CUSTOMERS = 50_000  # customers simulated per block (upper bound)
MAX_BLOCK_DAYS = 30
MAX_TOUCHES = 40

MEAN_EXTRA_TOUCHES = 2.5  # touches per touched customer = 1 + Poisson(2.5)
ORGANIC_SHARE = 0.15
BASE_LOG_ODDS = -3.0
ORGANIC_CONVERSION = 0.25
WEEKDAY_FACTORS = np.array([1.08, 1.10, 1.08, 1.05, 1.00, 0.80, 0.89])  # Monday..Sunday, sums to 7

# Random streams
_S_PARTNERS, _S_CAMPAIGNS, _S_AGREEMENTS, _S_ACCOUNTS, _S_CALIBRATION = 1, 2, 3, 4, 5
_S_CUSTOMERS, _S_TOUCHES, _S_CONVERSIONS, _S_COSTS = 11, 12, 13, 14

# --------------------------------------------------------------------------------------------------------------------
# Contract columns (kept in contract order; tests compare them with the YAML contracts)
# --------------------------------------------------------------------------------------------------------------------
COLUMNS: dict[str, list[str]] = {
    "partners": ["partner_id", "partner_name", "partner_type", "tier", "joined_on", "country", "referral_code"],
    "agreements": [
        "agreement_id",
        "version",
        "partner_id",
        "effective_from",
        "effective_to",
        "revenue_share_pct",
        "referral_commission_pct",
        "referral_months",
        "volume_tiers",
        "cost_share_pct",
        "payout_cap",
        "lookback_days",
        "attribution_model",
        "currency",
    ],
    "campaigns": ["campaign_id", "campaign_name", "campaign_type", "start_date", "end_date", "budget", "currency"],
    "campaign_partners": ["campaign_id", "partner_id", "cost_share_pct", "role"],
    "customers": ["customer_id", "email", "anonymous_id", "created_at", "country", "is_opted_out"],
    "conversions": [
        "conversion_id",
        "converted_at",
        "customer_id",
        "email",
        "anonymous_id",
        "conversion_type",
        "revenue",
        "currency",
        "gross_margin",
        "refunded_conversion_id",
    ],
    "opportunities": [
        "opportunity_id",
        "account_domain",
        "created_at",
        "closed_at",
        "stage",
        "amount",
        "currency",
        "is_won",
        "registering_partner_id",
        "registration_status",
        "registered_at",
        "registration_expires_at",
    ],
    "touchpoints": [
        "event_id",
        "occurred_at",
        "partner_id",
        "campaign_id",
        "channel",
        "touch_type",
        "email",
        "email_sha256",
        "customer_id",
        "anonymous_id",
        "account_domain",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "referral_code",
    ],
    "costs": ["cost_id", "cost_date", "partner_id", "campaign_id", "amount", "currency", "cost_type"],
}
MASTER_FEEDS = ("partners", "agreements", "campaigns", "campaign_partners")

# --------------------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------------------
PARTNER_TYPES = ["co_marketing", "integration", "reseller", "referral", "affiliate", "joint_venture"]
_PARTNER_TYPE_P = [0.22, 0.20, 0.18, 0.15, 0.15, 0.10]
TIERS = ["platinum", "gold", "silver", "registered"]
_TIER_P = [0.10, 0.25, 0.35, 0.30]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "AUD"]
_FX = np.array([1.0, 0.92, 0.79, 150.0, 1.36, 1.52])  # units per USD
_JPY = CURRENCIES.index("JPY")
ATTRIBUTION_MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]

# Customer countries: (code, share, currency, account top-level domain)
_COUNTRIES = [
    ("US", 0.38, "USD", ".com"),
    ("GB", 0.12, "GBP", ".co.uk"),
    ("DE", 0.10, "EUR", ".de"),
    ("FR", 0.07, "EUR", ".fr"),
    ("NL", 0.04, "EUR", ".nl"),
    ("ES", 0.04, "EUR", ".es"),
    ("JP", 0.07, "JPY", ".co.jp"),
    ("CA", 0.08, "CAD", ".ca"),
    ("AU", 0.06, "AUD", ".com.au"),
    ("IN", 0.04, "USD", ".in"),
]
_COUNTRY_CODES = pa.array([c[0] for c in _COUNTRIES])
_COUNTRY_P = np.array([c[1] for c in _COUNTRIES])
_COUNTRY_CURRENCY = np.array([CURRENCIES.index(c[2]) for c in _COUNTRIES])
# Partner head-office locations: (country, UTC offset in minutes, share)
_PARTNER_LOCATIONS = [
    ("US", -300, 0.22),
    ("US", -480, 0.12),
    ("GB", 0, 0.12),
    ("DE", 60, 0.10),
    ("FR", 60, 0.06),
    ("NL", 60, 0.05),
    ("IN", 330, 0.06),
    ("JP", 540, 0.07),
    ("SG", 480, 0.05),
    ("AU", 600, 0.07),
    ("CA", -300, 0.08),
]
_LOCATION_CURRENCY = {
    "US": "USD",
    "IN": "USD",
    "SG": "USD",
    "GB": "GBP",
    "DE": "EUR",
    "FR": "EUR",
    "NL": "EUR",
    "JP": "JPY",
    "AU": "AUD",
    "CA": "CAD",
}

TOUCH_TYPES = [
    "impression",
    "click",
    "referral_visit",
    "webinar_registration",
    "webinar_attendance",
    "content_download",
    "demo_request",
    "co_sell_meeting",
    "deal_registration",
]
_TT = {name: i for i, name in enumerate(TOUCH_TYPES)}
CHANNELS = [
    "email",
    "social",
    "search",
    "display",
    "webinar",
    "event",
    "content",
    "marketplace",
    "referral_link",
    "partner_portal",
    "direct_sales",
]
_CH = {name: i for i, name in enumerate(CHANNELS)}
# Touch-type mix per partner type (order of TOUCH_TYPES)
_TOUCH_MIX = {
    "co_marketing": [0.33, 0.20, 0.00, 0.12, 0.08, 0.15, 0.06, 0.04, 0.02],
    "integration": [0.20, 0.20, 0.05, 0.05, 0.03, 0.20, 0.15, 0.07, 0.05],
    "reseller": [0.10, 0.15, 0.05, 0.05, 0.05, 0.10, 0.15, 0.20, 0.15],
    "referral": [0.05, 0.25, 0.50, 0.00, 0.00, 0.05, 0.10, 0.03, 0.02],
    "affiliate": [0.45, 0.35, 0.15, 0.00, 0.00, 0.05, 0.00, 0.00, 0.00],
    "joint_venture": [0.20, 0.15, 0.00, 0.12, 0.10, 0.15, 0.10, 0.10, 0.08],
}
_CHANNEL_MIX = {
    "impression": {"display": 0.4, "social": 0.3, "email": 0.15, "search": 0.15},
    "click": {"search": 0.3, "social": 0.25, "email": 0.25, "display": 0.1, "referral_link": 0.1},
    "referral_visit": {"referral_link": 0.8, "partner_portal": 0.1, "marketplace": 0.1},
    "webinar_registration": {"email": 0.5, "webinar": 0.3, "social": 0.2},
    "webinar_attendance": {"webinar": 1.0},
    "content_download": {"content": 0.7, "email": 0.2, "social": 0.1},
    "demo_request": {"partner_portal": 0.4, "direct_sales": 0.3, "marketplace": 0.3},
    "co_sell_meeting": {"direct_sales": 0.8, "event": 0.2},
    "deal_registration": {"partner_portal": 1.0},
}
# Where in a journey a partner type tends to touch (0 = at arrival, 1 = just before the decision)
_STAGE_MEAN = {
    "co_marketing": 0.25,
    "joint_venture": 0.30,
    "integration": 0.50,
    "reseller": 0.65,
    "referral": 0.80,
    "affiliate": 0.85,
}
_B2B_TOUCHES = np.array([_TT["co_sell_meeting"], _TT["deal_registration"]])
_UTM_TOUCHES = np.array([_TT[t] for t in ("click", "referral_visit", "content_download", "webinar_registration")])
_UTM_MEDIUM = {"email": "email", "social": "social", "search": "cpc", "display": "display", "referral_link": "referral"}
# Identifier a partner sends: email, email_sha256, customer_id, anonymous_id
_IDENT_P = np.array([0.40, 0.30, 0.18, 0.12])  # slightly more anonymous ids: some fall back

CAMPAIGN_TYPES = [
    "webinar",
    "co_branded_content",
    "bundle_offer",
    "cross_promotion",
    "event_sponsorship",
    "newsletter",
    "marketplace_listing",
]
_CAMPAIGN_LABELS = [
    "Webinar Series",
    "Co-branded Guide",
    "Bundle Offer",
    "Cross Promotion",
    "Event Sponsorship",
    "Joint Newsletter",
    "Marketplace Listing",
]
COST_TYPES = ["media", "mdf", "event", "content"]
_CAMPAIGN_COST_TYPE = np.array([3, 3, 1, 0, 2, 0, 1])  # main cost type per campaign type
_ROLES = ["co_host", "sponsor", "distributor"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_PRICES = np.array([29.0, 49.0, 99.0, 199.0, 499.0])  # USD per month
_PRICE_P = np.array([0.30, 0.30, 0.20, 0.15, 0.05])
_MONTHLY_SHARE = 0.55
_B2B_TOUCHED, _B2B_ORGANIC, _B2B_PRICE_FACTOR = 0.30, 0.20, 4.0
_MEAN_FIRST_PURCHASE_USD = float(
    (_PRICES @ _PRICE_P) * (1 + _B2B_TOUCHED * (_B2B_PRICE_FACTOR - 1)) * (_MONTHLY_SHARE + (1 - _MONTHLY_SHARE) * 10)
)
OPEN_STAGES = ["prospecting", "qualification", "proposal", "negotiation"]
_STAGE_FRACTIONS = np.array([0.0, 0.15, 0.40, 0.70, 1.0])
REGISTRATION_STATUSES = ["approved", "pending", "rejected"]

_NAME_HEADS = [
    "Northwind",
    "Bluepeak",
    "Brightline",
    "Summit",
    "Cedar",
    "Ironclad",
    "Silverleaf",
    "Nova",
    "Apex",
    "Harbor",
    "Maple",
    "Quantum",
    "Vertex",
    "Lumen",
    "Orbit",
    "Pioneer",
    "Atlas",
    "Granite",
    "Crest",
    "Riverbend",
    "Falcon",
    "Aurora",
    "Zenith",
    "Cobalt",
    "Evergreen",
    "Sterling",
    "Horizon",
    "Beacon",
    "Catalyst",
    "Meridian",
]
_NAME_TAILS = [
    "Analytics",
    "Cloud",
    "Labs",
    "Systems",
    "Digital",
    "Partners",
    "Media",
    "Software",
    "Networks",
    "Data",
    "Commerce",
    "Solutions",
    "Works",
    "Group",
    "Ventures",
]
_FIRST_NAMES = pa.array(
    [
        "anna",
        "ben",
        "carla",
        "david",
        "elena",
        "felix",
        "grace",
        "hiro",
        "ines",
        "jack",
        "kate",
        "liam",
        "maria",
        "noah",
        "olivia",
        "paul",
        "quinn",
        "rosa",
        "sam",
        "tara",
        "umar",
        "vera",
        "will",
        "xenia",
        "yuki",
        "zoe",
        "amir",
        "bea",
        "chen",
        "diego",
        "emma",
        "finn",
        "gita",
        "hugo",
        "ivy",
        "jonas",
        "kenji",
        "lea",
        "mateo",
        "nina",
        "oscar",
        "priya",
        "rafael",
        "sofia",
        "tom",
        "ulla",
        "victor",
        "wen",
        "yara",
        "zack",
    ]
)
_LAST_NAMES = pa.array(
    [
        "smith",
        "mueller",
        "garcia",
        "martin",
        "rossi",
        "tanaka",
        "brown",
        "schmidt",
        "lopez",
        "bernard",
        "ricci",
        "suzuki",
        "wilson",
        "fischer",
        "gonzalez",
        "dubois",
        "romano",
        "sato",
        "taylor",
        "weber",
        "perez",
        "laurent",
        "costa",
        "ito",
        "anderson",
        "wagner",
        "sanchez",
        "moreau",
        "greco",
        "kato",
        "thomas",
        "becker",
        "ramirez",
        "simon",
        "bruno",
        "yamamoto",
        "jackson",
        "hoffmann",
        "torres",
        "michel",
        "gallo",
        "nakamura",
        "white",
        "koch",
        "flores",
        "lefebvre",
        "conti",
        "kobayashi",
        "harris",
        "richter",
        "patel",
        "singh",
        "kim",
        "nguyen",
        "okafor",
    ]
)
_CONSUMER_DOMAINS = [
    ("gmail.com", 0.35),
    ("outlook.com", 0.15),
    ("yahoo.com", 0.10),
    ("hotmail.com", 0.08),
    ("icloud.com", 0.10),
    ("proton.me", 0.04),
    ("gmx.de", 0.05),
    ("web.de", 0.03),
    ("orange.fr", 0.03),
    ("yahoo.co.jp", 0.03),
    ("btinternet.com", 0.02),
    ("shaw.ca", 0.01),
    ("bigpond.com", 0.01),
]
_CONSUMER_DOMAIN_NAMES = pa.array([d for d, _ in _CONSUMER_DOMAINS])
_CONSUMER_DOMAIN_P = np.array([p for _, p in _CONSUMER_DOMAINS])
_ACCOUNT_WORDS_A = [
    "north",
    "blue",
    "bright",
    "swift",
    "clear",
    "green",
    "silver",
    "prime",
    "bold",
    "true",
    "deep",
    "open",
    "smart",
    "rapid",
    "solid",
    "urban",
    "alpine",
    "coastal",
    "golden",
    "lunar",
    "polar",
    "royal",
    "civic",
    "modern",
    "global",
    "quiet",
    "red",
    "white",
    "black",
    "grand",
]
_ACCOUNT_WORDS_B = [
    "wind",
    "river",
    "stone",
    "peak",
    "field",
    "bridge",
    "harbor",
    "forge",
    "grove",
    "works",
    "logic",
    "metrics",
    "ledger",
    "cart",
    "cloud",
    "stack",
    "labs",
    "systems",
    "foods",
    "health",
    "motors",
    "freight",
    "energy",
    "media",
    "retail",
    "bank",
    "insure",
    "travel",
    "learn",
    "build",
]

# Defects
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
_BAD_TIMESTAMPS = ["2026-13-45T25:61:00+00:00", "not-a-timestamp"]
_BAD_NUMBERS = ["n/a", "12,50", "1.234,56"]

_NULL = pa.scalar(None, pa.string())
_TIME_OF_DAY = pc.utf8_slice_codeunits(
    pa.array(np.datetime_as_string(np.arange(DAY).astype("datetime64[s]"), unit="s")), 10, 19
)  # "T00:00:00" .. "T23:59:59"


# --------------------------------------------------------------------------------------------------------------------
# Public result
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class GenerateSummary:
    """What one ``generate()`` call wrote."""

    out_dir: Path
    window_start: date
    window_end: date
    incremental: bool
    files: list[str]
    rows: dict[str, int]
    dirty_rows: dict[str, int]
    wall_seconds: float

    def __str__(self) -> str:
        kind = "incremental delivery" if self.incremental else "full delivery"
        lines = [
            f"{kind} {self.window_start} .. {self.window_end} into {self.out_dir}: {len(self.files)} files "
            f"in {self.wall_seconds:.1f} s"
        ]
        for feed in sorted(self.rows):
            lines.append(f"  {feed:<18} {self.rows[feed]:>12,} rows  ({self.dirty_rows.get(feed, 0):,} dirty)")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------------
def _rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent PCG64 stream for (seed, *keys); the key count is appended so (s, 3) and (s, 3, 0) differ."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *keys, len(keys)])))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _cdf(probabilities: np.ndarray) -> np.ndarray:
    """Row-wise cumulative distribution whose last column is exactly 1."""
    cdf = np.cumsum(np.asarray(probabilities, dtype=float), axis=-1)
    cdf /= cdf[..., -1:]
    cdf[..., -1] = 1.0
    return cdf


def _categorical(u: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """Index of the category of each uniform draw; ``cdf`` is one row per draw or one shared row."""
    if cdf.ndim == 1:
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def _strs(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _take(labels: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """labels[index], null where ``valid`` is False or the index is negative."""
    mask = index < 0 if valid is None else (~valid) | (index < 0)
    return labels.take(pa.array(np.where(mask, 0, index), mask=mask))


def _where(mask: np.ndarray, values: pa.Array | str | pa.Scalar, other: pa.Array | str | pa.Scalar) -> pa.Array:
    return pc.if_else(pa.array(mask, pa.bool_()), values, other)


def _unix_day(d: date) -> int:
    return d.toordinal() - _UNIX_ORD


def _fmt_dates(unix_days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(unix_days, dtype=np.int32), pa.date32()).cast(pa.string())


def _offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _fmt_timestamps(
    seconds: np.ndarray, offset_minutes: np.ndarray | int = 0, offset_labels: pa.Array | str = "+00:00"
) -> pa.Array:
    """ISO 8601 local time with offset, e.g. 2026-10-03T14:22:10+02:00, from UTC epoch seconds."""
    local = np.asarray(seconds, dtype=np.int64) + np.asarray(offset_minutes, dtype=np.int64) * 60
    days = local // DAY
    return _join(_fmt_dates(days), _TIME_OF_DAY.take(pa.array(local - days * DAY)), offset_labels)


def _fmt_cents(cents: np.ndarray) -> pa.Array:
    """Decimal text with two places from integer cents, e.g. -1234 -> '-12.34'."""
    cents = np.asarray(cents, dtype=np.int64)
    magnitude = np.abs(cents)
    fraction = pc.utf8_lpad(_strs(magnitude % 100), 2, "0")
    return _join(_where(cents < 0, "-", ""), _strs(magnitude // 100), ".", fraction)


def _to_cents(amount: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Round amounts to cents, and to whole units for JPY."""
    whole = np.round(amount) * 100
    return np.where(currency == _JPY, whole, np.round(amount * 100)).astype(np.int64)


def _hex_ids(values: np.ndarray, salt: int) -> pa.Array:
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


def _replace_variants(
    column: pa.Array, mask: np.ndarray, variant: np.ndarray, replacements: list[pa.Array | str]
) -> pa.Array:
    """Where ``mask``, replace the value by ``replacements[int(variant * len(replacements))]``."""
    which = np.minimum((variant * len(replacements)).astype(np.int64), len(replacements) - 1)
    for i, replacement in enumerate(replacements):
        column = _where(mask & (which == i), replacement, column)
    return column


def _previous_in_group(keys: list[np.ndarray], eligible: np.ndarray) -> np.ndarray:
    """True where the row before (in the given order) has equal keys and is eligible as an original."""
    n = len(eligible)
    same = np.zeros(n, dtype=bool)
    if n > 1:
        same[1:] = eligible[:-1]
        for key in keys:
            same[1:] &= key[1:] == key[:-1]
    return same


# --------------------------------------------------------------------------------------------------------------------
# Plan: arguments, window and calendar blocks
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    seed: int
    touchpoints: int
    partners: int
    days: int
    end_date: date
    since: date | None
    dirty_share: float
    formats: str
    lo_day: int  # first output day (unix day)
    cut_ts: int  # last output second (unix, inclusive)
    per_day: float  # mean customer arrivals per day
    block_days: int

    @property
    def incremental(self) -> bool:
        return self.since is not None

    @property
    def window_start(self) -> date:
        return date.fromordinal(self.lo_day + _UNIX_ORD)

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
        return _CAL_ORD - _UNIX_ORD

    def blocks(self) -> range:
        first = (self.lo_day - self.cal_offset - LEAD_DAYS) // self.block_days
        last = (self.cut_day - self.cal_offset) // self.block_days
        return range(first, last + 1)

    def block_has_touches(self, block: int) -> bool:
        first_day = self.cal_offset + block * self.block_days
        last_day = first_day + self.block_days - 1
        return last_day >= self.lo_day - MAX_SPAN_DAYS - 1 and first_day <= self.cut_day


def _make_plan(
    seed: int,
    touchpoints: int,
    partners: int,
    days: int,
    end_date: date | None,
    dirty_share: float,
    since: date | None,
    formats: str,
    now: datetime,
) -> _Plan:
    """Validate the arguments and fix the output window, the daily volume and the block size."""
    if formats not in ("mixed", "csv"):
        raise ValueError(f"formats must be 'mixed' or 'csv', got {formats!r}")
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
    cut_ts = min((_unix_day(end_date) + 1) * DAY - 1, now_ts)
    if cut_ts < _unix_day(start) * DAY:
        raise ValueError("the output window lies entirely in the future")
    per_day = touchpoints / days / ((1 + MEAN_EXTRA_TOUCHES) * (1 - ORGANIC_SHARE))
    block_days = int(min(MAX_BLOCK_DAYS, max(1, CHUNK_CUSTOMERS // max(per_day, 1.0))))
    return _Plan(
        seed,
        touchpoints,
        partners,
        days,
        end_date,
        since,
        dirty_share,
        formats,
        _unix_day(start),
        cut_ts,
        per_day,
        block_days,
    )


def _arrivals_before(per_day: float, rel_day: np.ndarray) -> np.ndarray:
    """Customers arrived before calendar day ``rel_day`` (days since CALENDAR_START): closed form, no history."""
    rel_day = np.asarray(rel_day, dtype=np.int64)
    first_weekday = CALENDAR_START.weekday()
    week = np.roll(WEEKDAY_FACTORS, -first_weekday)
    prefix = np.concatenate([[0.0], np.cumsum(week)])
    return np.floor(per_day * (prefix[7] * (rel_day // 7) + prefix[rel_day % 7])).astype(np.int64)


# --------------------------------------------------------------------------------------------------------------------
# Reference data: partners, accounts, campaigns, agreements
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class _Partners:
    ids: list[str]
    names: list[str]
    slugs: list[str]
    types: np.ndarray
    tiers: list[str]
    joined: list[date]
    countries: list[str]
    offset_minutes: np.ndarray
    currencies: np.ndarray
    referral_codes: list[str | None]
    reach_cdf: np.ndarray
    lift: np.ndarray
    touch_formats: list[str]
    cost_formats: list[str]
    ident_cdf: np.ndarray
    event_style: np.ndarray
    unknown_id: str
    # arrow views for vectorised formatting
    id_array: pa.Array = field(init=False)
    slug_array: pa.Array = field(init=False)
    offset_array: pa.Array = field(init=False)
    referral_array: pa.Array = field(init=False)
    currency_array: pa.Array = field(init=False)

    def __post_init__(self) -> None:
        self.id_array = pa.array(self.ids)
        self.slug_array = pa.array(self.slugs)
        self.offset_array = pa.array([_offset_label(int(m)) for m in self.offset_minutes])
        self.referral_array = pa.array(self.referral_codes, pa.string())
        self.currency_array = pa.array([CURRENCIES[c] for c in self.currencies])

    def __len__(self) -> int:
        return len(self.ids)


def _build_partners(seed: int, n: int, formats: str) -> _Partners:
    """Partner master: types, tiers, locations, reach (touch volume) and true lift (independent of each other)."""
    rng = _rng(seed, _S_PARTNERS)
    width = max(3, len(str(n)))
    ids = [f"P{i + 1:0{width}d}" for i in range(n)]
    combos = rng.permutation(len(_NAME_HEADS) * len(_NAME_TAILS))
    names = []
    for i in range(n):
        c = int(combos[i % len(combos)])
        suffix = f" {i // len(combos) + 1}" if i >= len(combos) else ""
        names.append(f"{_NAME_HEADS[c // len(_NAME_TAILS)]} {_NAME_TAILS[c % len(_NAME_TAILS)]}{suffix}")
    slugs = [name.lower().replace(" ", "-") for name in names]
    types = rng.choice(len(PARTNER_TYPES), size=n, p=_PARTNER_TYPE_P)
    tiers = [TIERS[t] for t in rng.choice(len(TIERS), size=n, p=_TIER_P)]
    joined = [date(2016, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 4 * 365, size=n)]
    loc = rng.choice(len(_PARTNER_LOCATIONS), size=n, p=[p for *_, p in _PARTNER_LOCATIONS])
    countries = [_PARTNER_LOCATIONS[i][0] for i in loc]
    offsets = np.array([_PARTNER_LOCATIONS[i][1] for i in loc])
    currencies = np.array([CURRENCIES.index(_LOCATION_CURRENCY[c]) for c in countries])
    reach = rng.lognormal(0.0, 1.0, size=n)
    # true lifts: a third near zero, a third moderate, a third strong
    group = rng.permutation(np.arange(n) % 3)
    lift = np.select(
        [group == 0, group == 1], [rng.uniform(0.0, 0.08, n), rng.uniform(0.3, 0.8, n)], rng.uniform(1.0, 1.7, n)
    )
    primary = rng.choice(4, size=n, p=_IDENT_P)
    ident_cdf = _cdf(0.7 * _IDENT_P[None, :] + 0.3 * np.eye(4)[primary])
    wants_code = np.isin(types, [PARTNER_TYPES.index(t) for t in ("referral", "affiliate", "reseller")])
    has_code = wants_code | (rng.random(n) < 0.4)
    codes = [f"{names[i].split()[0].upper()}{i + 1:03d}" if has_code[i] else None for i in range(n)]
    touch_formats = ["csv"] * n
    cost_formats = ["csv"] * n
    if formats == "mixed":
        for i in range(n):
            touch_formats[i] = {3: "jsonl", 4: "parquet"}.get(i % 5, "csv")
            cost_formats[i] = "jsonl" if touch_formats[i] == "jsonl" else "csv"
    unknown = "P" + "9" * width if n < 10**width - 1 else "P" + "9" * (width + 1)
    return _Partners(
        ids,
        names,
        slugs,
        types,
        tiers,
        joined,
        countries,
        offsets,
        currencies,
        codes,
        _cdf(reach),
        lift,
        touch_formats,
        cost_formats,
        ident_cdf,
        np.arange(n) % 3,
        unknown,
    )


@dataclass
class _Accounts:
    domains: pa.Array
    country: np.ndarray
    cdf: np.ndarray


def _build_accounts(seed: int, per_day: float) -> _Accounts:
    """B2B accounts (company domains); popularity is skewed so that accounts have several contacts."""
    rng = _rng(seed, _S_ACCOUNTS)
    n = max(50, round(per_day * 6))
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P)
    generic = rng.random(n)
    order = rng.permutation(n)
    a, b = len(_ACCOUNT_WORDS_A), len(_ACCOUNT_WORDS_B)
    domains = []
    for i in range(n):
        k = int(order[i])
        rep = k // (a * b)
        tld = _COUNTRIES[country[i]][3] if generic[i] < 0.5 else (".com" if generic[i] < 0.85 else ".io")
        domains.append(f"{_ACCOUNT_WORDS_A[k % a]}{_ACCOUNT_WORDS_B[(k // a) % b]}{rep or ''}{tld}")
    weights = 1.0 / np.arange(1, n + 1) ** 0.8
    return _Accounts(pa.array(domains), country, _cdf(weights))


@dataclass
class _Campaigns:
    ids: list[str]
    names: list[str]
    types: np.ndarray
    start: np.ndarray  # unix day
    end: np.ndarray  # unix day, inclusive
    budget: np.ndarray
    currency: np.ndarray
    lead: np.ndarray
    member_campaign: np.ndarray
    member_partner: np.ndarray
    member_share: np.ndarray
    member_role: list[str]
    id_array: pa.Array = field(init=False)
    utm_array: pa.Array = field(init=False)

    def __post_init__(self) -> None:
        self.id_array = pa.array(self.ids, pa.string())
        self.utm_array = pa.array(
            [f"{CAMPAIGN_TYPES[t]}_{c.lower()}" for c, t in zip(self.ids, self.types, strict=True)], pa.string()
        )

    def host_share(self) -> np.ndarray:
        """Share of each campaign's cost the host carries (100 - partners' shares)."""
        carried = np.bincount(self.member_campaign, weights=self.member_share, minlength=len(self.ids))
        return np.maximum(0.0, 100.0 - carried)


def _build_campaigns(seed: int, partners: _Partners, horizon_day: int) -> _Campaigns:
    """Joint campaigns on the absolute calendar: each partner leads one every ~45 days, with 0-2 co-partners."""
    n = len(partners)
    width = max(3, len(str(n)))
    rows: list[tuple] = []
    members: list[tuple[int, int, float, str]] = []
    for p in range(n):
        rng = _rng(seed, _S_CAMPAIGNS, p)
        day = _unix_day(date(2019, 7, 1)) + int(rng.integers(0, 45))
        seq = 0
        while day <= horizon_day:
            u = rng.random(12)
            seq += 1
            ctype = int(u[1] * len(CAMPAIGN_TYPES))
            duration = 14 + int(u[2] * 86)
            currency = int(partners.currencies[p])
            budget = round((5000 + u[3] * 40000) * _FX[currency], -2)
            start = date.fromordinal(day + _UNIX_ORD)
            c = len(rows)
            name = f"{partners.names[p]} {_CAMPAIGN_LABELS[ctype]} {_MONTHS[start.month - 1]} {start.year}"
            rows.append((f"C{p + 1:0{width}d}{seq:03d}", name, ctype, day, day + duration - 1, budget, currency, p))
            extras: list[int] = []
            n_extra = 0 if u[4] < 0.45 else (1 if u[4] < 0.8 else 2)
            for j in range(min(n_extra, n - 1)):
                other = (p + 1 + int(u[5 + j] * (n - 1))) % n
                if other not in extras:
                    extras.append(other)
            lead_share = 20 + u[7] * 40
            extra_shares = [5 + u[8 + j] * 20 for j in range(len(extras))]
            if lead_share + sum(extra_shares) > 100:
                scale = (100 - lead_share) / sum(extra_shares)
                extra_shares = [s * scale for s in extra_shares]
            members.append((c, p, round(lead_share, 2), "lead"))
            for j, other in enumerate(extras):
                members.append((c, other, round(extra_shares[j], 2), _ROLES[int(u[10 + j] * len(_ROLES))]))
            day += 25 + int(u[0] * 40)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(8)]
    mcols = list(zip(*members, strict=True)) if members else [[] for _ in range(4)]
    return _Campaigns(
        ids=list(cols[0]),
        names=list(cols[1]),
        types=np.array(cols[2], dtype=np.int64),
        start=np.array(cols[3], dtype=np.int64),
        end=np.array(cols[4], dtype=np.int64),
        budget=np.array(cols[5], dtype=float),
        currency=np.array(cols[6], dtype=np.int64),
        lead=np.array(cols[7], dtype=np.int64),
        member_campaign=np.array(mcols[0], dtype=np.int64),
        member_partner=np.array(mcols[1], dtype=np.int64),
        member_share=np.array(mcols[2], dtype=float),
        member_role=list(mcols[3]),
    )


class _CampaignLookup:
    """Campaigns each partner takes part in, per day, for assigning touches to campaigns."""

    SLOTS = 8

    def __init__(self, campaigns: _Campaigns, n_partners: int, first_day: int, last_day: int) -> None:
        self.first_day = first_day
        n_days = last_day - first_day + 1
        self.table = np.full((n_partners, n_days, self.SLOTS), -1, dtype=np.int64)
        self.count = np.zeros((n_partners, n_days), dtype=np.int64)
        for c, p in zip(campaigns.member_campaign, campaigns.member_partner, strict=True):
            lo = max(int(campaigns.start[c]), first_day) - first_day
            hi = min(int(campaigns.end[c]), last_day) - first_day
            if hi < lo:
                continue
            days = np.arange(lo, hi + 1)
            slot = self.count[p, days]
            ok = slot < self.SLOTS
            self.table[p, days[ok], slot[ok]] = c
            self.count[p, days[ok]] += 1

    def pick(self, partner: np.ndarray, unix_day: np.ndarray, u_use: np.ndarray, u_slot: np.ndarray) -> np.ndarray:
        """A campaign active that day for the partner (85 % of touches), else -1."""
        d = np.clip(unix_day - self.first_day, 0, self.table.shape[1] - 1)
        count = self.count[partner, d]
        slot = np.minimum((u_slot * count).astype(np.int64), self.SLOTS - 1)
        chosen = self.table[partner, d, slot]
        return np.where((count > 0) & (u_use < 0.85), chosen, -1)


def _partner_sets(
    rng: np.random.Generator, n_touch: np.ndarray, reach_cdf: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each customer: 4 candidate partners, how many are used (kk) and which used slots are distinct."""
    n = len(n_touch)
    k = rng.choice(4, size=n, p=[0.40, 0.30, 0.18, 0.12]) + 1
    cand = np.minimum(np.searchsorted(reach_cdf, rng.random((n, 4)), side="right"), len(reach_cdf) - 1)
    kk = np.minimum(k, n_touch)
    used = np.arange(4)[None, :] < kk[:, None]
    repeat = np.zeros((n, 4), dtype=bool)
    for s in range(1, 4):
        repeat[:, s] = (cand[:, :s] == cand[:, s : s + 1]).any(axis=1)
    return cand, kk, used & ~repeat


def _expected_monthly_revenue_usd(seed: int, partners: _Partners, per_day: float) -> np.ndarray:
    """Rough first-purchase revenue per partner and month (credit split evenly), for sizing caps and tiers."""
    rng = _rng(seed, _S_CALIBRATION)
    n = 20_000
    n_touch = 1 + np.minimum(rng.poisson(MEAN_EXTRA_TOUCHES, n), MAX_TOUCHES - 1)
    cand, _, distinct = _partner_sets(rng, n_touch, partners.reach_cdf)
    p = _sigmoid(BASE_LOG_ODDS + (partners.lift[cand] * distinct).sum(axis=1))
    share = distinct / distinct.sum(axis=1, keepdims=True)
    credit = np.bincount(cand[distinct], weights=(p[:, None] * share)[distinct], minlength=len(partners))
    return credit / n * per_day * (1 - ORGANIC_SHARE) * 30.4 * _MEAN_FIRST_PURCHASE_USD


def _plain_number(value: float) -> str:
    """Decimal text without exponent or trailing zeros, e.g. 12.5 -> '12.5', 15.0 -> '15'."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _build_agreements(
    seed: int, partners: _Partners, monthly_usd: np.ndarray, horizon_day: int
) -> list[list[str | None]]:
    """Agreement versions: version 1 from the joining date, renegotiated on some anniversaries."""
    share_ranges = {
        "co_marketing": (5, 15),
        "integration": (8, 20),
        "reseller": (15, 30),
        "referral": (10, 20),
        "affiliate": (5, 12),
        "joint_venture": (15, 30),
    }
    model_offset = int(_rng(seed, _S_AGREEMENTS).integers(0, len(ATTRIBUTION_MODELS)))
    rows: list[list[str | None]] = []
    for p in range(len(partners)):
        rng = _rng(seed, _S_AGREEMENTS, p)
        u = rng.random(12)
        cur = int(partners.currencies[p])
        monthly = max(1.0, monthly_usd[p] * _FX[cur])
        lo, hi = share_ranges[PARTNER_TYPES[partners.types[p]]]
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
            if _unix_day(effective) > horizon_day:
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
                tiers = "|".join(f"{t:.0f}:{_plain_number(r)}" for t, r in zip(steps, rates, strict=True))
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


@dataclass
class _World:
    partners: _Partners
    accounts: _Accounts
    campaigns: _Campaigns
    lookup: _CampaignLookup
    agreements: list[list[str | None]]


def _build_world(plan: _Plan) -> _World:
    """All reference data: partners, campaigns (and who takes part when), agreements, B2B accounts."""
    partners = _build_partners(plan.seed, plan.partners, plan.formats)
    horizon = plan.cut_day + PLANNING_DAYS
    campaigns = _build_campaigns(plan.seed, partners, horizon)
    blocks = plan.blocks()
    first_day = plan.cal_offset + blocks.start * plan.block_days
    last_day = plan.cal_offset + blocks.stop * plan.block_days + MAX_SPAN_DAYS + 2
    lookup = _CampaignLookup(campaigns, len(partners), first_day, last_day)
    monthly = _expected_monthly_revenue_usd(plan.seed, partners, plan.per_day)
    agreements = _build_agreements(plan.seed, partners, monthly, horizon)
    return _World(partners, _build_accounts(plan.seed, plan.per_day), campaigns, lookup, agreements)


# --------------------------------------------------------------------------------------------------------------------
# Output: one writer per file, row counters, dirty-row bookkeeping
# --------------------------------------------------------------------------------------------------------------------
def _jsonl_bytes(table: pa.Table) -> memoryview:
    """JSON Lines for a table of string columns (null for missing), built column-wise."""
    parts: list[pa.Array | str] = []
    for i, name in enumerate(table.column_names):
        column = table.column(i).combine_chunks()
        escaped = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
        parts += [("{" if i == 0 else ",") + json.dumps(name) + ":", pc.coalesce(_join('"', escaped, '"'), "null")]
    lines = _join(*parts, "}\n")
    if len(lines) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


class _FileWriter:
    """Appends string tables to one CSV, JSON Lines or Parquet file."""

    def __init__(self, path: Path, fmt: str, columns: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.fmt, self.rows = path, fmt, 0
        self.schema = pa.schema([(c, pa.string()) for c in columns])
        self._csv: pacsv.CSVWriter | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._file: BinaryIO | None = None
        if fmt == "csv":
            self._csv = pacsv.CSVWriter(str(path), self.schema)
        elif fmt == "parquet":
            self._parquet = pq.ParquetWriter(str(path), self.schema, compression="snappy")
        else:
            self._file = path.open("wb")

    def write(self, table: pa.Table) -> None:
        if table.schema != self.schema:
            table = table.cast(self.schema)
        if self._csv is not None:
            self._csv.write_table(table)
        elif self._parquet is not None:
            self._parquet.write_table(table)
        else:
            self._file.write(_jsonl_bytes(table))
        self.rows += table.num_rows

    def close(self) -> None:
        for handle in (self._csv, self._parquet, self._file):
            if handle is not None:
                handle.close()


class _Output:
    """All files of one delivery, with their row counts and the injected defects."""

    def __init__(self, root: Path, tag: str) -> None:
        self.root, self.tag = root, tag
        self.writers: dict[str, _FileWriter] = {}
        self.feed_of: dict[str, str] = {}
        self.dirty: list[tuple[str, str, int, str]] = []

    def open(self, feed: str, source: str, fmt: str) -> str:
        """Create (once) the file of a feed from a source; returns its path relative to the root."""
        ext = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[fmt]
        rel = f"{source}/{feed}/{feed}_{self.tag}.{ext}"
        if rel not in self.writers:
            self.writers[rel] = _FileWriter(self.root / rel, fmt, COLUMNS[feed])
            self.feed_of[rel] = feed
        return rel

    def write(
        self,
        feed: str,
        source: str,
        fmt: str,
        table: pa.Table,
        dirty_positions: np.ndarray | None = None,
        defects: np.ndarray | None = None,
    ) -> None:
        rel = self.open(feed, source, fmt)
        writer = self.writers[rel]
        first_row = writer.rows + 1
        if table.num_rows:
            writer.write(table)
        if dirty_positions is not None:
            for pos, defect in zip(dirty_positions.tolist(), defects.tolist(), strict=True):
                self.dirty.append((feed, rel, first_row + pos, defect))

    def close(self) -> dict[str, int]:
        for writer in self.writers.values():
            writer.close()
        return {rel: w.rows for rel, w in sorted(self.writers.items())}


def _table(feed: str, columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table([columns[c] for c in COLUMNS[feed]], names=COLUMNS[feed])


def _split_by(keys: np.ndarray, n_groups: int) -> list[tuple[int, int, int]]:
    """(group, first row, end row) of the non-empty groups of rows sorted by an integer group key."""
    bounds = np.searchsorted(keys, np.arange(n_groups + 1))
    return [(g, int(bounds[g]), int(bounds[g + 1])) for g in range(n_groups) if bounds[g + 1] > bounds[g]]


def _write_by_partner(
    out: _Output,
    feed: str,
    table: pa.Table,
    partner: np.ndarray,
    formats: list[str],
    sources: list[str],
    dirty: np.ndarray,
    defects: np.ndarray,
) -> None:
    """Append each partner's slice of a partner-sorted table to that partner's file."""
    for p, a, b in _split_by(partner, len(sources)):
        local = np.flatnonzero(dirty[a:b])
        out.write(feed, sources[p], formats[p], table.slice(a, b - a), local, defects[a:b][local])


# --------------------------------------------------------------------------------------------------------------------
# Masters
# --------------------------------------------------------------------------------------------------------------------
def _write_masters(out: _Output, plan: _Plan, world: _World) -> None:
    """Partners, agreements, and the campaigns running in the window or planned up to PLANNING_DAYS after it."""
    p, c = world.partners, world.campaigns
    partners = {
        "partner_id": p.id_array,
        "partner_name": pa.array(p.names),
        "partner_type": pa.array([PARTNER_TYPES[t] for t in p.types]),
        "tier": pa.array(p.tiers),
        "joined_on": pa.array([d.isoformat() for d in p.joined]),
        "country": pa.array(p.countries),
        "referral_code": p.referral_array,
    }
    out.write("partners", "internal", "csv", _table("partners", partners))
    agreement_columns = list(zip(*world.agreements, strict=True))
    agreements = {
        name: pa.array(list(agreement_columns[i]), pa.string()) for i, name in enumerate(COLUMNS["agreements"])
    }
    out.write("agreements", "internal", "csv", _table("agreements", agreements))
    keep = np.flatnonzero((c.end >= plan.lo_day) & (c.start <= plan.cut_day + PLANNING_DAYS))
    campaigns = {
        "campaign_id": pa.array([c.ids[i] for i in keep], pa.string()),
        "campaign_name": pa.array([c.names[i] for i in keep], pa.string()),
        "campaign_type": pa.array([CAMPAIGN_TYPES[c.types[i]] for i in keep], pa.string()),
        "start_date": _fmt_dates(c.start[keep]),
        "end_date": _fmt_dates(c.end[keep]),
        "budget": _fmt_cents(_to_cents(c.budget[keep], c.currency[keep])),
        "currency": pa.array([CURRENCIES[c.currency[i]] for i in keep], pa.string()),
    }
    out.write("campaigns", "internal", "csv", _table("campaigns", campaigns))
    members = np.flatnonzero(np.isin(c.member_campaign, keep))
    campaign_partners = {
        "campaign_id": _take(c.id_array, c.member_campaign[members]),
        "partner_id": _take(p.id_array, c.member_partner[members]),
        "cost_share_pct": _fmt_cents(np.round(c.member_share[members] * 100).astype(np.int64)),
        "role": pa.array([c.member_role[i] for i in members], pa.string()),
    }
    out.write("campaign_partners", "internal", "csv", _table("campaign_partners", campaign_partners))


# --------------------------------------------------------------------------------------------------------------------
# Customers of one calendar block (the "skeleton": everything but the touches)
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class _Customers:
    block: int
    num: np.ndarray
    t0: np.ndarray  # arrival = CRM creation (unix seconds)
    organic: np.ndarray
    b2b: np.ndarray
    account: np.ndarray
    country: np.ndarray
    currency: np.ndarray
    first: np.ndarray
    last: np.ndarray
    pattern: np.ndarray
    domain: np.ndarray
    has_email: np.ndarray
    mixed_case: np.ndarray
    has_anon: np.ndarray
    opted_out: np.ndarray
    n_touch: np.ndarray
    cand: np.ndarray
    kk: np.ndarray
    distinct: np.ndarray
    lift_sum: np.ndarray
    span: np.ndarray
    t_dec: np.ndarray
    converted: np.ndarray
    has_signup: np.ndarray
    t_signup: np.ndarray
    revenue_cents: np.ndarray
    margin: np.ndarray
    refund: np.ndarray
    t_refund: np.ndarray
    renewals: np.ndarray
    renewal_jitter: np.ndarray
    opp: dict[str, np.ndarray]
    strings: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.num)


def _simulate_customers(plan: _Plan, world: _World, block: int) -> _Customers:
    """Arrivals of one calendar block and their journeys' outcomes; touches are drawn separately."""
    rng = _rng(plan.seed, _S_CUSTOMERS, block)
    rel_days = np.arange(block * plan.block_days, (block + 1) * plan.block_days + 1)
    before = _arrivals_before(plan.per_day, rel_days)
    counts = np.diff(before)
    n = int(counts.sum())
    num = before[0] + 1 + np.arange(n, dtype=np.int64)
    day = np.repeat(rel_days[:-1] + plan.cal_offset, counts).astype(np.int64)
    busy = rng.normal(14.5 * 3600, 3.5 * 3600, n)
    anytime = rng.random(n) * DAY
    t0 = day * DAY + np.where(rng.random(n) < 0.75, np.clip(busy, 0, DAY - 1), anytime).astype(np.int64)
    organic = rng.random(n) < ORGANIC_SHARE
    b2b = rng.random(n) < np.where(organic, _B2B_ORGANIC, _B2B_TOUCHED)
    account = np.where(b2b, _categorical(rng.random(n), world.accounts.cdf), -1)
    country = np.where(
        b2b, world.accounts.country[np.maximum(account, 0)], rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P)
    )
    currency = _COUNTRY_CURRENCY[country]
    first = rng.integers(0, len(_FIRST_NAMES), n)
    last = rng.integers(0, len(_LAST_NAMES), n)
    pattern = rng.integers(0, 4, n)
    domain = rng.choice(len(_CONSUMER_DOMAINS), size=n, p=_CONSUMER_DOMAIN_P)
    has_email = rng.random(n) < 0.97
    mixed_case = rng.random(n) < 0.10
    has_anon = rng.random(n) < 0.85
    opted_out = rng.random(n) < 0.05
    n_touch = np.where(organic, 0, 1 + np.minimum(rng.poisson(MEAN_EXTRA_TOUCHES, n), MAX_TOUCHES - 1))
    cand, kk, distinct = _partner_sets(rng, n_touch, world.partners.reach_cdf)
    lift_sum = (world.partners.lift[cand] * distinct).sum(axis=1)
    span = np.where(organic, 0, np.minimum(rng.exponential(10 * DAY, n) + 0.2 * DAY, MAX_SPAN_DAYS * DAY))
    span = span.astype(np.int64)
    t_dec = t0 + span + (rng.random(n) * 2 * DAY).astype(np.int64)
    p_convert = np.where(organic, ORGANIC_CONVERSION, _sigmoid(BASE_LOG_ODDS + lift_sum))
    converted = rng.random(n) < p_convert
    signup_u = rng.random(n)
    signup_lead = (rng.random(n) * 3 * DAY).astype(np.int64)
    has_signup = np.where(converted, signup_u < 0.6, (signup_u < 0.08) & ~organic)
    t_signup = np.where(converted, np.maximum(t0, t_dec - signup_lead), t_dec)
    monthly = rng.random(n) < _MONTHLY_SHARE
    price = _PRICES[rng.choice(len(_PRICES), size=n, p=_PRICE_P)]
    price = price * np.where(b2b, _B2B_PRICE_FACTOR, 1.0) * np.where(monthly, 1.0, 10.0)
    revenue_cents = _to_cents(price * _FX[currency], currency)
    margin = rng.uniform(0.60, 0.85, n)
    refund = converted & (rng.random(n) < 0.03)
    t_refund = t_dec + ((1 + rng.random(n) * 13) * DAY).astype(np.int64)
    keeps = np.cumprod(rng.random((n, 3)) < 0.8, axis=1).sum(axis=1)
    renewals = np.where(converted & monthly & ~refund, keeps, 0)
    renewal_jitter = rng.integers(0, 3600, (n, 3))
    opp = _simulate_opportunities(rng, n, organic, b2b, t0, span, kk, cand, currency)
    return _Customers(
        block,
        num,
        t0,
        organic,
        b2b,
        account,
        country,
        currency,
        first,
        last,
        pattern,
        domain,
        has_email,
        mixed_case,
        has_anon,
        opted_out,
        n_touch,
        cand,
        kk,
        distinct,
        lift_sum,
        span,
        t_dec,
        converted,
        has_signup,
        t_signup,
        revenue_cents,
        margin,
        refund,
        t_refund,
        renewals,
        renewal_jitter,
        opp,
    )


def _simulate_opportunities(
    rng: np.random.Generator,
    n: int,
    organic: np.ndarray,
    b2b: np.ndarray,
    t0: np.ndarray,
    span: np.ndarray,
    kk: np.ndarray,
    cand: np.ndarray,
    currency: np.ndarray,
) -> dict[str, np.ndarray]:
    """B2B deals opened by some B2B contacts during their journey; partners register some of them."""
    has = b2b & (rng.random(n) < np.where(organic, 0.10, 0.15))
    created = np.where(organic, t0 + rng.random(n) * 5 * DAY, t0 + (0.1 + 0.8 * rng.random(n)) * span)
    created = created.astype(np.int64)
    cycle = (14 + rng.random(n) * 76) * DAY
    registered = has & ~organic & (rng.random(n) < 0.40)
    slot = (rng.random(n) * np.maximum(kk, 1)).astype(np.int64)
    reg_partner = np.where(registered, cand[np.arange(n), slot], -1)
    status = rng.choice(3, size=n, p=[0.70, 0.15, 0.15])
    registered_at = created - (rng.random(n) * 7 * DAY).astype(np.int64)
    valid_days = rng.choice(np.array([60, 90, 120]), size=n)
    win_p = 0.25 + 0.15 * (registered & (status == 0)) + 0.10 * ~organic
    won = rng.random(n) < win_p
    lost_after = rng.integers(0, 4, n)  # last open stage reached by a lost deal
    stage_times = created[:, None] + (_STAGE_FRACTIONS[None, :] * cycle[:, None]).astype(np.int64)
    reached = won[:, None] | (np.arange(4)[None, :] <= lost_after[:, None])
    close = np.where(won, stage_times[:, 4], stage_times[np.arange(n), lost_after + 1])
    amount = np.exp(np.log(20_000) + 0.8 * rng.standard_normal(n)) * _FX[currency]
    return {
        "has": has,
        "created": created,
        "registered": registered,
        "partner": reg_partner,
        "status": status,
        "registered_at": registered_at,
        "expires_at": registered_at + valid_days * DAY,
        "won": won,
        "stage_times": stage_times[:, :4],
        "reached": reached,
        "close": close,
        "amount_cents": _to_cents(np.round(amount, -2), currency),
    }


def _customer_strings(plan: _Plan, world: _World, cust: _Customers, rows: np.ndarray) -> dict[str, pa.Array]:
    """customer_id, CRM email and anonymous_id of the block's customers at ``rows`` (aligned with ``rows``).

    When a large part of the block is needed the strings are built once for the whole block and reused; small
    subsets (an incremental run reaching back into older blocks) are built directly.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) * 4 < len(cust) and not cust.strings:
        return _build_customer_strings(plan, world, cust, rows)
    if not cust.strings:
        cust.strings = _build_customer_strings(plan, world, cust, np.arange(len(cust)))
    index = pa.array(rows)
    return {name: values.take(index) for name, values in cust.strings.items()}


def _build_customer_strings(plan: _Plan, world: _World, cust: _Customers, rows: np.ndarray) -> dict[str, pa.Array]:
    """Identifier strings, pure functions of each customer's number and drawn attributes."""
    num = _strs(cust.num[rows])
    first = _FIRST_NAMES.take(pa.array(cust.first[rows]))
    last = _LAST_NAMES.take(pa.array(cust.last[rows]))
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    local = pc.choose(
        pa.array(cust.pattern[rows].astype(np.int8)),
        _join(first, ".", last, num),
        _join(initial, last, num),
        _join(first, "_", last, num),
        _join(last, ".", first, num),
    )
    domain = _where(
        cust.b2b[rows],
        world.accounts.domains.take(pa.array(np.maximum(cust.account[rows], 0))),
        _CONSUMER_DOMAIN_NAMES.take(pa.array(cust.domain[rows])),
    )
    email = _join(local, "@", domain)
    email = _where(cust.mixed_case[rows], pc.utf8_title(email), email)
    return {
        "customer_id": _join("CU", pc.utf8_lpad(num, 7, "0")),
        "email": _where(cust.has_email[rows], email, _NULL),
        "anonymous_id": _where(cust.has_anon[rows], _hex_ids(cust.num[rows], plan.seed), _NULL),
    }


def _email_hashes(con: duckdb.DuckDBPyConnection, emails: pa.Array) -> pa.Array:
    """SHA-256 hex of the normalised (trimmed, lower-cased) email, vectorised in DuckDB."""
    con.register("_emails", pa.table({"e": emails}))
    try:
        result = con.sql("select sha256(lower(trim(e))) as h from _emails").to_arrow_table()
    finally:
        con.unregister("_emails")
    return result.column("h").combine_chunks().cast(pa.string())


def _write_customers(out: _Output, plan: _Plan, world: _World, cust: _Customers) -> None:
    """CRM records of the block: created in the window (incremental) or up to LEAD_DAYS before it."""
    lower = plan.lo_ts if plan.incremental else plan.lo_ts - LEAD_DAYS * DAY
    keep = np.flatnonzero((cust.t0 >= lower) & (cust.t0 <= plan.cut_ts))
    s = _customer_strings(plan, world, cust, keep)
    columns = {
        "customer_id": s["customer_id"],
        "email": s["email"],
        "anonymous_id": s["anonymous_id"],
        "created_at": _fmt_timestamps(cust.t0[keep]),
        "country": _COUNTRY_CODES.take(pa.array(cust.country[keep])),
        "is_opted_out": _where(cust.opted_out[keep], "true", "false"),
    }
    out.write("customers", "internal", "csv", _table("customers", columns))


# --------------------------------------------------------------------------------------------------------------------
# Touchpoints
# --------------------------------------------------------------------------------------------------------------------
_TOUCH_CDF = _cdf(np.array([_TOUCH_MIX[t] for t in PARTNER_TYPES]))
_CHANNEL_CDF = _cdf(np.array([[_CHANNEL_MIX[t].get(c, 0.0) for c in CHANNELS] for t in TOUCH_TYPES]))
_STAGE_LOGIT = np.log(
    np.array([_STAGE_MEAN[t] for t in PARTNER_TYPES]) / (1 - np.array([_STAGE_MEAN[t] for t in PARTNER_TYPES]))
)
_TOUCH_TYPE_NAMES = pa.array(TOUCH_TYPES)
_CHANNEL_NAMES = pa.array(CHANNELS)
_MEDIUM_NAMES = pa.array([_UTM_MEDIUM.get(c) for c in CHANNELS], pa.string())


def _simulate_touches(plan: _Plan, world: _World, cust: _Customers) -> dict[str, np.ndarray]:
    """All touches of a block's customers, sorted by (partner, time, event), with their defects decided."""
    rng = _rng(plan.seed, _S_TOUCHES, cust.block)
    partners = world.partners
    total = int(cust.n_touch.sum())
    ci = np.repeat(np.arange(len(cust)), cust.n_touch)
    seq = np.arange(total) - np.repeat(np.cumsum(cust.n_touch) - cust.n_touch, cust.n_touch)
    kk = cust.kk[ci]
    slot = np.where(seq < kk, seq, (rng.random(total) * kk).astype(np.int64))
    partner = cust.cand[ci, slot]
    ptype = partners.types[partner]
    position = _sigmoid(_STAGE_LOGIT[ptype] + 1.2 * rng.standard_normal(total))
    occurred = cust.t0[ci] + (cust.span[ci] * position).astype(np.int64)
    touch_type = _categorical(rng.random(total), _TOUCH_CDF[ptype])
    b2b = cust.b2b[ci]
    touch_type = np.where(~b2b & np.isin(touch_type, _B2B_TOUCHES), _TT["click"], touch_type)
    channel = _categorical(rng.random(total), _CHANNEL_CDF[touch_type])
    campaign = world.lookup.pick(partner, occurred // DAY, rng.random(total), rng.random(total))
    ident = _categorical(rng.random(total), partners.ident_cdf[partner])
    ident = np.where((ident <= 1) & ~cust.has_email[ci], 2, ident)
    ident = np.where((ident == 3) & ~cust.has_anon[ci], 2, ident)
    case_u = rng.random(total)
    email_case = np.where(case_u < 0.15, 1, np.where(case_u < 0.20, 2, 0))  # as in CRM, lower, upper
    has_domain = b2b & (np.isin(touch_type, _B2B_TOUCHES) | (rng.random(total) < 0.3))
    has_utm = (
        np.isin(touch_type, _UTM_TOUCHES) & np.isin(channel, [_CH[c] for c in _UTM_MEDIUM]) & (rng.random(total) < 0.9)
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
    can_dup = _previous_in_group([t["partner"], t["occurred"] // DAY], ~t["dirty"])
    t["defect"] = np.where(t["dirty"] & (t["defect"] == 0) & ~can_dup, 1, t["defect"])
    is_dup = t["dirty"] & (t["defect"] == 0)
    t["event_num"] = np.where(is_dup, np.roll(t["event_num"], 1), t["event_num"])
    return t


def _write_touchpoints(
    out: _Output, plan: _Plan, world: _World, cust: _Customers, con: duckdb.DuckDBPyConnection
) -> None:
    """Format the block's touches inside the window and append them to each partner's file."""
    t = _simulate_touches(plan, world, cust)
    keep = (t["occurred"] >= plan.lo_ts) & (t["occurred"] <= plan.cut_ts)
    t = {k: v[keep] for k, v in t.items()}
    partners, campaigns = world.partners, world.campaigns
    ci, partner, ident = t["ci"], t["partner"], t["ident"]
    s = _customer_strings(plan, world, cust, ci)  # aligned with the touches
    rows = np.arange(len(ci))
    email = _take(s["email"], rows, ident == 0)
    email = _where(
        t["email_case"] == 1, pc.utf8_lower(email), _where(t["email_case"] == 2, pc.utf8_upper(email), email)
    )
    needs_hash = ident == 1
    if needs_hash.any():
        hashed_customers, position = np.unique(ci[needs_hash], return_inverse=True)
        digest = _email_hashes(con, _customer_strings(plan, world, cust, hashed_customers)["email"])
        digest_of_touch = np.full(len(ci), -1)
        digest_of_touch[needs_hash] = position
        email_sha = _take(digest, digest_of_touch)
    else:
        email_sha = pa.nulls(len(ci), pa.string())
    num = _strs(t["event_num"])
    style = partners.event_style[partner].astype(np.int8)
    pid = partners.id_array.take(pa.array(partner))
    event_id = pc.choose(
        pa.array(style), _join("evt_", num), _join(pid, "-", pc.utf8_lpad(num, 12, "0")), _join("T", num)
    )
    campaign = t["campaign"]
    columns = {
        "event_id": event_id,
        "occurred_at": _fmt_timestamps(
            t["occurred"], partners.offset_minutes[partner], partners.offset_array.take(pa.array(partner))
        ),
        "partner_id": pid,
        "campaign_id": _take(campaigns.id_array, campaign),
        "channel": _CHANNEL_NAMES.take(pa.array(t["channel"])),
        "touch_type": _TOUCH_TYPE_NAMES.take(pa.array(t["touch_type"])),
        "email": email,
        "email_sha256": email_sha,
        "customer_id": _take(s["customer_id"], rows, ident == 2),
        "anonymous_id": _take(s["anonymous_id"], rows, ident == 3),
        "account_domain": _take(world.accounts.domains, np.maximum(cust.account[ci], 0), t["has_domain"]),
        "utm_source": _take(partners.slug_array, partner, t["has_utm"]),
        "utm_medium": _take(_MEDIUM_NAMES, t["channel"], t["has_utm"]),
        "utm_campaign": _where(t["has_utm"], pc.coalesce(_take(campaigns.utm_array, campaign), "always-on"), _NULL),
        "referral_code": _take(partners.referral_array, partner, t["has_ref"]),
    }
    _dirty_touches(columns, t, partners.unknown_id)
    table = _table("touchpoints", columns)
    defects = np.array(TOUCH_DEFECTS, dtype=object)[t["defect"]]
    _write_by_partner(out, "touchpoints", table, partner, partners.touch_formats, partners.ids, t["dirty"], defects)


def _dirty_touches(columns: dict[str, pa.Array], t: dict[str, np.ndarray], unknown_id: str) -> None:
    """Apply the decided defects (duplicates were applied to the event number already)."""
    dirty, defect, v = t["dirty"], t["defect"], t["variant"]
    ts = columns["occurred_at"]
    columns["occurred_at"] = _replace_variants(
        ts, dirty & (defect == 1), v, [pc.utf8_replace_slice(ts, 5, 10, "02-30"), *_BAD_TIMESTAMPS]
    )
    columns["partner_id"] = _where(dirty & (defect == 2), unknown_id, columns["partner_id"])
    missing = dirty & (defect == 3)
    columns["event_id"] = _where(missing & (v < 0.5), _NULL, columns["event_id"])
    columns["touch_type"] = _where(missing & (v >= 0.5), _NULL, columns["touch_type"])
    invalid = dirty & (defect == 4)
    columns["touch_type"] = _where(invalid & (v < 0.5), "carrier_pigeon", columns["touch_type"])
    columns["channel"] = _where(invalid & (v >= 0.5), "fax", columns["channel"])


# --------------------------------------------------------------------------------------------------------------------
# Conversions and opportunities
# --------------------------------------------------------------------------------------------------------------------
_CONVERSION_TYPES = pa.array(["signup", "purchase", "renewal", "renewal", "renewal", None, None, None, None, "refund"])


def _conversion_rows(plan: _Plan, cust: _Customers) -> dict[str, np.ndarray]:
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
    rng = _rng(plan.seed, _S_CONVERSIONS, cust.block)
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
    same = _previous_in_group([ci[by_customer], at[by_customer] // DAY], ~c["dirty"][by_customer])
    can_dup[by_customer] = same
    source[by_customer] = np.roll(conv_num[by_customer], 1)
    c["defect"] = np.where(c["dirty"] & (c["defect"] == 0) & ~can_dup, 2, c["defect"])
    c["id_num"] = np.where(c["dirty"] & (c["defect"] == 0), source, conv_num)
    return c


def _write_conversions(out: _Output, plan: _Plan, world: _World, cust: _Customers) -> None:
    """Format the block's conversions inside the window, apply their defects, append them."""
    c = _conversion_rows(plan, cust)
    keep = (c["at"] >= plan.lo_ts) & (c["at"] <= plan.cut_ts)
    c = {k: v[keep] for k, v in c.items()}
    ci = c["ci"]
    s = _customer_strings(plan, world, cust, ci)  # aligned with the conversions
    rows = np.arange(len(ci))
    refunded = c["code"] == 9
    columns = {
        "conversion_id": _join("CV", pc.utf8_lpad(_strs(c["id_num"]), 9, "0")),
        "converted_at": _fmt_timestamps(c["at"]),
        "customer_id": s["customer_id"],
        "email": _take(s["email"], rows, c["with_email"]),
        "anonymous_id": _take(s["anonymous_id"], rows, c["with_anon"]),
        "conversion_type": _CONVERSION_TYPES.take(pa.array(c["code"])),
        "revenue": _fmt_cents(c["revenue"]),
        "currency": pa.array(CURRENCIES).take(pa.array(cust.currency[ci])),
        "gross_margin": _fmt_cents(c["margin"]),
        "refunded_conversion_id": _where(refunded, _join("CV", pc.utf8_lpad(_strs(c["conv_num"] - 8), 9, "0")), _NULL),
    }
    dirty, defect, v = c["dirty"], c["defect"], c["variant"]
    ts = columns["converted_at"]
    columns["converted_at"] = _replace_variants(
        ts, dirty & (defect == 1), v, [pc.utf8_replace_slice(ts, 5, 10, "02-30"), *_BAD_TIMESTAMPS]
    )
    columns["revenue"] = _replace_variants(columns["revenue"], dirty & (defect == 2), v, _BAD_NUMBERS)
    missing = dirty & (defect == 3)
    columns["customer_id"] = _where(missing & (v < 0.5), _NULL, columns["customer_id"])
    columns["conversion_id"] = _where(missing & (v >= 0.5), _NULL, columns["conversion_id"])
    columns["conversion_type"] = _where(dirty & (defect == 4), "chargeback", columns["conversion_type"])
    positions = np.flatnonzero(dirty)
    out.write(
        "conversions",
        "internal",
        "csv",
        _table("conversions", columns),
        positions,
        np.array(CONVERSION_DEFECTS, dtype=object)[defect[positions]],
    )


def _write_opportunities(out: _Output, plan: _Plan, world: _World, cust: _Customers) -> None:
    """Opportunities as of the end of the window: all open or changed ones (full) or those changed (incremental)."""
    o = cust.opp
    lo, cut = plan.lo_ts, plan.cut_ts
    stage_times = np.where(o["reached"], o["stage_times"], np.iinfo(np.int64).max)
    if plan.incremental:
        changed = ((stage_times >= lo) & (stage_times <= cut)).any(axis=1)
        changed |= (o["close"] >= lo) & (o["close"] <= cut)
        changed |= o["registered"] & (o["registered_at"] >= lo) & (o["registered_at"] <= cut)
    else:
        changed = o["close"] >= lo
    keep = np.flatnonzero(o["has"] & (o["created"] <= cut) & changed)
    closed = o["close"][keep] <= cut
    won = o["won"][keep]
    open_stage = ((stage_times[keep] <= cut).sum(axis=1) - 1).clip(0, 3)
    stage_names = pa.array([*OPEN_STAGES, "closed_won", "closed_lost"])
    stage = np.where(closed, np.where(won, 4, 5), open_stage)
    registered = o["registered"][keep]
    partner = o["partner"][keep]
    columns = {
        "opportunity_id": _join("OPP", pc.utf8_lpad(_strs(cust.num[keep]), 8, "0")),
        "account_domain": world.accounts.domains.take(pa.array(cust.account[keep])),
        "created_at": _fmt_timestamps(o["created"][keep]),
        "closed_at": _where(closed, _fmt_timestamps(o["close"][keep]), _NULL),
        "stage": stage_names.take(pa.array(stage)),
        "amount": _fmt_cents(o["amount_cents"][keep]),
        "currency": pa.array(CURRENCIES).take(pa.array(cust.currency[keep])),
        "is_won": _where(closed, _where(won, "true", "false"), _NULL),
        "registering_partner_id": _take(world.partners.id_array, partner, registered),
        "registration_status": _take(pa.array(REGISTRATION_STATUSES), o["status"][keep], registered),
        "registered_at": _where(registered, _fmt_timestamps(o["registered_at"][keep]), _NULL),
        "registration_expires_at": _where(registered, _fmt_timestamps(o["expires_at"][keep]), _NULL),
    }
    out.write("opportunities", "internal", "csv", _table("opportunities", columns))


def _true_increments(plan: _Plan, world: _World, cust: _Customers) -> np.ndarray:
    """Per partner: sum over customers deciding in the window of p(convert | S) - p(convert | S without it)."""
    sel = ~cust.organic & (cust.t_dec >= plan.lo_ts) & (cust.t_dec <= plan.cut_ts)
    cand, distinct, lift_sum = cust.cand[sel], cust.distinct[sel], cust.lift_sum[sel]
    full = _sigmoid(BASE_LOG_ODDS + lift_sum)
    without = _sigmoid(BASE_LOG_ODDS + lift_sum[:, None] - world.partners.lift[cand])
    delta = full[:, None] - without
    return np.bincount(cand[distinct], weights=delta[distinct], minlength=len(world.partners))


# --------------------------------------------------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------------------------------------------------
def _cost_rows(plan: _Plan, world: _World) -> dict[str, np.ndarray]:
    """Daily cost reports of partners (per campaign they take part in) and of the host, one stream per day."""
    c = world.campaigns
    host_share = c.host_share()
    duration = (c.end - c.start + 1).astype(float)
    chunks: list[dict[str, np.ndarray]] = []
    for day in range(plan.lo_day, plan.cut_day + 1):
        rng = _rng(plan.seed, _S_COSTS, day - plan.cal_offset)
        members = np.flatnonzero((c.start[c.member_campaign] <= day) & (c.end[c.member_campaign] >= day))
        active = np.flatnonzero((c.start <= day) & (c.end >= day))
        camp = np.concatenate([c.member_campaign[members], active])
        partner = np.concatenate([c.member_partner[members], c.lead[active]])
        share = np.concatenate([c.member_share[members], host_share[active]])
        host = np.concatenate([np.zeros(len(members), bool), np.ones(len(active), bool)])
        n = len(camp)
        report_p = np.where(host, 0.5, 0.6)
        reported = (rng.random(n) < report_p) & (share > 0)
        noise = rng.lognormal(0.0, 0.35, n)
        currency = np.where(host, c.currency[camp], world.partners.currencies[partner])
        amount = c.budget[camp] * share / 100 / duration[camp] / report_p * noise
        amount = amount * _FX[currency] / _FX[c.currency[camp]]
        main = _CAMPAIGN_COST_TYPE[c.types[camp]]
        cost_type = np.where(rng.random(n) < 0.7, main, rng.integers(0, len(COST_TYPES), n))
        dirty = rng.random(n) < plan.dirty_share
        defect = (rng.random(n) * len(COST_DEFECTS)).astype(np.int64)
        variant = rng.random(n)
        chunk = {
            "day": np.full(n, day),
            "campaign": camp,
            "partner": partner,
            "host": host,
            "cents": _to_cents(amount, currency),
            "currency": currency,
            "cost_type": cost_type,
            "dirty": dirty,
            "defect": defect,
            "variant": variant,
        }
        chunks.append({k: v[reported] for k, v in chunk.items()})
    if not chunks:
        return {}
    return {k: np.concatenate([ch[k] for ch in chunks]) for k in chunks[0]}


def _write_costs(out: _Output, plan: _Plan, world: _World) -> None:
    """Partner cost reports into each partner's file, the host's own costs into internal/costs."""
    rows = _cost_rows(plan, world)
    partners = world.partners
    for p in range(len(partners)):
        out.open("costs", partners.ids[p], partners.cost_formats[p])
    out.open("costs", "internal", "csv")
    if not rows or len(rows["day"]) == 0:
        return
    for host in (False, True):
        sel = rows["host"] == host
        r = {k: v[sel] for k, v in rows.items()}
        order = np.lexsort((r["campaign"], r["day"], r["partner"]))
        r = {k: v[order] for k, v in r.items()}
        can_dup = _previous_in_group([r["partner"], r["day"]], ~r["dirty"])
        r["defect"] = np.where(r["dirty"] & (r["defect"] == 0) & ~can_dup, 2, r["defect"])
        table = _format_costs(r, world, host)
        defects = np.array(COST_DEFECTS, dtype=object)[r["defect"]]
        if host:
            positions = np.flatnonzero(r["dirty"])
            out.write("costs", "internal", "csv", table, positions, defects[positions])
        else:
            _write_by_partner(
                out, "costs", table, r["partner"], partners.cost_formats, partners.ids, r["dirty"], defects
            )


def _format_costs(r: dict[str, np.ndarray], world: _World, host: bool) -> pa.Table:
    """Cost rows (sorted by partner, day, campaign) as contract columns, with their defects applied."""
    dates = _fmt_dates(r["day"])
    cost_id = _join(
        "H-" if host else "", _take(world.campaigns.id_array, r["campaign"]), "-", pc.replace_substring(dates, "-", "")
    )
    is_dup = r["dirty"] & (r["defect"] == 0)
    if is_dup.any():
        previous = pa.array(np.roll(np.arange(len(is_dup)), 1))
        cost_id = _where(is_dup, cost_id.take(previous), cost_id)
    columns = {
        "cost_id": cost_id,
        "cost_date": dates,
        "partner_id": _take(world.partners.id_array, r["partner"]),
        "campaign_id": _take(world.campaigns.id_array, r["campaign"]),
        "amount": _fmt_cents(r["cents"]),
        "currency": pa.array(CURRENCIES).take(pa.array(r["currency"])),
        "cost_type": pa.array(COST_TYPES).take(pa.array(r["cost_type"])),
    }
    dirty, defect, v = r["dirty"], r["defect"], r["variant"]
    columns["cost_date"] = _where(
        dirty & (defect == 1), pc.utf8_replace_slice(dates, 5, 10, "02-30"), columns["cost_date"]
    )
    columns["amount"] = _replace_variants(columns["amount"], dirty & (defect == 2), v, _BAD_NUMBERS)
    columns["partner_id"] = _where(dirty & (defect == 3), world.partners.unknown_id, columns["partner_id"])
    missing = dirty & (defect == 4)
    columns["cost_id"] = _where(missing & (v < 0.5), _NULL, columns["cost_id"])
    columns["amount"] = _where(missing & (v >= 0.5), _NULL, columns["amount"])
    columns["cost_type"] = _where(dirty & (defect == 5), "travel", columns["cost_type"])
    return _table("costs", columns)


# --------------------------------------------------------------------------------------------------------------------
# Ground truth and manifest
# --------------------------------------------------------------------------------------------------------------------
def _write_ground_truth(
    root: Path,
    plan: _Plan,
    world: _World,
    increments: np.ndarray,
    files: dict[str, int],
    out: _Output,
    rows: dict[str, int],
    dirty: dict[str, int],
) -> None:
    """partner_effects, dirty_rows (merged over deliveries) and manifest under _ground_truth/."""
    truth_dir = root / "_ground_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    name = f"partner_effects_{plan.tag}.csv" if plan.incremental else "partner_effects.csv"
    total = increments.sum()
    with (truth_dir / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["partner_id", "true_lift", "true_incremental_conversions", "true_share"])
        for p, pid in enumerate(world.partners.ids):
            share = increments[p] / total if total > 0 else 0.0
            writer.writerow([pid, f"{world.partners.lift[p]:.6f}", f"{increments[p]:.4f}", f"{share:.6f}"])
    _merge_dirty_rows(truth_dir / "dirty_rows.csv", set(files), out.dirty)
    manifest_path = truth_dir / "manifest.json"
    manifest = {"generator": "partnerlens.generator", "deliveries": {}}
    if manifest_path.exists():
        with contextlib.suppress(ValueError):
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.setdefault("deliveries", {})[plan.tag] = {
        "arguments": {
            "seed": plan.seed,
            "touchpoints": plan.touchpoints,
            "partners": plan.partners,
            "days": plan.days,
            "end_date": plan.end_date.isoformat(),
            "since": plan.since.isoformat() if plan.since else None,
            "dirty_share": plan.dirty_share,
            "formats": plan.formats,
        },
        "incremental": plan.incremental,
        "window": {
            "start": plan.window_start.isoformat(),
            "end": plan.end_date.isoformat(),
            "cut_at": datetime.fromtimestamp(plan.cut_ts, UTC).isoformat(),
        },
        "ground_truth": name,
        "rows": rows,
        "dirty_rows": dirty,
        "files": files,
    }
    manifest["deliveries"] = dict(sorted(manifest["deliveries"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _merge_dirty_rows(path: Path, rewritten: set[str], new_rows: list[tuple[str, str, int, str]]) -> None:
    """dirty_rows.csv covers every delivery in the folder: keep entries of files not written by this run."""
    rows: list[tuple[str, str, int, str]] = []
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                if r["file"] not in rewritten:
                    rows.append((r["feed"], r["file"], int(r["row_number"]), r["defect"]))
    rows += new_rows
    rows.sort(key=lambda r: (r[1], r[2]))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["feed", "file", "row_number", "defect"])
        writer.writerows(rows)


# --------------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------------
def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    touchpoints: int = 200_000,
    partners: int = 50,
    days: int = 180,
    end_date: date | None = None,
    dirty_share: float = 0.01,
    since: date | None = None,
    formats: str = "mixed",
) -> GenerateSummary:
    """Write a synthetic partner ecosystem into ``out_dir`` (see the module docstring for layout and rules).

    Deterministic from the arguments (when ``end_date`` is before today). Customers are simulated in calendar
    blocks of at most ``CHUNK_CUSTOMERS`` and appended to the files block by block, so memory stays flat.
    """
    started = time.perf_counter()
    plan = _make_plan(seed, touchpoints, partners, days, end_date, dirty_share, since, formats, datetime.now(UTC))
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    world = _build_world(plan)
    out = _Output(root, plan.tag)
    if not plan.incremental:
        _write_masters(out, plan, world)
    for p in range(len(world.partners)):
        out.open("touchpoints", world.partners.ids[p], world.partners.touch_formats[p])
    for feed in ("customers", "conversions", "opportunities"):
        out.open(feed, "internal", "csv")
    increments = np.zeros(len(world.partners))
    con = duckdb.connect()
    try:
        for block in plan.blocks():
            cust = _simulate_customers(plan, world, block)
            _write_customers(out, plan, world, cust)
            if plan.block_has_touches(block):
                _write_touchpoints(out, plan, world, cust, con)
            _write_conversions(out, plan, world, cust)
            _write_opportunities(out, plan, world, cust)
            increments += _true_increments(plan, world, cust)
    finally:
        con.close()
    _write_costs(out, plan, world)
    files = out.close()
    rows = {
        feed: sum(n for rel, n in files.items() if out.feed_of[rel] == feed)
        for feed in sorted(COLUMNS)
        if any(out.feed_of[rel] == feed for rel in files)
    }
    dirty = {feed: sum(1 for d in out.dirty if d[0] == feed) for feed in rows}
    _write_ground_truth(root, plan, world, increments, files, out, rows, dirty)
    return GenerateSummary(
        root,
        plan.window_start,
        plan.end_date,
        plan.incremental,
        list(files),
        rows,
        dirty,
        time.perf_counter() - started,
    )

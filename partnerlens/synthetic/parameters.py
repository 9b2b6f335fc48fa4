"""The simulation's fixed parameters: calendar, volumes, conversion model and the mixes it draws from.

Every categorical mix is keyed by the names of the vocabulary it draws from (:mod:`partnerlens.synthetic.vocabulary`)
and turned into an array in the contract's order; changing a number here changes the synthetic world, not its shape.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from partnerlens.synthetic.vocabulary import (
    CAMPAIGN_TYPES,
    CHANNELS,
    COST_TYPES,
    CURRENCIES,
    IDENTIFIERS,
    OPEN_STAGES,
    PARTNER_TYPES,
    TIERS,
    TOUCH_TYPES,
    by_name,
    index_of,
)

# Calendar ------------------------------------------------------------------------------------------------------------
CALENDAR_START = date(2020, 1, 1)
CAL_ORD = CALENDAR_START.toordinal()
UNIX_ORD = date(1970, 1, 1).toordinal()
DAY = 86_400
MAX_SPAN_DAYS = 45  # longest journey from arrival to decision
LEAD_DAYS = 150  # latest event (renewal, deal close) after an arrival
PLANNING_DAYS = 90  # campaigns and agreement versions are known this long before they start
MAX_BLOCK_DAYS = 30
MAX_TOUCHES = 40

# Journeys and the conversion model -----------------------------------------------------------------------------------
MEAN_EXTRA_TOUCHES = 2.5  # touches per touched customer = 1 + Poisson(2.5)
ORGANIC_SHARE = 0.15
BASE_LOG_ODDS = -3.0
ORGANIC_CONVERSION = 0.25
# The hard ground truth (truth="hard"): intent-targeting partners -------------------------------------------------
#: Partner types that target intent (coupon and cashback sites): all affiliates and this share of referral partners.
INTENT_TYPES = ("affiliate",)
INTENT_REFERRAL_SHARE = 0.5
#: Chance that intent partners reach a customer who buys anyway, and one who does not buy.
INTENT_REACH_BUYER, INTENT_REACH_OTHER = 0.6, 0.05
INTENT_MEAN_GAP_SECONDS = 6 * 3600  # an intent touch comes this long (mean, exponential) before the decision
INTENT_MEAN_EXTRA_TOUCHES = 0.5  # intent touches per reached customer = 1 + Poisson(0.5)
INTENT_TOUCH_SEQ = 48  # intent touches number their events from here (demand touches use 0..MAX_TOUCHES-1)
WEEKDAY_FACTORS = np.array([1.08, 1.10, 1.08, 1.05, 1.00, 0.80, 0.89])  # Monday..Sunday, sums to 7

# Partners ------------------------------------------------------------------------------------------------------------
PARTNER_TYPE_P = by_name(
    PARTNER_TYPES,
    {
        "co_marketing": 0.22,
        "integration": 0.20,
        "reseller": 0.18,
        "referral": 0.15,
        "affiliate": 0.15,
        "joint_venture": 0.10,
    },
    "partner type shares",
)
TIER_P = by_name(TIERS, {"platinum": 0.10, "gold": 0.25, "silver": 0.35, "registered": 0.30}, "tier shares")
FX = np.array(
    by_name(CURRENCIES, {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 150.0, "CAD": 1.36, "AUD": 1.52}, "FX rates")
)  # units per USD
JPY = index_of(CURRENCIES, "JPY", "currencies")
#: Revenue share range (percent) of a partner's first agreement, per partner type (in PARTNER_TYPES order).
SHARE_RANGES = by_name(
    PARTNER_TYPES,
    {
        "co_marketing": (5, 15),
        "integration": (8, 20),
        "reseller": (15, 30),
        "referral": (10, 20),
        "affiliate": (5, 12),
        "joint_venture": (15, 30),
    },
    "revenue share ranges",
)

# Customer countries: (code, share, currency, account top-level domain)
COUNTRIES = [
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
COUNTRY_P = np.array([c[1] for c in COUNTRIES])
COUNTRY_CURRENCY = np.array([index_of(CURRENCIES, c[2], "currencies") for c in COUNTRIES])
# Partner head-office locations: (country, UTC offset in minutes, share)
PARTNER_LOCATIONS = [
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
LOCATION_CURRENCY = {
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

# Touches -------------------------------------------------------------------------------------------------------------
#: Touch-type mix per partner type (touch types not listed: 0).
TOUCH_MIX = {
    "co_marketing": {
        "impression": 0.33,
        "click": 0.20,
        "webinar_registration": 0.12,
        "webinar_attendance": 0.08,
        "content_download": 0.15,
        "demo_request": 0.06,
        "co_sell_meeting": 0.04,
        "deal_registration": 0.02,
    },
    "integration": {
        "impression": 0.20,
        "click": 0.20,
        "referral_visit": 0.05,
        "webinar_registration": 0.05,
        "webinar_attendance": 0.03,
        "content_download": 0.20,
        "demo_request": 0.15,
        "co_sell_meeting": 0.07,
        "deal_registration": 0.05,
    },
    "reseller": {
        "impression": 0.10,
        "click": 0.15,
        "referral_visit": 0.05,
        "webinar_registration": 0.05,
        "webinar_attendance": 0.05,
        "content_download": 0.10,
        "demo_request": 0.15,
        "co_sell_meeting": 0.20,
        "deal_registration": 0.15,
    },
    "referral": {
        "impression": 0.05,
        "click": 0.25,
        "referral_visit": 0.50,
        "content_download": 0.05,
        "demo_request": 0.10,
        "co_sell_meeting": 0.03,
        "deal_registration": 0.02,
    },
    "affiliate": {"impression": 0.45, "click": 0.35, "referral_visit": 0.15, "content_download": 0.05},
    "joint_venture": {
        "impression": 0.20,
        "click": 0.15,
        "webinar_registration": 0.12,
        "webinar_attendance": 0.10,
        "content_download": 0.15,
        "demo_request": 0.10,
        "co_sell_meeting": 0.10,
        "deal_registration": 0.08,
    },
}
#: Channel mix per touch type (channels not listed: 0).
CHANNEL_MIX = {
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
TOUCH_P = np.array([[mix.get(t, 0.0) for t in TOUCH_TYPES] for mix in by_name(PARTNER_TYPES, TOUCH_MIX, "touch mix")])
CHANNEL_P = np.array([[mix.get(c, 0.0) for c in CHANNELS] for mix in by_name(TOUCH_TYPES, CHANNEL_MIX, "channel mix")])
#: Where in a journey a partner type tends to touch (0 = at arrival, 1 = just before the decision).
STAGE_MEAN = by_name(
    PARTNER_TYPES,
    {
        "co_marketing": 0.25,
        "joint_venture": 0.30,
        "integration": 0.50,
        "reseller": 0.65,
        "referral": 0.80,
        "affiliate": 0.85,
    },
    "journey stage per partner type",
)
B2B_TOUCH_TYPES = ("co_sell_meeting", "deal_registration")  # only B2B customers get these
UTM_TOUCH_TYPES = ("click", "referral_visit", "content_download", "webinar_registration")
UTM_MEDIUM = {"email": "email", "social": "social", "search": "cpc", "display": "display", "referral_link": "referral"}
#: Which identifier a partner sends (slightly more anonymous ids: some fall back to customer_id).
IDENT_P = np.array(
    by_name(
        IDENTIFIERS,
        {"email": 0.40, "email_sha256": 0.30, "customer_id": 0.18, "anonymous_id": 0.12},
        "identifier shares",
    )
)

# Campaigns and costs -------------------------------------------------------------------------------------------------
CAMPAIGN_LABELS = by_name(
    CAMPAIGN_TYPES,
    {
        "webinar": "Webinar Series",
        "co_branded_content": "Co-branded Guide",
        "bundle_offer": "Bundle Offer",
        "cross_promotion": "Cross Promotion",
        "event_sponsorship": "Event Sponsorship",
        "newsletter": "Joint Newsletter",
        "marketplace_listing": "Marketplace Listing",
    },
    "campaign labels",
)
#: Main cost type of each campaign type.
CAMPAIGN_COST_TYPE = np.array(
    [
        index_of(COST_TYPES, cost_type, "cost types")
        for cost_type in by_name(
            CAMPAIGN_TYPES,
            {
                "webinar": "content",
                "co_branded_content": "content",
                "bundle_offer": "mdf",
                "cross_promotion": "media",
                "event_sponsorship": "event",
                "newsletter": "media",
                "marketplace_listing": "mdf",
            },
            "main cost type per campaign type",
        )
    ]
)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# Purchases and deals -------------------------------------------------------------------------------------------------
PRICES = np.array([29.0, 49.0, 99.0, 199.0, 499.0])  # USD per month
PRICE_P = np.array([0.30, 0.30, 0.20, 0.15, 0.05])
MONTHLY_SHARE = 0.55
B2B_TOUCHED, B2B_ORGANIC, B2B_PRICE_FACTOR = 0.30, 0.20, 4.0
MEAN_FIRST_PURCHASE_USD = float(
    (PRICES @ PRICE_P) * (1 + B2B_TOUCHED * (B2B_PRICE_FACTOR - 1)) * (MONTHLY_SHARE + (1 - MONTHLY_SHARE) * 10)
)
#: Share of a deal's cycle after which each open stage is reached, then the close.
STAGE_FRACTIONS = np.array([0.0, 0.15, 0.40, 0.70, 1.0])
if len(STAGE_FRACTIONS) != len(OPEN_STAGES) + 1:
    raise ValueError(f"STAGE_FRACTIONS needs one value per open stage ({', '.join(OPEN_STAGES)}) and one for the close")

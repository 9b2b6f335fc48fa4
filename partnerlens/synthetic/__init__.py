"""Synthetic partner-ecosystem generator: realistic feeds at any scale, with a known ground truth.

``generate()`` writes every feed of the data contract (``orchestration/feeds/contracts``) into a landing folder; the
files' columns and the values drawn for categorical columns come from those contracts::

    <out_dir>/internal/<feed>/<feed>_<first day>_<last day>.csv        partners, agreements, campaigns,
                                                                        campaign_partners, customers, conversions,
                                                                        opportunities and the host's own costs
    <out_dir>/<partner id>/touchpoints/touchpoints_<first>_<last>.<csv|jsonl|parquet>
    <out_dir>/<partner id>/costs/costs_<first>_<last>.<csv|jsonl>
    <out_dir>/_ground_truth/                                            partner_effects.csv, campaign_effects.csv,
                                                                        dirty_rows.csv, manifest.json (ignored
                                                                        by the loader)

Simulation model
----------------
Customers arrive every day. A customer is either organic (no partner touch) or touched by one to four partners
(drawn by partner reach); the touches fall between the arrival and the customer's decision, at most
``MAX_SPAN_DAYS`` later (most within 30 days). A touched customer converts (first purchase) with probability
``sigmoid(BASE_LOG_ODDS + sum of the true lifts of the distinct partners touched)``; the lifts are the ground truth.
Partners touch customers independently of their intent to buy (``truth="standard"``, the default).

With ``truth="hard"`` the affiliates and about half of the referral partners target intent instead, as coupon and
cashback sites do: their true lift is 0 and they are no longer drawn for the journeys above; after the outcome is
drawn, they reach a customer who buys (organic ones included) with probability ``INTENT_REACH_BUYER`` and any other
with ``INTENT_REACH_OTHER``, with 1 + Poisson(0.5) touches an exponential gap (mean 6 h) before the decision (their
own random stream per block, so every other draw is the standard world's). Rule-based models pay them for purchases
that happen anyway; their true incremental conversions stay 0.
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

Modules
-------
``vocabulary``      columns and allowed values, read from the feed contracts
``parameters``      the simulation's fixed parameters (calendar, volumes, conversion model, mixes keyed by name)
``plan``            arguments, output window and calendar blocks;  ``streams``  random streams and draws
``formatting``      vectorised text formatting;  ``names``  word lists for names and domains
``world``           reference data: partners, accounts, campaigns, agreements, and the master feeds
``simulate``        one module per event feed: customers, touchpoints, conversions, opportunities, costs
``defects``         the dirty rows;  ``output``  one writer per file;  ``ground_truth``  effects, dirty rows, manifest
``delivery``        ``generate()``: a full or an incremental (``since``) delivery
"""

from partnerlens.synthetic.delivery import CatchUp, GenerateSummary, catch_up, generate

__all__ = ["CatchUp", "GenerateSummary", "catch_up", "generate"]

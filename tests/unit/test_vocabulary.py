"""The generator's vocabulary against the feed contracts and the dbt seeds.

The contracts are read here straight from their YAML files, and the seeds from their CSVs, so that a value added,
removed or renamed in one place and not the others fails a test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from partnerlens.synthetic import defects, parameters, vocabulary

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "orchestration" / "feeds" / "contracts"
SEEDS = ROOT / "seeds"


def allowed_in_yaml(feed: str, column: str) -> list[str]:
    spec = yaml.safe_load((CONTRACTS / f"{feed}.yml").read_text(encoding="utf-8"))
    [col] = [c for c in spec["columns"] if c["name"] == column]
    return [str(v) for v in col["allowed"]]


def seed_column(seed: str, column: str) -> list[str]:
    with (SEEDS / f"{seed}.csv").open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


@pytest.mark.parametrize(
    ("names", "feed", "column"),
    [
        (vocabulary.PARTNER_TYPES, "partners", "partner_type"),
        (vocabulary.TIERS, "partners", "tier"),
        (vocabulary.ATTRIBUTION_MODELS, "agreements", "attribution_model"),
        (vocabulary.CAMPAIGN_TYPES, "campaigns", "campaign_type"),
        (vocabulary.ROLES, "campaign_partners", "role"),
        (vocabulary.CONVERSION_TYPES, "conversions", "conversion_type"),
        (vocabulary.COST_TYPES, "costs", "cost_type"),
        (vocabulary.STAGES, "opportunities", "stage"),
        (vocabulary.REGISTRATION_STATUSES, "opportunities", "registration_status"),
        (vocabulary.TOUCH_TYPES, "touchpoints", "touch_type"),
        (vocabulary.CHANNELS, "touchpoints", "channel"),
    ],
)
def test_vocabularies_are_the_contracts_allowed_values(names: list[str], feed: str, column: str) -> None:
    assert names == allowed_in_yaml(feed, column)


def test_every_currency_column_allows_the_same_currencies_as_the_seed_has_rates_for() -> None:
    columns = [
        (p.stem, c["name"])
        for p in sorted(CONTRACTS.glob("*.yml"))
        for c in yaml.safe_load(p.read_text(encoding="utf-8"))["columns"]
        if c["name"] == "currency"
    ]
    assert len(columns) == 5, columns
    for feed, column in columns:
        assert allowed_in_yaml(feed, column) == vocabulary.CURRENCIES, feed
    assert set(seed_column("currency_rates", "currency")) == set(vocabulary.CURRENCIES)


def test_seeds_describe_exactly_the_contracts_channels_and_touch_types() -> None:
    assert seed_column("channel_taxonomy", "channel") == allowed_in_yaml("touchpoints", "channel")
    assert seed_column("touch_type_weights", "touch_type") == allowed_in_yaml("touchpoints", "touch_type")


def test_identifiers_are_the_touchpoint_columns_that_name_a_customer() -> None:
    spec = yaml.safe_load((CONTRACTS / "touchpoints.yml").read_text(encoding="utf-8"))
    assert vocabulary.IDENTIFIERS == spec["require_one_of"] == ["email", "email_sha256", "customer_id", "anonymous_id"]


def test_mixes_only_name_values_of_the_vocabularies() -> None:
    assert set(parameters.TOUCH_MIX) == set(vocabulary.PARTNER_TYPES)
    assert set(parameters.CHANNEL_MIX) == set(vocabulary.TOUCH_TYPES)
    for mix in parameters.TOUCH_MIX.values():
        assert set(mix) <= set(vocabulary.TOUCH_TYPES)
        assert sum(mix.values()) == pytest.approx(1.0)
    for mix in parameters.CHANNEL_MIX.values():
        assert set(mix) <= set(vocabulary.CHANNELS)
        assert sum(mix.values()) == pytest.approx(1.0)
    assert set(parameters.UTM_MEDIUM) <= set(vocabulary.CHANNELS)
    assert set(parameters.B2B_TOUCH_TYPES) | set(parameters.UTM_TOUCH_TYPES) <= set(vocabulary.TOUCH_TYPES)
    assert {c[2] for c in parameters.COUNTRIES} | set(parameters.LOCATION_CURRENCY.values()) <= set(
        vocabulary.CURRENCIES
    )
    # every partner type touches customers, and every touch type is reachable from some partner type
    assert (parameters.TOUCH_P.sum(axis=0) > 0).all()
    assert np.allclose(parameters.TOUCH_P.sum(axis=1), 1.0)


def test_not_allowed_defects_are_really_outside_the_allowed_values() -> None:
    for (feed, column), value in defects.NOT_ALLOWED.items():
        assert value not in allowed_in_yaml(feed, column), (feed, column)


def test_a_weight_table_must_cover_its_vocabulary_exactly() -> None:
    assert vocabulary.by_name(["a", "b"], {"b": 2, "a": 1}, "shares") == [1, 2]
    with pytest.raises(ValueError, match=r"shares: no value for \['b'\]"):
        vocabulary.by_name(["a", "b"], {"a": 1}, "shares")
    with pytest.raises(ValueError, match=r"values for unknown \['c'\]"):
        vocabulary.by_name(["a", "b"], {"a": 1, "b": 2, "c": 3}, "shares")

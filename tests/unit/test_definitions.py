"""The code location loads and shows the whole graph: loads, dbt layers, publish, job, schedule and sensor."""

from __future__ import annotations

import dagster as dg
import yaml

from orchestration.paths import PROJECT_DIR


def test_definitions_load_with_every_feed_and_layer() -> None:
    from orchestration.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    feeds = sorted(p.stem for p in (PROJECT_DIR / "orchestration/feeds/contracts").glob("*.yml"))
    assert len(feeds) == 9
    for feed in feeds:
        assert f"raw/{feed}" in keys
    for model in ("staging/stg_partner_feeds__touchpoints", "marts/dim_partners", "marts/fct_conversions"):
        assert model in keys
    assert "published/marts" in keys


def test_dbt_sources_are_the_load_assets() -> None:
    """A staging model's upstream is the raw asset the loader materialises, not a separate source stub."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["staging", "stg_partner_feeds__touchpoints"])).parent_keys
    assert parents == {dg.AssetKey(["raw", "touchpoints"])}
    assert graph.get(dg.AssetKey(["raw", "touchpoints"])).is_materializable


def test_nightly_job_schedule_and_sensor() -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("nightly_0200")
    assert schedule.cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "nightly"


def test_publish_depends_on_every_mart() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert marts
    assert graph.get(dg.AssetKey(["published", "marts"])).parent_keys == marts


def test_profiles_default_to_the_documented_warehouse_path() -> None:
    profiles = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    path = profiles["partnerlens"]["outputs"]["duckdb"]["path"]
    assert "PARTNERLENS_WAREHOUSE" in path and "warehouse/partnerlens.duckdb" in path

"""The dbt project as Dagster assets: staging, intermediate and the candidate marts, built in one `dbt build`.

Before dbt runs, the step plans the build (:func:`orchestration.warehouse.state.plan_build`): a full build, an
incremental one on the served version, or none at all when nothing is new (the step then materialises nothing, so
gate 2, publish and the scorecards do not run either).
"""

# Dagster resolves the config annotation at definition time, so annotations stay real objects here.

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.resources import RunLockResource, WarehouseResource
from orchestration.project import dbt_project, layer
from orchestration.warehouse.served import refresh_served
from orchestration.warehouse.state import FULL, SKIPPED, BuildPlan, plan_build

#: What the nightly build leaves out: dbt unit tests and the macro tests (tagged macro_test) check the project's own
#: SQL, not the night's data; the test suite runs them. One --exclude argument (a second one would replace the first).
NIGHTLY_EXCLUDE = "resource_type:unit_test tag:macro_test"


class PartnerlensTranslator(DagsterDbtTranslator):
    """Maps dbt nodes onto the asset graph.

    - a dbt source on raw.<feed> is the load asset of that feed (`raw/<feed>`), so loads and models form one graph;
    - a model is keyed `<layer>/<model>` (staging, intermediate, marts) and grouped by layer;
    - a seed is keyed `reference/<seed>`.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        resource_type = dbt_resource_props["resource_type"]
        name = dbt_resource_props["name"]
        if resource_type == "source":
            # the payout ledger is written by the publish step, not loaded from a feed: key it ledger/<table>
            return dg.AssetKey(["ledger" if dbt_resource_props.get("source_name") == "ledger" else "raw", name])
        if resource_type == "seed":
            return dg.AssetKey(["reference", name])
        model_layer = layer(dbt_resource_props)
        return dg.AssetKey([model_layer, name]) if model_layer else super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        return layer(dbt_resource_props) or "transform"


translator = PartnerlensTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt step: any dbt var (attribution lookback, half-life, position weights, ...).

    Example (Launchpad):  ops: {partnerlens_dbt: {config: {dbt_vars: {attribution_lookback_days: 14}}}}
    """

    dbt_vars: dict[str, Any] = {}
    #: Rebuild every incremental model from all of raw into a new generation of the state (dbt --full-refresh).
    full_refresh: bool = False


def dbt_build_args(run_id: str, config: DbtBuildConfig, plan: BuildPlan) -> list[str]:
    """`dbt build` arguments for one nightly run: the run's candidate schema, state schema and build number plus the
    analyst's vars, without the project's unit and macro tests; --full-refresh for a full build."""
    # run_id: the payout ledger records the run that booked each line.
    dbt_vars = {**config.dbt_vars, **plan.dbt_vars(), "run_id": run_id}
    args = ["build", "--exclude", NIGHTLY_EXCLUDE, "--vars", json.dumps(dbt_vars, sort_keys=True)]
    if plan.mode == FULL:
        args.append("--full-refresh")
    return args


def build_metadata(plan: BuildPlan) -> dict[str, Any]:
    """What the build planned, for the run's log, the Dagster UI and the command line."""
    return {
        "build_mode": plan.mode,
        "build_summary": plan.headline(),
        "build_plan": plan.describe(),
        "build_seq": plan.build_seq,
        "new_loads": plan.new_load_count,
        "state_schema": plan.state_schema or "",
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    name="partnerlens_dbt",
)
def partnerlens_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    run_lock: RunLockResource,
    config: DbtBuildConfig,
):
    """Seeds, staging, intermediate and the candidate marts, with every dbt test, in one `dbt build`: full,
    incremental, or skipped when nothing is new."""
    os.environ["PARTNERLENS_WAREHOUSE"] = str(warehouse.warehouse_file)
    # dbt-tethered (the `dbt` dagster-dbt starts) refuses to start when this process is gone by then
    os.environ["PARTNERLENS_DBT_PARENT_PID"] = str(os.getpid())
    with warehouse.connect() as con:
        plan = plan_build(con, context.run.run_id, config.dbt_vars, config.full_refresh)
    context.log.info(plan.describe())
    first = min(context.selected_asset_keys, key=lambda key: key.to_user_string())
    yield dg.AssetObservation(asset_key=first, metadata=build_metadata(plan))
    if plan.mode == SKIPPED:
        with warehouse.connect() as con:
            refreshed = refresh_served(con, warehouse.served_file)
        if refreshed is not None:
            context.log.info(f"the served file was behind `marts`: rewritten to {refreshed.schema_name}")
        return
    yield from dbt.cli(dbt_build_args(context.run.run_id, config, plan), context=context).stream()

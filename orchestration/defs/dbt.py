"""The dbt project as Dagster assets: staging, intermediate and the candidate marts, built in one `dbt build`."""

# Dagster resolves the config annotation at definition time, so annotations stay real objects here.

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.resources import RunLockResource, WarehouseResource
from orchestration.project import dbt_project, layer
from orchestration.warehouse.versions import candidate_schema

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
    full_refresh: bool = False


def dbt_build_args(run_id: str, config: DbtBuildConfig) -> list[str]:
    """`dbt build` arguments for one nightly run: the run's candidate schema plus the analyst's vars, without the
    project's unit and macro tests."""
    # run_id: the payout ledger records the run that booked each line.
    dbt_vars = {**config.dbt_vars, "marts_schema": candidate_schema(run_id), "run_id": run_id}
    args = ["build", "--exclude", NIGHTLY_EXCLUDE, "--vars", json.dumps(dbt_vars, sort_keys=True)]
    if config.full_refresh:
        args.append("--full-refresh")
    return args


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
    """Seeds, staging, intermediate and the candidate marts, with every dbt test, in one `dbt build`."""
    os.environ["PARTNERLENS_WAREHOUSE"] = str(warehouse.warehouse_file)
    # dbt-tethered (the `dbt` dagster-dbt starts) refuses to start when this process is gone by then
    os.environ["PARTNERLENS_DBT_PARENT_PID"] = str(os.getpid())
    yield from dbt.cli(dbt_build_args(context.run.run_id, config), context=context).stream()

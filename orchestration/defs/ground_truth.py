"""The generator's ground truth of partner effects as an asset, so that attribution models can be scored."""

# Dagster inspects the annotations of asset functions at definition time: no postponed annotations here.

import dagster as dg

from orchestration.defs.resources import RunLockResource, WarehouseResource
from orchestration.feeds.ground_truth import TABLE, ground_truth_path, load_ground_truth


@dg.asset(
    key=dg.AssetKey(["raw", "ground_truth_partner_effects"]),
    group_name="load",
    kinds={"duckdb", "python"},
    description=(
        f"The synthetic generator's true effect of each partner (landing/_ground_truth/partner_effects.csv) in "
        f"{TABLE}; mart_attribution_model_scores compares every attribution model with it. Empty on real data."
    ),
)
def ground_truth_partner_effects(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_lock: RunLockResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        loaded = load_ground_truth(con, warehouse.landing_root)
        total = con.execute(f"select count(*) from {TABLE}").fetchone()[0]
    if loaded is None:
        context.log.info(f"no ground truth at {ground_truth_path(warehouse.landing_root)}; {TABLE} left as it was")
    else:
        context.log.info(f"loaded the ground truth of {loaded} partners")
    return dg.MaterializeResult(metadata={"loaded": loaded is not None, "dagster/row_count": total})

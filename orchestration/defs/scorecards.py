"""The share step: partner scorecards and the joint-program dashboard, drawn after publish from the served marts of
the served file (see :mod:`partnerlens.scorecards`)."""

# Dagster inspects the annotations of asset functions at definition time: no postponed annotations here.

import dagster as dg

from orchestration.defs.resources import WarehouseResource
from orchestration.warehouse.served import connect_served
from partnerlens.scorecards import default_out_dir, write_scorecards


@dg.asset(
    key=dg.AssetKey(["share", "scorecards"]),
    group_name="share",
    deps=[dg.AssetKey(["published", "marts"])],
    kinds={"html"},
    description=(
        "One self-contained HTML scorecard per partner (only its own rows, no opted-out customer) and the internal "
        "joint-program dashboard, read from the served warehouse file once publish has written it; written to "
        "PARTNERLENS_SCORECARDS, else scorecards/ beside the warehouse file."
    ),
)
def scorecards(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    out = default_out_dir(warehouse.warehouse_file)
    with connect_served(warehouse.served_file) as con:
        written = write_scorecards(con, out)
    context.log.info(f"wrote {len(written)} partner scorecards and the dashboard {written.index}")
    return dg.MaterializeResult(
        metadata={
            "dashboard": dg.MetadataValue.path(str(written.index)),
            "partners": len(written),
            "folder": dg.MetadataValue.path(str(out)),
        }
    )

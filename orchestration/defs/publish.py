"""The publish asset: write-audit-publish of the run's candidate marts (see :mod:`orchestration.warehouse.publish`),
then the served file readers open is rewritten (:mod:`orchestration.warehouse.served`); the run's gate report is
rewritten afterwards to show whether it published."""

# Dagster inspects the annotations of asset functions at definition time: no postponed annotations here.

import dagster as dg

from orchestration.defs.resources import RunLockResource, WarehouseResource
from orchestration.project import MARTS, ledger_models, mart_models, published_models
from orchestration.quality.report import write_run_docs
from orchestration.warehouse.publish import PublishRefused, publish_candidate
from orchestration.warehouse.served import ServedWriteError, write_served
from orchestration.warehouse.state import collect_state_garbage
from orchestration.warehouse.versions import drop_stale_candidates


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publish step, downstream of every candidate mart."""

    @dg.asset(
        key=dg.AssetKey(["published", "marts"]),
        group_name="publish",
        deps=mart_keys,
        kinds={"duckdb"},
        description=(
            "Publishes this run's candidate marts into the `marts` schema in one transaction (write-audit-publish), "
            "only when every gate check of the run passed; otherwise `marts` stays exactly as it was. Then writes the "
            "served warehouse file that BI tools and readers open (PARTNERLENS_SERVED) and renames it into place."
        ),
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_lock: RunLockResource):
        with warehouse.connect() as con:
            try:
                outcome = publish_candidate(con, context.run.run_id, published_models(), ledger_models())
            except PublishRefused as refused:
                write_run_docs(con, context.run.run_id)
                raise dg.Failure(description=refused.description) from refused
            try:
                served = write_served(con, warehouse.served_file)
            except ServedWriteError as error:
                write_run_docs(con, context.run.run_id)
                raise dg.Failure(
                    description=(
                        f"`marts` of the warehouse now serves {outcome.schema_name}, but {error}: readers still see "
                        f"the previous version. The next published run writes it, or now: "
                        f"`partnerlens restore --version {outcome.schema_name}`."
                    )
                ) from error
            dropped = drop_stale_candidates(con)
            dropped += collect_state_garbage(con)
            report = write_run_docs(con, context.run.run_id)
        context.log.info(f"`marts` now serves {outcome.schema_name} (was {outcome.previous_schema_name})")
        context.log.info(
            f"served file {served.path} written in {served.seconds:.1f} s ({served.file_bytes / 1e6:.1f} MB)"
        )
        if dropped:
            context.log.info(f"dropped old candidate and state schemas: {', '.join(dropped)}")
        return dg.MaterializeResult(
            metadata={
                "schema": outcome.schema_name,
                "previous_schema": outcome.previous_schema_name or "",
                "row_counts": outcome.row_counts,
                "gate_report": dg.MetadataValue.path(str(report)),
                "served_file": dg.MetadataValue.path(str(served.path)),
                "served_bytes": served.file_bytes,
                "served_seconds": round(served.seconds, 3),
            }
        )

    return published_marts


published_marts = build_publish_asset([dg.AssetKey([MARTS, model]) for model in mart_models()])

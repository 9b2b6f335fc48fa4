"""One load asset per feed contract: landed files -> raw.<feed>, with rejects and an audit row per file."""

# Dagster inspects the annotations of asset functions at definition time: no postponed annotations here.

import dagster as dg

from orchestration.defs.resources import RunLockResource, WarehouseResource
from orchestration.feeds.contracts import FeedContract, load_contracts
from orchestration.feeds.loader import LoadError, ensure_warehouse, load_feed

LOAD_GROUP = "load"


def raw_asset_key(feed: str) -> dg.AssetKey:
    """The asset key of a feed's raw table; dbt sources on raw.<feed> map onto it."""
    return dg.AssetKey(["raw", feed])


def _upstream_feeds(contract: FeedContract) -> list[str]:
    """Feeds whose raw tables this feed's reference checks read (e.g. touchpoints -> partners, campaigns)."""
    feeds = {column.references.split(".")[0] for column in contract.columns if column.references}
    feeds.discard(contract.feed)
    return sorted(feeds)


def build_load_asset(contract: FeedContract) -> dg.AssetsDefinition:
    """A Dagster asset that loads every newly landed file of one feed."""

    @dg.asset(
        key=raw_asset_key(contract.feed),
        group_name=LOAD_GROUP,
        deps=[raw_asset_key(feed) for feed in _upstream_feeds(contract)],
        description=f"Load landed `{contract.feed}` files into raw.{contract.feed}. {contract.description}".strip(),
        kinds={"duckdb", "python"},
        metadata={"contract": f"orchestration/feeds/contracts/{contract.feed}.yml", "key": ", ".join(contract.key)},
    )
    def load(context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_lock: RunLockResource):
        with warehouse.connect() as con:
            ensure_warehouse(con)
            try:
                result = load_feed(con, contract, warehouse.landing_root, run_id=context.run.run_id)
            except LoadError as error:  # a wrong landing folder, a load rolled back: say it in the loader's words
                raise dg.Failure(description=f"raw.{contract.feed}: {error}") from error
            total_rows = con.execute(f"select count(*) from raw.{contract.feed}").fetchone()[0]
        for file in result.files:
            if file.status == "skipped_duplicate":
                context.log.info(f"{file.file}: already loaded (checksum {file.checksum[:12]}), skipped")
            elif file.status == "rejected_file":
                context.log.error(f"{file.file}: rejected whole: {file.message}")
            else:
                context.log.info(
                    f"{file.file}: {file.rows_loaded} loaded, {file.rows_rejected} rejected of {file.rows_in_file}"
                    + (f"; extra columns kept: {', '.join(file.extra_columns)}" if file.extra_columns else "")
                )
        loaded = sum(f.rows_loaded for f in result.files)
        rejected = sum(f.rows_rejected for f in result.files)
        return dg.MaterializeResult(
            metadata={
                "files_seen": len(result.files),
                "files_loaded": sum(f.status == "loaded" for f in result.files),
                "files_skipped": sum(f.status == "skipped_duplicate" for f in result.files),
                "files_rejected": sum(f.status == "rejected_file" for f in result.files),
                "rows_loaded": loaded,
                "rows_rejected": rejected,
                "dagster/row_count": total_rows,
            }
        )

    return load


load_assets = [build_load_asset(contract) for contract in load_contracts().values()]

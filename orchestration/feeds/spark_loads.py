"""Loads for the ``spark`` target: the landed feeds checked by the DuckDB loader, written to Spark as parquet tables.

The contracts, rules, dedupe and audit are the DuckDB loader's, run on a DuckDB validation database (``validation``,
kept next to the Spark warehouse so that checksums and keys of earlier nights are remembered). After the load, every
table of the schemas ``raw`` and ``audit`` is written to parquet and replaces the Spark table of the same name
(parquet tables, no Delta or Iceberg): valid rows, rejected rows and ``audit.load_log``. Spark's embedded Derby
metastore admits one process at a time, so the loads stop their session before dbt starts its own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from orchestration.feeds.contracts import load_contracts
from orchestration.feeds.ground_truth import load_ground_truth
from orchestration.feeds.loader import ensure_warehouse, load_feed
from orchestration.feeds.postgres_loads import load_order, print_load_results
from orchestration.warehouse.state import ensure_state_tables

#: The schemas the loads own in Spark.
LOADED_SCHEMAS = ("raw", "audit")


def spark_dir() -> Path:
    """The folder of the local Spark metastore and warehouse (PARTNERLENS_SPARK_DIR, as profiles.yml reads it)."""
    return Path(os.environ.get("PARTNERLENS_SPARK_DIR", "warehouse/spark")).resolve()


def spark_session(directory: Path | None = None):
    """A local SparkSession with the settings of the ``spark`` target in profiles.yml (Hive metastore in Derby)."""
    from pyspark.sql import SparkSession

    root = (directory or spark_dir()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    metastore = root / "metastore_db"
    return (
        SparkSession.builder.master(os.environ.get("PARTNERLENS_SPARK_MASTER", "local[2]"))
        .config("spark.sql.warehouse.dir", str(root / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={root / 'derby'}")
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={metastore};create=true")
        .config("spark.sql.shuffle.partitions", os.environ.get("PARTNERLENS_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )


def validation_database(directory: Path | None = None) -> Path:
    return (directory or spark_dir()) / "validation.duckdb"


def load_all_spark(spark, landing_root: Path, run_id: str | None = None, directory: Path | None = None) -> dict:
    """Every feed through the DuckDB loader, then raw.* and audit.* into Spark parquet tables; feed -> result."""
    contracts = load_contracts()
    database = validation_database(directory)
    database.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database))
    try:
        ensure_warehouse(con, contracts)
        ensure_state_tables(con)
        results = {feed: load_feed(con, contracts[feed], landing_root, run_id) for feed in load_order(contracts)}
        load_ground_truth(con, landing_root)
        mirror_to_spark(con, spark)
    finally:
        con.close()
    return results


def mirror_to_spark(con: duckdb.DuckDBPyConnection, spark, schemas: tuple[str, ...] = LOADED_SCHEMAS) -> list[str]:
    """Write every table of `schemas` from DuckDB to a Spark parquet table of the same name; the names written."""
    written = []
    with tempfile.TemporaryDirectory(prefix="partnerlens_spark_") as scratch:
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            f"and table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2",
            list(schemas),
        ).fetchall():
            path = Path(scratch) / f"{schema}.{table}.parquet"
            con.execute(f'copy (select * from "{schema}"."{table}") to \'{path}\' (format parquet)')
            spark.sql(f"create database if not exists `{schema}`")
            frame = spark.read.parquet(str(path))
            frame.write.mode("overwrite").format("parquet").saveAsTable(f"`{schema}`.`{table}`")
            written.append(f"{schema}.{table}")
    return written


def main(argv: list[str] | None = None) -> int:
    import argparse

    from orchestration.paths import landing_path

    parser = argparse.ArgumentParser(
        prog="python -m orchestration.feeds.spark_loads",
        description="load every landed feed file into the local Spark warehouse of PARTNERLENS_SPARK_DIR (files "
        "already loaded are skipped by checksum)",
    )
    parser.add_argument("--landing", type=Path, default=None, help="the landing folder (default: PARTNERLENS_LANDING)")
    args = parser.parse_args(argv)
    spark = spark_session()
    try:
        results = load_all_spark(spark, args.landing or landing_path())
    finally:
        spark.stop()
    print_load_results(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Loads for the spark target (orchestration.feeds.spark_loads) on a real local SparkSession in a temporary folder.

A small generated landing folder goes through the DuckDB loader; every raw and audit table must then be in Spark, as a
parquet table, with the same rows as the DuckDB validation database holds.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.feeds.spark_loads import load_all_spark, spark_session, validation_database
from partnerlens.cli import main as partnerlens_main


def test_spark_holds_every_loaded_table_with_the_same_rows(tmp_path: Path) -> None:
    landing, root = tmp_path / "landing", tmp_path / "spark"
    args = ["generate", "--out", str(landing), "--touchpoints", "2000", "--partners", "5", "--days", "40"]
    assert partnerlens_main([*args, "--end-date", "2026-11-30"]) == 0
    spark = spark_session(root)
    try:
        results = load_all_spark(spark, landing, directory=root)
        assert results["touchpoints"].rows_loaded > 1500
        con = duckdb.connect(str(validation_database(root)), read_only=True)
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'audit') and table_type = 'BASE TABLE'"
        ).fetchall()
        assert ("raw", "touchpoints") in tables and ("audit", "load_log") in tables
        for schema, table in tables:
            expected = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            assert spark.sql(f"select count(*) from `{schema}`.`{table}`").collect()[0][0] == expected, table
            provider = spark.sql(f"describe table extended `{schema}`.`{table}`").where("col_name = 'Provider'")
            assert provider.collect()[0][1] == "parquet", table
        ids = {r[0] for r in con.execute("select event_id from raw.touchpoints").fetchall()}
        assert {r[0] for r in spark.sql("select event_id from raw.touchpoints").collect()} == ids
        con.close()
    finally:
        spark.stop()

"""The semantic layer (dbt semantic models and metrics, queried with MetricFlow) on a real nightly run.

`mf validate-configs` checks the semantic models, dimensions, measures and metrics against the served warehouse (the
served file, opened read-only as a BI tool opens it), and a few `mf query` results are compared with SQL written here
over the `marts` views of the warehouse itself.

MetricFlow reads `<project>/target/semantic_manifest.json` whatever DBT_TARGET_PATH says, so the project is parsed
in a folder of its own (symlinks to the project's files), with `marts_schema: marts` so that the semantic models
point at the served views rather than at a candidate schema.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.support.env import PROJECT_DIR, child_env

pytestmark = pytest.mark.e2e

PROJECT_FILES = ["dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "data-tests"]
MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]


@dataclass
class SemanticProject:
    path: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).parent / args[0]), *args[1:]],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def query(self, metrics: list[str], group_by: list[str], name: str) -> pd.DataFrame:
        out = self.path / f"{name}.csv"
        result = self.run(
            "mf", "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by), "--csv", str(out)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return pd.read_csv(out)


@pytest.fixture(scope="module")
def semantic_project(built_warehouse, tmp_path_factory: pytest.TempPathFactory) -> SemanticProject:
    path = tmp_path_factory.mktemp("semantic_project")
    for name in PROJECT_FILES:
        (path / name).symlink_to(PROJECT_DIR / name)
    env = child_env(
        built_warehouse.root,
        DBT_PROFILES_DIR=str(path),
        DBT_LOG_PATH=str(path / "logs"),
        PARTNERLENS_WAREHOUSE=str(built_warehouse.served),
        PARTNERLENS_DUCKDB_ACCESS_MODE="read_only",
    )
    env.pop("DBT_TARGET_PATH")
    project = SemanticProject(path, env)
    parsed = project.run("dbt", "parse", "--quiet", "--vars", "{marts_schema: marts}")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert (path / "target" / "semantic_manifest.json").exists()
    return project


def _marts(built_warehouse, sql: str) -> pd.DataFrame:
    con = built_warehouse.connect()
    try:
        return con.execute(sql).fetchdf()
    finally:
        con.close()


def _month(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m")


def test_validate_configs_against_the_served_warehouse(semantic_project) -> None:
    result = semantic_project.run("mf", "validate-configs")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Successfully validated metrics against data warehouse" in output
    assert "Breaking issues" not in output


def test_attributed_conversions_and_revenue_per_model_equal_the_marts(semantic_project, built_warehouse) -> None:
    metrics = [f"attributed_conversions_{model}" for model in MODELS] + ["attributed_revenue_markov"]
    result = semantic_project.query(metrics, ["metric_time__month", "partner"], "attribution")
    expected = _marts(
        built_warehouse,
        """
        select strftime(converted_on, '%Y-%m') as month, partner_id, attribution_model,
               sum(attributed_conversions) as conversions, sum(attributed_revenue) as revenue
        from marts.mart_partner_attribution
        where partner_id <> '__unattributed__'
        group by all
        """,
    )
    result["month"] = _month(result["metric_time__month"])
    merged = result.merge(
        expected.pivot_table(index=["month", "partner_id"], columns="attribution_model", values="conversions")
        .add_prefix("expected_")
        .reset_index(),
        left_on=["month", "partner"],
        right_on=["month", "partner_id"],
        how="outer",
        indicator=True,
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert len(merged) == expected[["month", "partner_id"]].drop_duplicates().shape[0] > 0
    for model in MODELS:
        got = merged[f"attributed_conversions_{model}"].fillna(0).to_numpy()
        want = merged[f"expected_{model}"].fillna(0).to_numpy()
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), model
    markov = expected[expected["attribution_model"] == "markov"].set_index(["month", "partner_id"])["revenue"]
    got_markov = result.set_index(["month", "partner"])["attributed_revenue_markov"].dropna()
    assert got_markov.sort_index().to_numpy() == pytest.approx(markov.sort_index().to_numpy(), rel=1e-9)


def test_roi_roas_cost_per_conversion_and_host_cost_equal_the_marts(semantic_project, built_warehouse) -> None:
    result = semantic_project.query(
        ["roi", "roas", "cost_per_attributed_conversion", "host_cost"], ["partner_roi__attribution_model"], "roi"
    ).set_index("partner_roi__attribution_model")
    expected = _marts(
        built_warehouse,
        """
        select attribution_model,
               sum(attributed_gross_margin) filter (where host_cost > 0) as margin,
               sum(attributed_revenue) filter (where host_cost > 0) as revenue,
               sum(attributed_conversions) filter (where host_cost > 0) as conversions,
               sum(host_cost) as host_cost
        from marts.mart_partner_roi
        group by all
        """,
    ).set_index("attribution_model")
    assert sorted(result.index) == sorted(expected.index) == sorted(MODELS)
    margin, revenue = expected["margin"].astype(float), expected["revenue"].astype(float)
    cost, conversions = expected["host_cost"].astype(float), expected["conversions"].astype(float)
    assert (cost > 0).all()
    for model in MODELS:
        assert result.loc[model, "roi"] == pytest.approx((margin[model] - cost[model]) / cost[model], rel=1e-9)
        assert result.loc[model, "roas"] == pytest.approx(revenue[model] / cost[model], rel=1e-9)
        assert result.loc[model, "cost_per_attributed_conversion"] == pytest.approx(
            cost[model] / conversions[model], rel=1e-9
        )
    # Costs are the same under every model; host_cost counts each of them once, grouped by model or not.
    assert cost.nunique() == 1
    for model in MODELS:
        if model == "linear":
            assert result.loc[model, "host_cost"] == pytest.approx(cost[model], rel=1e-9)
        else:
            assert pd.isna(result.loc[model, "host_cost"])
    total = semantic_project.query(["host_cost"], [], "host_cost")
    assert total["host_cost"].iloc[0] == pytest.approx(cost["linear"], rel=1e-9)


def test_pipeline_win_rate_and_payouts_equal_the_marts(semantic_project, built_warehouse) -> None:
    result = semantic_project.query(
        ["partner_pipeline", "sourced_pipeline", "win_rate", "payouts"], ["metric_time__month"], "pipeline"
    )
    result["month"] = _month(result["metric_time__month"])
    result = result.set_index("month")
    pipeline = _marts(
        built_warehouse,
        """
        select strftime(month, '%Y-%m') as month,
               sum(sourced_pipeline_amount + influenced_pipeline_amount) as pipeline,
               sum(sourced_pipeline_amount) as sourced,
               sum(sourced_deals_won + influenced_deals_won) as won,
               sum(sourced_deals_won + influenced_deals_won + sourced_deals_lost + influenced_deals_lost) as closed
        from marts.mart_partner_pipeline
        group by all
        """,
    ).set_index("month")
    payouts = _marts(
        built_warehouse,
        "select strftime(period_month, '%Y-%m') as month, sum(payable_amount_reporting) as payable "
        "from marts.mart_partner_payout_statements group by all",
    ).set_index("month")
    assert set(result.index) == set(pipeline.index) | set(payouts.index)
    assert len(pipeline) > 0 and len(payouts) > 0 and pipeline["closed"].sum() > 0
    for month, row in pipeline.iterrows():
        assert result.loc[month, "partner_pipeline"] == pytest.approx(float(row["pipeline"]), rel=1e-9)
        assert result.loc[month, "sourced_pipeline"] == pytest.approx(float(row["sourced"]), rel=1e-9)
        if row["closed"] > 0:
            assert result.loc[month, "win_rate"] == pytest.approx(row["won"] / row["closed"], rel=1e-9)
        else:
            assert pd.isna(result.loc[month, "win_rate"])
    for month, row in payouts.iterrows():
        assert result.loc[month, "payouts"] == pytest.approx(float(row["payable"]), rel=1e-9)
    by_status = semantic_project.query(["payouts"], ["statement__status"], "payout_status")
    expected_status = _marts(
        built_warehouse,
        "select status, sum(payable_amount_reporting) as payable "
        "from marts.mart_partner_payout_statements group by all",
    ).set_index("status")["payable"]
    got_status = by_status.set_index("statement__status")["payouts"]
    assert sorted(got_status.index) == sorted(expected_status.index)
    for status, payable in expected_status.items():
        assert got_status[status] == pytest.approx(float(payable), rel=1e-9)


def test_the_time_spine_covers_every_conversion_day(built_warehouse) -> None:
    con = built_warehouse.connect()
    try:
        days, first, last = con.execute(
            "select count(*), min(date_day), max(date_day) from main.metricflow_time_spine"
        ).fetchall()[0]
        uncovered = con.execute(
            "select count(*) from marts.fct_conversions "
            "where converted_on not in (select date_day from main.metricflow_time_spine)"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert (str(first), str(last)) == ("2020-01-01", "2035-12-31")
    assert days == (pd.Timestamp("2035-12-31") - pd.Timestamp("2020-01-01")).days + 1
    assert uncovered == 0

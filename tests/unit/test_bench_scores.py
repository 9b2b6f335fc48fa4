"""The benchmark's report of the attribution models' scores, read from a served warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb

from partnerlens.bench import SCORE_HEADERS, model_scores, table


def test_model_scores_are_listed_best_first_with_undefined_correlations_shown(tmp_path: Path) -> None:
    served = tmp_path / "served.duckdb"
    con = duckdb.connect(str(served))
    con.execute("create schema marts")
    con.execute(
        "create table marts.mart_attribution_model_scores (attribution_model varchar, model_rank integer, "
        "spearman_rank_correlation float8, share_total_variation float8, share_mean_absolute_error float8)"
    )
    con.execute(
        "insert into marts.mart_attribution_model_scores values "
        "('last_touch', 2, 0.1234, 0.55, 0.02214), ('first_touch', 1, 0.41849, 0.4409, 0.01764), "
        "('shapley', 3, null, 0.5, 0.25)"
    )
    con.close()
    rows = model_scores(served)
    assert rows == [
        ["first_touch", "1", "0.418", "0.441", "0.0176"],
        ["last_touch", "2", "0.123", "0.550", "0.0221"],
        ["shapley", "3", "n/a", "0.500", "0.2500"],
    ]
    assert table(rows, SCORE_HEADERS).splitlines()[2] == "| first_touch | 1 | 0.418 | 0.441 | 0.0176 |"

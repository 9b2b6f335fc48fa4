"""The generator's ground truth of partner effects, loaded for scoring the attribution models.

``partnerlens.synthetic`` writes ``<landing>/_ground_truth/partner_effects.csv`` (partner_id, true_lift,
true_incremental_conversions, true_share) next to the feeds. It is not a feed (no contract, no partner delivers it),
so it bypasses the feed loader: when the file is present it replaces ``raw.ground_truth_partner_effects`` whole; when
it is absent the table is created empty (once) and otherwise left as it is, so that the dbt source always exists and
``mart_attribution_model_scores`` is simply empty on real data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

GROUND_TRUTH_FILE = Path("_ground_truth") / "partner_effects.csv"
TABLE = "raw.ground_truth_partner_effects"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("partner_id", "VARCHAR"),
    ("true_lift", "DOUBLE"),
    ("true_incremental_conversions", "DOUBLE"),
    ("true_share", "DOUBLE"),
)


def ground_truth_path(landing_root: Path) -> Path:
    """Where the generator writes the ground truth of a landing folder."""
    return Path(landing_root) / GROUND_TRUTH_FILE


def load_ground_truth(con: duckdb.DuckDBPyConnection, landing_root: Path) -> int | None:
    """Replace raw.ground_truth_partner_effects from the landing folder's ground truth file.

    Returns the number of partners loaded, or None when there is no ground truth file (the table then exists, empty
    unless an earlier run loaded one).
    """
    con.execute("create schema if not exists raw")
    typed = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    con.execute(f"create table if not exists {TABLE} ({typed}, _source_file VARCHAR, _loaded_at TIMESTAMPTZ)")
    path = ground_truth_path(landing_root)
    if not path.is_file():
        return None
    casts = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in COLUMNS)
    column_types = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name, _ in COLUMNS) + "}"
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {TABLE}")
        con.execute(
            f"insert into {TABLE} select {casts}, ? as _source_file, ? as _loaded_at "
            f"from read_csv(?, header = true, columns = {column_types})",
            [GROUND_TRUTH_FILE.as_posix(), datetime.now(UTC), str(path)],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute(f"select count(*) from {TABLE}").fetchone()[0]

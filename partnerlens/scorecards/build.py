"""Write every scorecard and the dashboard: `write_scorecards(con, out_dir)`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from partnerlens.scorecards import data, pages
from partnerlens.scorecards.charts import Chart


def default_out_dir(warehouse: Path) -> Path:
    """Where scorecards go unless told otherwise: PARTNERLENS_SCORECARDS, else scorecards/ beside the warehouse."""
    configured = os.environ.get("PARTNERLENS_SCORECARDS")
    return Path(configured).expanduser() if configured else Path(warehouse).parent / "scorecards"


class ScorecardLeak(RuntimeError):
    """A partner's page would show another partner's id or name; nothing is written for it."""


@dataclass
class ScorecardSet:
    """What write_scorecards wrote: the dashboard, one page per partner, and the charts drawn on each."""

    out_dir: Path
    index: Path
    partners: dict[str, Path] = field(default_factory=dict)
    charts: dict[str, list[Chart]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.partners)


def _page_text(document: str) -> str:
    """The part of a page that carries data: everything but the inlined chart libraries."""
    return re.sub(r'<script id="vega-libraries">.*?</script>', "", document, count=1, flags=re.DOTALL)


def check_isolation(document: str, partner: data.Partner, others: dict[str, str]) -> None:
    """Raise ScorecardLeak when another partner's id or name appears on `partner`'s page."""
    text = _page_text(document)
    leaked = sorted({word for pid, name in others.items() for word in (pid, name) if word and word in text})
    if leaked:
        raise ScorecardLeak(f"the page of {partner.partner_id} would show {', '.join(leaked)}; not written")


def write_scorecards(con: duckdb.DuckDBPyConnection, out_dir: Path) -> ScorecardSet:
    """Write `out_dir/index.html` (the internal dashboard) and `out_dir/partners/<partner_id>.html` per partner,
    from the served `marts` only (a connection to the served file). Each page is one self-contained file."""
    data.require_served_marts(con)
    out_dir = Path(out_dir)
    (out_dir / "partners").mkdir(parents=True, exist_ok=True)
    currency = data.reporting_currency(con)
    everyone = data.partners(con)
    result = ScorecardSet(out_dir=out_dir, index=out_dir / "index.html")
    for partner in everyone:
        others = {p.partner_id: p.partner_name for p in everyone if p.partner_id != partner.partner_id}
        document, drawn = pages.partner_page(con, partner, [*others, *others.values()], currency)
        check_isolation(document, partner, others)
        path = out_dir / "partners" / f"{partner.partner_id}.html"
        path.write_text(document, encoding="utf-8")
        result.partners[partner.partner_id] = path
        result.charts[partner.partner_id] = drawn
    links = {pid: f"partners/{path.name}" for pid, path in result.partners.items()}
    document, drawn = pages.dashboard_page(con, everyone, links, currency)
    result.index.write_text(document, encoding="utf-8")
    result.charts["index"] = drawn
    return result

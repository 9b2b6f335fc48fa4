"""Self-contained HTML: one file with its styles, the Vega, Vega-Lite and vega-embed libraries inlined, and the chart
specifications, so that a page opens from disk or a mail attachment with no network at all."""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Iterable, Sequence

import altair as alt
import vl_convert

from partnerlens.scorecards.charts import Chart

STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #1565c0; --card: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; }
header { padding: 20px 32px 12px; border-bottom: 3px solid var(--accent); }
header h1 { margin: 0; font-size: 24px; }
header p { margin: 4px 0 0; color: var(--muted); }
main { padding: 8px 32px 40px; max-width: 1040px; }
section { margin-top: 28px; }
h2 { font-size: 18px; margin: 0 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.note { color: var(--muted); margin: 4px 0 10px; }
.narrative { background: var(--card); border-left: 4px solid var(--accent); padding: 10px 16px; }
.narrative p { margin: 6px 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.kpi { background: var(--card); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.kpi .value { font-size: 20px; font-weight: 600; }
.kpi .label { color: var(--muted); font-size: 12px; }
figure { margin: 10px 0 18px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--card); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: var(--accent); }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px; }
"""

EMBED = """
(function () {
  var specs = %s;
  var root = document.documentElement;
  root.dataset.charts = "pending";
  window.scorecardViews = {};
  Promise.all(Object.keys(specs).map(function (id) {
    return vegaEmbed("#chart-" + id, specs[id], {renderer: "svg", actions: false}).then(function (result) {
      window.scorecardViews[id] = result.view;
    });
  })).then(function () {
    root.dataset.charts = "ready";
  }).catch(function (error) {
    root.dataset.charts = "failed";
    console.error("a chart failed to render: " + error);
  });
})();
"""


def vega_lite_version() -> str:
    """The Vega-Lite version Altair writes its specifications for, as vl-convert names it (e.g. '6.4')."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    wanted = f"{major}.{minor}"
    available = vl_convert.get_vegalite_versions()
    return wanted if wanted in available else available[-1]


@functools.cache
def javascript_bundle() -> str:
    """vega, vega-lite and vega-embed as one script (from vl-convert's own copies), made safe to inline."""
    return vl_convert.javascript_bundle(vl_version=vega_lite_version()).replace("</script", "<\\/script")


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), default=str).replace("</", "<\\/")


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def paragraph(text: str, css_class: str | None = None) -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{esc(text)}</p>"


def kpis(items: Iterable[tuple[str, str]]) -> str:
    cards = "".join(
        f'<div class="kpi"><div class="value">{esc(value)}</div><div class="label">{esc(label)}</div></div>'
        for label, value in items
    )
    return f'<div class="kpis">{cards}</div>'


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{esc(v)}</td>" for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def link_table(headers: Sequence[str], rows: Iterable[tuple[str, Sequence[object]]], numeric: set[int]) -> str:
    """A table whose first cell links to a page: rows of (href, cells)."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for href, cells in rows:
        tds = [f'<td><a href="{esc(href)}">{esc(cells[0])}</a></td>']
        tds += [f"<td{' class=num' if i in numeric else ''}>{esc(v)}</td>" for i, v in enumerate(cells) if i > 0]
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(chart: Chart) -> str:
    marks = " ".join(chart.marks)
    return (
        f"<figure><figcaption>{esc(chart.title)}</figcaption>"
        f'<div id="chart-{esc(chart.chart_id)}" class="chart" data-marks="{esc(marks)}"></div></figure>'
    )


def section(title: str, *parts: str, section_id: str | None = None) -> str:
    attribute = f' id="{esc(section_id)}"' if section_id else ""
    return f"<section{attribute}><h2>{esc(title)}</h2>{''.join(parts)}</section>"


def page(title: str, subtitle: str, body: Sequence[str], charts: Sequence[Chart], footer: str) -> str:
    """The whole document: styles, the libraries, the sections and the script that draws every chart."""
    specs = {chart.chart_id: chart.spec for chart in charts}
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style>"
        f'<script id="vega-libraries">{javascript_bundle()}</script>'
        "</head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<main>{''.join(body)}</main>"
        f"<footer>{esc(footer)}</footer>"
        f"<script>{EMBED % _json(specs)}</script>"
        "</body></html>\n"
    )

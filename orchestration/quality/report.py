"""The gate report of a run: one self-contained HTML page with every quality-gate check, its outcome, its expectations
and what failed.

Written to ``<gx docs root>/<run_id>/index.html`` after each gate and again after publish, so it always shows the run
so far. It is built from

- ``audit.gate_results``: one entry per row of the run (the outcomes publish reads), with the count and sample of
  offending rows and the message;
- the run's GX validation results (:meth:`GxRun.stored_outcomes`): every expectation a check validated, with its
  arguments, what GX observed and the unexpected values it listed;
- the suites in ``expectations/`` for each check's rule and severity, and the expectations of a check that was not
  validated (skipped, or its batch could not be built);
- ``audit.publish_log``: whether the run was published, refused or not (yet) published.

The page has no script and references no stylesheet, font or image: its CSS is inline, so it reads the same offline
and from ``file://`` (GX's own data docs, linked from it, load theirs from public CDNs).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.quality.gx_adapter import SITE_DIR, ExpectationOutcome, GxRun, gx_run, run_docs_dir, write_runs_index
from orchestration.quality.plan import ALL_MARTS
from orchestration.quality.suites import EXPECTATIONS_DIR, CheckDef, Suite, load_suites

GATES = {"gate_1": "Gate 1: raw feeds", "gate_2": "Gate 2: candidate marts"}
OUTCOMES = ("failed", "warned", "passed")
#: Unexpected values shown per expectation (GX lists up to PARTIAL_UNEXPECTED).
SHOWN_VALUES = 20

GATE_RESULTS_QUERY = """
select gate, dataset, check_name, outcome, failed_count, sample, message, checked_at
from audit.gate_results
where run_id = ?
order by gate, dataset, check_name, checked_at
"""

PUBLISH_QUERY = """
select action, outcome, schema_name, message, published_at
from audit.publish_log
where run_id = ?
order by published_at desc
limit 1
"""


@dataclass
class ReportedCheck:
    """One row of audit.gate_results with what the suite and GX say about it."""

    gate: str
    dataset: str
    check_name: str
    outcome: str
    failed_count: int
    message: str
    checked_at: datetime | None
    sample: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    severity: str = ""
    #: GX's results, one per expectation; None when GX did not validate the check in this run.
    expectations: list[ExpectationOutcome] | None = None
    #: The suite's expectation configs, shown when GX did not validate the check.
    configured: list[dict[str, Any]] = field(default_factory=list)

    @property
    def suite_name(self) -> str:
        """The GX suite (and validation) name of the check, as the evaluation names it."""
        return f"{self.gate}.{self.dataset}.{self.check_name}"

    @property
    def anchor(self) -> str:
        return self.suite_name


@dataclass
class PublishStatus:
    action: str
    outcome: str
    schema_name: str | None
    message: str | None
    published_at: datetime | None


_SUITES: dict[tuple[tuple[str, int], ...], dict[str, Suite]] = {}


def current_suites() -> dict[str, Suite]:
    """The suites in ``expectations/``, parsed again only when a suite file changed (a report is written after every
    gate step)."""
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(EXPECTATIONS_DIR.glob("*/*.y*ml")))
    if stamp not in _SUITES:
        _SUITES.clear()
        _SUITES[stamp] = load_suites()
    return _SUITES[stamp]


def report_path(run_id: str) -> Path:
    """Where the gate report of a run goes: the index page of the run's docs folder."""
    return run_docs_dir(run_id) / "index.html"


def _suite_check(suites: Mapping[str, Suite], dataset: str, check_name: str) -> CheckDef | None:
    """The suite check behind a gate result: the dataset's own suite first, then the one for every mart."""
    candidates = [suites.get(dataset)]
    if dataset.startswith("marts."):
        candidates.append(suites.get(ALL_MARTS))
    for suite in candidates:
        for check in suite.checks if suite else ():
            if check.name == check_name:
                return check
    return None


def reported_checks(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    gx_outcomes: Mapping[str, list[ExpectationOutcome]],
    suites: Mapping[str, Suite] | None = None,
) -> list[ReportedCheck]:
    """Every gate result of the run, in gate, dataset and check order, with its suite check and GX results."""
    suites = current_suites() if suites is None else suites
    checks = []
    for gate, dataset, check_name, outcome, failed_count, sample, message, checked_at in con.execute(
        GATE_RESULTS_QUERY, [run_id]
    ).fetchall():
        item = ReportedCheck(
            gate=gate,
            dataset=dataset,
            check_name=check_name,
            outcome=outcome,
            failed_count=int(failed_count or 0),
            message=message or "",
            checked_at=checked_at,
            sample=json.loads(sample) if sample else [],
        )
        suite_check = _suite_check(suites, dataset, check_name)
        if suite_check is not None:
            item.description = suite_check.description
            item.severity = suite_check.severity
            item.configured = [dict(c) for c in suite_check.expectations]
        item.expectations = gx_outcomes.get(item.suite_name)
        checks.append(item)
    return checks


def publish_status(con: duckdb.DuckDBPyConnection, run_id: str) -> PublishStatus | None:
    row = con.execute(PUBLISH_QUERY, [run_id]).fetchone()
    return PublishStatus(*row) if row else None


# ---------------------------------------------------------------------------------------------------------------------
# Rendering

STYLE = """
:root{--failed:#b42318;--failed-bg:#fdecea;--warned:#9a6700;--warned-bg:#fff4d6;--passed:#1a7f37;--passed-bg:#e9f7ee;
--line:#d8dde3;--muted:#5b6570}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;
margin:0 auto;max-width:1200px;padding:1.5em 2em 4em}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.3em;margin:1.6em 0 .5em;border-bottom:2px solid var(--line)}
h3{font-size:1.05em;margin:0;display:inline}h4{font-size:.95em;margin:1em 0 .3em}
a{color:#0b57d0}.muted{color:var(--muted)}code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table{border-collapse:collapse;margin:.3em 0;font-size:14px}
th,td{border:1px solid var(--line);padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;min-width:4.6em;text-align:center;border-radius:3px;padding:0 .4em;margin-right:.5em;
font-size:.85em;font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.badge.failed{background:var(--failed);color:#fff}.badge.warned{background:var(--warned);color:#fff}
.badge.passed{background:var(--passed);color:#fff}
.status{padding:.6em 1em;border-radius:4px;margin:.8em 0}
.status.failed{background:var(--failed-bg)}.status.passed{background:var(--passed-bg)}
.status.warned{background:var(--warned-bg)}
details.check{border:1px solid var(--line);border-left:6px solid var(--passed);border-radius:4px;margin:.45em 0;
padding:.4em .8em}
details.check.failed{border-left-color:var(--failed);background:var(--failed-bg)}
details.check.warned{border-left-color:var(--warned);background:var(--warned-bg)}
details.check>summary{cursor:pointer}details.check[open]>summary{margin-bottom:.4em}
details.check table{background:#fff}
.message{white-space:pre-wrap;overflow-wrap:anywhere}
td.ok{color:var(--passed);font-weight:600}td.bad{color:var(--failed);font-weight:600}
.null{color:var(--muted);font-style:italic}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _value(value: Any) -> str:
    """A value of a sample row or GX result as HTML (null shown as such, containers as compact JSON)."""
    if value is None:
        return "<span class='null'>null</span>"
    if isinstance(value, dict | list):
        return f"<code>{_e(json.dumps(value, default=str, ensure_ascii=False))}</code>"
    return _e(value)


def _arguments(kwargs: Mapping[str, Any]) -> str:
    if not kwargs:
        return ""
    return "<br>".join(
        f"<code>{_e(k)}</code> = {_value(v if not isinstance(v, tuple) else list(v))}" for k, v in kwargs.items()
    )


def _result(outcome: ExpectationOutcome) -> str:
    parts = []
    if outcome.unexpected_count is not None:
        of = f" of {outcome.element_count:,}" if outcome.element_count is not None else ""
        parts.append(f"{outcome.unexpected_count:,}{of} unexpected")
    if outcome.observed_value is not None:
        parts.append(f"observed {_value(outcome.observed_value)}")
    if outcome.partial_unexpected_list:
        shown = outcome.partial_unexpected_list[:SHOWN_VALUES]
        more = len(outcome.partial_unexpected_list) - len(shown)
        parts.append(
            "unexpected values: "
            + ", ".join(_value(v) for v in shown)
            + (f" and {more} more" if more > 0 else "")
            + (
                " (first values GX listed)"
                if outcome.unexpected_count and outcome.unexpected_count > len(shown)
                else ""
            )
        )
    return "; ".join(parts)


def _expectations_table(check: ReportedCheck) -> str:
    if check.expectations is None:
        if not check.configured:
            return "<p class='muted'>No expectation was validated.</p>"
        rows = "".join(
            f"<tr><td><code>{_e(c.get('type'))}</code></td><td>{_arguments(c.get('kwargs') or {})}</td></tr>"
            for c in check.configured
        )
        return (
            "<h4>Expectations (from the suite; not validated in this run)</h4>"
            f"<table class='expectations'><tr><th>expectation</th><th>arguments</th></tr>{rows}</table>"
        )
    rows = "".join(
        f"<tr class='{'passed' if o.success else 'failed'}'><td><code>{_e(o.type)}</code></td>"
        f"<td>{_arguments(o.kwargs)}</td>"
        f"<td class='{'ok' if o.success else 'bad'}'>{'met' if o.success else 'not met'}</td>"
        f"<td>{_result(o)}</td></tr>"
        for o in check.expectations
    )
    return (
        "<h4>Expectations validated by Great Expectations</h4><table class='expectations'><tr><th>expectation</th>"
        f"<th>arguments</th><th>result</th><th>what GX found</th></tr>{rows}</table>"
    )


def _rows_table(check: ReportedCheck) -> str:
    if not check.sample:
        return ""
    columns = list(dict.fromkeys(column for row in check.sample for column in row))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_value(row.get(c))}</td>" for c in columns) + "</tr>" for row in check.sample
    )
    shown = len(check.sample)
    count = f"{shown} of {check.failed_count:,}" if check.failed_count > shown else f"{shown}"
    return f"<h4>Failing rows ({count} shown)</h4><table class='failing-rows'><tr>{head}</tr>{body}</table>"


def _check_html(check: ReportedCheck) -> str:
    severity = {"error": "blocking", "warn": "warning only"}.get(check.severity, check.severity or "unknown severity")
    failed = f" · {check.failed_count:,} offending" if check.failed_count else ""
    return (
        f"<details class='check {_e(check.outcome)}' id='{_e(check.anchor)}' data-gate='{_e(check.gate)}' "
        f"data-dataset='{_e(check.dataset)}' data-check='{_e(check.check_name)}' data-outcome='{_e(check.outcome)}'"
        f"{' open' if check.outcome != 'passed' else ''}>"
        f"<summary><span class='badge {_e(check.outcome)}'>{_e(check.outcome)}</span>"
        f"<h3><code>{_e(check.dataset)}</code> · <code>{_e(check.check_name)}</code></h3>"
        f"<span class='muted'> ({_e(severity)}){failed}</span></summary>"
        f"<p><b>Rule:</b> {_e(check.description or check.check_name)}</p>"
        f"<p class='message'><b>Outcome:</b> {_e(check.message)}</p>"
        f"{_expectations_table(check)}{_rows_table(check)}</details>"
    )


def _counts(checks: Iterable[ReportedCheck]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for check in checks:
        counts[check.outcome] = counts.get(check.outcome, 0) + 1
    return counts


def _gate_section(gate: str, checks: list[ReportedCheck]) -> str:
    title = GATES.get(gate, gate)
    if not checks:
        return f"<h2 id='{_e(gate)}'>{_e(title)}</h2><p class='muted'>No check of this gate ran in this run.</p>"
    datasets = list(dict.fromkeys(c.dataset for c in checks))
    overview_rows = ""
    for dataset in datasets:
        of_dataset = [c for c in checks if c.dataset == dataset]
        counts = _counts(of_dataset)
        first = next((c for c in of_dataset if c.outcome != "passed"), of_dataset[0])
        overview_rows += (
            f"<tr><td><a href='#{_e(first.anchor)}'><code>{_e(dataset)}</code></a></td>"
            f"<td class='num'>{len(of_dataset)}</td>"
            + "".join(f"<td class='num'>{counts[o] or ''}</td>" for o in OUTCOMES)
            + "</tr>"
        )
    counts = _counts(checks)
    return (
        f"<h2 id='{_e(gate)}'>{_e(title)}</h2>"
        f"<p>{len(checks)} checks: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES) + ".</p>"
        "<table class='overview'><tr><th>dataset</th><th>checks</th>"
        + "".join(f"<th>{o}</th>" for o in OUTCOMES)
        + f"</tr>{overview_rows}</table>"
        + "".join(_check_html(c) for c in checks)
    )


def _status(checks: list[ReportedCheck], published: PublishStatus | None) -> str:
    counts = _counts(checks)
    if counts["failed"]:
        failed = [c for c in checks if c.outcome == "failed"]
        links = ", ".join(
            f"<a href='#{_e(c.anchor)}'><code>{_e(c.dataset)}</code> {_e(c.check_name)}</a>" for c in failed
        )
        text = (
            f"<b>{counts['failed']} blocking check(s) failed</b>: {links}. Nothing downstream ran and the published "
            "marts stayed as they were."
        )
        css = "failed"
    else:
        text = "<b>No blocking check failed</b> so far." if checks else "No gate check has run yet."
        css = "warned" if counts["warned"] else "passed"
    if published is not None:
        schema = f" (<code>{_e(published.schema_name)}</code>)" if published.schema_name else ""
        when = f" at {published.published_at:%Y-%m-%d %H:%M:%S %Z}" if published.published_at else ""
        text += f"<br><b>Publish:</b> {_e(published.outcome)}{schema}{when}."
        if published.outcome == "refused" and published.message:
            text += f" {_e(published.message)}"
    else:
        text += "<br><b>Publish:</b> this run has not published."
    return f"<div class='status {css}'>{text}</div>"


def render_report(run_id: str, checks: list[ReportedCheck], published: PublishStatus | None = None) -> str:
    """The gate report page of a run (self-contained HTML: inline CSS, no script, nothing fetched)."""
    counts = _counts(checks)
    checked = [c.checked_at for c in checks if c.checked_at is not None]
    when = f"checked {min(checked):%Y-%m-%d %H:%M:%S %Z} to {max(checked):%H:%M:%S}" if checked else "not checked yet"
    by_gate = {gate: [c for c in checks if c.gate == gate] for gate in GATES}
    others = sorted({c.gate for c in checks} - set(GATES))
    by_gate.update({gate: [c for c in checks if c.gate == gate] for gate in others})
    totals = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Quality gates of run {_e(run_id)}</title><style>{STYLE}</style></head><body>"
        "<p class='muted'><a href='../index.html'>All runs</a> · "
        f"<a href='{SITE_DIR}/index.html'>Great Expectations data docs of this run</a> "
        "(their styles and scripts come from public CDNs)</p>"
        f"<h1>Quality gates of run <code>{_e(run_id)}</code></h1>"
        f"<p id='totals' data-checks='{len(checks)}'>{len(checks)} checks ({totals}), {_e(when)}.</p>"
        f"{_status(checks, published)}"
        + "".join(_gate_section(gate, of_gate) for gate, of_gate in by_gate.items())
        + "</body></html>"
    )


def write_gate_report(con: duckdb.DuckDBPyConnection, run: GxRun) -> Path:
    """Write the run's gate report from the audit tables and the run's GX results; returns its path."""
    checks = reported_checks(con, run.run_id, run.stored_outcomes())
    path = report_path(run.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(run.run_id, checks, publish_status(con, run.run_id)), encoding="utf-8")
    return path


def write_run_docs(con: duckdb.DuckDBPyConnection, run: GxRun | str) -> Path:
    """Rewrite a run's gate report and the list of runs (after each gate, and after publish to show its outcome);
    returns the report's path. ``run`` is the run's GX context or its run id."""
    report = write_gate_report(con, gx_run(run) if isinstance(run, str) else run)
    write_runs_index(con)
    return report

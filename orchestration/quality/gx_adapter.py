"""Great Expectations 1.x glue: one GX context per nightly run, pandas batches, and GX data docs per run.

dagster-ge does not support GX 1.x, so this is the small adapter the gates use. Each run gets its own folder::

    <gx docs root>/<run_id>/index.html     the gate report (:mod:`orchestration.quality.report`): self-contained
    <gx docs root>/<run_id>/gx/index.html  GX's own data docs site: every validation of the run, failed ones in red
    <gx docs root>/<run_id>/gx/_gx/        GX's stores (suites, validation definitions, validation results as JSON)

GX's data docs pages load their stylesheets and scripts (Bootstrap, jQuery, Vega ...) from public CDNs, so without
internet they render unstyled and the site's validation list stays empty; the gate report needs nothing but the file.
The docs root is ``PARTNERLENS_GX_DOCS`` when set, else ``gx_docs/`` next to the warehouse file (by default
``warehouse/gx_docs/``). GX is imported lazily: importing it costs seconds, and only the gate steps need it.
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from orchestration.paths import gx_docs_root

# GX would otherwise send usage statistics; a warehouse build has no business talking to the internet.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DATASOURCE = "partnerlens"
SITE = "run_site"
#: GX's data docs site of a run, inside the run's folder.
SITE_DIR = "gx"
#: Unexpected values GX lists per expectation (and the most offending rows a gate result samples).
PARTIAL_UNEXPECTED = 20
#: Batches up to this many rows get GX's COMPLETE result format (every offending row listed in the data docs).
COMPLETE_RESULT_ROWS = 5_000
#: Column added to every batch: the row's position, so that GX's unexpected rows map back to the batch.
ROW_COLUMN = "batch_row"


def run_docs_dir(run_id: str) -> Path:
    """The docs folder of one run (its gate report is ``index.html`` there)."""
    return gx_docs_root() / run_id


def gx_site_dir(run_id: str) -> Path:
    """The folder of one run's GX context: its stores and its data docs site."""
    return run_docs_dir(run_id) / SITE_DIR


def expectation_from_config(config: dict[str, Any]) -> Any:
    """A GX expectation object from a suite entry ``{type, kwargs, meta}``."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationConfiguration(
        type=config["type"], kwargs=dict(config.get("kwargs") or {}), meta=dict(config.get("meta") or {})
    ).to_domain_obj()


@dataclass
class ExpectationOutcome:
    """The result of one expectation on one batch, reduced to what the gate reports."""

    type: str
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int | None
    element_count: int | None
    observed_value: Any
    partial_unexpected_list: list[Any]
    unexpected_indexes: list[Any]

    def describe(self) -> str:
        """One line for a failure message, e.g. ``expect_column_values_to_be_between(volume_ratio): 1 of 8``."""
        column = (
            self.kwargs.get("column")
            or self.kwargs.get("column_list")
            or (f"{self.kwargs.get('column_A')}, {self.kwargs.get('column_B')}" if "column_A" in self.kwargs else "")
        )
        bounds = {k: v for k, v in self.kwargs.items() if k in ("min_value", "max_value", "value", "regex")}
        text = f"{self.type}({column}{', ' if column and bounds else ''}"
        text += ", ".join(f"{k}={v}" for k, v in bounds.items()) + ")"
        if self.unexpected_count is not None:
            text += f": {self.unexpected_count} of {self.element_count} unexpected"
            if self.partial_unexpected_list:
                text += f" (e.g. {', '.join(str(v) for v in self.partial_unexpected_list[:3])})"
        elif self.observed_value is not None:
            text += f": observed {self.observed_value}"
        return text


@dataclass
class ValidationOutcome:
    """A GX validation of one check's batch."""

    success: bool
    expectations: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def unexpected_indexes(self) -> list[Any]:
        """Row labels of the batch that failed any expectation, first failures first, without repeats."""
        seen: dict[Any, None] = {}
        for outcome in self.failed:
            for index in outcome.unexpected_indexes:
                seen.setdefault(index, None)
        return list(seen)


class GxRun:
    """The GX context of one nightly run; validation results and data docs are written under its docs folder."""

    def __init__(self, run_id: str, docs_dir: Path) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            FilesystemStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.run_id = run_id
        self.docs_dir = docs_dir
        docs_dir.mkdir(parents=True, exist_ok=True)
        config = DataContextConfig(
            store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(docs_dir / "_gx")),
            analytics_enabled=False,
            # GX draws a progress bar per validation; PARTNERLENS_GX_PROGRESS_BARS=1 (`partnerlens run --verbose`)
            # shows them
            progress_bars=ProgressBarsConfig(globally=os.environ.get("PARTNERLENS_GX_PROGRESS_BARS") == "1"),
            data_docs_sites={
                SITE: {
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    # Validation pages only: each one lists the expectations it checked; suite pages would repeat them.
                    "site_section_builders": {"expectations": "0", "profiling": "0"},
                }
            },
        )
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasource = self.context.data_sources.add_or_update_pandas(DATASOURCE)
        self._rendered: set[Any] = set()
        self._stored: dict[Any, tuple[datetime, list[ExpectationOutcome]]] = {}

    @property
    def index_html(self) -> Path:
        return self.docs_dir / "index.html"

    def validate(
        self,
        name: str,
        frame: pd.DataFrame,
        expectations: list[dict[str, Any]],
        meta: dict[str, Any],
        asset_name: str,
        id_columns: list[str] | None = None,
    ) -> ValidationOutcome:
        """Validate ``frame`` against the expectation configs; the result is stored for the run's data docs.

        ``name`` names the suite and its validation (one per check), ``asset_name`` the GX data asset (one per dataset).
        GX lists offending rows by ``id_columns`` (e.g. partner, key, column name) in the results and the data docs;
        ``unexpected_indexes`` of the outcome are positions in ``frame``.
        """
        gx = self._gx
        try:
            asset = self.datasource.get_asset(asset_name)
        except LookupError:
            asset = self.datasource.add_dataframe_asset(asset_name)
        try:
            batch_definition = asset.get_batch_definition("batch")
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_dataframe("batch")
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=name, expectations=[expectation_from_config(c) for c in expectations], meta=meta)
        )
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        )
        frame = frame.reset_index(drop=True)
        frame[ROW_COLUMN] = range(len(frame))
        shown = [c for c in dict.fromkeys(id_columns or []) if c in frame.columns and c != ROW_COLUMN]
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                # COMPLETE lists every offending row (by its id columns) in the data docs; big row batches get the
                # first PARTIAL_UNEXPECTED only.
                "result_format": "COMPLETE" if len(frame) <= COMPLETE_RESULT_ROWS else "SUMMARY",
                "partial_unexpected_count": PARTIAL_UNEXPECTED,
                "unexpected_index_column_names": [*shown, ROW_COLUMN],
            },
            run_id=gx.RunIdentifier(run_name=self.run_id),
        )
        for item in result.results:
            if item.exception_info and item.exception_info.get("raised_exception"):
                message = item.exception_info.get("exception_message") or "GX raised an exception"
                raise RuntimeError(f"{name}: {item.expectation_config.type} could not be evaluated: {message}")
        outcomes = expectation_outcomes(result)
        return ValidationOutcome(success=bool(result.success), expectations=outcomes)

    def stored_outcomes(self) -> dict[str, list[ExpectationOutcome]]:
        """Every validation stored in this run's GX store, by suite name (one per check; the latest if it ran twice).

        Read from the store, so validations made by another process of the same run are included.
        """
        store = self.context.validation_results_store
        for key in store.list_keys():
            if key not in self._stored:
                self._stored[key] = (key.run_id.run_time, expectation_outcomes(store.get(key)))
        latest: dict[str, tuple[datetime, list[ExpectationOutcome]]] = {}
        for key, (run_time, outcomes) in self._stored.items():
            name = key.expectation_suite_identifier.name
            if name not in latest or run_time >= latest[name][0]:
                latest[name] = (run_time, outcomes)
        return {name: outcomes for name, (_, outcomes) in latest.items()}

    def build_docs(self) -> Path:
        """Render the validations stored since the last call and the run's index page; returns index.html."""
        keys = set(self.context.validation_results_store.list_keys())
        new = list(keys - self._rendered)
        if new or not self.index_html.exists():
            self.context.build_data_docs(site_names=[SITE], resource_identifiers=new or None)
        self._rendered |= keys
        return self.index_html


RUNS_INDEX_QUERY = """
with gates as (
    select
        run_id,
        min(checked_at) as checked_at,
        count(*) filter (where outcome = 'passed') as passed,
        count(*) filter (where outcome = 'failed') as failed,
        count(*) filter (where outcome = 'warned') as warned,
        string_agg(dataset || ' ' || check_name, ', ' order by dataset, check_name)
            filter (where outcome = 'failed') as failed_checks
    from audit.gate_results
    group by run_id
),
publishes as (
    select run_id, arg_max(outcome, published_at) as publish_outcome
    from audit.publish_log
    where run_id is not null
    group by run_id
)
select gates.*, coalesce(publishes.publish_outcome, 'not published') as publish_outcome
from gates
left join publishes on gates.run_id = publishes.run_id
order by gates.checked_at desc
"""


def write_runs_index(con: Any, root: Path | None = None) -> Path:
    """``<gx docs root>/index.html``: every run with a gate report, newest first, with its outcome (no script, no
    external reference)."""
    root = root or gx_docs_root()
    rows = [r for r in con.execute(RUNS_INDEX_QUERY).fetchall() if (root / r[0] / "index.html").exists()]
    cells = "".join(
        f"<tr class='{'failed' if failed else 'passed'}'><td><a href='{html.escape(run_id)}/index.html'>"
        f"{html.escape(run_id)}</a></td><td>{checked_at:%Y-%m-%d %H:%M:%S %Z}</td><td>{passed}</td><td>{failed}</td>"
        f"<td>{warned}</td><td>{html.escape(failed_checks or '')}</td><td>{html.escape(published)}</td></tr>"
        for run_id, checked_at, passed, failed, warned, failed_checks, published in rows
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Partnerlens quality gates</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;"
        "border-bottom:1px solid #ddd;text-align:left}tr.failed td{background:#fde8e8}</style></head><body>"
        "<h1>Partnerlens quality gates</h1><p>The gate report of every nightly run, newest first. A run with a failed "
        "check published nothing.</p><table><tr><th>run</th><th>checked at</th><th>passed</th><th>failed</th>"
        f"<th>warned</th><th>failed checks</th><th>publish</th></tr>{cells}</table></body></html>"
    )
    root.mkdir(parents=True, exist_ok=True)
    index = root / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


_RUNS: dict[tuple[str, str], GxRun] = {}


def gx_run(run_id: str) -> GxRun:
    """The GX context of a run (one per process and run: the nightly job runs its steps in one process)."""
    docs_dir = gx_site_dir(run_id)
    key = (run_id, str(docs_dir))
    if key not in _RUNS:
        _RUNS[key] = GxRun(run_id, docs_dir)
    return _RUNS[key]


def expectation_outcomes(result: Any) -> list[ExpectationOutcome]:
    """The expectations of a GX suite validation result, reduced to what the gates report."""
    outcomes = []
    for item in result.results:
        details = item.result or {}
        outcomes.append(
            ExpectationOutcome(
                type=item.expectation_config.type,
                kwargs={k: v for k, v in item.expectation_config.kwargs.items() if k != "batch_id"},
                success=bool(item.success),
                unexpected_count=_int_or_none(details.get("unexpected_count")),
                element_count=_int_or_none(details.get("element_count")),
                observed_value=jsonable(details.get("observed_value")),
                partial_unexpected_list=[jsonable(v) for v in details.get("partial_unexpected_list") or []],
                unexpected_indexes=[
                    int(i[ROW_COLUMN]) if isinstance(i, dict) else i
                    for i in details.get("partial_unexpected_index_list") or []
                ],
            )
        )
    return outcomes


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def jsonable(value: Any) -> Any:
    """A value made safe for JSON (numpy scalars, decimals, timestamps, NaN/NaT, tuples)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return None if pd.isna(value) else value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)

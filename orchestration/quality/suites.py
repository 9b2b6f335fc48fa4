"""Quality-gate suites: GX expectations kept as data in ``expectations/``, one YAML file per dataset.

Layout::

    expectations/raw/<feed>.yml        gate 1, on the raw table a load asset writes (``raw.<feed>``)
    expectations/marts/<model>.yml     gate 2, on one candidate mart
    expectations/marts/_all_marts.yml  gate 2 checks applied to every mart (keys, no PII)

A suite file holds a list of *checks*. Each check becomes one blocking Dagster asset check on the dataset's asset and
one row in ``audit.gate_results`` per run. A check names a *batch* (the rows GX looks at, built by SQL in the
warehouse, see :mod:`orchestration.quality.batches`) and the GX expectations that batch must meet, written exactly as
GX expectation configurations (``type`` + ``kwargs`` [+ ``meta``])::

    dataset: raw.touchpoints
    gate: gate_1
    checks:
      - name: volume                       # Dagster check name (identifier)
        description: This run's delivery per partner against that partner's recent deliveries.
        severity: error                    # error (blocks downstream assets and publish) | warn
        batch: {kind: volume, history_runs: 7, min_history_runs: 3}
        expectations:
          - type: expect_column_values_to_be_between
            kwargs: {column: volume_ratio, min_value: 0.25}

Suites are parsed once, when the code location loads, and every check is planned then with its ``{key}`` /
``{key_column}`` placeholders filled in for its dataset (:mod:`orchestration.quality.plan`), so a malformed suite fails
fast with the file and check named. GX builds the expectations when a check runs (importing GX costs seconds);
:func:`build_expectations` builds them all up front, with the same error naming the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestration.paths import PROJECT_DIR

EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
ALL_MARTS_FILE = "_all_marts.yml"
GATES = ("gate_1", "gate_2")
SEVERITIES = ("error", "warn")
BATCH_KINDS = (
    "new_rows",
    "duplicate_keys",
    "delivery",
    "volume",
    "freshness",
    "pii_columns",
    "pii_values",
    "personal_values",
    "query",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SUITE_KEYS = {"dataset", "gate", "description", "checks", "fallback_model"}
_CHECK_KEYS = {"name", "description", "severity", "batch", "expectations", "sample_columns"}


class SuiteError(ValueError):
    """A suite file is invalid; the message names the file and the check."""


@dataclass(frozen=True)
class CheckDef:
    """One gate check: a batch built in the warehouse and the GX expectations it must meet."""

    name: str
    description: str
    severity: str
    batch: dict[str, Any]
    expectations: tuple[dict[str, Any], ...]
    sample_columns: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    @property
    def batch_kind(self) -> str:
        return str(self.batch["kind"])


@dataclass(frozen=True)
class Suite:
    """The checks of one dataset (``raw.<feed>``, ``marts.<model>`` or ``marts.*`` for every mart)."""

    dataset: str
    gate: str
    description: str
    checks: tuple[CheckDef, ...]
    path: Path | None = None
    fallback_model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return self.dataset.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.dataset.split(".", 1)[1]


def parse_suite(data: Any, where: str) -> Suite:
    """Validate a parsed suite file and build a :class:`Suite` (expectations are checked by building them in GX)."""
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: a suite must be a mapping")
    unknown = sorted(set(data) - _SUITE_KEYS)
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {', '.join(unknown)}")
    dataset = data.get("dataset")
    if not isinstance(dataset, str) or not re.fullmatch(r"[a-z_]+\.([a-z][a-z0-9_]*|\*)", dataset):
        raise SuiteError(f"{where}: dataset must look like 'raw.<feed>' or 'marts.<model>', got {dataset!r}")
    gate = data.get("gate")
    if gate not in GATES:
        raise SuiteError(f"{where}: gate must be one of {', '.join(GATES)}, got {gate!r}")
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise SuiteError(f"{where}: checks must be a non-empty list")
    checks = tuple(_parse_check(item, where) for item in raw_checks)
    names = [c.name for c in checks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SuiteError(f"{where}: check name(s) {', '.join(dupes)} appear twice")
    return Suite(
        dataset=dataset,
        gate=gate,
        description=" ".join(str(data.get("description") or "").split()),
        checks=checks,
        fallback_model=data.get("fallback_model"),
    )


def _parse_check(item: Any, where: str) -> CheckDef:
    if not isinstance(item, dict):
        raise SuiteError(f"{where}: every check must be a mapping")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuiteError(f"{where}: check name {name!r} must be a lower-case identifier")
    label = f"{where}: check {name}"
    unknown = sorted(set(item) - _CHECK_KEYS)
    if unknown:
        raise SuiteError(f"{label}: unknown key(s) {', '.join(unknown)}")
    severity = item.get("severity", "error")
    if severity not in SEVERITIES:
        raise SuiteError(f"{label}: severity must be one of {', '.join(SEVERITIES)}")
    batch = item.get("batch")
    if not isinstance(batch, dict) or batch.get("kind") not in BATCH_KINDS:
        raise SuiteError(f"{label}: batch.kind must be one of {', '.join(BATCH_KINDS)}")
    if batch["kind"] == "query" and not isinstance(batch.get("sql"), str):
        raise SuiteError(f"{label}: a query batch needs sql")
    expectations = item.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{label}: expectations must be a non-empty list")
    for expectation in expectations:
        if not isinstance(expectation, dict) or not isinstance(expectation.get("type"), str):
            raise SuiteError(f"{label}: every expectation needs a type")
        if not isinstance(expectation.get("kwargs", {}), dict):
            raise SuiteError(f"{label}: kwargs of {expectation['type']} must be a mapping")
    return CheckDef(
        name=name,
        description=" ".join(str(item.get("description") or name).split()),
        severity=severity,
        batch=dict(batch),
        expectations=tuple(dict(e) for e in expectations),
        sample_columns=tuple(item.get("sample_columns") or ()),
    )


def build_expectations(check: CheckDef, where: str = "") -> list[Any]:
    """The check's expectations as GX objects (raises SuiteError naming the check when GX refuses one)."""
    from orchestration.quality.gx_adapter import expectation_from_config

    built = []
    for config in check.expectations:
        try:
            built.append(expectation_from_config(config))
        except Exception as exc:  # GX raises several exception types (pydantic, ExpectationNotFoundError)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SuiteError(f"{where}: check {check.name}: expectation {config.get('type')}: {first}") from exc
    return built


def read_suite(path: Path) -> Suite:
    """Parse one suite file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path.name}: not valid YAML: {exc}") from exc
    suite = parse_suite(data, where=f"expectations/{path.parent.name}/{path.name}")
    return Suite(**{**suite.__dict__, "path": path})


def load_suites(folder: Path | None = None) -> dict[str, Suite]:
    """Every suite under ``expectations/`` keyed by dataset (``raw.touchpoints``, ``marts.*``, ...)."""
    root = folder or EXPECTATIONS_DIR
    suites: dict[str, Suite] = {}
    for path in sorted([*root.glob("*/*.yml"), *root.glob("*/*.yaml")]):
        suite = read_suite(path)
        expected_schema = path.parent.name
        if suite.schema != expected_schema:
            raise SuiteError(f"{path.name}: dataset {suite.dataset} must live in expectations/{suite.schema}/")
        if suite.table != "*" and suite.table != path.stem:
            raise SuiteError(f"{path.name}: dataset {suite.dataset} must match the file name {path.stem}")
        if suite.dataset in suites:
            raise SuiteError(f"{path.name}: dataset {suite.dataset} has two suites")
        suites[suite.dataset] = suite
    return suites


def expand_expectations(expectations: tuple[dict[str, Any], ...], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Fill the ``{key}`` / ``{key_column}`` placeholders of shared suites with a dataset's key columns."""
    expanded: list[dict[str, Any]] = []
    for config in expectations:
        kwargs = dict(config.get("kwargs") or {})
        if "{key_column}" in kwargs.values():
            for column in key:
                filled = {k: (column if v == "{key_column}" else v) for k, v in kwargs.items()}
                expanded.append({**config, "kwargs": filled})
            continue
        if "{key}" in kwargs.values():
            kwargs = {k: (list(key) if v == "{key}" else v) for k, v in kwargs.items()}
            if config["type"] == "expect_compound_columns_to_be_unique" and len(key) == 1:
                expanded.append({**config, "type": "expect_column_values_to_be_unique", "kwargs": {"column": key[0]}})
                continue
        expanded.append({**config, "kwargs": kwargs})
    return expanded

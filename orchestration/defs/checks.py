"""The quality gates as blocking Dagster asset checks: one multi-asset check per feed and one for the marts.

Gate 1 (``gate_1_<feed>``) runs after the load asset ``raw/<feed>``; gate 2 (``gate_2_marts``) on every candidate
mart (``marts/<model>``) after dbt and before publish. The plan (:mod:`orchestration.quality.plan`) and the
evaluation (:mod:`orchestration.quality.evaluation`) know nothing of Dagster; this module turns each planned check
into an asset check (blocking unless its suite marks it ``severity: warn``) and each outcome into its result. When a
blocking check fails the step fails with a message that names the gate, the check, the dataset and a sample of
offending rows, so Dagster skips everything downstream.

The decorated functions leave ``context`` unannotated: under ``from __future__ import annotations`` Dagster sees the
annotation as a string and refuses it (it is an ``AssetCheckExecutionContext``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from orchestration.defs.resources import RunLockResource, WarehouseResource
from orchestration.feeds.contracts import FeedContract, load_contracts
from orchestration.project import mart_models, mart_primary_keys
from orchestration.quality.evaluation import GateRun, run_gate
from orchestration.quality.plan import PlannedCheck, gate_1_plan, gate_2_plan
from orchestration.quality.suites import Suite, load_suites
from orchestration.warehouse.quarantine import held_message
from orchestration.warehouse.versions import candidate_schema


def asset_key(dataset: str) -> dg.AssetKey:
    """The asset of a dataset: raw.<feed> -> raw/<feed>, marts.<model> -> marts/<model>."""
    return dg.AssetKey(dataset.split("."))


def check_specs(plan: list[PlannedCheck], label: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=item.check.name,
            asset=asset_key(item.reported_on),
            blocking=item.check.blocking,
            description=f"{label}: {item.check.description}",
        )
        for item in plan
    ]


def check_results(result: GateRun) -> Iterator[dg.AssetCheckResult]:
    for o in result.outcomes:
        yield dg.AssetCheckResult(
            asset_key=asset_key(o.reported_on),
            check_name=o.check_name,
            passed=o.outcome == "passed",
            severity=dg.AssetCheckSeverity.ERROR if o.severity == "error" else dg.AssetCheckSeverity.WARN,
            description=o.message[:2000],
            metadata={
                "gate": o.gate,
                "dataset": o.dataset,
                "outcome": o.outcome,
                "failed_count": o.failed_count,
                "sample": dg.MetadataValue.json(o.sample) if o.sample else dg.MetadataValue.text("none"),
                "gate_report": dg.MetadataValue.path(str(result.report)),
                "gx_data_docs": dg.MetadataValue.path(str(result.gx_docs)),
            },
        )


def gate_failure(result: GateRun, extra: str = "") -> dg.Failure:
    failed = result.blocking
    lines = [o.headline() for o in failed]
    description = (
        f"{result.gate.replace('_', ' ').capitalize()} failed ({len(failed)} blocking check(s)); nothing downstream "
        f"runs and the published marts stay as they were.{extra}\n- "
        + "\n- ".join(lines)
        + held_message(result.held)
        + f"\nGate report: {result.report}"
    )
    return dg.Failure(
        description=description,
        metadata={
            "failed_checks": [f"{o.dataset}:{o.check_name}" for o in failed],
            "gate_report": dg.MetadataValue.path(str(result.report)),
        },
    )


def run_checks(
    context, warehouse: WarehouseResource, gate: str, plan: list[PlannedCheck], extra: str = ""
) -> Iterator[dg.AssetCheckResult]:
    """Evaluate, record and report a gate's checks; raise a Failure naming every blocking check that failed."""
    with warehouse.connect() as con:
        result = run_gate(con, context.run.run_id, gate, plan)
    for o in result.outcomes:
        log = context.log.info if o.outcome == "passed" else context.log.error
        log(f"{o.gate} {o.dataset} {o.check_name}: {o.outcome}: {o.message}")
    yield from check_results(result)
    if result.blocking:
        raise gate_failure(result, extra)


def build_gate_1_check(contract: FeedContract, suite: Suite | None) -> dg.AssetChecksDefinition:
    """Gate 1 of one feed: the checks of expectations/raw/<feed>.yml on raw/<feed>, after the load, and the delivery
    check of its contract."""
    plan = gate_1_plan(contract, suite)
    description = suite.description if suite else "the feed contract's delivery expectation."

    @dg.multi_asset_check(
        specs=check_specs(plan, "Gate 1"),
        name=f"gate_1_{contract.feed}",
        description=f"Gate 1 on raw.{contract.feed}: {description}".strip(),
    )
    def gate_1(context, warehouse: WarehouseResource, run_lock: RunLockResource):
        yield from run_checks(context, warehouse, "gate_1", plan)

    return gate_1


def build_gate_2_check(suites: dict[str, Suite], marts: list[str]) -> dg.AssetChecksDefinition | None:
    """Gate 2: every mart of this run's candidate schema, after dbt and before publish."""
    plan = gate_2_plan(suites, marts, mart_primary_keys())
    if not plan:
        return None

    @dg.multi_asset_check(
        specs=check_specs(plan, "Gate 2"),
        name="gate_2_marts",
        description="Gate 2 on the run's candidate marts: keys, no PII, reconciliation with staging, conservation.",
    )
    def gate_2(context, warehouse: WarehouseResource, run_lock: RunLockResource):
        extra = f" Candidate schema: {candidate_schema(context.run.run_id)}."
        yield from run_checks(context, warehouse, "gate_2", plan, extra=extra)

    return gate_2


def build_asset_checks() -> list[Any]:
    suites = load_suites()
    checks: list[Any] = []
    for feed, contract in load_contracts().items():
        suite = suites.get(f"raw.{feed}")
        if suite is not None or contract.delivery is not None:
            checks.append(build_gate_1_check(contract, suite))
    gate_2 = build_gate_2_check(suites, mart_models())
    if gate_2 is not None:
        checks.append(gate_2)
    return checks


asset_checks = build_asset_checks()

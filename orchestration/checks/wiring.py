"""Wiring of the gate suites into Dagster: one multi-asset check per feed (gate 1) and one for the marts (gate 2).

The decorated functions leave ``context`` unannotated: under ``from __future__ import annotations`` Dagster sees the
annotation as a string and refuses it (it is an ``AssetCheckExecutionContext``).
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from orchestration.assets.loads import raw_asset_key
from orchestration.checks.batches import Scope
from orchestration.checks.gates import candidate_scope, gate_1_specs, run_checks
from orchestration.checks.suites import CheckDef, Suite, SuiteError, load_suites
from orchestration.feeds.contracts import FeedContract, load_contracts
from orchestration.project import mart_models, mart_primary_keys
from orchestration.resources import RunLockResource, WarehouseResource

ALL_MARTS = "marts.*"


def build_gate_1_check(contract: FeedContract, suite: Suite) -> dg.AssetChecksDefinition:
    """Gate 1 of one feed: the checks of expectations/raw/<feed>.yml on raw/<feed>, after the load."""
    asset_key = raw_asset_key(contract.feed)

    @dg.multi_asset_check(
        specs=gate_1_specs(contract.feed, suite, asset_key),
        name=f"gate_1_{contract.feed}",
        description=f"Gate 1 on raw.{contract.feed}: {suite.description}".strip(),
    )
    def gate_1(context, warehouse: WarehouseResource, run_lock: RunLockResource):
        scope = Scope(
            run_id=context.run.run_id,
            gate="gate_1",
            dataset=suite.dataset,
            schema="raw",
            table=contract.feed,
            key=tuple(contract.key),
            load_mode=contract.load_mode,
        )
        yield from run_checks(context, warehouse, "gate_1", [(suite, c, scope, asset_key, None) for c in suite.checks])

    return gate_1


def gate_2_plan(suites: dict[str, Suite], marts: list[str]) -> list[tuple[Suite, CheckDef, str, str, str | None]]:
    """(suite, check, model checked, model whose asset carries the check, skip note) for every gate-2 check."""
    plan: list[tuple[Suite, CheckDef, str, str, str | None]] = []
    shared = suites.get(ALL_MARTS)
    for model in marts:
        if shared:
            plan.extend((shared, check, model, model, None) for check in shared.checks)
        own = suites.get(f"marts.{model}")
        if own:
            plan.extend((own, check, model, model, None) for check in own.checks)
    for dataset, suite in suites.items():
        if suite.gate != "gate_2" or dataset == ALL_MARTS or suite.table in marts:
            continue
        if suite.fallback_model in marts:
            note = f"{dataset} is not part of the dbt project yet"
            plan.extend((suite, check, suite.table, suite.fallback_model, note) for check in suite.checks)
    seen: set[tuple[str, str]] = set()
    for _suite, check, _model, carrier, _note in plan:
        if (carrier, check.name) in seen:
            raise SuiteError(f"gate 2: two checks named {check.name} on marts/{carrier}")
        seen.add((carrier, check.name))
    return plan


def build_gate_2_check(suites: dict[str, Suite], marts: list[str]) -> dg.AssetChecksDefinition | None:
    """Gate 2: every mart of this run's candidate schema, after dbt and before publish."""
    plan = gate_2_plan(suites, marts)
    if not plan:
        return None
    specs = [
        dg.AssetCheckSpec(
            name=check.name,
            asset=dg.AssetKey(["marts", carrier]),
            blocking=check.blocking,
            description=f"Gate 2: {check.description}",
        )
        for _suite, check, _model, carrier, _note in plan
    ]

    @dg.multi_asset_check(
        specs=specs,
        name="gate_2_marts",
        description="Gate 2 on the run's candidate marts: keys, no PII, reconciliation with staging, conservation.",
    )
    def gate_2(context, warehouse: WarehouseResource, run_lock: RunLockResource):
        keys = mart_primary_keys()
        work: list[tuple[Suite, CheckDef, Scope, dg.AssetKey, str | None]] = []
        for suite, check, model, carrier, note in plan:
            scope = candidate_scope(context.run.run_id, model, keys.get(model, ()))
            work.append((suite, check, scope, dg.AssetKey(["marts", carrier]), note))
        schema = work[0][2].schema
        yield from run_checks(context, warehouse, "gate_2", work, extra=f" Candidate schema: {schema}.")

    return gate_2


def build_asset_checks() -> list[Any]:
    suites = load_suites()
    checks: list[Any] = []
    for feed, contract in load_contracts().items():
        suite = suites.get(f"raw.{feed}")
        if suite is not None:
            checks.append(build_gate_1_check(contract, suite))
    gate_2 = build_gate_2_check(suites, mart_models())
    if gate_2 is not None:
        checks.append(gate_2)
    return checks

"""Wiring of the gate suites into Dagster: one multi-asset check per feed (gate 1) and one for the marts (gate 2).

The decorated functions leave ``context`` unannotated: under ``from __future__ import annotations`` Dagster sees the
annotation as a string and refuses it (it is an ``AssetCheckExecutionContext``).
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from orchestration.assets.dbt import partnerlens_dbt
from orchestration.assets.loads import raw_asset_key
from orchestration.checks.batches import Scope
from orchestration.checks.gates import candidate_scope, gate_1_specs, run_checks
from orchestration.checks.suites import CheckDef, Suite, SuiteError, load_suites
from orchestration.feeds.contracts import FeedContract, load_contracts
from orchestration.project import dbt_project
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


def mart_primary_keys() -> dict[str, tuple[str, ...]]:
    """The key of every mart, from the dbt manifest: its primary_key constraint (column or model level), else its
    unique_combination_of_columns test, else its one-column unique test."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    keys: dict[str, tuple[str, ...]] = {}
    tested: dict[str, tuple[str, ...]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        meta = node.get("test_metadata") or {}
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "unique_combination_of_columns" and kwargs.get("combination_of_columns"):
            tested[node["attached_node"]] = tuple(kwargs["combination_of_columns"])
        elif meta.get("name") == "unique" and kwargs.get("column_name"):
            tested.setdefault(node["attached_node"], (kwargs["column_name"],))
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or len(node["fqn"]) < 3 or node["fqn"][1] != "marts":
            continue
        columns = [
            name
            for name, column in node.get("columns", {}).items()
            if any(c.get("type") == "primary_key" for c in column.get("constraints") or [])
        ]
        for constraint in node.get("constraints") or []:
            if constraint.get("type") == "primary_key":
                columns.extend(constraint.get("columns") or [])
        keys[node["name"]] = tuple(dict.fromkeys(columns)) or tested.get(unique_id, ())
    return keys


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


def build_gate_2_check(suites: dict[str, Suite], mart_keys: list[dg.AssetKey]) -> dg.AssetChecksDefinition | None:
    """Gate 2: every mart of this run's candidate schema, after dbt and before publish."""
    marts = sorted(key.path[-1] for key in mart_keys)
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
    gate_2 = build_gate_2_check(suites, [key for key in partnerlens_dbt.keys if key.path[0] == "marts"])
    if gate_2 is not None:
        checks.append(gate_2)
    return checks

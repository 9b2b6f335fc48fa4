"""The plan of the gates: every check of every suite, applied to the datasets it covers, with its key filled in.

Gate 1 applies ``expectations/raw/<feed>.yml`` to ``raw.<feed>``, and the ``delivery`` check of a feed contract that
expects the feed every night. Gate 2 applies ``expectations/marts/_all_marts.yml``
to every mart and each mart's own suite to it; a suite for a model the dbt project does not build yet is reported on
its ``fallback_model`` and passes with a note. The plan is made once, when the code location loads; each run only
adds its scope (its run id and candidate schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.feeds.contracts import FeedContract
from orchestration.quality.batches import Scope
from orchestration.quality.suites import CheckDef, Suite, SuiteError, expand_expectations
from orchestration.warehouse.versions import candidate_schema

#: The dataset name of the suite applied to every mart.
ALL_MARTS = "marts.*"
#: The name of the gate-1 check a contract's ``delivery`` adds.
DELIVERY_CHECK = "delivery"


@dataclass(frozen=True)
class PlannedCheck:
    """One check of a suite on one dataset."""

    check: CheckDef
    gate: str  # gate_1 | gate_2
    dataset: str  # the dataset checked: raw.<feed> or marts.<model>
    reported_on: str  # the dataset whose asset reports the outcome (a fallback suite's checks go to another mart)
    key: tuple[str, ...]  # the dataset's key
    expectations: tuple[dict[str, Any], ...]  # the check's expectations, placeholders filled in for the key
    load_mode: str | None = None  # raw feeds: append | snapshot
    skip_note: str | None = None  # set when the check cannot apply yet: it passes with this note

    @property
    def table(self) -> str:
        return self.dataset.split(".", 1)[1]

    def scope(self, run_id: str) -> Scope:
        """What the check looks at in one run: raw.<feed>, or the mart in the run's candidate schema."""
        if self.gate == "gate_1":
            return Scope(run_id, self.gate, self.dataset, "raw", self.table, self.key, self.load_mode)
        return candidate_scope(run_id, self.table, self.key)


def planned(
    check: CheckDef,
    gate: str,
    dataset: str,
    key: tuple[str, ...],
    reported_on: str | None = None,
    load_mode: str | None = None,
    skip_note: str | None = None,
) -> PlannedCheck:
    """A check planned on a dataset, its expectations expanded for the dataset's key."""
    return PlannedCheck(
        check=check,
        gate=gate,
        dataset=dataset,
        reported_on=reported_on or dataset,
        key=key,
        expectations=tuple(expand_expectations(check.expectations, key)),
        load_mode=load_mode,
        skip_note=skip_note,
    )


def candidate_scope(run_id: str, model: str, key: tuple[str, ...]) -> Scope:
    """The scope of a gate-2 check: the mart in the run's candidate schema."""
    return Scope(
        run_id=run_id, gate="gate_2", dataset=f"marts.{model}", schema=candidate_schema(run_id), table=model, key=key
    )


def gate_1_plan(contract: FeedContract, suite: Suite | None) -> list[PlannedCheck]:
    """Gate 1 of one feed: the checks of its suite on raw.<feed>, keyed by the feed contract's key, and the
    ``delivery`` check when the contract expects the feed every night."""
    checks = list(suite.checks) if suite else []
    if contract.delivery is not None:
        if any(check.name == DELIVERY_CHECK for check in checks):
            raise SuiteError(f"raw.{contract.feed}: the check name {DELIVERY_CHECK} is taken by the feed contract")
        checks.append(delivery_check(contract))
    dataset = f"raw.{contract.feed}"
    return [planned(check, "gate_1", dataset, tuple(contract.key), load_mode=contract.load_mode) for check in checks]


def delivery_check(contract: FeedContract) -> CheckDef:
    """The gate-1 check of a contract's ``delivery``: a file of the feed was loaded in the last ``within_hours``."""
    expected = contract.delivery
    assert expected is not None
    hours = f"{expected.within_hours:g}"
    return CheckDef(
        name=DELIVERY_CHECK,
        description=(
            f"A file of {contract.feed} was loaded within the last {hours} hours, by this run or an earlier one "
            f"(the feed contract expects one every night; when_missing: {expected.when_missing})."
        ),
        severity="error" if expected.blocking else "warn",
        batch={"kind": "delivery", "within_hours": expected.within_hours},
        expectations=(
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "last_delivery_at"}},
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "hours_since_last_delivery", "max_value": expected.within_hours},
            },
        ),
        sample_columns=(
            "feed",
            "last_delivery_at",
            "hours_since_last_delivery",
            "files_loaded_this_run",
            "files_rejected_this_run",
        ),
    )


def gate_2_plan(
    suites: Mapping[str, Suite], marts: list[str], keys: Mapping[str, tuple[str, ...]]
) -> list[PlannedCheck]:
    """Every gate-2 check on the marts (``keys``: each mart's primary key); two checks of one name on one mart are an
    error."""
    plan: list[PlannedCheck] = []
    shared = suites.get(ALL_MARTS)
    for model in marts:
        key = tuple(keys.get(model, ()))
        for suite in (shared, suites.get(f"marts.{model}")):
            if suite:
                plan.extend(planned(check, "gate_2", f"marts.{model}", key) for check in suite.checks)
    for dataset, suite in suites.items():
        if suite.gate != "gate_2" or dataset == ALL_MARTS or suite.table in marts:
            continue
        if suite.fallback_model in marts:
            note = f"{dataset} is not part of the dbt project yet"
            plan.extend(
                planned(check, "gate_2", dataset, (), reported_on=f"marts.{suite.fallback_model}", skip_note=note)
                for check in suite.checks
            )
    seen: set[tuple[str, str]] = set()
    for item in plan:
        if (item.reported_on, item.check.name) in seen:
            raise SuiteError(f"gate 2: two checks named {item.check.name} on {item.reported_on.replace('.', '/')}")
        seen.add((item.reported_on, item.check.name))
    return plan

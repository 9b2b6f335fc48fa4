"""The stages of the nightly job as the command line reports them, and how a step's error is printed."""

from __future__ import annotations

import sys

import dagster as dg
import pytest
from dagster._utils.error import serializable_error_info_from_exc_info

from partnerlens.progress import error_text, plan_steps


@pytest.fixture(scope="module")
def job() -> dg.JobDefinition:
    from orchestration.definitions import defs

    return defs.resolve_job_def("nightly")


def test_every_step_of_the_nightly_job_belongs_to_the_stage_the_readme_names(job: dg.JobDefinition) -> None:
    steps = plan_steps(job)
    stages = {key: plan.stage for key, plan in steps.items()}
    loads = {key for key in stages if key.startswith("raw__")}
    assert loads and {stages[key] for key in loads} == {"load"}
    gate_1 = {key for key in stages if key.startswith("gate_1_")}
    assert gate_1 and {stages[key] for key in gate_1} == {"gate 1"}
    assert stages["gate_2_marts"] == "gate 2"
    assert stages["partnerlens_dbt"] == "dbt build"
    assert stages["published__marts"] == "publish"
    assert stages["share__scorecards"] == "share"
    assert set(stages) == loads | gate_1 | {"gate_2_marts", "partnerlens_dbt", "published__marts", "share__scorecards"}


def test_stages_rank_in_the_order_the_run_goes_through_them(job: dg.JobDefinition) -> None:
    steps = plan_steps(job)
    rank: dict[str, int] = {}
    for plan in steps.values():
        rank[plan.stage] = max(rank.get(plan.stage, plan.rank), plan.rank)
    assert sorted(rank, key=rank.get) == ["load", "gate 1", "dbt build", "gate 2", "publish", "share"]


def test_a_selection_keeps_only_its_steps_and_their_checks(job: dg.JobDefinition) -> None:
    steps = plan_steps(job, [dg.AssetKey(["raw", "partners"]), dg.AssetKey(["raw", "campaigns"])])
    assert set(steps) == {"raw__partners", "raw__campaigns", "gate_1_partners", "gate_1_campaigns"}
    assert steps["raw__partners"].assets == 1 and steps["gate_1_partners"].checks >= 1


def _error(raise_it) -> object:
    """The error as Dagster records it on a STEP_FAILURE event."""
    try:
        raise_it()
    except Exception:
        return serializable_error_info_from_exc_info(sys.exc_info())


def test_an_unexpected_error_is_printed_with_its_stack_and_its_cause() -> None:
    def fails() -> None:
        try:
            {}["missing_key"]
        except KeyError as error:
            raise ValueError("could not read the feed") from error

    text = error_text(_error(fails))
    assert "ValueError: could not read the feed" in text
    assert "The above was caused by:" in text and "KeyError: 'missing_key'" in text
    assert 'raise ValueError("could not read the feed")' in text  # the stack trace, with the line that raised


def test_a_deliberate_failure_is_printed_by_its_message_alone() -> None:
    def fails() -> None:
        raise dg.Failure(description="Gate 1 failed (1 blocking check(s)): raw.partners keys")

    text = error_text(_error(fails))
    assert "Gate 1 failed (1 blocking check(s)): raw.partners keys" in text
    assert "Traceback" not in text and "File " not in text

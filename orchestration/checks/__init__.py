"""Quality gates wired as Dagster asset checks (gate 1 on raw feeds, gate 2 on the candidate marts).

The suites live in ``expectations/`` as data (see :mod:`orchestration.checks.suites`);
:mod:`orchestration.checks.wiring` turns them into one multi-asset check per feed (``gate_1_<feed>``, on
``raw/<feed>``) and one for all candidate marts (``gate_2_marts``, on every ``marts/<model>``). Every check is
blocking unless its suite marks it ``severity: warn``.

``asset_checks`` is built on first access, so that importing a submodule (the suites, the GX glue) stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["asset_checks"]


def __getattr__(name: str) -> Any:
    if name == "asset_checks":
        from orchestration.checks.wiring import build_asset_checks

        value = build_asset_checks()
        globals()["asset_checks"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

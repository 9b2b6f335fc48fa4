"""Quality gates wired as Dagster asset checks (gate 1 on raw feeds, gate 2 on the candidate marts)."""

from __future__ import annotations

asset_checks: list = []

#!/usr/bin/env bash
# Build the demo data's marts with a git ref and with the working tree, and compare them row for row.
#
#   scripts/compare_marts.sh REF [--touchpoints N]
#
# Both builds read the same landing folder (generated once by the working tree, with a fixed end date and payout
# as-of date so that nothing depends on today's date) and run the nightly job in process. The published marts of
# both warehouses are snapshotted and compared by `python -m partnerlens.compare` (exact for text, integers and
# dates; relative 1e-9 for floats; one unit of the last place for decimals; per-run ids left out). Exits non-zero
# when any mart differs.
set -euo pipefail
ref="${1:?usage: scripts/compare_marts.sh REF [--touchpoints N]}"
shift
touchpoints=200000
if [[ "${1:-}" == "--touchpoints" ]]; then touchpoints="${2:?}"; fi

here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
work="$(mktemp -d)"
trap 'git -C "$here" worktree remove --force "$work/ref" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$here" worktree add --detach "$work/ref" "$ref" >/dev/null
(cd "$here" && "$python" -m partnerlens generate --out "$work/landing" --end-date 2026-11-30 \
    --touchpoints "$touchpoints" >/dev/null)

build() {  # build TREE NAME: run the nightly job of TREE on a copy of the landing folder
    local tree="$1" name="$2"
    cp -r "$work/landing" "$work/landing_$name"
    mkdir -p "$work/dagster_$name"
    (cd "$tree" && PYTHONPATH="$tree" DBT_PROFILES_DIR="$tree" PARTNERLENS_LANDING="$work/landing_$name" \
        PARTNERLENS_WAREHOUSE="$work/$name.duckdb" DAGSTER_HOME="$work/dagster_$name" \
        DBT_TARGET_PATH="$work/target_$name" DBT_LOG_PATH="$work/logs_$name" \
        "$python" -m partnerlens run --vars '{payout_as_of_date: "2026-12-01"}' >"$work/run_$name.log" 2>&1) \
        || { echo "the nightly job of $name failed:"; tail -40 "$work/run_$name.log"; exit 1; }
    (cd "$here" && "$python" -m partnerlens.compare snapshot "$work/$name.duckdb" "$work/snap_$name" >/dev/null)
}

build "$work/ref" before
build "$here" after
cd "$here" && "$python" -m partnerlens.compare diff "$work/snap_before" "$work/snap_after"

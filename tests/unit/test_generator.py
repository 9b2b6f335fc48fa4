"""Tests of the synthetic partner-ecosystem generator (small scales, a few seconds in all)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from partnerlens.synthetic import GenerateSummary, generate, vocabulary

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "orchestration" / "feeds" / "contracts"
END = date(2026, 6, 30)
NEXT = date(2026, 7, 1)
ARGS = {"touchpoints": 5_000, "partners": 12, "days": 60, "dirty_share": 0.03}
EVENT_TIME = {"touchpoints": "occurred_at", "conversions": "converted_at", "costs": "cost_date"}


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict[str, str | None]]:
    """Data rows of a CSV, JSON Lines or Parquet feed file as strings (None for missing)."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    return pq.read_table(path).to_pylist()


def header(path: Path) -> list[str]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle))
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
        return list(json.loads(first)) if first else []
    return pq.read_schema(path).names


def contracts() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(CONTRACTS.glob("*.yml"))}


def feed_files(root: Path, feed: str) -> list[Path]:
    return sorted(p for p in root.glob(f"*/{feed}/*") if not p.parts[-3].startswith("_"))


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def dirty_entries(root: Path) -> dict[str, dict[int, str]]:
    entries: dict[str, dict[int, str]] = {}
    with (root / "_ground_truth" / "dirty_rows.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            entries.setdefault(row["file"], {})[int(row["row_number"])] = row["defect"]
    return entries


def utc_day(feed: str, row: dict[str, str | None]) -> str | None:
    """UTC day of an event row, None when its time does not parse."""
    value = row.get(EVENT_TIME[feed])
    try:
        if feed == "costs":
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value).astimezone(UTC).date().isoformat()
    except (TypeError, ValueError):
        return None


def clean_rows_by_day(root: Path, feed: str) -> dict[str, set[tuple]]:
    """Rows not listed as dirty, grouped by UTC day, as hashable tuples (source folder included)."""
    dirty = dirty_entries(root)
    by_day: dict[str, set[tuple]] = {}
    for path in feed_files(root, feed):
        listed = dirty.get(str(path.relative_to(root)), {})
        for i, row in enumerate(read_rows(path), start=1):
            if i not in listed:
                by_day.setdefault(utc_day(feed, row), set()).add((path.parts[-3], *sorted(row.items())))
    return by_day


def normalise(email: str) -> str:
    return email.strip().lower()


# --------------------------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("full")
    return out, generate(out, seed=7, end_date=END, **ARGS)


@pytest.fixture(scope="module")
def next_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A full run to END + 1 and an incremental run for END + 1 only."""
    full_next = tmp_path_factory.mktemp("full_next")
    generate(full_next, seed=7, end_date=NEXT, **ARGS)
    incremental = tmp_path_factory.mktemp("incremental")
    generate(incremental, seed=7, end_date=NEXT, since=NEXT, **ARGS)
    return full_next, incremental


# --------------------------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------------------------
def test_deterministic_for_a_seed(full, tmp_path: Path) -> None:
    root, _ = full
    again = tmp_path / "again"
    generate(again, seed=7, end_date=END, **ARGS)
    assert all_files(again) == all_files(root)
    other = tmp_path / "other"
    generate(other, seed=8, end_date=END, **ARGS)
    first, second = all_files(root), all_files(other)
    touch_files = [name for name in first if "/touchpoints/" in name]
    assert any(first[name] != second.get(name) for name in touch_files)


def test_layout_and_columns_match_contracts(full) -> None:
    root, summary = full
    specs = contracts()
    assert set(specs) == set(vocabulary.COLUMNS)
    for feed, spec in specs.items():
        assert vocabulary.COLUMNS[feed] == [c["name"] for c in spec["columns"]], feed
    written = [p for p in root.rglob("*") if p.is_file() and not p.relative_to(root).parts[0].startswith("_")]
    assert sorted(str(p.relative_to(root)) for p in written) == sorted(summary.files)
    for path in written:
        source, feed, name = path.relative_to(root).parts
        assert feed in specs, path
        assert name.startswith(f"{feed}_{summary.window_start}_{END}"), name
        kind = specs[feed]["source_kind"]
        if kind == "internal":
            assert source == "internal", path
        elif kind == "partner":
            assert source.startswith("P"), path
        if header(path):
            assert header(path) == [c["name"] for c in specs[feed]["columns"]], path
    suffixes = {p.suffix for p in written if "/touchpoints/" in str(p)}
    assert suffixes == {".csv", ".jsonl", ".parquet"}
    manifest = json.loads((root / "_ground_truth" / "manifest.json").read_text())
    delivery = manifest["deliveries"][f"{summary.window_start}_{END}"]
    assert delivery["files"] == {name: len(read_rows(root / name)) for name in summary.files}


def test_csv_only_format(tmp_path: Path) -> None:
    summary = generate(tmp_path, end_date=END, touchpoints=500, partners=6, days=30, formats="csv")
    assert {Path(name).suffix for name in summary.files} == {".csv"}


def test_touchpoint_volume_and_partner_references(full) -> None:
    root, _ = full
    partner_ids = {r["partner_id"] for p in feed_files(root, "partners") for r in read_rows(p)}
    dirty = dirty_entries(root)
    total = 0
    for path in feed_files(root, "touchpoints"):
        listed = dirty.get(str(path.relative_to(root)), {})
        for i, row in enumerate(read_rows(path), start=1):
            total += 1
            if listed.get(i) == "unknown_partner":
                assert row["partner_id"] not in partner_ids
            elif i not in listed:
                assert row["partner_id"] == path.parts[-3]
    assert abs(total - ARGS["touchpoints"]) <= 0.05 * ARGS["touchpoints"]
    campaign_partners = {
        (r["campaign_id"], r["partner_id"]) for p in feed_files(root, "campaign_partners") for r in read_rows(p)
    }
    for path in feed_files(root, "touchpoints"):
        for row in read_rows(path):
            if row["campaign_id"] and row["partner_id"] == path.parts[-3]:
                assert (row["campaign_id"], row["partner_id"]) in campaign_partners


def test_identifiers_resolve_to_customers(full) -> None:
    root, _ = full
    customers = [r for p in feed_files(root, "customers") for r in read_rows(p)]
    by_hash = {hashlib.sha256(normalise(c["email"]).encode()).hexdigest(): c for c in customers if c["email"]}
    emails = {normalise(c["email"]) for c in customers if c["email"]}
    ids = {c["customer_id"] for c in customers}
    anonymous = {c["anonymous_id"] for c in customers if c["anonymous_id"]}
    assert any(c["email"] != normalise(c["email"]) for c in customers if c["email"])  # mixed case exists
    seen = {"email": 0, "email_sha256": 0, "customer_id": 0, "anonymous_id": 0}
    for path in feed_files(root, "touchpoints"):
        for row in read_rows(path):
            present = [k for k in seen if row[k]]
            assert len(present) == 1, row
            seen[present[0]] += 1
            if row["email_sha256"]:
                assert row["email_sha256"] in by_hash
            if row["email"]:
                assert normalise(row["email"]) in emails
            if row["customer_id"]:
                assert row["customer_id"] in ids
            if row["anonymous_id"]:
                assert row["anonymous_id"] in anonymous
    assert all(n > 0 for n in seen.values()), seen
    for path in feed_files(root, "conversions"):
        for row in read_rows(path):
            assert row["customer_id"] is None or row["customer_id"] in ids


def test_no_future_timestamps_and_window(full) -> None:
    root, summary = full
    now = datetime.now(UTC)
    dirty = dirty_entries(root)
    for feed, spec in contracts().items():
        columns = [c for c in spec["columns"] if c.get("not_in_future")]
        for path in feed_files(root, feed):
            listed = dirty.get(str(path.relative_to(root)), {})
            for i, row in enumerate(read_rows(path), start=1):
                if i in listed:
                    continue
                for column in columns:
                    value = row[column["name"]]
                    if column["type"] == "date":
                        assert date.fromisoformat(value) <= now.date()
                    else:
                        assert datetime.fromisoformat(value) <= now
                if feed in EVENT_TIME:
                    assert str(summary.window_start) <= utc_day(feed, row) <= str(END)


def test_incremental_delivery_matches_full_runs(full, next_day) -> None:
    root, _ = full
    full_next, incremental = next_day
    written = {
        p.relative_to(incremental).parts[1]
        for p in incremental.rglob("*")
        if p.is_file() and not p.relative_to(incremental).parts[0].startswith("_")
    }
    assert not written & set(vocabulary.MASTER_FEEDS)
    for feed in ("touchpoints", "conversions", "costs"):
        today = clean_rows_by_day(full_next, feed)
        before = clean_rows_by_day(root, feed)
        delta = clean_rows_by_day(incremental, feed)
        assert set(delta) <= {str(NEXT)}, feed
        assert delta.get(str(NEXT), set()) == today.get(str(NEXT), set()), feed
        assert today.get(str(NEXT)), feed
        overlap = [d for d in before if d and d > str(date(2026, 5, 2))]
        for day in overlap:
            assert before[day] == today.get(day, set()), (feed, day)
    opportunities = {r["opportunity_id"]: r for p in feed_files(full_next, "opportunities") for r in read_rows(p)}
    for path in feed_files(incremental, "opportunities"):
        for row in read_rows(path):
            assert opportunities[row["opportunity_id"]] == row
    customers = {r["customer_id"]: r for p in feed_files(full_next, "customers") for r in read_rows(p)}
    new_customers = [r for p in feed_files(incremental, "customers") for r in read_rows(p)]
    assert new_customers
    for row in new_customers:
        assert customers[row["customer_id"]] == row
        assert datetime.fromisoformat(row["created_at"]).date() == NEXT


def test_dirty_rows_are_really_defective(full) -> None:
    root, _ = full
    specs = contracts()
    partner_ids = {r["partner_id"] for p in feed_files(root, "partners") for r in read_rows(p)}
    kinds: set[str] = set()
    for rel, listed in dirty_entries(root).items():
        path = root / rel
        feed = path.parts[-2]
        spec = {c["name"]: c for c in specs[feed]["columns"]}
        key = [k for k in specs[feed]["key"] if k != "partner_id"][0]
        rows = read_rows(path)
        for number, defect in listed.items():
            row = rows[number - 1]
            kinds.add(f"{feed}:{defect}")
            if defect == "duplicate_key":
                assert row[key] in {r[key] for r in rows[: number - 1]}
            elif defect == "malformed_timestamp":
                with pytest.raises(ValueError):
                    datetime.fromisoformat(row[EVENT_TIME[feed]])
            elif defect == "impossible_date":
                with pytest.raises(ValueError):
                    date.fromisoformat(row[EVENT_TIME[feed]])
            elif defect == "non_numeric_amount":
                with pytest.raises(ValueError):
                    float(row["revenue" if feed == "conversions" else "amount"])
            elif defect == "unknown_partner":
                assert row["partner_id"] not in partner_ids
            elif defect == "missing_required":
                assert any(row[c] is None for c, s in spec.items() if s.get("required"))
            elif defect == "not_allowed_value":
                assert any(row[c] not in s["allowed"] for c, s in spec.items() if "allowed" in s and row[c])
            else:
                raise AssertionError(defect)
    assert {
        "touchpoints:duplicate_key",
        "touchpoints:malformed_timestamp",
        "touchpoints:unknown_partner",
        "touchpoints:missing_required",
        "touchpoints:not_allowed_value",
        "costs:impossible_date",
        "conversions:non_numeric_amount",
    } <= kinds


def valid_value(column: dict, value: str, row: dict[str, str | None]) -> bool:
    """Whether a non-null text value satisfies the column's type, allowed values, pattern and range."""
    kind = column["type"]
    try:
        if kind == "date":
            parsed = date.fromisoformat(value)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return False
        elif kind == "timestamptz":
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", value):
                return False
        elif kind == "integer":
            parsed = int(value)
        elif kind == "decimal":
            if not re.fullmatch(r"-?\d+(\.\d+)?", value):
                return False
            parsed = float(value)
        elif kind == "boolean":
            return value in ("true", "false")
    except ValueError:
        return False
    if "allowed" in column and value not in column["allowed"]:
        return False
    if "pattern" in column and not re.search(column["pattern"], value):
        return False
    negative = column.get("negative_when", {})
    if negative and all(row.get(k) == v for k, v in negative.items()):
        return parsed < 0
    if "min" in column and parsed < column["min"]:
        return False
    return "max" not in column or parsed <= column["max"]


def test_clean_rows_satisfy_contracts(full) -> None:
    """Every row not listed in dirty_rows.csv passes its contract: types, ranges, keys, references, sources."""
    root, _ = full
    specs = contracts()
    dirty = dirty_entries(root)
    references = {
        "partners.partner_id": {r["partner_id"] for p in feed_files(root, "partners") for r in read_rows(p)},
        "campaigns.campaign_id": {r["campaign_id"] for p in feed_files(root, "campaigns") for r in read_rows(p)},
    }
    for feed, spec in specs.items():
        files = feed_files(root, feed)
        assert files, feed
        keys: set[tuple] = set()
        for path in files:
            listed = dirty.get(str(path.relative_to(root)), {})
            for number, row in enumerate(read_rows(path), start=1):
                if number in listed:
                    continue
                for column in spec["columns"]:
                    value = row[column["name"]]
                    if value is None:
                        assert not column.get("required"), (path, number, column["name"])
                        continue
                    assert valid_value(column, value, row), (path, number, column["name"], value)
                    if "references" in column:
                        assert value in references[column["references"]], (path, number, value)
                    if column.get("after") and row[column["after"]] is not None:
                        parse = date.fromisoformat if column["type"] == "date" else datetime.fromisoformat
                        assert parse(value) > parse(row[column["after"]]), (path, number, column["name"])
                    if column.get("matches_source") and path.parts[-3] != "internal":
                        assert value == path.parts[-3], (path, number)
                key = tuple(row[k] for k in spec["key"])
                assert key not in keys, (path, number, key)
                keys.add(key)


def test_ground_truth_partner_effects(full) -> None:
    root, _ = full
    with (root / "_ground_truth" / "partner_effects.csv").open(newline="") as handle:
        effects = list(csv.DictReader(handle))
    assert [e["partner_id"] for e in effects] == [f"P{i:03d}" for i in range(1, ARGS["partners"] + 1)]
    lifts = [float(e["true_lift"]) for e in effects]
    assert max(lifts) > 1.0 and min(lifts) < 0.1
    assert abs(sum(float(e["true_share"]) for e in effects) - 1) < 1e-4
    assert all(float(e["true_incremental_conversions"]) >= 0 for e in effects)


def test_master_data_is_consistent(full) -> None:
    root, _ = full
    agreements = [r for p in feed_files(root, "agreements") for r in read_rows(p)]
    assert {a["attribution_model"] for a in agreements} >= {"first_touch", "last_touch", "linear"}
    assert all(5 <= float(a["revenue_share_pct"]) <= 30 for a in agreements)
    shares: dict[str, float] = {}
    for row in (r for p in feed_files(root, "campaign_partners") for r in read_rows(p)):
        shares[row["campaign_id"]] = shares.get(row["campaign_id"], 0.0) + float(row["cost_share_pct"])
    assert max(shares.values()) <= 100.0 + 1e-9
    domains = {r["account_domain"] for p in feed_files(root, "touchpoints") for r in read_rows(p)}
    opportunities = [r for p in feed_files(root, "opportunities") for r in read_rows(p)]
    assert opportunities and any(o["account_domain"] in domains for o in opportunities)


def test_streaming_keeps_memory_flat() -> None:
    """300k touchpoints in blocks of 20k customers: peak memory grows far less than the data written.

    Holding the whole window at once grows the peak RSS by ~370 MB and Arrow's peak to ~140 MB at this scale;
    streamed, they stay around 100 MB and 40 MB.
    """
    script = textwrap.dedent(
        """
        import json, resource, tempfile
        from datetime import date
        from pathlib import Path
        import pyarrow as pa
        from partnerlens.synthetic import generate, plan
        plan.CHUNK_CUSTOMERS = 20_000
        with tempfile.TemporaryDirectory() as out:
            generate(Path(out) / "warm-up", touchpoints=2_000, end_date=date(2026, 6, 30))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            summary = generate(Path(out) / "run", touchpoints=300_000, end_date=date(2026, 6, 30))
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(json.dumps({"rss_growth": after - before, "arrow_peak": pa.default_memory_pool().max_memory(),
                              "touchpoints": summary.rows["touchpoints"],
                              "bytes": sum(p.stat().st_size for p in (Path(out) / "run").rglob("*") if p.is_file())}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    megabyte = 1 << 20
    assert stats["touchpoints"] > 280_000
    assert stats["bytes"] > 60 * megabyte, stats
    assert stats["rss_growth"] < 220 * megabyte, stats
    assert stats["arrow_peak"] < 90 * megabyte, stats


def test_catch_up_writes_the_days_a_landing_folder_lacks_with_the_arguments_it_was_generated_with(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    from partnerlens.synthetic import catch_up

    arguments = {"seed": 3, "touchpoints": 800, "partners": 3, "days": 20, "formats": "csv", "dirty_share": 0.0}
    first_end = date(2025, 6, 10)
    generate(tmp_path / "landing", end_date=first_end, **arguments)

    caught = catch_up(tmp_path / "landing", end_date=date(2025, 6, 13))
    assert caught.last_day == first_end and caught.summary is not None
    assert (caught.summary.window_start, caught.summary.window_end) == (date(2025, 6, 11), date(2025, 6, 13))
    # exactly what `generate --since` with the first delivery's arguments writes
    expected = generate(tmp_path / "expected", end_date=date(2025, 6, 13), since=date(2025, 6, 11), **arguments)
    assert sorted(caught.summary.files) == sorted(expected.files)
    for rel in expected.files:
        assert (tmp_path / "landing" / rel).read_bytes() == (tmp_path / "expected" / rel).read_bytes()

    # up to date: nothing is written
    again = catch_up(tmp_path / "landing", end_date=date(2025, 6, 13))
    assert again.summary is None and again.last_day == date(2025, 6, 13) and "(up to date)" in again.note
    # never beyond the days the first delivery planned campaigns and agreements for
    late = catch_up(tmp_path / "landing", end_date=first_end + timedelta(days=400))
    assert late.summary is not None and late.summary.window_end == first_end + timedelta(days=90)
    assert "campaigns are planned for" in catch_up(tmp_path / "landing", end_date=first_end + timedelta(days=401)).note
    # feeds that were not generated here are left as they are
    (tmp_path / "other" / "P001" / "touchpoints").mkdir(parents=True)
    alien = catch_up(tmp_path / "other", end_date=date(2025, 6, 13))
    assert alien.summary is None and alien.last_day is None and "no manifest" in alien.note

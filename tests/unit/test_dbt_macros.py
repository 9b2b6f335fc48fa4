"""The tests of the cross-engine macros (data-tests/macros/, tag macro_test) on a temporary DuckDB warehouse.

Each test feeds literal inputs through one dispatched macro and returns the cases whose result differs from the
hand-computed one. Here they must all pass, every dispatched macro must have one, and a wrong expectation must make
its test fail. The PostgreSQL branches are compiled too, on a copy of the project that holds only the macros and
their tests (the models are ported to PostgreSQL separately).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.dbt import run_dbt as support_run_dbt
from tests.support.env import PROJECT_DIR

MACRO_TESTS = PROJECT_DIR / "data-tests" / "macros"
ENGINES = ("default", "postgres", "spark")
# A zone with a half-hour offset: to_utc must give UTC whatever the session's time zone is.
SESSION_TIME_ZONE = "Asia/Kolkata"


def run_dbt(args: list[str], root: Path, project_dir: Path = PROJECT_DIR, **env: str) -> subprocess.CompletedProcess:
    """dbt on `root` in a session time zone with a half-hour offset."""
    return support_run_dbt(args, root, project_dir, timeout=600, TZ=SESSION_TIME_ZONE, **env)


def dbt_results(root: Path) -> dict[str, tuple[str, int | None]]:
    """test name -> (status, failing rows) from the run_results.json of the last dbt command under `root`."""
    results = json.loads((root / "dbt_target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results}


def project_copy(destination: Path) -> Path:
    """A dbt project with the project's settings, macros and macro tests only (no models, no other tests)."""
    destination.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", destination / "dbt_project.yml")
    shutil.copytree(PROJECT_DIR / "macros", destination / "macros")
    shutil.copytree(MACRO_TESTS, destination / "data-tests" / "macros")
    return destination


def dispatched_macros() -> set[str]:
    """Every macro of the project that dispatches to engine-specific implementations."""
    names = set()
    for path in (PROJECT_DIR / "macros").rglob("*.sql"):
        names.update(re.findall(r"adapter\.dispatch\('(\w+)', 'partnerlens'\)", path.read_text()))
    return names


def test_every_dispatched_macro_has_every_engine_and_a_macro_test() -> None:
    macros = dispatched_macros()
    expected = {
        "to_utc",
        "hash_email",
        "days_between",
        "add_days",
        "integer_series",
        "attribution_partner_fingerprint",
        "round_double",
        "decimal_from_double",
    }
    assert expected <= macros
    sources = "\n".join(p.read_text() for p in (PROJECT_DIR / "macros").rglob("*.sql"))
    tests = "\n".join(p.read_text() for p in MACRO_TESTS.glob("*.sql"))
    for macro in sorted(macros):
        for engine in ENGINES:
            assert f"macro {engine}__{macro}(" in sources, f"{macro} has no {engine}__ implementation"
        assert re.search(rf"\{{\{{ {macro}\(", tests), f"no test under data-tests/macros/ calls {macro}"


@pytest.fixture(scope="module")
def macro_tests_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    root = tmp_path_factory.mktemp("macro_tests")
    return run_dbt(["build", "--select", "tag:macro_test"], root), root


def test_macro_tests_pass_on_duckdb(macro_tests_built: tuple[subprocess.CompletedProcess, Path]) -> None:
    completed, root = macro_tests_built
    assert completed.returncode == 0, completed.stdout[-4000:]
    results = dbt_results(root)
    expected = {path.stem for path in MACRO_TESTS.glob("*.sql")}
    assert len(expected) >= 6
    assert set(results) == expected  # the tag selects exactly the macro tests, and each ran
    assert all(result == ("pass", 0) for result in results.values()), results


def test_a_wrong_expectation_fails_its_macro_test(tmp_path: Path) -> None:
    """One day and a half is not 1.25 days, and the hash of ' Alice@Example.COM ' does not end in 0: exactly these
    two cases fail, each test reporting its one failing row, and the other macro tests still pass."""
    project = project_copy(tmp_path / "project")
    days = project / "data-tests/macros/assert_days_between_counts_fractional_days.sql"
    days.write_text(days.read_text().replace("1.5 as expected_days", "1.25 as expected_days", 1))
    emails = project / "data-tests/macros/assert_hash_email_normalises_then_hashes.sql"
    digest = "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
    emails.write_text(emails.read_text().replace(digest, digest[:-1] + "0", 1))

    completed = run_dbt(["build", "--select", "tag:macro_test"], tmp_path, project_dir=project)

    assert completed.returncode == 1, completed.stdout[-4000:]
    results = dbt_results(tmp_path)
    assert results.pop("assert_days_between_counts_fractional_days") == ("fail", 1)
    assert results.pop("assert_hash_email_normalises_then_hashes") == ("fail", 1)
    assert results and all(result == ("pass", 0) for result in results.values()), results


def test_postgres_branches_compile(tmp_path: Path) -> None:
    """dbt compile picks the postgres__ implementations (no server is needed to compile)."""
    project = project_copy(tmp_path / "project")
    completed = run_dbt(
        ["compile", "--select", "tag:macro_test", "--no-populate-cache"],
        tmp_path,
        project_dir=project,
        PARTNERLENS_TARGET="postgres",
    )
    assert completed.returncode == 0, completed.stdout[-4000:]
    compiled = {
        path.stem: path.read_text() for path in (tmp_path / "dbt_target" / "compiled").rglob("data-tests/macros/*.sql")
    }
    assert set(compiled) == {path.stem for path in MACRO_TESTS.glob("*.sql")}
    assert "at time zone 'UTC'" in compiled["assert_to_utc_gives_the_utc_instant"]
    assert "encode(sha256(convert_to(lower(trim(" in compiled["assert_hash_email_normalises_then_hashes"]
    assert "extract(epoch from (" in compiled["assert_days_between_counts_fractional_days"]
    assert "generate_series(1, 5)" in compiled["assert_integer_series_lists_every_integer"]
    assert "hashtextextended(" in compiled["assert_partner_fingerprint_identifies_sets"]
    assert "* interval '1 day')" in compiled["assert_add_days_shifts_by_whole_days"]
    assert (
        "cast(round(cast(cast(2 as float8) / 3 as numeric), 12) as float8)"
        in compiled["assert_round_double_rounds_to_places"]
    )
    assert "* cast('1e-4' as numeric) as numeric(18, 4)" in compiled["assert_decimal_from_double_rounds_like_duckdb"]
    for name, sql in compiled.items():
        assert "range(" not in sql and "epoch(cases" not in sql, f"{name} still holds DuckDB SQL"

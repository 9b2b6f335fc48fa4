"""The quality gates without Dagster: suites kept as data, batches built in SQL, GX validation, the plan and the
evaluation of every check. :mod:`orchestration.defs.checks` wires them into Dagster as asset checks."""

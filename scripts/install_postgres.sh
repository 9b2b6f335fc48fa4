#!/usr/bin/env bash
# The PostgreSQL 15 server programs that the PostgreSQL tests run (Debian's postgresql-15, which also creates the
# unprivileged `postgres` user the throwaway clusters run as). Nothing to do when they are installed.
set -euo pipefail
PG_BIN="${PARTNERLENS_PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]]; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" postgresql-15 "the PostgreSQL tests (they need $PG_BIN/postgres)"
"$PG_BIN/postgres" --version

#!/usr/bin/env bash
# The PostgreSQL 15 server programs that the PostgreSQL tests run (Debian's postgresql-15, which also creates the
# unprivileged `postgres` user the throwaway clusters run as). Nothing to do when they are installed.
set -euo pipefail
PG_BIN="${PARTNERLENS_PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install the PostgreSQL 15 server so that $PG_BIN/postgres exists (no apt-get on this machine)" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "Installing Debian's postgresql-15 for the PostgreSQL tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 >/dev/null
"$PG_BIN/postgres" --version

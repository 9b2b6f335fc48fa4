#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a loopback port, for the tests and for trying Partnerlens on PostgreSQL.
#
#   eval "$(scripts/postgres_cluster.sh start [--dir DIR] [--port PORT])"   # prints the PARTNERLENS_PG_* exports
#   PARTNERLENS_TARGET=postgres .venv/bin/dbt build
#   scripts/postgres_cluster.sh stop "$PARTNERLENS_PG_CLUSTER"               # stops the server, removes DIR
#
# The server programs refuse to run as root: as root the cluster runs as the unprivileged user
# PARTNERLENS_PG_OS_USER (default `postgres`, which Debian's postgresql-15 package creates); as any other user it runs
# as that user. DIR (default: a new folder under /tmp) holds the data directory, the Unix socket and server.log; the
# server listens on 127.0.0.1:PORT only (default: a free port). Authentication is `trust` (anyone on this machine may
# connect as any role): the cluster is for tests, never for real data. The cluster uses the C collation, so text
# sorts by code point as on DuckDB. It has a login role `partnerlens` (CREATEROLE) owning a database `partnerlens`, the
# defaults of profiles.yml. fsync is off: a crash may lose the cluster, which is thrown away anyway.
set -euo pipefail

PG_BIN="${PARTNERLENS_PG_BIN:-/usr/lib/postgresql/15/bin}"
OS_USER="${PARTNERLENS_PG_OS_USER:-postgres}"
ROLE="partnerlens"
DATABASE="partnerlens"

die() { echo "postgres_cluster: $*" >&2; cleanup_failed_start; exit 1; }

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# as_server_user CMD...: run CMD as the user the server runs as (never root): runuser (util-linux), else su.
as_server_user() {
  if [[ $(id -u) -ne 0 ]]; then
    "$@"
  elif [[ -n "$RUNUSER" ]]; then
    "$RUNUSER" -u "$OS_USER" -- "$@"
  else
    su -s /bin/sh "$OS_USER" -c "$(printf '%q ' "$@")"
  fi
}
RUNUSER="$(command -v runuser || true)"
for candidate in /usr/sbin/runuser /sbin/runuser; do
  [[ -n "$RUNUSER" || ! -x "$candidate" ]] || RUNUSER="$candidate"
done

# A folder this script created is removed again when start fails, with the server it may have started.
created_dir=""
cleanup_failed_start() {
  if [[ -n "$created_dir" ]]; then
    as_server_user "$PG_BIN/pg_ctl" --pgdata="$created_dir/data" --mode=immediate stop >/dev/null 2>&1 || true
    rm -rf "$created_dir"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir="" port="" fixed_port=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dir) dir="${2:?--dir needs a folder}"; shift 2 ;;
      --port) port="${2:?--port needs a number}"; fixed_port=1; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/postgres" ]] \
    || die "no PostgreSQL 15 server programs in $PG_BIN: run scripts/install_postgres.sh"
  if [[ $(id -u) -eq 0 ]]; then
    id -u "$OS_USER" >/dev/null 2>&1 \
      || die "PostgreSQL refuses to run as root and there is no user '$OS_USER' to run it as: run scripts/install_postgres.sh (Debian's postgresql-15 creates it) or set PARTNERLENS_PG_OS_USER"
  fi
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d /tmp/partnerlens-pg.XXXXXX)"
    created_dir="$dir"
  else
    [[ -e "$dir" ]] || created_dir="$dir"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ -z "$created_dir" ]] || created_dir="$dir"
  fi
  if [[ $(id -u) -eq 0 ]]; then
    chown "$OS_USER" "$dir"
  fi
  as_server_user test -w "$dir" \
    || die "$dir is not writable by ${OS_USER} (a folder under a private one, such as /root or pytest's tmp, is not)"
  [[ ! -e "$dir/data" ]] || die "$dir/data exists: stop that cluster first or choose another --dir"
  local socket_dir="$dir/socket"
  as_server_user mkdir -p "$socket_dir"
  as_server_user "$PG_BIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust --encoding=UTF8 \
    --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  local attempt
  for attempt in 1 2 3 4 5; do
    [[ -n "$port" ]] || port="$(free_port)"
    if as_server_user "$PG_BIN/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
        -o "-p $port -k $socket_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >"$dir/pg_ctl.log" 2>&1; then
      break
    fi
    if [[ -n "$fixed_port" || $attempt -eq 5 ]]; then
      tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
      die "the server did not start on port $port (its log is above)"
    fi
    port=""  # the free port was taken meanwhile: try another
  done

  as_server_user "$PG_BIN/psql" --host="$socket_dir" --port="$port" --username=postgres --dbname=postgres \
    --no-psqlrc --quiet --set=ON_ERROR_STOP=1 >/dev/null <<SQL || die "could not create role $ROLE (log: $dir/server.log)"
create role $ROLE login createrole;
create database $DATABASE owner $ROLE template template0 encoding 'UTF8' locale 'C';
SQL

  cat >"$dir/env" <<ENV
export PARTNERLENS_PG_HOST=127.0.0.1
export PARTNERLENS_PG_PORT=$port
export PARTNERLENS_PG_USER=$ROLE
export PARTNERLENS_PG_PASSWORD=
export PARTNERLENS_PG_DATABASE=$DATABASE
export PARTNERLENS_PG_CLUSTER=$dir
ENV
  created_dir=""  # started: from here on the cluster is the caller's
  cat "$dir/env"
}

stop() {
  local dir="${1:?usage: postgres_cluster.sh stop DIR}"
  [[ -d "$dir" ]] || return 0
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_server_user "$PG_BIN/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --timeout=60 stop >/dev/null \
      || die "the server of $dir did not stop (log: $dir/server.log)"
  fi
  rm -rf "$dir"
}

status() {
  local dir="${1:?usage: postgres_cluster.sh status DIR}"
  as_server_user "$PG_BIN/pg_ctl" --pgdata="$dir/data" status
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  status) shift; status "$@" ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# A throwaway PostgreSQL server (Debian's package) on loopback, for tests and benchmarks.
#   scripts/test-postgres.sh start   -> initialises and starts it, prints its URL
#   scripts/test-postgres.sh stop
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
# Trust authentication on 127.0.0.1 only: it holds generated data and nothing else.
set -euo pipefail

DATA_DIR="${TEST_PG_DIR:-/tmp/loan-extract-test-pg}"
PORT="${TEST_PG_PORT:-54329}"
BIN_DIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$BIN_DIR" ]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi

as_server_user() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
      mkdir -p "$DATA_DIR"
      [ "$(id -u)" = "0" ] && chown postgres:postgres "$DATA_DIR"
      as_server_user "$BIN_DIR/initdb" -D "$DATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1; then
      as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w \
        -o "-h 127.0.0.1 -p $PORT -k $DATA_DIR" start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

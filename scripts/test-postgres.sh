#!/usr/bin/env bash
# A throwaway PostgreSQL server (Debian's package) on loopback, for tests and benchmarks.
#   scripts/test-postgres.sh start       -> initialises and starts it, prints its URL
#   scripts/test-postgres.sh start-tls   -> a second server that accepts only TLS, with a certificate
#                                          for "localhost" from a throwaway CA; prints a URL that
#                                          names the CA (sslmode=verify-full&sslrootcert=...)
#   scripts/test-postgres.sh stop | stop-tls
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
# Trust authentication on loopback only: it holds generated data and nothing else.
set -euo pipefail

MODE="${1:-}"
case "$MODE" in
  start-tls|stop-tls)
    DATA_DIR="${TEST_PG_TLS_DIR:-/tmp/loan-extract-test-pg-tls}"
    PORT="${TEST_PG_TLS_PORT:-54330}"
    ;;
  *)
    DATA_DIR="${TEST_PG_DIR:-/tmp/loan-extract-test-pg}"
    PORT="${TEST_PG_PORT:-54329}"
    ;;
esac
BIN_DIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$BIN_DIR" ]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi

as_server_user() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

init_cluster() {
  if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
    mkdir -p "$DATA_DIR"
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$DATA_DIR"
    as_server_user "$BIN_DIR/initdb" -D "$DATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
}

# A CA and a server certificate for "localhost" only (so a connection to 127.0.0.1 fails
# verify-full's host name check), kept beside the cluster; only TLS connections are accepted.
init_tls() {
  local certs="$DATA_DIR/certs"
  if [ ! -f "$DATA_DIR/server.crt" ]; then
    mkdir -p "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=loan-extract test CA" \
      -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$DATA_DIR/server.key" -out "$certs/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' >"$certs/san.ext"
    openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
      -days 3650 -extfile "$certs/san.ext" -out "$DATA_DIR/server.crt" 2>/dev/null
    chmod 600 "$DATA_DIR/server.key"
    chmod 644 "$certs/ca.pem"
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$DATA_DIR/server.key" "$DATA_DIR/server.crt"
    cat >"$DATA_DIR/pg_hba.conf" <<'HBA'
local     all all              trust
hostssl   all all 127.0.0.1/32 trust
hostssl   all all ::1/128      trust
hostnossl all all 0.0.0.0/0    reject
hostnossl all all ::/0         reject
HBA
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$DATA_DIR/pg_hba.conf"
  fi
}

start_cluster() {
  local options="$1"
  if ! as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1; then
    as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w \
      -o "$options -p $PORT -k $DATA_DIR" start >/dev/null
  fi
}

case "$MODE" in
  start)
    init_cluster
    start_cluster "-h 127.0.0.1"
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  start-tls)
    command -v openssl >/dev/null || { echo "openssl is required (apt-get install openssl)" >&2; exit 1; }
    init_cluster
    init_tls
    start_cluster "-h localhost -c ssl=on"
    echo "postgres://postgres@localhost:$PORT/postgres?sslmode=verify-full&sslrootcert=$DATA_DIR/certs/ca.pem"
    ;;
  stop|stop-tls)
    as_server_user "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|start-tls|stop|stop-tls" >&2
    exit 2
    ;;
esac

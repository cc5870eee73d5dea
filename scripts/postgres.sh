#!/bin/sh
# A throwaway PostgreSQL 15 server on loopback for the store tests (issue 3).
#
#   scripts/postgres.sh start   initdb + start (if not running), create the database, print the URL
#   scripts/postgres.sh url     print the URL of the running server
#   scripts/postgres.sh stop    stop the server and delete its data directory
#
# Idempotent. Works as root (the server runs as the `postgres` user) or as an ordinary user.
# The data directory is $CAPA_PG_DIR (default /tmp/capa-postgres); trust auth, loopback only.
set -eu

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=${CAPA_PG_DIR:-/tmp/capa-postgres}
DATA="$PG_DIR/data"
PORT_FILE="$PG_DIR/port"
DB_NAME=capa_test

if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() {
    [ -f "$DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() {
    echo "postgresql+psycopg://$PG_USER@127.0.0.1:$(cat "$PORT_FILE")/$DB_NAME"
}

start() {
    if running; then
        url
        return
    fi
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$PG_DIR"
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$DATA" -U "$PG_USER" --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1
    fi
    free_port >"$PORT_FILE"
    port=$(cat "$PORT_FILE")
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" start >/dev/null
    if ! as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$DB_NAME"
    fi
    url
}

stop() {
    if running; then
        as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    fi
    rm -rf "$PG_DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url)
        if running; then url; else echo "postgres.sh: no server running; run 'scripts/postgres.sh start'" >&2; exit 1; fi
        ;;
    *) echo "usage: scripts/postgres.sh start|stop|url" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A throw-away local PostgreSQL server for tests and for trying the cluster set-up.
#
#   scripts/postgres.sh start [DIR]   install if missing, start, print the database URL
#   scripts/postgres.sh url   [DIR]   print the URL of the running server
#   scripts/postgres.sh stop  [DIR]   stop the server and delete DIR
#
# DIR (default /tmp/cnas-postgres) holds the cluster, its socket and its log. The server
# listens on 127.0.0.1 only, on a free port, with trust authentication: for one machine,
# never for a shared host. Debian's `postgresql` package is installed with apt-get when
# no server binaries are found (root only). PostgreSQL refuses to run as root, so as
# root the cluster belongs to the `postgres` user the package creates.
# Env: PGDATABASES (default "optuna mlflow"): databases to create; the URL printed is
# that of the first one.
set -euo pipefail

cmd=${1:-start}
dir=${2:-/tmp/cnas-postgres}
databases=${PGDATABASES:-optuna mlflow}

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$found" ]] && command -v pg_ctl >/dev/null; then found=$(dirname "$(command -v pg_ctl)"); fi
    echo "$found"
}

install_server() {
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed; run: sudo apt-get install -y postgresql"
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # (The package's own "main" cluster is not used; ours runs on its own port.)
    apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Run a command as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
    [[ -f "$dir/port" ]] || die "no server in $dir; run: scripts/postgres.sh start $dir"
    local first=${databases%% *}
    echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/$first"
}

start() {
    local bin
    bin=$(bindir)
    if [[ -z "$bin" ]]; then install_server; bin=$(bindir); fi
    [[ -n "$bin" ]] || die "no PostgreSQL server binaries found after installing"
    if [[ -f "$dir/port" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        url; return
    fi
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
            || die "initdb failed; see $dir/initdb.log"
    fi
    local port
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
        || die "the server did not start; see $dir/server.log"
    echo "$port" >"$dir/port"
    for db in $databases; do
        as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" 2>/dev/null || true
    done
    url
}

stop() {
    local bin
    bin=$(bindir)
    if [[ -n "$bin" && -d "$dir/data" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    *) die "usage: scripts/postgres.sh start|url|stop [DIR]" ;;
esac

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: a data directory under <dir>, reachable only over
# a unix socket in a private temporary directory (listen_addresses='', no TCP port).
#
#   pg_cluster.sh start <dir>           initializes <dir> on first use and starts the server;
#                                       prints one line, the conninfo (also in <dir>/conninfo)
#   pg_cluster.sh stop <dir>            stops the server; the data stays (start again to restart)
#   pg_cluster.sh clean <dir>           stops the server and removes <dir> and the socket dir
#   pg_cluster.sh createdb <dir> <name> creates database <name> (if missing); prints its conninfo
#   pg_cluster.sh conninfo <dir>        prints the conninfo of a started cluster
#
# PostgreSQL refuses to run as root: as root, initdb/pg_ctl run as the user postgres through
# runuser, and <dir> is given to that user. The server trusts local connections (no password):
# it is for tests only (fsync off, nothing listens on the network).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|clean|conninfo <dir> | createdb <dir> <name>" >&2
    exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
dir=$2

# initdb, pg_ctl, psql: from PATH, else from Debian's versioned folder (newest first).
find_bin() {
    if command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
        return 0
    fi
    local b
    for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$b/$1" ]; then
            echo "$b/$1"
            return 0
        fi
    done
    echo "pg_cluster: $1 not found (install postgresql)" >&2
    exit 1
}

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

conninfo_of() {
    local sock
    sock=$(cat "$dir/sockdir")
    echo "host=$sock dbname=${1:-postgres} user=postgres"
}

running() {
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$PG_CTL" -D "$dir/data" status >/dev/null 2>&1
}

PG_CTL=$(find_bin pg_ctl)

case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -f "$dir/sockdir" ] || [ ! -d "$(cat "$dir/sockdir")" ]; then
        # A short path: a unix socket's path is limited to about 100 bytes.
        mktemp -d /tmp/ntpg.XXXXXX >"$dir/sockdir"
    fi
    sock=$(cat "$dir/sockdir")
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres: "$dir" "$sock"
        runuser -u postgres -- test -w "$dir" || {
            echo "pg_cluster: the user postgres cannot reach $dir (a parent is not searchable)" >&2
            exit 1
        }
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        INITDB=$(find_bin initdb)
        as_owner "$INITDB" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            --no-sync >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
        cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
    fi
    if ! running; then
        (cd / && as_owner "$PG_CTL" -D "$dir/data" -l "$dir/server.log" -w -t 60 start) \
            >/dev/null || {
            tail -n 20 "$dir/server.log" >&2 || true
            exit 1
        }
    fi
    conninfo_of >"$dir/conninfo"
    cat "$dir/conninfo"
    ;;
stop)
    if [ -d "$dir/data" ] && running; then
        (cd / && as_owner "$PG_CTL" -D "$dir/data" -m fast -w -t 60 stop) >/dev/null
    fi
    ;;
clean)
    if [ -d "$dir/data" ] && running; then
        (cd / && as_owner "$PG_CTL" -D "$dir/data" -m immediate -w -t 60 stop) >/dev/null
    fi
    if [ -f "$dir/sockdir" ]; then
        rm -rf "$(cat "$dir/sockdir")"
    fi
    rm -rf "$dir"
    ;;
conninfo)
    running || { echo "pg_cluster: not running: $dir" >&2; exit 1; }
    conninfo_of
    ;;
createdb)
    [ $# -ge 3 ] || usage
    name=$3
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "pg_cluster: bad database name: $name" >&2; exit 2; }
    running || { echo "pg_cluster: not running: $dir" >&2; exit 1; }
    PSQL=$(find_bin psql)
    ci=$(conninfo_of)
    exists=$("$PSQL" "$ci" -XAtq -c "SELECT 1 FROM pg_database WHERE datname = '$name'")
    if [ "$exists" != "1" ]; then
        "$PSQL" "$ci" -XAtq -c "CREATE DATABASE $name" >/dev/null
    fi
    conninfo_of "$name"
    ;;
*)
    usage
    ;;
esac

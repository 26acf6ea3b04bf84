#!/usr/bin/env bash
# nettu soak test: SOAK_CONNECTIONS (256) keep-alive connections run a mixed workload for
# SOAK_SECONDS (60) against a fresh server (bench/soak.mjs: GET calendar by API key, JWT GETs,
# POST and DELETE events, free/busy, calendar events, instances). Passes when there is no
# 5xx, no other unexpected status, no socket error or dropped connection, and the server is
# alive at the end and exits cleanly; prints the totals and the server's RSS at the start
# and the end.
#
# Options (environment):
#   SOAK_SECONDS=60        how long the load runs (the whole run is bounded by it + 120 s)
#   SOAK_CONNECTIONS=256   concurrent keep-alive connections (one request loop each)
#   SOAK_WORKERS=2         the server's worker threads
#   SOAK_KEEP=1            keep the temporary folder (INI, database, server log)
#   NETTU_SERVER, NETTU_PLUGIN_DIR   a built server and its plugins; without them the
#                          server and plugins are built in SOAK_BUILD_DIR (default build/,
#                          configured as Release when new)
#
# Exit status: 0 passed, 1 failed (or the build failed), 2 bad options.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_=${SOAK_SECONDS:-60}
if ! [[ $SECONDS_ =~ ^[1-9][0-9]*$ ]]; then
    echo "soak: SOAK_SECONDS must be a positive integer (got '$SECONDS_')" >&2
    exit 2
fi
command -v node >/dev/null || {
    echo "soak: node (Node.js >= 20) is not installed" >&2
    exit 1
}

if [[ -z ${NETTU_SERVER:-} || -z ${NETTU_PLUGIN_DIR:-} ]]; then
    BUILD=${SOAK_BUILD_DIR:-$ROOT/build}
    mkdir -p "$BUILD"
    log=$BUILD/soak-build.log
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        echo "soak: configuring a Release build in $BUILD" >&2
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 ||
            { echo "soak: cmake configure failed: see $log" >&2; exit 1; }
    fi
    echo "soak: building the server and plugins in $BUILD" >&2
    cmake --build "$BUILD" -j"$(nproc)" --target nettu-server store_sqlite auth_nettu policy \
        account user calendar events >>"$log" 2>&1 ||
        { echo "soak: build failed: see $log" >&2; exit 1; }
    export NETTU_SERVER=$BUILD/nettu-server NETTU_PLUGIN_DIR=$BUILD/plugins
fi

# Each connection is a file descriptor on both sides.
ulimit -n 65536 2>/dev/null || true
exec timeout $((SECONDS_ + 120)) node "$ROOT/bench/soak.mjs"

#!/usr/bin/env bash
# Benchmark (not a test; never run by CI) of bookings, POST /api/v1/service/{id}/bookings:
# one service with 4 hosts, CLIENTS concurrent clients booking distinct 30-minute
# slots, then the same number of plain POST /user/{userId}/events for comparison. Prints the
# rate and latency (median, p90, p99, max) of both. Everything is time-bounded
# (BENCH_TIME_LIMIT seconds).
#
# Usage: bench/bookings.sh
# Options (environment):
#   BENCH_BUILD_DIR          build folder (default build; configured as Release and built
#                            when the server or a plugin is missing)
#   BENCH_BOOKINGS           bookings (and events) asked for (default 2000)
#   BENCH_CLIENTS            concurrent clients (default 64)
#   BENCH_WORKERS            server worker threads (default auto)
#   BENCH_TIME_LIMIT         seconds before everything is stopped (default 600)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
REQUESTS=${BENCH_BOOKINGS:-2000}
CLIENTS=${BENCH_CLIENTS:-64}
WORKERS=${BENCH_WORKERS:-auto}
LIMIT=${BENCH_TIME_LIMIT:-600}

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
PLUGIN_DIR=$BUILD/plugins
PLUGINS="store_sqlite, auth_nettu, policy, account, user, calendar, events, schedule, service"

[[ $REQUESTS =~ ^[1-9][0-9]*$ && $CLIENTS =~ ^[1-9][0-9]*$ && $LIMIT =~ ^[1-9][0-9]*$ ]] ||
    broken "BENCH_BOOKINGS, BENCH_CLIENTS and BENCH_TIME_LIMIT must be positive integers"
for tool in node curl cmake timeout; do
    command -v "$tool" >/dev/null || broken "'$tool' is not installed"
done

SERVER=$BUILD/nettu-server
missing=0
for so in ${PLUGINS//,/}; do
    [[ -f $PLUGIN_DIR/$so.so ]] || missing=1
done
if [[ ! -x $SERVER ]] || ((missing)); then
    say "bench: building the server and plugins in $BUILD (Release)"
    mkdir -p "$BUILD"
    [[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
        >"$BUILD/bookings-build.log" 2>&1
    # shellcheck disable=SC2086
    cmake --build "$BUILD" -j"$(nproc)" --target nettu-server ${PLUGINS//,/} \
        >>"$BUILD/bookings-build.log" 2>&1 ||
        broken "build failed: see $BUILD/bookings-build.log"
fi
if grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$BUILD/CMakeCache.txt" 2>/dev/null ||
    grep -q '^NETTU_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    say "bench: warning: $BUILD is a debug or sanitizer build; numbers will be slow"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-bookings.XXXXXX")
PID=
cleanup() {
    if [[ -n $PID ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

PORT=$(free_port)
write_ini "$TMP/nettu.ini" "$PORT" "$TMP/nettu.db" "$WORKERS"
"${SERVER_ENV[@]}" timeout "$LIMIT" "$SERVER" -c "$TMP/nettu.ini" >"$TMP/server.log" 2>&1 &
PID=$!
wait_up "$PORT" "$PID" || {
    cat "$TMP/server.log" >&2
    broken "the server did not come up"
}

say "bench: server on 127.0.0.1:$PORT ($WORKERS workers): $REQUESTS bookings, $CLIENTS clients"
timeout "$LIMIT" node "$ROOT/bench/bookings.mjs" "http://127.0.0.1:$PORT/api/v1" "$API_KEY" \
    "$REQUESTS" "$CLIENTS"

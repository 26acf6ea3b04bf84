#!/usr/bin/env bash
# Benchmark (not a test) of the multi-user free/busy route, POST /api/v1/user/freebusy.
#
# Starts build/nettu-server on a free 127.0.0.1 port with a temporary INI and database, seeds
# 10 users with 300 events each through the admin API (two calendars per user in different
# zones; a third of the events daily-recurring, the rest single events spread over 90 days
# around the window; most busy), then sends the same request for the 10 users over 31 days
# one at a time on a keep-alive connection and prints the latency: median, p90, p99, max.
# Everything is time-bounded (BENCH_TIME_LIMIT seconds for the server and the client).
#
# Usage: bench/freebusy_multi.sh
# Options (environment):
#   BENCH_BUILD_DIR          build folder (default build; configured as Release and built
#                            when the server or a plugin is missing)
#   BENCH_FREEBUSY_REQUESTS  measured requests (default 500, after 50 warm-up requests)
#   BENCH_WORKERS            server worker threads (default auto)
#   BENCH_TIME_LIMIT         seconds before everything is stopped (default 600)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
REQUESTS=${BENCH_FREEBUSY_REQUESTS:-500}
WORKERS=${BENCH_WORKERS:-auto}
LIMIT=${BENCH_TIME_LIMIT:-600}
PLUGINS="store_sqlite, auth_nettu, policy, account, user, calendar, events"

say() { printf '%s\n' "$*" >&2; }

[[ $REQUESTS =~ ^[1-9][0-9]*$ && $LIMIT =~ ^[1-9][0-9]*$ ]] || {
    say "bench: BENCH_FREEBUSY_REQUESTS and BENCH_TIME_LIMIT must be positive integers"
    exit 2
}
for tool in node curl cmake timeout; do
    command -v "$tool" >/dev/null || {
        say "bench: '$tool' is not installed"
        exit 1
    }
done

SERVER=$BUILD/nettu-server
missing=0
for so in store_sqlite auth_nettu policy account user calendar events; do
    [[ -f $BUILD/plugins/$so.so ]] || missing=1
done
if [[ ! -x $SERVER ]] || ((missing)); then
    say "bench: building the server and plugins in $BUILD (Release)"
    mkdir -p "$BUILD"
    [[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
        >"$BUILD/freebusy_multi-build.log" 2>&1
    cmake --build "$BUILD" -j"$(nproc)" --target nettu-server store_sqlite auth_nettu policy \
        account user calendar events >>"$BUILD/freebusy_multi-build.log" 2>&1 || {
        say "bench: build failed: see $BUILD/freebusy_multi-build.log"
        exit 1
    }
fi
if grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$BUILD/CMakeCache.txt" 2>/dev/null ||
    grep -q '^NETTU_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    say "bench: warning: $BUILD is a debug or sanitizer build; numbers will be slow"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-fbm.XXXXXX")
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

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
API_KEY="sk_$(od -An -N15 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/nettu.ini" <<EOF
[server]
listen = 127.0.0.1
port = $PORT
workers = $WORKERS
access_log = off
log_level = warn
[plugins]
dir = $BUILD/plugins
load = $PLUGINS
[store_sqlite]
path = $TMP/nettu.db
synchronous = normal
[account]
default_api_key = $API_KEY
EOF

# The environment must not override the INI (PORT, NETTU_*, the default-account variables).
ENVCMD=(env -u PORT -u ACCOUNT_API_KEY -u ACCOUNT_ID -u ACCOUNT_WEBHOOK_URL -u ACCOUNT_PUB_KEY
    -u CREATE_ACCOUNT_SECRET_CODE)
while read -r v; do
    [[ -n $v ]] && ENVCMD+=(-u "$v")
done < <(compgen -e | grep '^NETTU_' || true)

"${ENVCMD[@]}" timeout "$LIMIT" "$SERVER" -c "$TMP/nettu.ini" >"$TMP/server.log" 2>&1 &
PID=$!
for ((i = 0; i < 200; i++)); do
    kill -0 "$PID" 2>/dev/null || {
        say "bench: the server exited:"
        cat "$TMP/server.log" >&2
        exit 1
    }
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/api/v1/" && break
    sleep 0.05
done
((i < 200)) || {
    say "bench: the server did not come up"
    exit 1
}

say "bench: server on 127.0.0.1:$PORT ($WORKERS workers), seeding 10 users x 300 events"
timeout "$LIMIT" node "$ROOT/bench/freebusy_multi.mjs" "http://127.0.0.1:$PORT/api/v1" \
    "$API_KEY" "$REQUESTS"

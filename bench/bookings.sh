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
PLUGINS="store_sqlite, auth_nettu, policy, account, user, calendar, events, schedule, service"

[[ $REQUESTS =~ ^[1-9][0-9]*$ && $CLIENTS =~ ^[1-9][0-9]*$ && $LIMIT =~ ^[1-9][0-9]*$ ]] ||
    broken "BENCH_BOOKINGS, BENCH_CLIENTS and BENCH_TIME_LIMIT must be positive integers"
for tool in node curl cmake timeout; do
    command -v "$tool" >/dev/null || broken "'$tool' is not installed"
done

bench_build_plugins bookings
bench_start bookings

say "bench: server on 127.0.0.1:$PORT ($WORKERS workers): $REQUESTS bookings, $CLIENTS clients"
timeout "$LIMIT" node "$ROOT/bench/bookings.mjs" "http://127.0.0.1:$PORT/api/v1" "$API_KEY" \
    "$REQUESTS" "$CLIENTS"

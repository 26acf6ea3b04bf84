#!/usr/bin/env bash
# Benchmark (not a test) of the booking-slot query, GET /api/v1/service/{id}/booking.
#
# Starts build/nettu-server on a free 127.0.0.1 port with a temporary INI and database, seeds
# one service with 10 hosts through the admin API (each: a Europe/Berlin schedule as its
# availability, two busy calendars with 300 events between them, a third daily-recurring, the
# generator of freebusy_multi.mjs, and 10-minute buffers), then asks for the slots of 31 days
# (15-minute interval, 30-minute duration) one request at a time on a keep-alive connection,
# and the multi-user free/busy of the same 10 users and 31 days likewise. Prints for both the
# latency (median, p90, p99, max) and the server's CPU time per request (/proc), and the ratio
# of the two CPU times. Everything is time-bounded (BENCH_TIME_LIMIT seconds).
#
# Usage: bench/booking_slots.sh
# Options (environment):
#   BENCH_BUILD_DIR          build folder (default build; configured as Release and built
#                            when the server or a plugin is missing)
#   BENCH_SLOTS_REQUESTS     measured requests per route (default 200, after 20 warm-up ones)
#   BENCH_WORKERS            server worker threads (default auto)
#   BENCH_TIME_LIMIT         seconds before everything is stopped (default 600)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
REQUESTS=${BENCH_SLOTS_REQUESTS:-200}
WORKERS=${BENCH_WORKERS:-auto}
LIMIT=${BENCH_TIME_LIMIT:-600}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
PLUGINS="store_sqlite, auth_nettu, policy, account, user, calendar, events, schedule, service"

[[ $REQUESTS =~ ^[1-9][0-9]*$ && $LIMIT =~ ^[1-9][0-9]*$ ]] ||
    broken "BENCH_SLOTS_REQUESTS and BENCH_TIME_LIMIT must be positive integers"
for tool in node curl cmake timeout; do
    command -v "$tool" >/dev/null || broken "'$tool' is not installed"
done

bench_build_plugins booking_slots
bench_start slots
# $PID is timeout's; the CPU time is the server's own.
SERVER_PID=$(pgrep -P "$PID" -x nettu-server || true)
[[ -n $SERVER_PID ]] || broken "cannot find the server's process"

say "bench: server on 127.0.0.1:$PORT ($WORKERS workers), seeding 1 service with 10 hosts"
timeout "$LIMIT" node "$ROOT/bench/booking_slots.mjs" "http://127.0.0.1:$PORT/api/v1" \
    "$API_KEY" "$REQUESTS" "$SERVER_PID"

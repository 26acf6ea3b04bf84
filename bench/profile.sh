#!/usr/bin/env bash
# Profiles of nettu per benchmark scenario (the scenarios of bench/run.sh).
#
# 1. callgrind (valgrind): nettu with one worker, and the libevent baseline, each serve a fixed
#    number of requests of the scenario over one connection (wrk -t1 -c1, ending after N
#    answers). Only the worker loops are measured (--toggle-collect=event_base_loop: start-up
#    and seeding are not counted), so instructions per request are stable from run to run,
#    unlike requests/s.
# 2. perf, when it can sample here: hardware counters (`perf stat -e instructions true`) are
#    often missing in VMs, so nettu is sampled on the cpu-clock timer instead, under the load
#    of bench/run.sh (all workers, wrk -t2 -c64): real time, kernel and locks included.
#
# Usage: bench/profile.sh [SCENARIO...]   (default: every scenario)
# Options (environment):
#   BENCH_PROFILE_REQUESTS=2000  callgrind: requests per scenario
#   BENCH_PROFILE_CONNS=1        callgrind: connections wrk keeps open (more than one lets
#                                writes share group commits, as under load)
#   BENCH_PROFILE_GROUP_MS       callgrind: [server] group_commit_ms (valgrind runs the server
#                                about 50 times slower: with the default 2 ms a group closes
#                                after one or two writes; 100 gives groups as large as CONNS)
#   BENCH_PROFILE_TOP=25         functions listed per scenario and profile
#   BENCH_PERF=0                 skip perf;  BENCH_PERF_SECONDS=5  seconds sampled per scenario
#   BENCH_TOKENS=65536           distinct tokens for jwt_unique (at least the requests sent)
#   BENCH_PROFILE_OUT            output folder (default BUILD/bench/profile): summary.md, and
#                                per scenario <name>.nettu.callgrind (for callgrind_annotate or
#                                kcachegrind), <name>.inclusive.txt, <name>.self.txt,
#                                <name>.perf.txt
#   BENCH_BUILD_DIR, BENCH_WORKERS  as for bench/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
REQUESTS=${BENCH_PROFILE_REQUESTS:-2000}
CONNS=${BENCH_PROFILE_CONNS:-1}
TOP=${BENCH_PROFILE_TOP:-25}
PERF=${BENCH_PERF:-1}
PERF_SECONDS=${BENCH_PERF_SECONDS:-5}
WORKERS=${BENCH_WORKERS:-$(nproc)}
TOKENS=${BENCH_TOKENS:-65536}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BOOK_SEQ=0 # where the next booking run starts (bench/lib.sh, booking)
OUTDIR=${BENCH_PROFILE_OUT:-$BUILD/bench/profile}
for v in REQUESTS CONNS TOP PERF_SECONDS WORKERS TOKENS; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        say "bench: ${v} must be a positive integer (got '${!v}')"
        exit 2
    fi
done
((TOKENS >= REQUESTS + 16)) || TOKENS=$((REQUESTS + 16))
command -v valgrind >/dev/null || broken "valgrind is not installed (Debian: apt-get install valgrind)"
command -v callgrind_annotate >/dev/null || broken "callgrind_annotate is missing (it comes with valgrind)"

bench_build
WANT=("$@")
((${#WANT[@]})) || WANT=("${SCENARIOS[@]}")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-profile.XXXXXX")
SEED_DIR=$TMP
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
mkdir -p "$OUTDIR"

# stop_server: SIGTERM and wait (callgrind writes its file at exit).
stop_server() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}

PORT=$(free_port)
write_ini "$TMP/nettu.ini" "$PORT" "$TMP/nettu.db" 1
# valgrind's slowness must not run requests out of their CPU budget
sed -i "s/^\[server\]\$/[server]\nrequest_cpu_ms = 60000/" "$TMP/nettu.ini"
if [[ -n ${BENCH_PROFILE_GROUP_MS:-} ]]; then
    [[ $BENCH_PROFILE_GROUP_MS =~ ^[0-9]+$ ]] || { say "bench: BENCH_PROFILE_GROUP_MS must be a number of ms"; exit 2; }
    sed -i "s/^\[server\]\$/[server]\ngroup_commit_ms = $BENCH_PROFILE_GROUP_MS/" "$TMP/nettu.ini"
fi
write_ini "$TMP/nettu-all.ini" "$PORT" "$TMP/nettu.db" "$WORKERS"
"${SERVER_ENV[@]}" "$SERVER" -c "$TMP/nettu.ini" >"$TMP/seed-server.log" 2>&1 &
PID=$!
wait_up "$PORT" "$PID" || broken "nettu did not start: $(tail -20 "$TMP/seed-server.log")"
say "bench: seeding ($TOKENS tokens)"
seed "http://127.0.0.1:$PORT/api/v1" "$TMP" "$TOKENS"
stop_server

# total_ir FILE: the instruction count in a callgrind output file.
total_ir() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# callgrind_one KIND NAME: runs the scenario against nettu or the baseline under callgrind;
# writes the instructions per request to $TMP/result. (Not run in a subshell: PID must stay
# visible to cleanup.)
callgrind_one() {
    local kind=$1 name=$2 out=$OUTDIR/$2.$1.callgrind log=$TMP/$2.$1.log cmd requests
    if [[ $kind == nettu ]]; then
        cmd=("$SERVER" -c "$TMP/nettu.ini")
    else
        cmd=("$BASELINE" "$PORT" 1)
    fi
    rm -f "$out"
    "${SERVER_ENV[@]}" valgrind --tool=callgrind --collect-atstart=no \
        --toggle-collect=event_base_loop --callgrind-out-file="$out" "${cmd[@]}" >"$log" 2>&1 &
    PID=$!
    wait_up "$PORT" "$PID" 1200 || broken "$kind did not start under valgrind: $(tail -20 "$log")"
    check_scenario "$PORT" "$TMP/check.out"
    wrk_scenario "$PORT" 1 "$CONNS" 600 "$TMP/wrk.txt" "$REQUESTS" ||
        broken "wrk failed ($name, $kind): $(tail -5 "$TMP/wrk.txt")"
    [[ $(field "$TMP/wrk.txt" non2xx) == 0 ]] ||
        broken "$name ($kind): non-2xx answers: $(grep BENCH_RESULT "$TMP/wrk.txt")"
    requests=$(field "$TMP/wrk.txt" requests)
    # bookings: the next run asks for slots after these (bench/lib.sh, booking)
    [[ -z $S_BOOKING_FROM ]] || BOOK_SEQ=$((BOOK_SEQ + requests + 1000))
    stop_server
    [[ -s $out ]] || broken "callgrind wrote no profile for $name ($kind): $(tail -5 "$log")"
    # The requests of wait_up and check_scenario are counted too.
    awk -v t="$(total_ir "$out")" -v n="$((requests + 2))" 'BEGIN { printf "%.0f", t / n }' >"$TMP/result"
}

# perf_one NAME: samples nettu (all workers) on cpu-clock during a wrk run of the scenario;
# writes NAME.perf.txt (self time by shared object, then by symbol), and the requests/s and
# the kernel's share to $TMP/result.
perf_one() {
    local name=$1 log=$TMP/$1.perf.log data=$TMP/$1.perf.data txt=$OUTDIR/$1.perf.txt ppid rps
    "${SERVER_ENV[@]}" "$SERVER" -c "$TMP/nettu-all.ini" >"$log" 2>&1 &
    PID=$!
    wait_up "$PORT" "$PID" || broken "nettu did not start: $(tail -20 "$log")"
    check_scenario "$PORT" "$TMP/check.out"
    perf record -q -e cpu-clock -F 1999 -p "$PID" -o "$data" -- sleep "$((PERF_SECONDS + 1))" \
        >"$TMP/perf-record.log" 2>&1 &
    ppid=$!
    wrk_scenario "$PORT" 2 64 "$PERF_SECONDS" "$TMP/wrk.txt" ||
        broken "wrk failed ($name, perf): $(tail -5 "$TMP/wrk.txt")"
    wait "$ppid" || broken "perf record failed: $(tail -5 "$TMP/perf-record.log")"
    [[ $(field "$TMP/wrk.txt" non2xx) == 0 ]] || broken "$name (perf): non-2xx answers"
    [[ -z $S_BOOKING_FROM ]] || BOOK_SEQ=$((BOOK_SEQ + 2 * $(field "$TMP/wrk.txt" requests) + 1000))
    stop_server
    rps=$(awk -v r="$(field "$TMP/wrk.txt" requests)" -v d="$(field "$TMP/wrk.txt" duration_us)" \
        'BEGIN { printf "%.0f", r / (d / 1e6) }')
    {
        echo "# $name: nettu sampled on cpu-clock during wrk -t2 -c64 -d${PERF_SECONDS}s ($rps req/s)"
        echo "# self time by shared object"
        perf report -i "$data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' |
            sed -n "1,20p"
        echo "# self time by symbol"
        perf report -i "$data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -v '^#' |
            grep -v '^$' | sed -n "1,${TOP}p"
    } >"$txt"
    printf '%s %s\n' "$rps" "$(awk '/\[kernel.kallsyms\]/ { print $1; exit }' "$txt")" >"$TMP/result"
}

{
    echo "## nettu profile $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "callgrind: one worker, $CONNS connection(s), $REQUESTS requests per scenario (+2 checks);"
    echo "instructions counted inside the worker loops only (event_base_loop)."
    echo
    echo "| scenario | nettu instructions/request | baseline instructions/request | baseline/nettu |"
    echo "|---|---:|---:|---:|"
} >"$TMP/summary.md"
for S_NAME in "${WANT[@]}"; do
    scenario "$S_NAME"
    if ((S_EVENTS && !HAVE_EVENTS)); then
        echo "| $S_NAME | skipped: events plugin not built | | |" >>"$TMP/summary.md"
        say "bench: $S_NAME: skipped: events plugin not built"
        continue
    fi
    say "bench: callgrind $S_NAME"
    callgrind_one nettu "$S_NAME"
    n_ir=$(cat "$TMP/result")
    callgrind_one baseline "$S_NAME"
    b_ir=$(cat "$TMP/result")
    echo "| $S_NAME | $n_ir | $b_ir | $(awk -v n="$n_ir" -v b="$b_ir" 'BEGIN { printf "%.2f", b / n }') |" >>"$TMP/summary.md"
    for kind in inclusive self; do
        callgrind_annotate --inclusive="$([[ $kind == inclusive ]] && echo yes || echo no)" \
            "$OUTDIR/$S_NAME.nettu.callgrind" >"$TMP/annotate.txt" 2>&1 ||
            broken "callgrind_annotate failed: $(tail -3 "$TMP/annotate.txt")"
        sed -n "1,$((TOP + 25))p" "$TMP/annotate.txt" >"$OUTDIR/$S_NAME.$kind.txt"
    done
    say "bench: $S_NAME: nettu $n_ir instructions/request, baseline $b_ir"
done

PERF_OK=0
if ((PERF)) && command -v perf >/dev/null &&
    perf record -q -e cpu-clock -o "$TMP/probe.data" -- true >/dev/null 2>&1; then
    PERF_OK=1
fi
{
    echo
    if perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
        echo "perf: hardware counters are not available here (\`perf stat -e instructions true\`: <not supported>)."
    fi
    if ((PERF_OK)); then
        echo "perf: cpu-clock sampling of nettu ($WORKERS workers) under wrk -t2 -c64 -d${PERF_SECONDS}s, self time:"
        echo
        echo "| scenario | req/s while sampled | kernel share of nettu's samples | details |"
        echo "|---|---:|---:|---|"
    else
        echo "perf: not used (BENCH_PERF=0, or perf cannot sample here)."
    fi
} >>"$TMP/summary.md"
if ((PERF_OK)); then
    for S_NAME in "${WANT[@]}"; do
        scenario "$S_NAME"
        ((S_EVENTS && !HAVE_EVENTS)) && continue
        say "bench: perf $S_NAME"
        perf_one "$S_NAME"
        read -r rps kern <"$TMP/result"
        echo "| $S_NAME | $rps | ${kern:-?} | $S_NAME.perf.txt |" >>"$TMP/summary.md"
    done
fi
{
    echo
    echo "Top functions per scenario: $OUTDIR/<scenario>.inclusive.txt and .self.txt (callgrind),"
    echo "<scenario>.perf.txt (perf)."
} >>"$TMP/summary.md"
cp "$TMP/summary.md" "$OUTDIR/summary.md"
cat "$OUTDIR/summary.md"

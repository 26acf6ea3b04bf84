#!/usr/bin/env bash
# nettu benchmark: one command that builds what it needs, starts a bare libevent baseline
# (bench/baseline.c, listening exactly as nettu does) and nettu on free 127.0.0.1 ports,
# seeds nettu through its admin API (bench/seed.mjs), and runs wrk against both, interleaved
# (baseline, nettu, baseline, nettu, ...), for each scenario. It prints one markdown table
# (also written to bench/last-run.md): requests/s, p50/p99 latency and the ratio to the
# baseline measured in the same run, memory, start-up time, and each target met or missed.
# Where the time goes: bench/profile.sh (callgrind and perf per scenario).
#
# Options (environment):
#   BENCH_SECONDS=5      seconds per wrk run
#   BENCH_ROUNDS=3       interleaved rounds per scenario: medians are reported, and the ratio
#                        is the median of each round's nettu/baseline pair
#   BENCH_SMOKE=1        a quick check that the machinery works: 1 round of 1 s, few tokens
#   BENCH_WORKERS        worker threads of both servers (default: number of cores)
#   BENCH_THREADS=2      wrk threads;  BENCH_CONNECTIONS=64  wrk connections
#   BENCH_TOKENS=65536   distinct pre-signed JWTs of the unique-token scenario (4x the default
#                        token cache of auth_nettu, so cycling through them never hits it)
#   BENCH_STARTS=5       server starts measured for the start-up time
#   BENCH_SCENARIOS      space-separated scenarios to run (default: all; see bench/lib.sh)
#   BENCH_BUILD_DIR      build directory (default build/; configured as Release if new)
#   BENCH_OUT            where the table is written (default bench/last-run.md)
#   BENCH_KEEP=1         keep the temporary directory (INI, database, logs, wrk output)
#   BENCH_STORE=pg       the PostgreSQL mode instead (bench/pg.sh): API-key GET, JWT GET and
#                        POST event on store_pg with one and two instances, as ratios to
#                        store_sqlite in the same run (table in bench/last-run-pg.md)
#
# Exit status: 0 when every measurement ran, however slow; 1 when something is broken (a
# tool is missing, the build failed, a server did not start or died, a seed request failed,
# or a load run got non-2xx answers or no answer at all); 2 for bad options.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${BENCH_STORE:-sqlite} in
sqlite) ;;
pg) exec "$ROOT/bench/pg.sh" ;;
*)
    echo "bench: BENCH_STORE must be sqlite or pg (got '${BENCH_STORE}')" >&2
    exit 2
    ;;
esac
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
SMOKE=${BENCH_SMOKE:-0}
if [[ $SMOKE == 1 ]]; then
    DUR=${BENCH_SECONDS:-1}
    ROUNDS=${BENCH_ROUNDS:-1}
    TOKENS=${BENCH_TOKENS:-1024}
    STARTS=${BENCH_STARTS:-1}
else
    DUR=${BENCH_SECONDS:-5}
    ROUNDS=${BENCH_ROUNDS:-3}
    TOKENS=${BENCH_TOKENS:-65536}
    STARTS=${BENCH_STARTS:-5}
fi
WORKERS=${BENCH_WORKERS:-$(nproc)}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
OUT=${BENCH_OUT:-$ROOT/bench/last-run.md}
TOKEN_CACHE=16384 # auth_nettu's default token_cache_size, which the bench keeps

for v in DUR ROUNDS TOKENS STARTS WORKERS THREADS CONNS; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "bench: ${v} must be a positive integer (got '${!v}')" >&2
        exit 2
    fi
done
if ((CONNS < THREADS)); then
    echo "bench: BENCH_CONNECTIONS must be at least BENCH_THREADS" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_build

# ---------------------------------------------------------------------------------------
# Servers

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-bench.XXXXXX")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        say "bench: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

B_PORT=$(free_port)
N_PORT=$(free_port)
while [[ $N_PORT == "$B_PORT" ]]; do N_PORT=$(free_port); done
write_ini "$TMP/nettu.ini" "$N_PORT" "$TMP/nettu.db" "$WORKERS"

"$BASELINE" "$B_PORT" "$WORKERS" >"$TMP/baseline.log" 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
"${SERVER_ENV[@]}" "$SERVER" -c "$TMP/nettu.ini" >"$TMP/nettu.log" 2>&1 &
N_PID=$!
PIDS+=("$N_PID")
wait_up "$B_PORT" "$B_PID" || broken "the baseline did not start: $(tail -5 "$TMP/baseline.log")"
wait_up "$N_PORT" "$N_PID" || broken "nettu did not start: $(tail -20 "$TMP/nettu.log")"
sleep 0.2
N_RSS_IDLE=$(rss_kib "$N_PID")
B_RSS_IDLE=$(rss_kib "$B_PID")
say "bench: baseline on port $B_PORT, nettu on port $N_PORT ($WORKERS workers each); idle RSS nettu ${N_RSS_IDLE} KiB, baseline ${B_RSS_IDLE} KiB"

BASE_URL="http://127.0.0.1:$N_PORT/api/v1"
say "bench: seeding (signing $TOKENS tokens$( ((HAVE_EVENTS)) && echo ', 300 events, a booking service'))"
SEED_DIR=$TMP
seed "$BASE_URL" "$SEED_DIR" "$TOKENS"

# ---------------------------------------------------------------------------------------
# Throughput: every scenario, baseline and nettu interleaved.

# run_wrk PORT CONNS OUT: wrk for the current scenario; its BENCH_RESULT line goes to OUT.
# Broken on no answers, non-2xx answers, or a server that died.
# Also writes the server's CPU time over the run (user + system, microseconds, all threads, from
# /proc/<pid>/stat) as a `cpu_us=` field on the BENCH_RESULT line.
RUN_SEQ=0
BOOK_SEQ=0
CLK_TCK=$(getconf CLK_TCK)
run_wrk() {
    local port=$1 conns=$2 out=$3 log requests non2xx pid t0 t1
    RUN_SEQ=$((RUN_SEQ + 1))
    log=$TMP/wrk-$RUN_SEQ-$S_NAME-$port.txt
    pid=$N_PID
    [[ $port == "$B_PORT" ]] && pid=$B_PID
    t0=$(cpu_ticks "$pid")
    wrk_scenario "$port" "$THREADS" "$conns" "$DUR" "$log" ||
        broken "wrk failed ($S_NAME, port $port): $(tail -5 "$log")"
    t1=$(cpu_ticks "$pid")
    sed -i "s/^BENCH_RESULT .*/& cpu_us=$(((t1 - t0) * 1000000 / CLK_TCK))/" "$log"
    grep '^BENCH_RESULT ' "$log" >"$out" || broken "wrk printed no result ($S_NAME): $(tail -5 "$log")"
    requests=$(field "$out" requests)
    non2xx=$(field "$out" non2xx)
    kill -0 "$N_PID" 2>/dev/null || broken "nettu died during $S_NAME: $(tail -20 "$TMP/nettu.log")"
    kill -0 "$B_PID" 2>/dev/null || broken "the baseline died during $S_NAME"
    # nettu's next run books after every slot this run may have asked for: a thread's numbers
    # go up by THREADS a request, and one thread may have sent all of them (the baseline books
    # nothing: its runs would use up the hosts' ten years of slots)
    [[ -z $S_BOOKING_FROM || $port != "$N_PORT" ]] ||
        BOOK_SEQ=$((BOOK_SEQ + requests * THREADS + 1000))
    ((requests > 0)) || broken "$S_NAME: no request was answered (port $port)"
    ((non2xx == 0)) || broken "$S_NAME: $non2xx non-2xx answers out of $requests (port $port; see $log)"
}

# cpu_ticks PID: user + system CPU time of every thread of PID so far, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# cpu_per_req FILE: server CPU microseconds per answered request of a BENCH_RESULT line.
cpu_per_req() { awk -v c="$(field "$1" cpu_us)" -v r="$(field "$1" requests)" 'BEGIN { printf "%.2f", c / r }'; }
# spread V...: "min-max" of the numbers given, two decimals.
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }

# rps FILE: requests per second of a BENCH_RESULT line.
rps() { awk -v r="$(field "$1" requests)" -v d="$(field "$1" duration_us)" 'BEGIN { printf "%.0f", r / (d / 1e6) }'; }
# median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

ROWS=()
RAW=()
for S_NAME in "${SCENARIOS[@]}"; do
    scenario "$S_NAME"
    if ((S_EVENTS && !HAVE_EVENTS)); then
        ROWS+=("| $S_LABEL | skipped: events plugin not built | | | | | | | | ${S_TARGET:+≥ $S_TARGET} | |")
        say "bench: $S_NAME: skipped: events plugin not built"
        continue
    fi
    check_scenario "$N_PORT" "$TMP/check.out"
    b_rps=() n_rps=() ratios=() n_p50=() n_p99=() b_p50=() b_p99=() sockerr=0
    n_cpu=() b_cpu=() cpu_ratios=()
    for ((r = 1; r <= ROUNDS; r++)); do
        run_wrk "$B_PORT" "$CONNS" "$TMP/b.res"
        run_wrk "$N_PORT" "$CONNS" "$TMP/n.res"
        b_rps+=("$(rps "$TMP/b.res")")
        n_rps+=("$(rps "$TMP/n.res")")
        ratios+=("$(awk -v n="${n_rps[-1]}" -v b="${b_rps[-1]}" 'BEGIN { printf "%.3f", n / b }')")
        n_cpu+=("$(cpu_per_req "$TMP/n.res")")
        b_cpu+=("$(cpu_per_req "$TMP/b.res")")
        cpu_ratios+=("$(awk -v n="${n_cpu[-1]}" -v b="${b_cpu[-1]}" 'BEGIN { printf "%.3f", (n > 0) ? b / n : 0 }')")
        b_p50+=("$(field "$TMP/b.res" p50_us)")
        b_p99+=("$(field "$TMP/b.res" p99_us)")
        n_p50+=("$(field "$TMP/n.res" p50_us)")
        n_p99+=("$(field "$TMP/n.res" p99_us)")
        for k in connect read write timeout; do
            sockerr=$((sockerr + $(field "$TMP/n.res" $k)))
        done
        say "bench: $S_NAME round $r/$ROUNDS: baseline ${b_rps[-1]} req/s ${b_cpu[-1]} µs CPU/req, nettu ${n_rps[-1]} req/s ${n_cpu[-1]} µs CPU/req"
    done
    B=$(median "${b_rps[@]}")
    N=$(median "${n_rps[@]}")
    ratio=$(printf '%.2f' "$(median "${ratios[@]}")")
    verdict=
    target=${S_TARGET:+≥ $S_TARGET}
    if [[ -n $S_TARGET ]]; then
        verdict=$(awk -v r="$ratio" -v t="$S_TARGET" 'BEGIN { print (r >= t) ? "met" : "**missed**" }')
    fi
    if [[ -n $S_P99_MS ]]; then # and the median of nettu's p99 below S_P99_MS
        target+=", p99 < $S_P99_MS ms"
        [[ $(awk -v p="$(median "${n_p99[@]}")" -v t="$S_P99_MS" 'BEGIN { print (p < t * 1000) ? 1 : 0 }') == 1 ]] ||
            verdict="**missed**"
    fi
    cpu_ratio=$(printf '%.2f' "$(median "${cpu_ratios[@]}")")
    ROWS+=("| $S_LABEL | $(printf '%.0f' "$N") | $(printf '%.0f' "$B") | $ratio ($(spread "${ratios[@]}")) | $(median "${n_cpu[@]}") / $(median "${b_cpu[@]}") µs | $cpu_ratio ($(spread "${cpu_ratios[@]}")) | $(ms "$(median "${n_p50[@]}")") / $(ms "$(median "${n_p99[@]}")") ms | $(ms "$(median "${b_p50[@]}")") / $(ms "$(median "${b_p99[@]}")") ms | 0 / $sockerr | $target | $verdict |")
    RAW+=("- $S_NAME: nettu ${n_rps[*]}; baseline ${b_rps[*]}; ratios ${ratios[*]}; CPU µs/request nettu ${n_cpu[*]}, baseline ${b_cpu[*]}; CPU ratios ${cpu_ratios[*]}")
done

# ---------------------------------------------------------------------------------------
# Memory under 256 connections: the API-key scenario with wrk -c256, VmRSS sampled every
# 0.1 s; the maximum is reported. Runs after every other scenario, so caches are warm.

# rss_under PID PORT: prints the largest VmRSS (KiB) of PID during a 256-connection run.
rss_under() {
    local pid=$1 port=$2 max=0 v wpid
    run_wrk "$port" 256 "$TMP/rss.res" &
    wpid=$!
    while kill -0 "$wpid" 2>/dev/null; do
        v=$(rss_kib "$pid")
        ((v > max)) && max=$v
        sleep 0.1
    done
    wait "$wpid" || exit 1
    echo "$max"
}
scenario apikey
S_NAME=rss256
N_RSS_256=$(rss_under "$N_PID" "$N_PORT")
B_RSS_256=$(rss_under "$B_PID" "$B_PORT")
say "bench: RSS under 256 connections: nettu ${N_RSS_256} KiB, baseline ${B_RSS_256} KiB"

# ---------------------------------------------------------------------------------------
# Start-up: process start to the first 200 answer to GET /api/v1/ (bench/probe.c), on a
# database that exists (a restart) and on a new one (first start: migrations run).

S_PORT=$(free_port)
start_ms_existing=() start_ms_new=() start_ms_base=()
# probe_start INI|baseline: milliseconds to the first answer of one start.
probe_start() {
    local cmd
    if [[ $1 == baseline ]]; then
        cmd=("$BASELINE" "$S_PORT" "$WORKERS")
    else
        cmd=("${SERVER_ENV[@]}" "$SERVER" -c "$1")
    fi
    "$PROBE" "$S_PORT" /api/v1/ "$TMP/start.log" -- "${cmd[@]}" ||
        broken "start-up probe failed ($1): $(tail -5 "$TMP/start.log")"
}
write_ini "$TMP/start.ini" "$S_PORT" "$TMP/start.db" "$WORKERS"
probe_start "$TMP/start.ini" >/dev/null # creates the database the restarts find
for ((i = 1; i <= STARTS; i++)); do
    v=$(probe_start "$TMP/start.ini") || exit 1
    start_ms_existing+=("$v")
    write_ini "$TMP/start-new.ini" "$S_PORT" "$TMP/start-new-$i.db" "$WORKERS"
    v=$(probe_start "$TMP/start-new.ini") || exit 1
    start_ms_new+=("$v")
    v=$(probe_start baseline) || exit 1
    start_ms_base+=("$v")
done
START_EXISTING=$(median "${start_ms_existing[@]}")
START_NEW=$(median "${start_ms_new[@]}")
START_BASE=$(median "${start_ms_base[@]}")
say "bench: start to first answer: nettu ${start_ms_existing[*]} ms (existing db), ${start_ms_new[*]} ms (new db); baseline ${start_ms_base[*]} ms"

# ---------------------------------------------------------------------------------------
# Idle memory of the default configuration: the same INI without the default account (whose
# API key is hashed at start, which initialises OpenSSL's providers: about 2 MiB).

write_ini "$TMP/plain.ini" "$S_PORT" "$TMP/plain.db" "$WORKERS"
sed -i '/^\[account\]/,$d' "$TMP/plain.ini"
"${SERVER_ENV[@]}" "$SERVER" -c "$TMP/plain.ini" >"$TMP/plain.log" 2>&1 &
P_PID=$!
PIDS+=("$P_PID")
wait_up "$S_PORT" "$P_PID" || broken "nettu did not start without a default account: $(tail -20 "$TMP/plain.log")"
sleep 0.2
N_RSS_PLAIN=$(rss_kib "$P_PID")
kill "$P_PID"
wait "$P_PID" 2>/dev/null || true
say "bench: idle RSS without a default account: ${N_RSS_PLAIN} KiB"

# ---------------------------------------------------------------------------------------
# The table

le_verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "**missed**" }'; }
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && COMMIT="$COMMIT (with uncommitted changes)"
{
    echo "## nettu benchmark $(date -u '+%Y-%m-%d %H:%M UTC')$( [[ $SMOKE == 1 ]] && echo ' (smoke)')"
    echo
    echo "commit $COMMIT, $BUILD_TYPE build; $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); $WORKERS workers for both servers;"
    echo "wrk -t$THREADS -c$CONNS, ${DUR} s per run, $ROUNDS interleaved rounds: medians, and the ratio is the median"
    echo "of the rounds' nettu/baseline ratios; plugins: $PLUGINS;"
    echo "unique-token scenario: $TOKENS distinct tokens, token cache $TOKEN_CACHE. Latency is wrk's p50 / p99."
    echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes"
    echo "requests/s noisy; the ratios, measured in interleaved pairs, much less so)."
    echo
    echo "The ratio is nettu's requests/s over the baseline's (min-max of the rounds in brackets). CPU/request is each"
    echo "server's user + system time over a run (all threads, /proc/<pid>/stat) divided by the requests it answered;"
    echo "the CPU ratio is baseline CPU/request over nettu's (1 = as cheap as bare libevent): steadier than requests/s"
    echo "on a shared machine."
    echo
    echo "| scenario | nettu req/s | baseline req/s | ratio (min-max) | CPU/request nettu / baseline | CPU ratio (min-max) | nettu p50 / p99 | baseline p50 / p99 | nettu non-2xx / socket errors | target | |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo "| RSS idle (VmRSS after start, default configuration) | $(mib "$N_RSS_PLAIN") | $(mib "$B_RSS_IDLE") | | | | | | | ≤ 8 MiB | $(le_verdict "$N_RSS_PLAIN" 8192) |"
    echo "| RSS idle with a default account (its key hashed at start: OpenSSL initialised) | $(mib "$N_RSS_IDLE") | $(mib "$B_RSS_IDLE") | | | | | | | | |"
    echo "| RSS under 256 connections (max VmRSS, API-key GET, wrk -c256) | $(mib "$N_RSS_256") | $(mib "$B_RSS_256") | | | | | | | ≤ 64 MiB | $(le_verdict "$N_RSS_256" 65536) |"
    echo "| start to first answer, existing db (median of $STARTS) | $START_EXISTING ms | $START_BASE ms | | | | | | | ≤ 50 ms | $(le_verdict "$START_EXISTING" 50) |"
    echo "| start to first answer, new db (median of $STARTS) | $START_NEW ms | $START_BASE ms | | | | | | | ≤ 50 ms | $(le_verdict "$START_NEW" 50) |"
    echo
    echo "Requests/s of every round (nettu; baseline; ratio):"
    echo
    printf '%s\n' "${RAW[@]}"
} >"$TMP/table.md"
cp "$TMP/table.md" "$OUT"
cat "$TMP/table.md"

#!/usr/bin/env bash
# nettu benchmark, PostgreSQL mode (bench/run.sh with BENCH_STORE=pg runs this): the cost of
# store_pg per request relative to store_sqlite, on one and on two instances. It starts a
# throwaway PostgreSQL cluster (tests/support/pg_cluster.sh) in its temporary directory, one
# nettu on SQLite, and two nettu instances (A, B) on one PostgreSQL database, seeds both
# databases (bench/seed.mjs), then runs wrk for each scenario, interleaved per round:
#   sqlite   wrk on the SQLite instance
#   pg x1    wrk on instance A alone
#   pg x2    two wrk at once, one on A and one on B, each with half the connections and one
#            thread (no proxy in between: a proxy on this machine would be the bottleneck);
#            requests/s is their sum
# and prints one markdown table (also written to bench/last-run-pg.md): requests/s, p50, and
# the ratios pg x1 / sqlite and pg x2 / sqlite (median of the rounds' ratios). Everything runs
# on this machine, PostgreSQL included: two instances share the same cores, so "x2" measures
# the cost of two instances on one database, not how it scales on separate machines.
#
# Options (environment), as bench/run.sh: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_WORKERS
# (cores), BENCH_CONNECTIONS (64), BENCH_BUILD_DIR, BENCH_KEEP; and
#   BENCH_SCENARIOS   default "apikey jwt_same post_event" (see bench/lib.sh)
#   BENCH_OUT         default bench/last-run-pg.md
# Exit status: 0 when every measurement ran; 1 when something is broken; 2 for bad options.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
DUR=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-$(nproc)}
CONNS=${BENCH_CONNECTIONS:-64}
TOKENS=1024
OUT=${BENCH_OUT:-$ROOT/bench/last-run-pg.md}
export BENCH_SCENARIOS=${BENCH_SCENARIOS:-apikey jwt_same post_event}

for v in DUR ROUNDS WORKERS CONNS; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "bench: ${v} must be a positive integer (got '${!v}')" >&2
        exit 2
    fi
done
if ((CONNS < 2)); then
    echo "bench: BENCH_CONNECTIONS must be at least 2 (split over two instances)" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_build
cmake --build "$BUILD" -j"$(nproc)" --target store_pg >>"$BUILD/bench/build.log" 2>&1 ||
    broken "the store_pg plugin does not build (see $BUILD/bench/build.log)"
SQLITE_PLUGINS=$PLUGINS
PG_PLUGINS=${PLUGINS/store_sqlite/store_pg}
PG_CLUSTER=$ROOT/tests/support/pg_cluster.sh

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-bench-pg.XXXXXX")
chmod 755 "$TMP" # the cluster's owner (postgres) reaches its folder below
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    "$PG_CLUSTER" clean "$TMP/pg" >/dev/null 2>&1 || true
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        say "bench: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$PG_CLUSTER" start "$TMP/pg" >/dev/null || broken "cannot start a PostgreSQL cluster (tests/support/pg_cluster.sh)"
CONNINFO=$("$PG_CLUSTER" createdb "$TMP/pg" bench) || broken "cannot create the database"
PG_MAX_CONN=$(runuser -u postgres -- psql -XAtq -d "$CONNINFO" -c 'SHOW max_connections' 2>/dev/null || echo '?')
PG_VERSION=$(runuser -u postgres -- psql -XAtq -d "$CONNINFO" -c 'SHOW server_version' 2>/dev/null || echo '?')

# write_pg_ini FILE PORT: the benchmark INI (as write_ini) on store_pg.
write_pg_ini() {
    PLUGINS=$PG_PLUGINS write_ini "$1" "$2" unused "$WORKERS"
    sed -i -e '/^\[store_sqlite\]/,/^synchronous/d' "$1"
    printf '[services]\nstore = pg\n[store_pg]\nconninfo = %s\n' "$CONNINFO" >>"$1"
}

# start NAME INI PORT: starts nettu in the background; sets <NAME>_PID.
start() {
    "${SERVER_ENV[@]}" "$SERVER" -c "$2" >"$TMP/$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "${1}_PID" '%s' "$pid"
    wait_up "$3" "$pid" || broken "nettu ($1) did not start: $(tail -20 "$TMP/$1.log")"
}

S_PORT=$(free_port)
A_PORT=$(free_port)
B_PORT=$(free_port)
while [[ $A_PORT == "$S_PORT" || $B_PORT == "$S_PORT" || $B_PORT == "$A_PORT" ]]; do
    A_PORT=$(free_port)
    B_PORT=$(free_port)
done
PLUGINS=$SQLITE_PLUGINS write_ini "$TMP/sqlite.ini" "$S_PORT" "$TMP/nettu.db" "$WORKERS"
write_pg_ini "$TMP/a.ini" "$A_PORT"
write_pg_ini "$TMP/b.ini" "$B_PORT"
start SQ "$TMP/sqlite.ini" "$S_PORT"
start PA "$TMP/a.ini" "$A_PORT"
start PB "$TMP/b.ini" "$B_PORT"
say "bench: sqlite on $S_PORT, pg A on $A_PORT, pg B on $B_PORT ($WORKERS workers each; PostgreSQL $PG_VERSION)"

mkdir -p "$TMP/seed-sqlite" "$TMP/seed-pg"
HAVE_EVENTS_SAVED=$HAVE_EVENTS
seed "http://127.0.0.1:$S_PORT/api/v1" "$TMP/seed-sqlite" "$TOKENS"
seed "http://127.0.0.1:$A_PORT/api/v1" "$TMP/seed-pg" "$TOKENS"
HAVE_EVENTS=$HAVE_EVENTS_SAVED

# use_seed sqlite|pg: the seed variables (ids, token) and SEED_DIR of that database.
use_seed() {
    SEED_DIR=$TMP/seed-$1
    # shellcheck disable=SC1090
    source "$SEED_DIR/seed.env"
}

RUN_SEQ=0
# one_wrk PORT THREADS CONNS OUT: wrk for the current scenario; its BENCH_RESULT line to OUT.
one_wrk() {
    local log
    RUN_SEQ=$((RUN_SEQ + 1))
    log=$TMP/wrk-$RUN_SEQ-$S_NAME-$1.txt
    wrk_scenario "$1" "$2" "$3" "$DUR" "$log" || broken "wrk failed ($S_NAME, port $1): $(tail -5 "$log")"
    grep '^BENCH_RESULT ' "$log" >"$4" || broken "wrk printed no result ($S_NAME): $(tail -5 "$log")"
}
rps() { awk -v r="$(field "$1" requests)" -v d="$(field "$1" duration_us)" 'BEGIN { printf "%.0f", r / (d / 1e6) }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
alive() {
    local p
    for p in "$SQ_PID" "$PA_PID" "$PB_PID"; do
        kill -0 "$p" 2>/dev/null || broken "a nettu died during $S_NAME (see $TMP/*.log)"
    done
}

ROWS=()
RAW=()
for S_NAME in "${SCENARIOS[@]}"; do
    use_seed sqlite
    scenario "$S_NAME"
    if ((S_EVENTS && !HAVE_EVENTS)); then
        say "bench: $S_NAME: skipped: events plugin not built"
        continue
    fi
    check_scenario "$S_PORT" "$TMP/check.out"
    use_seed pg
    scenario "$S_NAME"
    check_scenario "$A_PORT" "$TMP/check.out"
    check_scenario "$B_PORT" "$TMP/check.out"
    s_rps=() p1_rps=() p2_rps=() r1=() r2=() s_p50=() p1_p50=() p2_p50=() bad=0
    for ((r = 1; r <= ROUNDS; r++)); do
        use_seed sqlite
        scenario "$S_NAME"
        one_wrk "$S_PORT" 2 "$CONNS" "$TMP/s.res"
        use_seed pg
        scenario "$S_NAME"
        one_wrk "$A_PORT" 2 "$CONNS" "$TMP/p1.res"
        one_wrk "$A_PORT" 1 $((CONNS / 2)) "$TMP/p2a.res" &
        wa=$!
        one_wrk "$B_PORT" 1 $((CONNS - CONNS / 2)) "$TMP/p2b.res" &
        wb=$!
        wait "$wa" || exit 1
        wait "$wb" || exit 1
        alive
        s_rps+=("$(rps "$TMP/s.res")")
        p1_rps+=("$(rps "$TMP/p1.res")")
        p2_rps+=($(($(rps "$TMP/p2a.res") + $(rps "$TMP/p2b.res"))))
        r1+=("$(awk -v n="${p1_rps[-1]}" -v b="${s_rps[-1]}" 'BEGIN { printf "%.3f", n / b }')")
        r2+=("$(awk -v n="${p2_rps[-1]}" -v b="${s_rps[-1]}" 'BEGIN { printf "%.3f", n / b }')")
        s_p50+=("$(field "$TMP/s.res" p50_us)")
        p1_p50+=("$(field "$TMP/p1.res" p50_us)")
        p2_p50+=("$(median "$(field "$TMP/p2a.res" p50_us)" "$(field "$TMP/p2b.res" p50_us)")")
        for f in s p1 p2a p2b; do
            bad=$((bad + $(field "$TMP/$f.res" non2xx)))
        done
        say "bench: $S_NAME round $r/$ROUNDS: sqlite ${s_rps[-1]} req/s, pg x1 ${p1_rps[-1]}, pg x2 ${p2_rps[-1]}"
    done
    ROWS+=("| $S_LABEL | $(median "${s_rps[@]}") | $(median "${p1_rps[@]}") | $(median "${p2_rps[@]}") | $(printf '%.2f' "$(median "${r1[@]}")") | $(printf '%.2f' "$(median "${r2[@]}")") | $(ms "$(median "${s_p50[@]}")") / $(ms "$(median "${p1_p50[@]}")") / $(ms "$(median "${p2_p50[@]}")") ms | $bad |")
    RAW+=("- $S_NAME: sqlite ${s_rps[*]}; pg x1 ${p1_rps[*]}; pg x2 ${p2_rps[*]}; ratios x1 ${r1[*]}, x2 ${r2[*]}")
done

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## nettu benchmark, PostgreSQL mode $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "commit $COMMIT; $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); $WORKERS workers"
    echo "per instance; PostgreSQL $PG_VERSION on the same machine (unix socket, fsync off: a throwaway test"
    echo "cluster, max_connections $PG_MAX_CONN); ${DUR} s per run, $ROUNDS interleaved rounds (medians; a ratio is the median"
    echo "of the rounds' ratios to the SQLite run of the same round). pg x2: two wrk at once, one per instance, $CONNS"
    echo "connections in all; all three servers and PostgreSQL share the machine's cores."
    echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes these noisy)."
    echo
    echo "| scenario | sqlite req/s | pg x1 req/s | pg x2 req/s | pg x1 / sqlite | pg x2 / sqlite | p50 sqlite / x1 / x2 | non-2xx |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Requests/s of every round:"
    echo
    printf '%s\n' "${RAW[@]}"
} >"$TMP/table.md"
cp "$TMP/table.md" "$OUT"
cat "$TMP/table.md"

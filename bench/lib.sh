# Shared parts of bench/run.sh and bench/profile.sh (sourced, not run): building, servers
# on free 127.0.0.1 ports, the seeded scenarios. Expects ROOT and BUILD to be set, and set -eu.
# shellcheck shell=bash disable=SC2034,SC2016,SC2153
# (Variables set here are used by the scripts that source this file; labels hold literal
# markdown backquotes.)

say() { printf '%s\n' "$*" >&2; }

# Reports what is broken and exits 1 (from a subshell, only the subshell exits: callers
# check the status).
broken() {
    say "bench: BROKEN: $*"
    exit 1
}

# Checks the tools, configures a Release build in $BUILD when none is there, builds the server
# and the plugins the benchmark loads (no tests, no other plugins: other work in progress
# cannot break the benchmark), and compiles bench/baseline.c and bench/probe.c. Sets SERVER,
# PLUGIN_DIR, BASELINE, PROBE, BUILD_TYPE, HAVE_EVENTS (the events, schedule and service
# plugins are optional: their scenarios are skipped when they do not exist or do not build) and
# PLUGINS (the load list).
bench_build() {
    local tool log=$BUILD/bench/build.log
    for tool in wrk curl node cmake cc pkg-config; do
        command -v "$tool" >/dev/null ||
            broken "'$tool' is not installed (Debian: apt-get install wrk curl nodejs cmake gcc pkg-config)"
    done
    mkdir -p "$BUILD/bench"
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        say "bench: configuring a Release build in $BUILD"
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 ||
            broken "cmake configure failed: see $log"
    fi
    BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
    [[ $BUILD_TYPE == Release ]] || say "bench: warning: $BUILD is a '$BUILD_TYPE' build, not Release"
    if grep -q '^NETTU_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
        say "bench: warning: $BUILD is built with sanitizers"
    fi
    # A new configuration run picks up plugin folders added since the last one.
    cmake "$BUILD" >"$log" 2>&1 || broken "cmake configure failed: see $log"
    say "bench: building the server and plugins in $BUILD"
    cmake --build "$BUILD" -j"$(nproc)" --target nettu-server store_sqlite auth_nettu policy \
        account user calendar >>"$log" 2>&1 || broken "build failed: see $log"
    HAVE_EVENTS=0
    if [[ -f $ROOT/plugins/events/CMakeLists.txt && -f $ROOT/plugins/service/CMakeLists.txt ]]; then
        if cmake --build "$BUILD" -j"$(nproc)" --target events schedule service >>"$log" 2>&1; then
            HAVE_EVENTS=1
        else
            say "bench: warning: the events, schedule or service plugin does not build (see $log); their scenarios are skipped"
        fi
    fi
    SERVER=$BUILD/nettu-server
    PLUGIN_DIR=$BUILD/plugins
    BASELINE=$BUILD/bench/baseline
    PROBE=$BUILD/bench/probe
    # -g: symbols for the profiles. pkg-config's output is split into words on purpose.
    # shellcheck disable=SC2046
    cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$BASELINE" "$ROOT/bench/baseline.c" \
        $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread ||
        broken "cannot build bench/baseline.c"
    cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$PROBE" "$ROOT/bench/probe.c" ||
        broken "cannot build bench/probe.c"
    PLUGINS="store_sqlite, auth_nettu, policy, account, user, calendar"
    if ((HAVE_EVENTS)); then
        PLUGINS="$PLUGINS, events, schedule, service"
    fi
}

# bench_build_plugins NAME: for the one-server benchmarks (bookings, booking slots). Builds
# nettu-server and the plugins of $PLUGINS in $BUILD (configured as Release when new) unless
# all of them are there; the build log is $BUILD/NAME-build.log. Sets SERVER and PLUGIN_DIR.
bench_build_plugins() {
    local so log=$BUILD/$1-build.log missing=0
    SERVER=$BUILD/nettu-server
    PLUGIN_DIR=$BUILD/plugins
    for so in ${PLUGINS//,/}; do
        [[ -f $PLUGIN_DIR/$so.so ]] || missing=1
    done
    if [[ ! -x $SERVER ]] || ((missing)); then
        say "bench: building the server and plugins in $BUILD (Release)"
        mkdir -p "$BUILD"
        [[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
            >"$log" 2>&1
        # shellcheck disable=SC2086
        cmake --build "$BUILD" -j"$(nproc)" --target nettu-server ${PLUGINS//,/} >>"$log" 2>&1 ||
            broken "build failed: see $log"
    fi
    if grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$BUILD/CMakeCache.txt" 2>/dev/null ||
        grep -q '^NETTU_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
        say "bench: warning: $BUILD is a debug or sanitizer build; numbers will be slow"
    fi
}

# Stops the server bench_start started and removes its folder (the EXIT trap).
bench_stop() {
    if [[ -n ${PID:-} ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    [[ -z ${TMP:-} ]] || rm -rf "$TMP"
}

# bench_start NAME: starts $SERVER, stopped after $LIMIT seconds at the latest, on a free port
# with a temporary INI and database (folder nettu-NAME.*), and waits until it answers. Sets TMP,
# PORT and PID (timeout's); everything is stopped and removed when the script exits.
bench_start() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-$1.XXXXXX")
    PID=
    trap bench_stop EXIT
    trap 'exit 1' INT TERM
    PORT=$(free_port)
    write_ini "$TMP/nettu.ini" "$PORT" "$TMP/nettu.db" "$WORKERS"
    "${SERVER_ENV[@]}" timeout "$LIMIT" "$SERVER" -c "$TMP/nettu.ini" >"$TMP/server.log" 2>&1 &
    PID=$!
    wait_up "$PORT" "$PID" || {
        cat "$TMP/server.log" >&2
        broken "the server did not come up"
    }
}

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# SERVER_ENV: the server's environment without the variables that would override the INI.
SERVER_ENV=(env -u PORT -u ACCOUNT_API_KEY -u ACCOUNT_ID -u ACCOUNT_WEBHOOK_URL -u ACCOUNT_PUB_KEY
    -u CREATE_ACCOUNT_SECRET_CODE)
while read -r v; do
    [[ -n $v ]] && SERVER_ENV+=(-u "$v")
done < <(compgen -e | grep '^NETTU_' || true)

# The account's API key (the server creates the default account with it): sk_ + 30 hex.
API_KEY="sk_$(od -An -N15 -tx1 /dev/urandom | tr -d ' \n')"

# write_ini FILE PORT DB WORKERS: a nettu INI for the benchmark (access log off, WAL with
# synchronous = normal, the default account with API_KEY; every other key at its default).
write_ini() {
    cat >"$1" <<EOF
[server]
listen = 127.0.0.1
port = $2
workers = $4
access_log = off
log_level = warn
[plugins]
dir = $PLUGIN_DIR
load = $PLUGINS
[store_sqlite]
path = $3
synchronous = normal
[account]
default_api_key = $API_KEY
EOF
}

# wait_up PORT PID [TRIES]: waits (50 ms steps, 200 by default) until http://127.0.0.1:PORT/
# answers while PID lives; status 1 otherwise.
wait_up() {
    local i tries=${3:-200}
    for ((i = 0; i < tries; i++)); do
        kill -0 "$2" 2>/dev/null || return 1
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/api/v1/" && return 0
        sleep 0.05
    done
    return 1
}

# rss_kib PID: VmRSS in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# seed URL OUT_DIR TOKENS: seeds the server (bench/seed.mjs) and sources OUT_DIR/seed.env.
seed() {
    timeout 600 node "$ROOT/bench/seed.mjs" "$1" "$API_KEY" "$2" "$3" "$HAVE_EVENTS" ||
        broken "seeding failed"
    # shellcheck disable=SC1091
    source "$2/seed.env"
}

# The scenarios, in table order. scenario NAME sets S_LABEL S_PATH S_HEADERS S_METHOD S_BODY
# S_TOKENS S_TARGET (minimum ratio to the baseline, or empty) and S_EVENTS (1 = needs the
# events plugin). Needs the seed variables, SEED_DIR and TOKENS.
ALL_SCENARIOS=(health apikey jwt_same jwt_unique post_event booking freebusy)
# BENCH_SCENARIOS="post_event freebusy" runs only those (default: all of ALL_SCENARIOS).
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-${ALL_SCENARIOS[*]}}"
for s in "${SCENARIOS[@]}"; do
    [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || { echo "bench: unknown scenario '$s' in BENCH_SCENARIOS (known: ${ALL_SCENARIOS[*]})" >&2; exit 2; }
done
scenario() {
    S_HEADERS=()
    S_METHOD=GET
    S_BODY=
    S_TOKENS=
    S_TARGET=
    S_P99_MS=
    S_EVENTS=0
    S_BOOKING_FROM=
    case $1 in
    health)
        S_LABEL='health `GET /api/v1/`'
        S_PATH=/api/v1/
        ;;
    apikey)
        S_LABEL='API key `GET /api/v1/user/calendar/{id}`'
        S_PATH=/api/v1/user/calendar/$BENCH_CAL_ID
        S_HEADERS=(-H "x-api-key: $API_KEY")
        S_TARGET=0.70
        ;;
    jwt_same)
        S_LABEL='JWT, one token `GET /api/v1/calendar/{id}`'
        S_PATH=/api/v1/calendar/$BENCH_CAL_ID
        S_HEADERS=(-H "nettu-account: $BENCH_ACCOUNT_ID" -H "Authorization: Bearer $BENCH_TOKEN")
        S_TARGET=0.70
        ;;
    jwt_unique)
        S_LABEL="JWT, unique tokens ($TOKENS cycled) \`GET /api/v1/calendar/{id}\`"
        S_PATH=/api/v1/calendar/$BENCH_CAL_ID
        S_HEADERS=(-H "nettu-account: $BENCH_ACCOUNT_ID")
        S_TOKENS=$SEED_DIR/tokens.txt
        S_TARGET=0.35
        ;;
    post_event)
        S_LABEL='`POST /api/v1/user/{id}/events` (synchronous=normal)'
        S_EVENTS=1
        S_PATH=/api/v1/user/${BENCH_POST_USER_ID:-}/events
        S_HEADERS=(-H "x-api-key: $API_KEY")
        S_METHOD=POST
        S_BODY=$SEED_DIR/post-event.json
        S_TARGET=0.25
        S_P99_MS=20
        ;;
    booking)
        # Every request books its own 30-minute slot of a 4-host round-robin service (4
        # requests a slot, bench/wrk/bench.lua); BOOK_SEQ (run.sh) moves on after each run.
        S_LABEL='`POST /api/v1/service/{id}/bookings` (4 hosts, round robin)'
        S_EVENTS=1
        S_PATH=/api/v1/service/${BENCH_BOOKING_SERVICE_ID:-}/bookings
        S_HEADERS=(-H "x-api-key: $API_KEY")
        S_METHOD=POST
        S_BODY=$SEED_DIR/booking.json
        S_BOOKING_FROM=${BENCH_BOOKING_FROM:-}
        S_TARGET=0.25
        S_P99_MS=20
        ;;
    freebusy)
        S_LABEL='`GET /api/v1/user/{id}/freebusy` (31 days, 300 events)'
        S_EVENTS=1
        S_PATH="/api/v1/user/${BENCH_FB_USER_ID:-}/freebusy?startTs=${BENCH_FB_START:-}&endTs=${BENCH_FB_END:-}&calendarIds=${BENCH_FB_CAL_ID:-}"
        S_HEADERS=(-H "nettu-account: $BENCH_ACCOUNT_ID")
        S_TARGET=0.12
        ;;
    *)
        broken "unknown scenario '$1'"
        ;;
    esac
}

# check_scenario PORT OUT: one request of the current scenario with curl; nettu must answer
# 2xx (the body goes to OUT).
check_scenario() {
    local args=(-s -o "$2" -w '%{http_code}' --max-time 30 -X "$S_METHOD" "${S_HEADERS[@]}") code
    if [[ -n $S_BODY ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "@$S_BODY")
    fi
    if [[ -n $S_TOKENS ]]; then
        args+=(-H "Authorization: Bearer $(head -n 1 "$S_TOKENS")")
    fi
    code=$(curl "${args[@]}" "http://127.0.0.1:$1$S_PATH") || code=000
    [[ $code == 2?? ]] || broken "$S_NAME: nettu answered $code to one request: $(head -c 300 "$2")"
}

# wrk_scenario PORT THREADS CONNS DURATION LOG [STOP_AFTER]: wrk with bench/wrk/bench.lua for
# the current scenario; its output goes to LOG. Bounded by `timeout`.
wrk_scenario() {
    BENCH_WRK_METHOD=$S_METHOD BENCH_WRK_BODY_FILE=$S_BODY BENCH_WRK_TOKENS_FILE=$S_TOKENS \
        BENCH_WRK_THREADS=$2 BENCH_WRK_STOP_AFTER=${6:-} BENCH_WRK_BOOKING_FROM=$S_BOOKING_FROM \
        BENCH_WRK_BOOKING_SEQ=${BOOK_SEQ:-0} timeout $(($4 + 120)) \
        wrk -t"$2" -c"$3" -d"$4s" --timeout 10s --latency -s "$ROOT/bench/wrk/bench.lua" \
        "${S_HEADERS[@]}" "http://127.0.0.1:$1$S_PATH" >"$5" 2>&1
}

# field FILE NAME: a number from the BENCH_RESULT line in FILE.
field() { sed -n "s/^BENCH_RESULT.* $2=\([0-9]*\).*/\1/p" "$1"; }

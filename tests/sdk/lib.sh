# shellcheck shell=bash
# Shared shell helpers of the sdk tests (sourced, not run). They start servers only on
# 127.0.0.1 and free ports, remember their process ids and stop exactly those on exit.
#
# Environment: NODE (the node binary, default `node`), NETTU_SDK_KEEP=1 keeps the temporary
# folder for a look after the run.

SDK_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE=${NODE:-node}
SDK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nettu-sdk.XXXXXX")
SDK_PIDS=()
SDK_FAILED=0

# Stops every server this script started (only those, by pid) and removes the temporary
# folder unless NETTU_SDK_KEEP=1 or a check failed.
sdk_cleanup() {
    local pid
    for pid in "${SDK_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ "${NETTU_SDK_KEEP:-0}" = 1 ] || [ "$SDK_FAILED" = 1 ]; then
        echo "kept: $SDK_TMP" >&2
    else
        rm -rf "$SDK_TMP"
    fi
}
trap sdk_cleanup EXIT

# fail MESSAGE...: prints the message (and the server logs) and ends the test.
fail() {
    local f
    SDK_FAILED=1
    echo "FAIL: $*" >&2
    for f in "$SDK_TMP"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
    exit 1
}

ok() {
    echo "ok - $*"
}

# need_node: the helpers below use Node.js for JSON and free ports.
need_node() {
    command -v "$NODE" >/dev/null 2>&1 ||
        fail "Node.js not found (set NODE or install node; scripts/deps.sh does)"
}

free_port() {
    "$NODE" "$SDK_HERE/util.mjs" port
}

# json EXPR: evaluates a JavaScript expression over the JSON on stdin, bound to `j`.
json() {
    "$NODE" "$SDK_HERE/util.mjs" json "$1"
}

# http METHOD URL [BODY] [HEADER...]: one request with curl. Sets STATUS (the HTTP status)
# and BODY (the reply text). BODY "" sends no body.
http() {
    local method=$1 url=$2 data=${3:-} out="$SDK_TMP/reply.txt"
    local args=(-sS -o "$out" -w '%{http_code}' -X "$method" --max-time 10)
    shift 3 2>/dev/null || shift $#
    local h
    for h in "$@"; do
        args+=(-H "$h")
    done
    if [ -n "$data" ]; then
        args+=(-H 'content-type: application/json' --data-binary "$data")
    fi
    STATUS=$(curl "${args[@]}" "$url") || fail "curl $method $url failed"
    BODY=$(cat "$out")
}

# expect_status WANT WHAT: checks STATUS from the last http call.
expect_status() {
    [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS: $BODY"
}

# start_server NAME INI [VAR=value...]: starts SERVER (a nettu-server binary) on the INI
# file with the given environment overrides plus NETTU_SERVER_PORT, in the folder $SDK_TMP,
# logging to $SDK_TMP/NAME.log; waits until GET /api/v1/ answers. Sets PORT and SERVER_PID.
# Retries on another port when the chosen one was taken in the meantime.
start_server() {
    local name=$1 ini=$2 log="$SDK_TMP/$1.log" _try _tick
    shift 2
    for _try in 1 2 3; do
        PORT=$(free_port) || fail "no free port"
        (cd "$SDK_TMP" && exec env "$@" NETTU_SERVER_PORT="$PORT" "$SERVER" -c "$ini") \
            >"$log" 2>&1 &
        SERVER_PID=$!
        SDK_PIDS+=("$SERVER_PID")
        for _tick in $(seq 1 100); do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                break
            fi
            if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/api/v1/"; then
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            fail "$name: the server did not answer on port $PORT within 10 s"
        fi
        wait "$SERVER_PID" 2>/dev/null || true
        unset 'SDK_PIDS[${#SDK_PIDS[@]}-1]'
        grep -q "cannot listen" "$log" || fail "$name: the server exited at start"
    done
    fail "$name: no port could be bound"
}

# stop_server PID NAME: SIGTERM, then the server must exit 0 (a graceful shutdown). The pid
# is forgotten once reaped, so the exit trap never signals a reused pid.
stop_server() {
    local rc=0 pid keep=()
    kill -TERM "$1" 2>/dev/null || fail "$2: the server is not running any more"
    wait "$1" || rc=$?
    for pid in "${SDK_PIDS[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    SDK_PIDS=("${keep[@]}")
    [ "$rc" = 0 ] || fail "$2: the server exited with $rc after SIGTERM"
}

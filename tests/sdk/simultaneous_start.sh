#!/usr/bin/env bash
# Two server instances started at the same moment on one new database (store contract C8
# and the default account's transaction): several rounds, each on a fresh database file.
# Both must come up and answer GET /api/v1/ (health); each migration is applied and recorded
# exactly once (nettu_migrations, and one "applied migration" line across both logs); the
# default account, configured identically on both, exists once and works on both.
#
# Environment: NETTU_SERVER and NETTU_PLUGIN_DIR (required), NODE, NETTU_SDK_KEEP=1 (see
# lib.sh), ROUNDS (default 5).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERVER=${NETTU_SERVER:?set NETTU_SERVER to the nettu-server binary}
PLUGINS=${NETTU_PLUGIN_DIR:?set NETTU_PLUGIN_DIR to the build plugin folder}
ROUNDS=${ROUNDS:-5}
need_node
command -v sqlite3 >/dev/null || fail "the sqlite3 command-line tool is needed (scripts/deps.sh)"

KEY="sk_simul$(date +%s%N | tail -c 16)"
ACCOUNT_ID="6f1b0c2e-3d4a-4b5c-8d6e-7f8091a2b3c4"

cat >"$SDK_TMP/simul.ini" <<INI
[server]
listen = 127.0.0.1
port = 5000
workers = 2

[plugins]
dir = $PLUGINS
load = store_sqlite, auth_nettu, policy, account, user, calendar, events

[store_sqlite]
path = var/nettu.db
INI

# up NAME PORT PID: waits until the server answers GET /api/v1/ (10 s), or fails when it
# exited.
up() {
    local _tick
    for _tick in $(seq 1 100); do
        kill -0 "$3" 2>/dev/null || fail "$1 exited at start (round $round)"
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$2/api/v1/"; then
            return 0
        fi
        sleep 0.1
    done
    fail "$1 did not answer on port $2 within 10 s (round $round)"
}

for round in $(seq 1 "$ROUNDS"); do
    dir="$SDK_TMP/round$round"
    mkdir -p "$dir"
    PORT_A=$(free_port) || fail "no free port"
    PORT_B=$(free_port) || fail "no free port"
    [ "$PORT_A" != "$PORT_B" ] || PORT_B=$(free_port)
    # Both at once, same database, same default account.
    for n in a b; do
        port=$PORT_A
        [ "$n" = a ] || port=$PORT_B
        (cd "$dir" && exec env NETTU_SERVER_PORT="$port" NETTU_STORE_SQLITE_PATH="$dir/nettu.db" \
            ACCOUNT_API_KEY="$KEY" ACCOUNT_ID="$ACCOUNT_ID" "$SERVER" -c "$SDK_TMP/simul.ini") \
            >"$SDK_TMP/$n.log" 2>&1 &
        SDK_PIDS+=("$!")
        [ "$n" = a ] && PID_A=$! || PID_B=$!
    done
    up a "$PORT_A" "$PID_A"
    up b "$PORT_B" "$PID_B"
    for port in "$PORT_A" "$PORT_B"; do
        http GET "http://127.0.0.1:$port/api/v1/account" "" "x-api-key: $KEY"
        expect_status 200 "round $round: GET /account on port $port"
        [ "$(json 'j.account.id' <<<"$BODY")" = "$ACCOUNT_ID" ] || fail "wrong account: $BODY"
    done
    counts=$(sqlite3 "$dir/nettu.db" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT plugin || '/' || version) FROM nettu_migrations")
    total=${counts%% *}
    distinct=${counts##* }
    [ "$total" = "$distinct" ] || fail "round $round: a migration was recorded twice ($counts)"
    [ "$total" -ge 4 ] || fail "round $round: only $total migrations recorded"
    applied=$(cat "$SDK_TMP/a.log" "$SDK_TMP/b.log" | grep -c "applied migration" || true)
    [ "$applied" = "$total" ] ||
        fail "round $round: $applied 'applied migration' lines for $total migrations"
    accounts=$(sqlite3 "$dir/nettu.db" "SELECT COUNT(*) FROM account_accounts")
    [ "$accounts" = 1 ] || fail "round $round: $accounts default accounts"
    stop_server "$PID_A" a
    stop_server "$PID_B" b
    if grep -q "ERROR" "$SDK_TMP/a.log" "$SDK_TMP/b.log"; then
        fail "round $round: errors logged: $(grep -h ERROR "$SDK_TMP/a.log" "$SDK_TMP/b.log")"
    fi
    ok "round $round: both instances up on one new database; $total migrations applied once each; one default account"
done

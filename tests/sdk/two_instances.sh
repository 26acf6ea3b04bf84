#!/usr/bin/env bash
# Two server instances side by side from etc/two-instances/a.ini and b.ini (the files as
# shipped; only the port, database path and plugin folder are overridden through the
# environment, NETTU_<SECTION>_<KEY>): each serves only its own configuration. Then
# --check-config accepts every shipped INI file and refuses a misspelled key, naming its line.
#
# Environment: NETTU_SERVER and NETTU_PLUGIN_DIR (required: the build's server and plugin
# folder), NETTU_SOURCE_DIR (default: two folders up), NODE, NETTU_SDK_KEEP=1 (see lib.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERVER=${NETTU_SERVER:?set NETTU_SERVER to the nettu-server binary}
PLUGINS=${NETTU_PLUGIN_DIR:?set NETTU_PLUGIN_DIR to the build plugin folder}
SRC=${NETTU_SOURCE_DIR:-$(cd "$SDK_HERE/../.." && pwd)}
A_INI="$SRC/etc/two-instances/a.ini"
B_INI="$SRC/etc/two-instances/b.ini"
need_node

# Distinct secrets per instance, never written to a file.
KEY_A="sk_instA$(date +%s%N | tail -c 16)"
KEY_B="sk_instB$(date +%s%N | tail -c 16)"
SECRET_A="secret-a-$(date +%s%N)"
SECRET_B="secret-b-$(date +%s%N)"

# ---- 1. both instances up -------------------------------------------------------------------
start_server a "$A_INI" NETTU_PLUGINS_DIR="$PLUGINS" NETTU_STORE_SQLITE_PATH="$SDK_TMP/a/nettu.db" \
    NETTU_ACCOUNT_DEFAULT_API_KEY="$KEY_A" NETTU_ACCOUNT_CREATE_ACCOUNT_SECRET="$SECRET_A"
A="http://127.0.0.1:$PORT/api/v1"
A_PID=$SERVER_PID
start_server b "$B_INI" NETTU_PLUGINS_DIR="$PLUGINS" NETTU_STORE_SQLITE_PATH="$SDK_TMP/b/nettu.db" \
    NETTU_ACCOUNT_DEFAULT_API_KEY="$KEY_B" NETTU_ACCOUNT_CREATE_ACCOUNT_SECRET="$SECRET_B"
B="http://127.0.0.1:$PORT/api/v1"
B_PID=$SERVER_PID
[ "$A" != "$B" ] || fail "both instances got the same port"
if [ ! -f "$SDK_TMP/a/nettu.db" ] || [ ! -f "$SDK_TMP/b/nettu.db" ]; then
    fail "each instance must create its own database"
fi
ok "instances A ($A) and B ($B) run side by side, each with its own database"

# ---- 2. plugin sets: calendars on A only -------------------------------------------------------
http POST "$A/user" '{}' "x-api-key: $KEY_A"
expect_status 201 "A: POST /user"
USER_A=$(json 'j.user.id' <<<"$BODY")
http POST "$A/user/$USER_A/calendar" '{"timezone": "Europe/Oslo"}' "x-api-key: $KEY_A"
expect_status 201 "A: POST /user/{userId}/calendar"

http POST "$B/user" '{}' "x-api-key: $KEY_B"
expect_status 201 "B: POST /user"
USER_B=$(json 'j.user.id' <<<"$BODY")
http POST "$B/user/$USER_B/calendar" '{"timezone": "Europe/Oslo"}' "x-api-key: $KEY_B"
expect_status 404 "B (no calendar plugin): POST /user/{userId}/calendar"
[ "$(json "j.error === 'not_found' && j.message.includes('no route')" <<<"$BODY")" = true ] ||
    fail "B must answer 404 'no route', got: $BODY"
http GET "$B/calendar/meta?key=a&value=b" "" "x-api-key: $KEY_B"
expect_status 404 "B: GET /calendar/meta"
tables=$(sqlite3 "$SDK_TMP/b/nettu.db" "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'calendar%'")
[ -z "$tables" ] || fail "B's database must have no calendar tables: $tables"
ok "A creates calendars (201); B, without the calendar plugin, answers 404 and has no calendar tables"

# ---- 3. accounts: separate databases, separate secrets --------------------------------------
http POST "$A/account" "{\"code\": \"$SECRET_A\"}"
expect_status 201 "A: POST /account"
NEW_KEY=$(json 'j.secretApiKey' <<<"$BODY")
http GET "$A/account" "" "x-api-key: $NEW_KEY"
expect_status 200 "A: GET /account with the new account's key"
http GET "$B/account" "" "x-api-key: $NEW_KEY"
expect_status 401 "B: GET /account with the key of an account created on A"
http GET "$B/account" "" "x-api-key: $KEY_A"
expect_status 401 "B: GET /account with A's default key"
http GET "$A/account" "" "x-api-key: $KEY_B"
expect_status 401 "A: GET /account with B's default key"
http POST "$B/account" "{\"code\": \"$SECRET_A\"}"
expect_status 401 "B: POST /account with A's secret"
http GET "$B/user/$USER_A" "" "x-api-key: $KEY_B"
expect_status 404 "B: GET /user/{userId} of A's user"
ok "an account (and user) created on A does not exist on B; secrets are per instance"

stop_server "$A_PID" a
stop_server "$B_PID" b
if grep -q "ACCESS" "$SDK_TMP/b.log"; then
    fail "B has access_log = off but logged requests"
fi
grep -q "ACCESS POST /api/v1/user/$USER_A/calendar 201" "$SDK_TMP/a.log" ||
    fail "A has access_log = on but did not log the calendar request"
ok "each instance logs as its own file says (A: access log; B: warnings only)"

# ---- 4. --check-config ---------------------------------------------------------------------
check() { # check INI: runs --check-config from the source root; sets CHECK_RC and CHECK_OUT
    CHECK_RC=0
    CHECK_OUT=$(cd "$SRC" && NETTU_PLUGINS_DIR="$PLUGINS" "$SERVER" --check-config -c "$1" 2>&1) ||
        CHECK_RC=$?
}
for ini in etc/nettu.ini etc/two-instances/a.ini etc/two-instances/b.ini; do
    check "$ini"
    [ "$CHECK_RC" = 0 ] || fail "--check-config $ini: exit $CHECK_RC: $CHECK_OUT"
    grep -q "^$ini: OK" <<<"$CHECK_OUT" || fail "--check-config $ini: no OK line: $CHECK_OUT"
done
ok "--check-config accepts etc/nettu.ini and etc/two-instances/{a,b}.ini"

# A copy of a.ini with a misspelled plugin key and a misspelled server key.
BAD="$SDK_TMP/bad.ini"
sed -e 's/^synchronous =/synchronus =/' -e 's/^workers =/wrokers =/' "$A_INI" >"$BAD"
line_plugin=$(grep -n '^synchronus =' "$BAD" | cut -d: -f1)
line_server=$(grep -n '^wrokers =' "$BAD" | cut -d: -f1)
if [ -z "$line_plugin" ] || [ -z "$line_server" ]; then
    fail "a.ini no longer has the keys this test misspells"
fi
check "$BAD"
[ "$CHECK_RC" != 0 ] || fail "--check-config accepted a misspelled key: $CHECK_OUT"
grep -qF "$BAD:$line_plugin: [store_sqlite] synchronus: unknown key" <<<"$CHECK_OUT" ||
    fail "--check-config must name $BAD:$line_plugin and the key: $CHECK_OUT"
grep -qF "$BAD:$line_server: [server] wrokers: unknown key" <<<"$CHECK_OUT" ||
    fail "--check-config must name $BAD:$line_server and the key: $CHECK_OUT"
ok "--check-config refuses misspelled keys (exit $CHECK_RC), naming file, line and key"

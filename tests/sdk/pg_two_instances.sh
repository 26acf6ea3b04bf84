#!/usr/bin/env bash
# etc/pg-two-instances/a.ini and b.ini as shipped (only the port, plugin folder, conninfo and
# the default account's key are overridden through the environment, NETTU_<SECTION>_<KEY>):
# both pass --check-config, start together on one new PostgreSQL database, and serve the same
# data: a user created on A is read, changed and deleted through B, and A sees it.
#
# Environment: NETTU_SERVER, NETTU_PLUGIN_DIR (required), NETTU_PG_DIR (the cluster folder of
# the ctest fixture `pg`, tests/support/pg_cluster.sh), NETTU_SOURCE_DIR, NODE (see lib.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERVER=${NETTU_SERVER:?set NETTU_SERVER to the nettu-server binary}
PLUGINS=${NETTU_PLUGIN_DIR:?set NETTU_PLUGIN_DIR to the build plugin folder}
PG_DIR=${NETTU_PG_DIR:?set NETTU_PG_DIR to a cluster folder of tests/support/pg_cluster.sh}
SRC=${NETTU_SOURCE_DIR:-$(cd "$SDK_HERE/../.." && pwd)}
need_node

for ini in etc/pg-two-instances/a.ini etc/pg-two-instances/b.ini; do
    out=$(cd "$SRC" && NETTU_PLUGINS_DIR="$PLUGINS" "$SERVER" --check-config -c "$ini" 2>&1) ||
        fail "--check-config $ini: $out"
    grep -q "^$ini: OK" <<<"$out" || fail "--check-config $ini: no OK line: $out"
done
ok "--check-config accepts etc/pg-two-instances/{a,b}.ini"

DB="sdk_pg2_$(date +%s%N | tail -c 10)"
CONNINFO=$("$SRC/tests/support/pg_cluster.sh" createdb "$PG_DIR" "$DB") || fail "createdb $DB"
KEY="sk_pgtwo$(date +%s%N | tail -c 23)"
ENV=(NETTU_PLUGINS_DIR="$PLUGINS" NETTU_STORE_PG_CONNINFO="$CONNINFO"
    NETTU_ACCOUNT_DEFAULT_API_KEY="$KEY" NETTU_ACCOUNT_CREATE_ACCOUNT_SECRET="secret-$DB")
start_server a "$SRC/etc/pg-two-instances/a.ini" "${ENV[@]}"
A="http://127.0.0.1:$PORT/api/v1"
A_PID=$SERVER_PID
start_server b "$SRC/etc/pg-two-instances/b.ini" "${ENV[@]}"
B="http://127.0.0.1:$PORT/api/v1"
B_PID=$SERVER_PID
ok "A ($A) and B ($B) run on one database"

http POST "$A/user" '{"metadata": {"team": "a"}}' "x-api-key: $KEY"
expect_status 201 "A: POST /user"
USER=$(json 'j.user.id' <<<"$BODY")
http GET "$B/user/$USER" "" "x-api-key: $KEY"
expect_status 200 "B: GET /user/{id} of a user made on A"
http PUT "$B/user/$USER" '{"metadata": {"team": "b"}}' "x-api-key: $KEY"
expect_status 200 "B: PUT /user/{id}"
http GET "$A/user/$USER" "" "x-api-key: $KEY"
expect_status 200 "A: GET /user/{id}"
[ "$(json 'j.user.metadata.team' <<<"$BODY")" = b ] || fail "A must see B's change: $BODY"
http DELETE "$B/user/$USER" "" "x-api-key: $KEY"
expect_status 200 "B: DELETE /user/{id}"
http GET "$A/user/$USER" "" "x-api-key: $KEY"
expect_status 404 "A: GET /user/{id} after B deleted it"
ok "a user made on A is read, changed and deleted through B, and A sees each change"

stop_server "$B_PID" b
stop_server "$A_PID" a
ok "both stop cleanly"

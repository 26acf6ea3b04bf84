#!/usr/bin/env bash
# The plugin SDK end to end: install the build into a temporary prefix, build the example
# plugin examples/audit there with nothing but pkg-config (no path into the source tree),
# build and run its unit test against the installed fake host (libnettu-fakehost.a,
# nettu-fakehost.pc), drop the plugin into the installed plugin folder, run the installed
# server with it and check the audit log it keeps through HTTP.
#
# Environment: NETTU_BUILD_DIR (required: a configured and built tree), NETTU_SOURCE_DIR
# (default: two folders up), NODE, NETTU_SDK_KEEP=1 (see lib.sh).
# The JSON checks below are JavaScript with template strings: single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BUILD=${NETTU_BUILD_DIR:?set NETTU_BUILD_DIR to the CMake build folder}
SRC=${NETTU_SOURCE_DIR:-$(cd "$SDK_HERE/../.." && pwd)}
PREFIX="$SDK_TMP/prefix"
need_node

# ---- 1. install ------------------------------------------------------------------------
cmake --install "$BUILD" --prefix "$PREFIX" >"$SDK_TMP/install.log" 2>&1 ||
    fail "cmake --install: $(tail -n 5 "$SDK_TMP/install.log")"
for f in bin/nettu-server include/nettu/plugin.h include/nettu/services.h \
    include/nettu/fakehost.h lib/libnettu-fakehost.a lib/pkgconfig/nettu-fakehost.pc \
    lib/pkgconfig/nettu-plugin.pc etc/nettu/nettu.ini lib/nettu/plugins/store_sqlite.so \
    lib/nettu/plugins/auth_nettu.so lib/nettu/plugins/policy.so lib/nettu/plugins/account.so \
    lib/nettu/plugins/user.so lib/nettu/plugins/calendar.so; do
    [ -f "$PREFIX/$f" ] || fail "cmake --install did not install $f"
done
ok "cmake --install --prefix installs the server, plugins, headers, fake host, pkg-config files and config"

export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
[ "$(pkg-config --variable=plugindir nettu-plugin)" = "$PREFIX/lib/nettu/plugins" ] ||
    fail "plugindir is $(pkg-config --variable=plugindir nettu-plugin)"
[ "$(pkg-config --modversion nettu-plugin)" = "$(sed -n 's/^project(nettu VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")" ] ||
    fail "nettu-plugin version $(pkg-config --modversion nettu-plugin) is not the project's"
pkg-config --cflags nettu-plugin | grep -q -- "-I$PREFIX/include" ||
    fail "Cflags lack -I$PREFIX/include: $(pkg-config --cflags nettu-plugin)"
ok "nettu-plugin.pc: Cflags, plugindir and version"

# The installed default config works from any folder (absolute paths).
(cd / && "$PREFIX/bin/nettu-server" --check-config -c "$PREFIX/etc/nettu/nettu.ini") \
    >"$SDK_TMP/check-installed.log" 2>&1 ||
    fail "the installed etc/nettu/nettu.ini does not pass --check-config from /: $(cat "$SDK_TMP/check-installed.log")"
ok "installed etc/nettu/nettu.ini passes --check-config from /"

# Without -c the installed server reads the config of its own prefix.
(cd / && env -i PATH="$PATH" "$PREFIX/bin/nettu-server" --check-config) \
    >"$SDK_TMP/check-default.log" 2>&1 ||
    fail "the installed server without -c does not pass --check-config: $(cat "$SDK_TMP/check-default.log")"
grep -q "^$PREFIX/etc/nettu/nettu.ini: OK" "$SDK_TMP/check-default.log" ||
    fail "without -c the installed server did not read $PREFIX/etc/nettu/nettu.ini: $(cat "$SDK_TMP/check-default.log")"
ok "the installed server's default -c is $PREFIX/etc/nettu/nettu.ini"

# The systemd unit is generated with the install paths and checks the config before starting.
UNIT="$PREFIX/lib/systemd/system/nettu.service"
[ -f "$UNIT" ] || fail "cmake --install did not install lib/systemd/system/nettu.service"
grep -qx "ExecStartPre=$PREFIX/bin/nettu-server -c $PREFIX/etc/nettu/nettu.ini --check-config" "$UNIT" ||
    fail "the unit lacks ExecStartPre with --check-config and the prefix's paths: $(grep Exec "$UNIT")"
grep -qx "ExecStart=$PREFIX/bin/nettu-server -c $PREFIX/etc/nettu/nettu.ini" "$UNIT" ||
    fail "the unit's ExecStart does not name the prefix's paths: $(grep Exec "$UNIT")"
! grep -q "@NETTU_PREFIX@\|/usr/local" "$UNIT" || fail "the unit names paths of another prefix"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify "$UNIT" >"$SDK_TMP/verify.log" 2>&1 || true
    ! grep -qi "unknown key\|unknown section\|invalid" "$SDK_TMP/verify.log" ||
        fail "systemd-analyze verify: $(cat "$SDK_TMP/verify.log")"
fi
ok "lib/systemd/system/nettu.service names $PREFIX and runs --check-config in ExecStartPre"

# ---- 2. build the example out of tree ------------------------------------------------------
mkdir -p "$SDK_TMP/audit"
cp "$SRC/examples/audit/audit.c" "$SRC/examples/audit/Makefile" "$SDK_TMP/audit/"
# A clean environment: the only way to nettu's headers is the pkg-config file.
env -i PATH="$PATH" PKG_CONFIG_PATH="$PKG_CONFIG_PATH" make -C "$SDK_TMP/audit" audit.so install \
    >"$SDK_TMP/make.log" 2>&1 || fail "building examples/audit: $(cat "$SDK_TMP/make.log")"
if grep -q -- "$SRC" "$SDK_TMP/make.log"; then
    fail "the example's build reached into the source tree: $(cat "$SDK_TMP/make.log")"
fi
[ -f "$PREFIX/lib/nettu/plugins/audit.so" ] || fail "make install did not install audit.so"
exports=$(nm -D --defined-only "$PREFIX/lib/nettu/plugins/audit.so" | awk '{print $3}')
[ "$exports" = nt_plugin_entry ] || fail "audit.so exports more than nt_plugin_entry: $exports"
ok "examples/audit builds with pkg-config alone and exports only nt_plugin_entry"

# ---- 2b. its unit test, against the installed fake host ---------------------------------------
[ "$(pkg-config --variable=plugindir nettu-fakehost)" = "$PREFIX/lib/nettu/plugins" ] ||
    fail "nettu-fakehost plugindir is $(pkg-config --variable=plugindir nettu-fakehost)"
pkg-config --libs nettu-fakehost | grep -q -- "-lnettu-fakehost" ||
    fail "nettu-fakehost Libs: $(pkg-config --libs nettu-fakehost)"
cp "$SRC/examples/audit/test_audit.c" "$SDK_TMP/audit/"
env -i PATH="$PATH" PKG_CONFIG_PATH="$PKG_CONFIG_PATH" ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
    ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} ${TSAN_OPTIONS:+TSAN_OPTIONS="$TSAN_OPTIONS"} \
    make -C "$SDK_TMP/audit" check >"$SDK_TMP/check.log" 2>&1 ||
    fail "make check of examples/audit: $(tail -n 20 "$SDK_TMP/check.log")"
if grep -q -- "$SRC" "$SDK_TMP/check.log"; then
    fail "the unit test's build reached into the source tree: $(cat "$SDK_TMP/check.log")"
fi
grep -q "^100%: Checks: [1-9][0-9]*, Failures: 0, Errors: 0" "$SDK_TMP/check.log" ||
    fail "the unit test did not pass: $(tail -n 20 "$SDK_TMP/check.log")"
ok "examples/audit's unit test builds against the installed fake host and passes ($(grep -o 'Checks: [0-9]*' "$SDK_TMP/check.log"))"

# ---- 3. run the installed server with the plugin ------------------------------------------
KEY_A="sk_sdkA$(date +%s%N | tail -c 20)"
SECRET="create-$(date +%s%N)"
cat >"$SDK_TMP/audit.ini" <<EOF
[server]
listen = 127.0.0.1
port = 5000
workers = 2

[plugins]
dir = $PREFIX/lib/nettu/plugins
load = store_sqlite, auth_nettu, policy, account, user, calendar, audit

[store_sqlite]
path = $SDK_TMP/var/nettu.db

[account]
default_api_key = $KEY_A
create_account_secret = $SECRET
EOF
SERVER="$PREFIX/bin/nettu-server"
start_server audit "$SDK_TMP/audit.ini"
URL="http://127.0.0.1:$PORT/api/v1"
PID=$SERVER_PID
ok "the installed server runs with audit.so on port $PORT"

http GET "$URL/account" "" "x-api-key: $KEY_A"
expect_status 200 "GET /account with the default key"
ACCOUNT_A=$(json 'j.account.id' <<<"$BODY")

# Writes of account A: a user, a calendar, a metadata update. A failing write and a read
# must not be recorded.
http POST "$URL/user" '{}' "x-api-key: $KEY_A"
expect_status 201 "POST /user"
USER_A=$(json 'j.user.id' <<<"$BODY")
http POST "$URL/user/$USER_A/calendar" '{"timezone": "UTC"}' "x-api-key: $KEY_A"
expect_status 201 "POST /user/{userId}/calendar"
CAL_A=$(json 'j.calendar.id' <<<"$BODY")
http PUT "$URL/user/$USER_A" '{"metadata": {"team": "blue"}}' "x-api-key: $KEY_A"
expect_status 200 "PUT /user/{userId}"
http POST "$URL/user/$USER_A/calendar" '{"timezone": "Mars/Olympus"}' "x-api-key: $KEY_A"
expect_status 400 "POST /user/{userId}/calendar with a bad timezone"
http GET "$URL/user/$USER_A" "" "x-api-key: $KEY_A"
expect_status 200 "GET /user/{userId}"

# Account B (created through the public route, which has no principal and is not recorded)
# writes a user of its own.
http POST "$URL/account" "{\"code\": \"$SECRET\"}"
expect_status 201 "POST /account"
KEY_B=$(json 'j.secretApiKey' <<<"$BODY")
ACCOUNT_B=$(json 'j.account.id' <<<"$BODY")
http POST "$URL/user" '{}' "x-api-key: $KEY_B"
expect_status 201 "POST /user as account B"

# ---- 4. the audit log ----------------------------------------------------------------------
http GET "$URL/audit" "" "x-api-key: $KEY_A"
expect_status 200 "GET /audit as account A"
A_LOG=$BODY
got=$(json 'j.entries.map(e => `${e.method} ${e.route} ${e.status}`).join("|")' <<<"$A_LOG")
want="PUT /api/v1/user/{userId} 200|POST /api/v1/user/{userId}/calendar 201|POST /api/v1/user 201"
[ "$got" = "$want" ] || fail "account A's log, newest first: expected '$want', got '$got'"
[ "$(json "j.entries.every(e => e.accountId === '$ACCOUNT_A' && e.userId === null)" <<<"$A_LOG")" = true ] ||
    fail "account A's entries must name account A and no user (admin): $A_LOG"
[ "$(json "j.entries[0].params.userId === '$USER_A' && j.entries[1].params.userId === '$USER_A' && Object.keys(j.entries[2].params).length === 0" <<<"$A_LOG")" = true ] ||
    fail "path parameters of the entries: $A_LOG"
[ "$(json 'j.entries.every((e, i, a) => Number.isInteger(e.ts) && (i === 0 || a[i - 1].ts >= e.ts))' <<<"$A_LOG")" = true ] ||
    fail "entries must be newest first: $A_LOG"
ok "GET /audit shows account A's three writes (method, route, status, params), newest first"

if grep -q "$ACCOUNT_B" <<<"$A_LOG"; then
    fail "account A's log shows account B: $A_LOG"
fi
http GET "$URL/audit" "" "x-api-key: $KEY_B"
expect_status 200 "GET /audit as account B"
got=$(json "j.entries.map(e => \`\${e.accountId} \${e.method} \${e.route}\`).join('|')" <<<"$BODY")
[ "$got" = "$ACCOUNT_B POST /api/v1/user" ] || fail "account B's log: $got"
ok "each account sees only its own entries"

# Paging: limit, then before = the last entry's ts; together they give the whole log once.
http GET "$URL/audit?limit=2" "" "x-api-key: $KEY_A"
expect_status 200 "GET /audit?limit=2"
PAGE1=$BODY
n1=$(json 'j.entries.length' <<<"$PAGE1")
[ "$n1" -ge 2 ] || fail "limit=2 gave $n1 entries"
before=$(json 'j.entries[j.entries.length - 1].ts' <<<"$PAGE1")
http GET "$URL/audit?limit=2&before=$before" "" "x-api-key: $KEY_A"
expect_status 200 "GET /audit?limit=2&before=..."
PAGE2=$BODY
ids=$( (json 'j.entries.map(e => e.id).join("\n")' <<<"$PAGE1"; json 'j.entries.map(e => e.id).join("\n")' <<<"$PAGE2") | sort)
all=$(json 'j.entries.map(e => e.id).join("\n")' <<<"$A_LOG" | sort)
[ "$ids" = "$all" ] || fail "two pages do not give the log exactly once: $PAGE1 / $PAGE2 / $A_LOG"
ok "limit and before page through the log without gaps or repeats"

for q in "limit=0" "limit=501" "limit=abc" "before=-1" "before=1x"; do
    http GET "$URL/audit?$q" "" "x-api-key: $KEY_A"
    expect_status 400 "GET /audit?$q"
    field=${q%%=*}
    [ "$(json "j.error === 'bad_request' && j.message.startsWith('$field:')" <<<"$BODY")" = true ] ||
        fail "GET /audit?$q: the message must name $field: $BODY"
done
http GET "$URL/audit" ""
expect_status 401 "GET /audit without a key"
ok "bad limit/before answer 400 naming the parameter; no key answers 401"

# Deleting through the API is recorded too (with the calendar's id as its parameter).
http DELETE "$URL/user/calendar/$CAL_A" "" "x-api-key: $KEY_A"
expect_status 200 "DELETE /user/calendar/{calendarId}"
http GET "$URL/audit?limit=1" "" "x-api-key: $KEY_A"
[ "$(json "j.entries[0].method === 'DELETE' && j.entries[0].params.calendarId === '$CAL_A'" <<<"$BODY")" = true ] ||
    fail "the DELETE is not the newest entry: $BODY"
ok "DELETE is recorded with its path parameters"

stop_server "$PID" audit
if grep -q "WARN \[audit\]\|ERROR" "$SDK_TMP/audit.log"; then
    fail "the server logged warnings or errors: $(grep "WARN\|ERROR" "$SDK_TMP/audit.log")"
fi
ok "the server stops cleanly on SIGTERM with no warnings"

# ---- 5. restart: the log survives, the migration is not applied again, and entries that
# share a millisecond never straddle a page boundary --------------------------------------
command -v sqlite3 >/dev/null || fail "the sqlite3 command-line tool is needed (scripts/deps.sh)"
sql="INSERT INTO audit_log VALUES ('00000000-0000-4000-8000-000000000009', 999, '$ACCOUNT_A', NULL, 'POST', '/api/v1/tie', '{}', 201);"
for i in 1 2 3; do
    sql+="INSERT INTO audit_log VALUES ('00000000-0000-4000-8000-00000000000$i', 1000, '$ACCOUNT_A', NULL, 'POST', '/api/v1/tie', '{}', 201);"
done
sqlite3 "$SDK_TMP/var/nettu.db" "$sql" || fail "sqlite3 could not add the tied entries"
mv "$SDK_TMP/audit.log" "$SDK_TMP/audit-first.log"
start_server audit "$SDK_TMP/audit.ini"
URL="http://127.0.0.1:$PORT/api/v1"
PID=$SERVER_PID
if grep -q "applied migration" "$SDK_TMP/audit.log"; then
    fail "a migration was applied again on restart: $(grep "applied migration" "$SDK_TMP/audit.log")"
fi
http GET "$URL/audit?limit=2&before=1001" "" "x-api-key: $KEY_A"
expect_status 200 "GET /audit?limit=2&before=1001"
got=$(json 'j.entries.map(e => `${e.ts}:${e.id.slice(-1)}`).join(" ")' <<<"$BODY")
[ "$got" = "1000:3 1000:2 1000:1" ] || fail "a page must end at a millisecond boundary: $got"
http GET "$URL/audit?limit=2&before=1000" "" "x-api-key: $KEY_A"
got=$(json 'j.entries.map(e => `${e.ts}:${e.id.slice(-1)}`).join(" ")' <<<"$BODY")
[ "$got" = "999:9" ] || fail "the page before 1000: $got"
http GET "$URL/audit?limit=500" "" "x-api-key: $KEY_A"
[ "$(json 'j.entries.length' <<<"$BODY")" = 8 ] || fail "after the restart the log must hold 8 entries: $BODY"
stop_server "$PID" audit
ok "after a restart: the log is kept, migrations are not re-run, ties stay on one page"

/* Tests of the real calendar.so under the shared fake host (tests/support): the plugin is
 * loaded with dlopen, gets a fake nt_host_api that records its routes and migrations and
 * serves an in-memory SQLite database, and its handlers are called directly (all
 * but the timespan route). The "users" service it needs is the test's own, over a user_users table
 * the test makes; the "calendars" service it provides is tested too.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>
#include <nettu/services.h>

#include "fakehost.h"

#define ACC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define ACC_B "bbbbbbbb-0000-4000-8000-000000000002"
#define USER_A1 "aaaaaaaa-1111-4000-8000-000000000001"
#define USER_A2 "aaaaaaaa-2222-4000-8000-000000000002"
#define USER_B1 "bbbbbbbb-1111-4000-8000-000000000001"
#define NO_SUCH "cccccccc-0000-4000-8000-000000000000"

static fh_host *host;
static fh_plugin *plugin;
static int users_calls; /* how often the calendar plugin asked the users service */

/* The test's "users" service: membership from the test's user_users table. */
static int
users_in_account(void *state, nt_db *db, const char *account_id, const char *user_id)
{
    sqlite3_stmt *st = NULL;
    int rc;

    (void)state;
    (void)db;
    users_calls++;
    ck_assert_int_eq(
        sqlite3_prepare_v2(fh_sqlite(host),
                           "SELECT 1 FROM user_users WHERE id = ?1 AND account_id = ?2", -1, &st,
                           NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, account_id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_ROW ? NT_OK : NT_ENOTFOUND;
    sqlite3_finalize(st);
    return rc;
}

static const nt_users_v1 users_ops = {.size = sizeof(nt_users_v1), .in_account = users_in_account};

/* ---- fixture ----------------------------------------------------------------------------- */

static void
setup(void)
{
    host = fh_new();
    ck_assert_ptr_nonnull(host);
    plugin = fh_open(host, "calendar");
    ck_assert_msg(plugin != NULL, "%s", fh_log(host));
    ck_assert_uint_eq(fh_plugin_desc(plugin)->magic, NT_ABI_MAGIC);
    ck_assert_str_eq(fh_plugin_desc(plugin)->name, "calendar");

    ck_assert_int_eq(
        sqlite3_exec(fh_sqlite(host),
                     "CREATE TABLE account_accounts (id TEXT PRIMARY KEY);"
                     "CREATE TABLE user_users (id TEXT PRIMARY KEY, account_id TEXT NOT NULL "
                     " REFERENCES account_accounts(id) ON DELETE CASCADE,"
                     " metadata TEXT NOT NULL, created BIGINT NOT NULL);"
                     "INSERT INTO account_accounts VALUES ('" ACC_A "'), ('" ACC_B "');"
                     "INSERT INTO user_users VALUES ('" USER_A1 "', '" ACC_A "', '{}', 1),"
                     " ('" USER_A2 "', '" ACC_A "', '{}', 2), ('" USER_B1 "', '" ACC_B
                     "', '{}', 3);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    fh_clock_set(1000, 1);
    ck_assert_int_eq(fh_init(plugin), NT_OK);
    for (int i = 0; i < fh_migration_count(plugin); i++)
        ck_assert_int_eq(fh_migration_version(plugin, i), i + 1);
    ck_assert_msg(fh_migrate(host) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(fh_service_add(host, NT_SERVICE_USERS, "nettu", NT_USERS_V1, &users_ops, NULL),
                     NT_OK);
    ck_assert_msg(fh_start(plugin) == NT_OK, "%s", fh_log(host));
    users_calls = 0;
}

static void
teardown(void)
{
    fh_free(host);
    host = NULL;
    plugin = NULL;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static const nt_route *
route(const char *method, const char *path)
{
    const nt_route *r = fh_route(host, method, path);

    ck_assert_msg(r != NULL, "no route %s %s", method, path);
    return r;
}

/* Calls the handler of method+path as `user` (NULL = admin) of `account`, with an optional
 * path parameter and JSON body text. Returns the status or code; *out gets the reply. */
static int
call(const char *method, const char *path, const char *account, const char *user,
     const char *param_name, const char *param_value, const char *body, json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    route(method, path);
    if (param_name != NULL)
        ck_assert_int_eq(fh_req_add_param(q, param_name, param_value), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, account, user), NT_OK);
    if (body != NULL)
        ck_assert(fh_req_set_body_text(q, body, strlen(body), 0) == NT_OK);
    rc = fh_call(host, q, method, path, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "%s %s: %s", method, path, bad);
    if (rc < 0) {
        ck_assert_msg(*out == NULL, "%s %s: a reply with an error", method, path);
        ck_assert_msg(fh_req_fail_code(q) == rc, "%s %s: %d without fail()", method, path, rc);
    }
    if (msg != NULL)
        snprintf(msg, 512, "%s", fh_req_msg(q));
    ck_assert_int_eq(fh_in_transaction(host), 0); /* no transaction left open */
    fh_req_free(q);
    return rc;
}

/* Creates a calendar as admin of ACC_A for `user`; returns its id (malloc'd). */
static char *
create_admin(const char *user, const char *body)
{
    json_t *out;
    char *id;
    int rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", user, body, &out,
                  NULL);

    ck_assert_int_eq(rc, 201);
    id = strdup(json_string_value(json_object_get(json_object_get(out, "calendar"), "id")));
    json_decref(out);
    return id;
}

static int64_t
count(const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n;

    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Checks that *out is {"calendar": C} and that C equals the expected JSON text, id aside. */
static void
expect_calendar(json_t *out, const char *id, const char *want_text)
{
    json_t *cal = json_object_get(out, "calendar");
    json_t *want = json_loads(want_text, 0, NULL);

    ck_assert(want != NULL);
    ck_assert_int_eq(json_object_size(out), 1);
    ck_assert(cal != NULL);
    if (id != NULL)
        ck_assert_str_eq(json_string_value(json_object_get(cal, "id")), id);
    json_object_set(want, "id", json_object_get(cal, "id"));
    ck_assert_msg(json_equal(cal, want), "got %s", json_dumps(cal, JSON_SORT_KEYS | JSON_COMPACT));
    json_decref(want);
}

/* ---- tests ------------------------------------------------------------------------------- */

START_TEST(test_routes)
{
    static const struct {
        const char *method, *path;
        nt_auth_kind auth;
        const char *perm;
    } want[] = {
        {"POST", "/api/v1/calendar", NT_AUTH_USER, "CreateCalendar"},
        {"POST", "/api/v1/user/{userId}/calendar", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, NULL},
        {"GET", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL},
        {"PUT", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, "UpdateCalendar"},
        {"PUT", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL},
        {"DELETE", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, "DeleteCalendar"},
        {"DELETE", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/calendar/meta", NT_AUTH_ADMIN, NULL},
    };

    ck_assert_int_eq(fh_route_count(host), (int)(sizeof(want) / sizeof(want[0])));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const nt_route *r = route(want[i].method, want[i].path);
        ck_assert_int_eq(r->auth, want[i].auth);
        if (want[i].perm == NULL)
            ck_assert(r->perms == NULL || r->perms[0] == NULL);
        else
            ck_assert_str_eq(r->perms[0], want[i].perm);
    }
    ck_assert_int_eq(fh_migration_count(plugin), 2);
}
END_TEST

START_TEST(test_create)
{
    json_t *out;
    char msg[512];
    int rc;

    /* admin, for a user of the account; weekStart as a number */
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_A1,
              "{\"timezone\":\"Europe/Oslo\",\"weekStart\":3,\"metadata\":{\"team\":\"red\"}}",
              &out, NULL);
    ck_assert_int_eq(rc, 201);
    expect_calendar(out, NULL,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Thu\","
                    "\"timezone\":\"Europe/Oslo\"},\"metadata\":{\"team\":\"red\"}}");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata WHERE key = 'team' AND "
                           "value = 'red' AND account_id = '" ACC_A "'"),
                     1);

    /* end user, for itself; weekStart as a long name; metadata defaults to {} */
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A2, NULL, NULL,
              "{\"timezone\":\"UTC\",\"weekStart\":\"sunday\"}", &out, NULL);
    ck_assert_int_eq(rc, 201);
    expect_calendar(out, NULL,
                    "{\"userId\":\"" USER_A2 "\",\"settings\":{\"weekStart\":\"Sun\","
                    "\"timezone\":\"UTC\"},\"metadata\":{}}");
    json_decref(out);

    /* default weekStart */
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A2, NULL, NULL, "{\"timezone\":\"UTC\"}",
              &out, NULL);
    ck_assert_int_eq(rc, 201);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(out, "calendar"), "settings"), "weekStart")),
        "Mon");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 3);

    /* a user of another account, or no user at all: 404 */
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_B1,
              "{\"timezone\":\"UTC\"}", &out, msg);
    ck_assert_int_eq(rc, NT_ENOTFOUND);
    ck_assert_msg(strncmp(msg, "userId:", 7) == 0, "%s", msg);
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", NO_SUCH,
              "{\"timezone\":\"UTC\"}", &out, NULL);
    ck_assert_int_eq(rc, NT_ENOTFOUND);

    /* bad bodies: 400 and nothing stored */
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL,
              "{\"timezone\":\"Mars/Olympus\"}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: unknown IANA time zone 'Mars/Olympus'");
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL, "{}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: required");
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL,
              "{\"timezone\":\"UTC\",\"weekStart\":7}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL,
              "{\"timezone\":\"UTC\",\"weekStart\":\"Mo\"}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_A1,
              "{\"timezone\":\"UTC\",\"metadata\":{\"a\":1}}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 3);
}
END_TEST

START_TEST(test_get_scope)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");
    json_t *out;

    ck_assert_int_eq(call("GET", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          NULL, &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{}}");
    json_decref(out);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    json_decref(out);
    /* another user of the account, another account, an unknown id: 404 */
    ck_assert_int_eq(call("GET", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId", id,
                          NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", "/api/v1/calendar/{calendarId}", ACC_B, USER_B1, "calendarId", id,
                          NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_B, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          NO_SUCH, NULL, &out, NULL),
                     NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_update)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    json_t *out;
    char msg[512];

    /* flat form of the end-user client */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{\"timezone\":\"Europe/Berlin\",\"weekStart\":6}", &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Sun\","
                    "\"timezone\":\"Europe/Berlin\"},\"metadata\":{\"k\":\"v\"}}");
    json_decref(out);

    /* nested form of the admin client; metadata replaces */
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id,
                          "{\"settings\":{\"timezone\":\"Asia/Tokyo\",\"weekStart\":\"Tue\"},"
                          "\"metadata\":{\"x\":\"y\"}}",
                          &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Tue\","
                    "\"timezone\":\"Asia/Tokyo\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata"), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata WHERE key = 'x'"), 1);

    /* both: settings wins; no settings change and no metadata: nothing changes */
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id,
                          "{\"settings\":{\"weekStart\":0},\"weekStart\":4,"
                          "\"timezone\":\"UTC\"}",
                          &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{}", &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);

    /* any 400 changes nothing, even when other fields were fine */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{\"timezone\":\"Mars/Olympus\",\"weekStart\":3}", &out, msg),
                     NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: unknown IANA time zone 'Mars/Olympus'");
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{\"timezone\":\"GMT\",\"metadata\":{\"n\":2}}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, "{\"settings\":{\"weekStart\":7}}", &out, msg),
                     NT_EINVAL);
    ck_assert_msg(strncmp(msg, "settings.weekStart:", 19) == 0, "%s", msg);
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, "{\"settings\":5}", &out, msg),
                     NT_EINVAL);
    /* a bad body of a calendar that is not the caller's is still a 400 (body first) */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId", id,
                          "{\"weekStart\":\"Mo\"}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);

    /* not owned: 404 */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId", id,
                          "{\"timezone\":\"GMT\"}", &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_B, NULL, "calendarId",
                          id, "{\"timezone\":\"GMT\"}", &out, NULL),
                     NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_delete)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    char *id2 = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");
    json_t *out;

    ck_assert_int_eq(call("DELETE", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", "/api/v1/user/calendar/{calendarId}", ACC_B, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"k\":\"v\"}}");
    json_decref(out);
    ck_assert_int_eq(call("DELETE", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata"), 0);
    ck_assert_int_eq(call("DELETE", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id2, NULL, &out, NULL),
                     200);
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 0);
    free(id);
    free(id2);
}
END_TEST

START_TEST(test_user_cascade)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");

    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host),
                                  "DELETE FROM user_users WHERE id = '" USER_A1 "'", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata"), 0);
    free(id);
}
END_TEST

/* Runs GET /calendar/meta as admin of `account` with the given query; returns the status. */
static int
meta(const char *account, const char *key, const char *value, const char *skip, const char *limit,
     json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    int rc;

    const char *pairs[4][2] = {{"key", key}, {"value", value}, {"skip", skip}, {"limit", limit}};

    ck_assert_ptr_nonnull(q);
    route("GET", "/api/v1/calendar/meta");
    for (int k = 0; k < 4; k++)
        if (pairs[k][1] != NULL)
            ck_assert_int_eq(fh_req_add_query(q, pairs[k][0], pairs[k][1]), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, account, NULL), NT_OK);
    rc = fh_call(host, q, "GET", "/api/v1/calendar/meta", out);
    if (msg != NULL)
        snprintf(msg, 512, "%s", fh_req_msg(q));
    fh_req_free(q);
    return rc;
}

START_TEST(test_meta)
{
    char *ids[3];
    json_t *out, *list;
    char msg[512];

    ids[0] = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\"}}");
    ids[1] =
        create_admin(USER_A2, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\",\"x\":\"1\"}}");
    ids[2] = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"blue\"}}");
    ck_assert_int_eq(call("POST", "/api/v1/calendar", ACC_B, USER_B1, NULL, NULL,
                          "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\"}}", &out, NULL),
                     201);
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, "team", "red", NULL, NULL, &out, NULL), 200);
    list = json_object_get(out, "calendars");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[0]);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), ids[1]);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(list, 1), "metadata"), "x")),
                     "1");
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, "team", "red", "1", "5", &out, NULL), 200);
    list = json_object_get(out, "calendars");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[1]);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "0", "1", &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "calendars")), 1);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, "team", "green", NULL, NULL, &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "calendars")), 0);
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, NULL, "red", NULL, NULL, &out, msg), NT_EINVAL);
    ck_assert(out == NULL);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "undefined", NULL, &out, msg), NT_EINVAL);
    ck_assert(out == NULL);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}
END_TEST

/* The plugin asks the users service whether an admin's userId is in the account. */
START_TEST(test_users_service_used)
{
    json_t *out = NULL;
    char msg[512];

    ck_assert_int_eq(call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_B1,
                          "{\"timezone\":\"UTC\"}", &out, msg),
                     NT_ENOTFOUND);
    ck_assert_int_eq(users_calls, 1);
    ck_assert_ptr_nonnull(strstr(msg, USER_B1));
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 0);
}
END_TEST

/* Without a users service the plugin does not start, and says what it needs. */
START_TEST(test_start_needs_users)
{
    fh_host *h = fh_new();
    fh_plugin *p;

    ck_assert_ptr_nonnull(h);
    p = fh_open(h, "calendar");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fh_init(p), NT_OK);
    ck_assert_int_ne(fh_start(p), NT_OK);
    ck_assert_ptr_nonnull(strstr(fh_log(h), "needs service users"));
    fh_free(h);
}
END_TEST

static const nt_calendars_v1 *
calendars(void **state)
{
    const fh_service *s = fh_service_find(host, NT_SERVICE_CALENDARS, NULL);

    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "nettu");
    ck_assert_uint_eq(s->version, NT_CALENDARS_V1);
    ck_assert_uint_ge(*(const uint32_t *)s->ops, sizeof(nt_calendars_v1));
    *state = s->state;
    return s->ops;
}

/* calendars.get: account scope, user scope, settings and the wire object. */
START_TEST(test_calendars_service_get)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"Europe/Oslo\",\"weekStart\":\"Sun\","
                                     "\"metadata\":{\"k\":\"v\"}}");
    void *st;
    const nt_calendars_v1 *svc = calendars(&st);
    nt_calendar c;
    json_t *j = NULL, *out = NULL;

    ck_assert_int_eq(svc->get(st, fh_db(host), ACC_A, NULL, id, &c, &j), NT_OK);
    ck_assert_str_eq(c.id, id);
    ck_assert_str_eq(c.user_id, USER_A1);
    ck_assert_str_eq(c.account_id, ACC_A);
    ck_assert_str_eq(c.timezone, "Europe/Oslo");
    ck_assert_int_eq(c.week_start, 6);
    /* the wire object is the one GET /user/calendar/{id} answers */
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    ck_assert(json_equal(j, json_object_get(out, "calendar")));
    json_decref(out);
    json_decref(j);
    j = NULL;
    ck_assert_int_eq(svc->get(st, fh_db(host), ACC_A, USER_A1, id, &c, NULL), NT_OK);
    ck_assert_int_eq(svc->get(st, fh_db(host), ACC_A, USER_A2, id, &c, &j), NT_ENOTFOUND);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(svc->get(st, fh_db(host), ACC_B, NULL, id, &c, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(svc->get(st, fh_db(host), ACC_A, NULL, NO_SUCH, &c, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(svc->get(st, fh_db(host), NULL, NULL, id, &c, NULL), NT_ENOTFOUND);
    free(id);
}
END_TEST

/* calendars.list_by_users: only the account's calendars of the named users, ordered by user
 * then id, also when the users are more than one statement takes. */
START_TEST(test_calendars_service_list)
{
    char *a1 = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");
    char *a1b = create_admin(USER_A1, "{\"timezone\":\"Asia/Tokyo\",\"weekStart\":2}");
    char *a2 = create_admin(USER_A2, "{\"timezone\":\"UTC\"}");
    const char *users[3] = {USER_A2, USER_B1, USER_A1};
    const char *many[250];
    void *st;
    const nt_calendars_v1 *svc = calendars(&st);
    nt_calendar *v = NULL;
    size_t n = 0;
    json_t *out;

    ck_assert_int_eq(call("POST", "/api/v1/calendar", ACC_B, USER_B1, NULL, NULL,
                          "{\"timezone\":\"UTC\"}", &out, NULL),
                     201);
    json_decref(out);
    ck_assert_int_eq(svc->list_by_users(st, fh_db(host), ACC_A, users, 3, &v, &n), NT_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0].user_id, USER_A1);
    ck_assert_str_eq(v[1].user_id, USER_A1);
    ck_assert_str_eq(v[2].user_id, USER_A2);
    ck_assert_str_eq(v[2].id, a2);
    ck_assert_int_lt(strcmp(v[0].id, v[1].id), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(v[i].account_id, ACC_A);
        if (strcmp(v[i].id, a1b) == 0) {
            ck_assert_str_eq(v[i].timezone, "Asia/Tokyo");
            ck_assert_int_eq(v[i].week_start, 2);
        } else {
            ck_assert_str_eq(v[i].id, strcmp(v[i].user_id, USER_A1) == 0 ? a1 : a2);
        }
    }
    free(v);
    /* another account's users have nothing here */
    ck_assert_int_eq(svc->list_by_users(st, fh_db(host), ACC_B, users, 2, &v, &n), NT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0].user_id, USER_B1);
    free(v);
    ck_assert_int_eq(svc->list_by_users(st, fh_db(host), ACC_B, users, 1, &v, &n), NT_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(v);
    /* 250 ids: three statements, one sorted answer */
    for (int i = 0; i < 250; i++)
        many[i] = i == 7 ? USER_A2 : i == 249 ? USER_A1 : NO_SUCH;
    ck_assert_int_eq(svc->list_by_users(st, fh_db(host), ACC_A, many, 250, &v, &n), NT_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0].user_id, USER_A1);
    ck_assert_str_eq(v[2].user_id, USER_A2);
    free(v);
    free(a1);
    free(a1b);
    free(a2);
}
END_TEST

/* GET /calendar/meta caps `limit` at 100 (the shared metadata query). */
START_TEST(test_meta_limit_cap)
{
    json_t *out = NULL;
    char msg[512];

    ck_assert_int_eq(meta(ACC_A, "team", "red", NULL, "100", &out, NULL), 200);
    json_decref(out);
    out = NULL;
    ck_assert_int_eq(meta(ACC_A, "team", "red", NULL, "101", &out, msg), NT_EINVAL);
    ck_assert(out == NULL);
    ck_assert_msg(strstr(msg, "limit") != NULL && strstr(msg, "100") != NULL, "%s", msg);
}
END_TEST

static Suite *
calendar_plugin_suite(void)
{
    Suite *s = suite_create("calendar_plugin");
    TCase *tc = tcase_create("handlers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_routes);
    tcase_add_test(tc, test_create);
    tcase_add_test(tc, test_get_scope);
    tcase_add_test(tc, test_update);
    tcase_add_test(tc, test_delete);
    tcase_add_test(tc, test_user_cascade);
    tcase_add_test(tc, test_meta);
    tcase_add_test(tc, test_meta_limit_cap);
    tcase_add_test(tc, test_users_service_used);
    tcase_add_test(tc, test_start_needs_users);
    tcase_add_test(tc, test_calendars_service_get);
    tcase_add_test(tc, test_calendars_service_list);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(calendar_plugin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

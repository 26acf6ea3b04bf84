/* Tests of the real schedule.so under the shared fake host (tests/support), loaded with the
 * real account.so and user.so: the schedule routes (bodies, normalisation, scopes,
 * metadata, cascades) and the "schedules" service (owner, free time, budget).
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

#define NOW_MS 1907755200000LL /* 2030-06-15T12:00Z: the clock of every test */
#define DAY_MS 86400000LL
#define H_MS 3600000LL

#define S_CREATE_ADMIN "/api/v1/user/{userId}/schedule"
#define S_CREATE_USER "/api/v1/schedule"
#define S_USER "/api/v1/schedule/{scheduleId}"
#define S_ADMIN "/api/v1/user/schedule/{scheduleId}"
#define S_META "/api/v1/schedule/meta"

static fh_host *host;

/* The default week as printed. */
#define IVJ(sh, sm, eh, em)                                                                        \
    "{\"start\":{\"hours\":" #sh ",\"minutes\":" #sm "},\"end\":{\"hours\":" #eh                   \
    ",\"minutes\":" #em "}}"
#define WDAYJ(d, ivs)                                                                              \
    "{\"variant\":{\"type\":\"WDay\",\"value\":\"" d "\"},\"intervals\":[" ivs "]}"
#define DATEJ(d, ivs)                                                                              \
    "{\"variant\":{\"type\":\"Date\",\"value\":\"" d "\"},\"intervals\":[" ivs "]}"
#define DEFAULT_RULES                                                                              \
    "[" WDAYJ("Mon", IVJ(9, 0, 17, 30)) "," WDAYJ("Tue", IVJ(9, 0, 17, 30)) "," WDAYJ(             \
        "Wed",                                                                                     \
        IVJ(9, 0, 17, 30)) "," WDAYJ("Thu",                                                        \
                                     IVJ(9, 0, 17,                                                 \
                                         30)) "," WDAYJ("Fri",                                     \
                                                        IVJ(9, 0, 17,                              \
                                                            30)) "," WDAYJ("Sat",                  \
                                                                           "") "," WDAYJ("Sun",    \
                                                                                         "") "]"

/* ---- fixture ----------------------------------------------------------------------------- */

static void
setup(void)
{
    static const char *const names[] = {"account", "user", "schedule", NULL};

    host = fh_new();
    ck_assert_ptr_nonnull(host);
    fh_clock_set(NOW_MS, 0);
    ck_assert_int_eq(fh_config_set(host, "account", "create_account_secret", "s3cret"), NT_OK);
    ck_assert_msg(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(
        sqlite3_exec(fh_sqlite(host),
                     "INSERT INTO account_accounts (id, api_key_hash, created) VALUES"
                     " ('" ACC_A "', 'hash-a', 1), ('" ACC_B "', 'hash-b', 2);"
                     "INSERT INTO user_users (id, account_id, metadata, created) VALUES"
                     " ('" USER_A1 "', '" ACC_A "', '{}', 1), ('" USER_A2 "', '" ACC_A
                     "', '{}', 2), ('" USER_B1 "', '" ACC_B "', '{}', 3);",
                     NULL, NULL, NULL),
        SQLITE_OK);
}

static void
teardown(void)
{
    /* Every statement the plugins prepared was valid SQL. */
    ck_assert_msg(strstr(fh_log(host), "prepare failed") == NULL, "%s", fh_log(host));
    fh_free(host);
    host = NULL;
    fh_clock_set(0, 0);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static const nt_route *
route(const char *method, const char *path)
{
    const nt_route *r = fh_route(host, method, path);

    ck_assert_msg(r != NULL, "no route %s %s", method, path);
    return r;
}

/* Calls method+path as `user` (NULL = admin) of `account`, with an optional path parameter
 * (userId for the create route, else scheduleId) and JSON body text. Returns the status or
 * code; *out gets the reply, msg (512 bytes, may be NULL) the fail() message. */
static int
call(const char *method, const char *path, const char *account, const char *user, const char *param,
     const char *body, json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    route(method, path);
    if (param != NULL)
        ck_assert_int_eq(
            fh_req_add_param(q, strstr(path, "{userId}") ? "userId" : "scheduleId", param), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, account, user), NT_OK);
    if (body != NULL)
        ck_assert_msg(fh_req_set_body_text(q, body, strlen(body), FH_CORE_JSON_FLAGS) == NT_OK,
                      "bad test body %s", body);
    *out = NULL;
    rc = fh_call(host, q, method, path, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "%s %s: %s", method, path, bad);
    if (rc < 0) {
        ck_assert_msg(*out == NULL, "%s %s: a reply with an error", method, path);
        ck_assert_msg(fh_req_fail_code(q) == rc, "%s %s: %d without fail()", method, path, rc);
    } else {
        ck_assert_msg(*out != NULL, "%s %s: no reply", method, path);
    }
    if (msg != NULL)
        snprintf(msg, 512, "%s", fh_req_msg(q));
    ck_assert_int_eq(fh_in_transaction(host), 0);
    fh_req_free(q);
    return rc;
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

/* Checks that out is {"schedule": S} with S equal to the expected JSON text (id aside, but
 * equal to `id` when given); returns S's id (malloc'd). */
static char *
expect_schedule(json_t *out, const char *id, const char *want_text)
{
    json_t *s = json_object_get(out, "schedule");
    json_t *want = json_loads(want_text, 0, NULL);
    char *got;

    ck_assert_msg(want != NULL, "bad want JSON %s", want_text);
    ck_assert_int_eq(json_object_size(out), 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(json_object_size(s), 5);
    ck_assert(json_is_string(json_object_get(s, "id")));
    if (id != NULL)
        ck_assert_str_eq(json_string_value(json_object_get(s, "id")), id);
    json_object_set(want, "id", json_object_get(s, "id"));
    got = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_msg(json_equal(s, want), "got %s", got);
    free(got);
    json_decref(want);
    return strdup(json_string_value(json_object_get(s, "id")));
}

/* Creates a schedule as admin of ACC_A for `user`; returns its id (malloc'd). */
static char *
create_admin(const char *user, const char *body)
{
    json_t *out;
    char *id;

    ck_assert_int_eq(call("POST", S_CREATE_ADMIN, ACC_A, NULL, user, body, &out, NULL), 201);
    id = strdup(json_string_value(json_object_get(json_object_get(out, "schedule"), "id")));
    json_decref(out);
    return id;
}

static const fh_service *
schedules_service(void)
{
    const fh_service *s = fh_service_find(host, NT_SERVICE_SCHEDULES, "nettu");

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_ge(s->version, NT_SCHEDULES_V1);
    ck_assert_uint_ge(((const nt_schedules_v1 *)s->ops)->size, sizeof(nt_schedules_v1));
    return s;
}

/* ---- routes and creation ----------------------------------------------------------------- */

START_TEST(test_routes)
{
    static const struct {
        const char *method, *path;
        nt_auth_kind auth;
        const char *perm;
    } want[] = {
        {"POST", S_CREATE_USER, NT_AUTH_USER, "CreateSchedule"},
        {"POST", S_CREATE_ADMIN, NT_AUTH_ADMIN, NULL},
        {"GET", S_USER, NT_AUTH_USER, NULL},
        {"GET", S_ADMIN, NT_AUTH_ADMIN, NULL},
        {"PUT", S_USER, NT_AUTH_USER, "UpdateSchedule"},
        {"PUT", S_ADMIN, NT_AUTH_ADMIN, NULL},
        {"DELETE", S_USER, NT_AUTH_USER, "DeleteSchedule"},
        {"DELETE", S_ADMIN, NT_AUTH_ADMIN, NULL},
        {"GET", S_META, NT_AUTH_ADMIN, NULL},
    };
    int mine = 0;

    for (int i = 0; i < fh_route_count(host); i++)
        if (strstr(fh_route_at(host, i)->path, "schedule") != NULL)
            mine++;
    ck_assert_int_eq(mine, (int)(sizeof(want) / sizeof(want[0])));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const nt_route *r = route(want[i].method, want[i].path);
        ck_assert_int_eq(r->auth, want[i].auth);
        if (want[i].perm == NULL) {
            ck_assert(r->perms == NULL || r->perms[0] == NULL);
        } else {
            ck_assert_str_eq(r->perms[0], want[i].perm);
            ck_assert_ptr_null(r->perms[1]);
        }
    }
    schedules_service();
}
END_TEST

START_TEST(test_create)
{
    json_t *out;
    char msg[512], *id;

    /* admin, no rules: the default week; metadata stored and queryable */
    ck_assert_int_eq(call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_A1,
                          "{\"timezone\":\"Europe/Berlin\",\"metadata\":{\"team\":\"red\"}}", &out,
                          NULL),
                     201);
    id = expect_schedule(out, NULL,
                         "{\"userId\":\"" USER_A1
                         "\",\"timezone\":\"Europe/Berlin\",\"rules\":" DEFAULT_RULES
                         ",\"metadata\":{\"team\":\"red\"}}");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_metadata WHERE key = 'team' AND "
                           "value = 'red' AND account_id = '" ACC_A "'"),
                     1);
    free(id);

    /* end user, with rules: normalised (sorted, merged, dropped, dated outside the window);
     * weekdays in any accepted form printed short; extra fields ignored */
    ck_assert_int_eq(
        call("POST", S_CREATE_USER, ACC_A, USER_A2, NULL,
             "{\"timezone\":\"UTC\",\"userId\":\"" USER_B1 "\",\"rules\":["
             "{\"variant\":{\"type\":\"WDay\",\"value\":\"tuesday\"},\"intervals\":"
             "[" IVJ(13, 0, 14, 0) "," IVJ(9, 0, 12, 0) "," IVJ(11, 0, 13, 0) "," IVJ(
                 18, 0, 17, 0) "]},"
                               "{\"variant\":{\"type\":\"WDay\",\"value\":4},\"intervals\":[]},"
                               "{\"variant\":{\"type\":\"Date\",\"value\":\"2030-6-13\"},"
                               "\"intervals\":[]},"
                               "{\"variant\":{\"type\":\"Date\",\"value\":\"2030-06-14\"},"
                               "\"intervals\":[" IVJ(8, 0, 9, 0) "]}]}",
             &out, NULL),
        201);
    id = expect_schedule(
        out, NULL,
        "{\"userId\":\"" USER_A2
        "\",\"timezone\":\"UTC\",\"rules\":[" WDAYJ("Tue", IVJ(9, 0, 14, 0)) "," WDAYJ(
            "Fri", "") "," DATEJ("2030-06-14", IVJ(8, 0, 9, 0)) "],\"metadata\":{}}");
    json_decref(out);
    free(id);

    /* explicit empty rules: none, not the default week */
    ck_assert_int_eq(call("POST", S_CREATE_USER, ACC_A, USER_A2, NULL,
                          "{\"timezone\":\"UTC\",\"rules\":[],\"metadata\":null}", &out, NULL),
                     201);
    free(expect_schedule(out, NULL,
                         "{\"userId\":\"" USER_A2 "\",\"timezone\":\"UTC\",\"rules\":[],"
                         "\"metadata\":{}}"));
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_schedules"), 3);

    /* a user of another account, or none at all: 404 */
    ck_assert_int_eq(
        call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_B1, "{\"timezone\":\"UTC\"}", &out, msg),
        NT_ENOTFOUND);
    ck_assert_str_eq(msg, "userId: no user '" USER_B1 "' in this account");
    ck_assert_int_eq(
        call("POST", S_CREATE_ADMIN, ACC_A, NULL, NO_SUCH, "{\"timezone\":\"UTC\"}", &out, NULL),
        NT_ENOTFOUND);

    /* bad bodies: 400 naming the field, nothing stored */
    ck_assert_int_eq(call("POST", S_CREATE_USER, ACC_A, USER_A1, NULL, "{}", &out, msg), NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: required");
    ck_assert_int_eq(call("POST", S_CREATE_USER, ACC_A, USER_A1, NULL,
                          "{\"timezone\":\"Mars/Olympus\"}", &out, msg),
                     NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: unknown IANA time zone 'Mars/Olympus'");
    ck_assert_int_eq(
        call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_A1,
             "{\"timezone\":\"UTC\",\"rules\":[" WDAYJ("Mon", "") "," WDAYJ("Tue", "") "," WDAYJ(
                 "Wed", IVJ(9, 0, 17, 0) "," IVJ(24, 0, 1, 0)) "]}",
             &out, msg),
        NT_EINVAL);
    ck_assert_str_eq(msg, "rules[2].intervals[1].start.hours: expected 0..23");
    ck_assert_int_eq(call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_A1,
                          "{\"timezone\":\"UTC\",\"rules\":[{\"variant\":{\"type\":\"WDay\","
                          "\"value\":\"Funday\"},\"intervals\":[]}]}",
                          &out, msg),
                     NT_EINVAL);
    ck_assert_msg(strncmp(msg, "rules[0].variant.value: expected a weekday", 42) == 0, "%s", msg);
    ck_assert_int_eq(call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_A1,
                          "{\"timezone\":\"UTC\",\"rules\":[" DATEJ("2030-2-30", "") "]}", &out,
                          msg),
                     NT_EINVAL);
    ck_assert_msg(strncmp(msg, "rules[0].variant.value: expected a date", 39) == 0, "%s", msg);
    ck_assert_int_eq(call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_A1,
                          "{\"timezone\":\"UTC\",\"rules\":[{\"variant\":{\"type\":\"WDay\","
                          "\"value\":\"Mon\"}}]}",
                          &out, msg),
                     NT_EINVAL);
    ck_assert_str_eq(msg, "rules[0].intervals: required");
    ck_assert_int_eq(call("POST", S_CREATE_ADMIN, ACC_A, NULL, USER_A1,
                          "{\"timezone\":\"UTC\",\"metadata\":{\"a\":1}}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_schedules"), 3);
}
END_TEST

/* ---- scopes ------------------------------------------------------------------------------ */

START_TEST(test_get_scope)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"Asia/Kolkata\"}");
    json_t *out;
    char msg[512];

    ck_assert_int_eq(call("GET", S_USER, ACC_A, USER_A1, id, NULL, &out, NULL), 200);
    free(expect_schedule(out, id,
                         "{\"userId\":\"" USER_A1
                         "\",\"timezone\":\"Asia/Kolkata\",\"rules\":" DEFAULT_RULES
                         ",\"metadata\":{}}"));
    json_decref(out);
    ck_assert_int_eq(call("GET", S_ADMIN, ACC_A, NULL, id, NULL, &out, NULL), 200);
    json_decref(out);
    /* another user of the account (the original's missing check is not reproduced), a
     * user of another account, another account's admin, an unknown id: 404 */
    ck_assert_int_eq(call("GET", S_USER, ACC_A, USER_A2, id, NULL, &out, msg), NT_ENOTFOUND);
    ck_assert_msg(strncmp(msg, "scheduleId: no schedule", 23) == 0, "%s", msg);
    ck_assert_int_eq(call("GET", S_USER, ACC_B, USER_B1, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", S_ADMIN, ACC_B, NULL, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", S_ADMIN, ACC_A, NULL, NO_SUCH, NULL, &out, NULL), NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_update)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    json_t *out;
    char msg[512];

    /* timezone only: rules and metadata stay */
    ck_assert_int_eq(
        call("PUT", S_USER, ACC_A, USER_A1, id, "{\"timezone\":\"America/Santiago\"}", &out, NULL),
        200);
    free(expect_schedule(out, id,
                         "{\"userId\":\"" USER_A1
                         "\",\"timezone\":\"America/Santiago\",\"rules\":" DEFAULT_RULES
                         ",\"metadata\":{\"k\":\"v\"}}"));
    json_decref(out);

    /* rules replaced and normalised, metadata replaced */
    ck_assert_int_eq(
        call("PUT", S_ADMIN, ACC_A, NULL, id,
             "{\"rules\":[" WDAYJ(
                 "Sat", IVJ(10, 0, 11, 0) "," IVJ(11, 0, 12, 0) "," IVJ(
                            9, 0, 9, 30)) "," DATEJ("1999-1-1", "") "],\"metadata\":{\"x\":\"y\"}}",
             &out, NULL),
        200);
    free(expect_schedule(out, id,
                         "{\"userId\":\"" USER_A1
                         "\",\"timezone\":\"America/Santiago\",\"rules\":[" WDAYJ(
                             "Sat", IVJ(9, 0, 9, 30) "," IVJ(10, 0, 12, 0)) "],\"metadata\":"
                                                                            "{\"x\":\"y\"}}"));
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_metadata"), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_metadata WHERE key = 'x'"), 1);

    /* an empty body changes nothing */
    ck_assert_int_eq(call("PUT", S_USER, ACC_A, USER_A1, id, "{}", &out, NULL), 200);
    json_decref(out);

    /* the date window uses the new zone: at 2030-06-15T12:00Z it is 2030-06-16 in
     * Pacific/Kiritimati, so 2030-06-14 is not after today - 2 days */
    ck_assert_int_eq(call("PUT", S_USER, ACC_A, USER_A1, id,
                          "{\"timezone\":\"Pacific/Kiritimati\",\"rules\":[" DATEJ(
                              "2030-6-14", "") "," DATEJ("2030-6-15", "") "]}",
                          &out, NULL),
                     200);
    free(expect_schedule(out, id,
                         "{\"userId\":\"" USER_A1 "\",\"timezone\":\"Pacific/Kiritimati\","
                         "\"rules\":[" DATEJ("2030-6-15", "") "],\"metadata\":{\"x\":\"y\"}}"));
    json_decref(out);

    /* any 400 changes nothing */
    ck_assert_int_eq(call("PUT", S_USER, ACC_A, USER_A1, id,
                          "{\"timezone\":\"UTC\",\"rules\":[" WDAYJ("Mon", IVJ(9, 60, 10, 0)) "]}",
                          &out, msg),
                     NT_EINVAL);
    ck_assert_str_eq(msg, "rules[0].intervals[0].start.minutes: expected 0..59");
    ck_assert_int_eq(call("PUT", S_USER, ACC_A, USER_A1, id,
                          "{\"timezone\":\"Europe/Nowhere\",\"rules\":[]}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(
        call("PUT", S_USER, ACC_A, USER_A1, id, "{\"rules\":[],\"metadata\":{\"n\":2}}", &out, msg),
        NT_EINVAL);
    /* a bad body of a schedule that is not the caller's is still a 400 (body first) */
    ck_assert_int_eq(call("PUT", S_USER, ACC_A, USER_A2, id, "{\"rules\":5}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(call("GET", S_ADMIN, ACC_A, NULL, id, NULL, &out, NULL), 200);
    free(expect_schedule(out, id,
                         "{\"userId\":\"" USER_A1 "\",\"timezone\":\"Pacific/Kiritimati\","
                         "\"rules\":[" DATEJ("2030-6-15", "") "],\"metadata\":{\"x\":\"y\"}}"));
    json_decref(out);

    /* not owned: 404 */
    ck_assert_int_eq(call("PUT", S_USER, ACC_A, USER_A2, id, "{\"timezone\":\"GMT\"}", &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("PUT", S_ADMIN, ACC_B, NULL, id, "{\"timezone\":\"GMT\"}", &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("PUT", S_USER, ACC_B, USER_B1, id, "{}", &out, NULL), NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_delete)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    char *id2 = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");
    json_t *out;

    ck_assert_int_eq(call("DELETE", S_USER, ACC_A, USER_A2, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", S_ADMIN, ACC_B, NULL, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", S_USER, ACC_B, USER_B1, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", S_USER, ACC_A, USER_A1, id, NULL, &out, NULL), 200);
    free(expect_schedule(out, id,
                         "{\"userId\":\"" USER_A1 "\",\"timezone\":\"UTC\",\"rules\":" DEFAULT_RULES
                         ",\"metadata\":{\"k\":\"v\"}}"));
    json_decref(out);
    ck_assert_int_eq(call("DELETE", S_USER, ACC_A, USER_A1, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_metadata"), 0);
    ck_assert_int_eq(call("DELETE", S_ADMIN, ACC_A, NULL, id2, NULL, &out, NULL), 200);
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_schedules"), 0);
    free(id);
    free(id2);
}
END_TEST

START_TEST(test_user_cascade)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    char *other = create_admin(USER_A2, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    fh_req *q = fh_req_new(host);
    json_t *out = NULL;

    /* DELETE /user/{userId} of the user plugin: the foreign key takes the schedule along */
    ck_assert_int_eq(fh_req_add_param(q, "userId", USER_A1), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, ACC_A, NULL), NT_OK);
    ck_assert_int_eq(fh_call(host, q, "DELETE", "/api/v1/user/{userId}", &out), 200);
    json_decref(out);
    fh_req_free(q);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_schedules"), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_metadata"), 1);
    ck_assert_int_eq(call("GET", S_ADMIN, ACC_A, NULL, id, NULL, &out, NULL), NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", S_ADMIN, ACC_A, NULL, other, NULL, &out, NULL), 200);
    json_decref(out);
    free(id);
    free(other);
}
END_TEST

/* Runs GET /schedule/meta as admin of `account`; returns the status. */
static int
meta(const char *account, const char *key, const char *value, const char *skip, const char *limit,
     json_t **out)
{
    const char *pairs[4][2] = {{"key", key}, {"value", value}, {"skip", skip}, {"limit", limit}};
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    for (int k = 0; k < 4; k++)
        if (pairs[k][1] != NULL)
            ck_assert_int_eq(fh_req_add_query(q, pairs[k][0], pairs[k][1]), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, account, NULL), NT_OK);
    *out = NULL;
    rc = fh_call(host, q, "GET", S_META, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "meta: %s", bad);
    fh_req_free(q);
    return rc;
}

START_TEST(test_meta)
{
    char *ids[3];
    json_t *out, *list;

    fh_clock_set(NOW_MS, 1); /* creation order */
    ids[0] = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\"}}");
    ids[1] =
        create_admin(USER_A2, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\",\"x\":\"1\"}}");
    ids[2] = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"blue\"}}");
    ck_assert_int_eq(call("POST", S_CREATE_USER, ACC_B, USER_B1, NULL,
                          "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\"}}", &out, NULL),
                     201);
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, "team", "red", NULL, NULL, &out), 200);
    list = json_object_get(out, "schedules");
    ck_assert_int_eq(json_object_size(out), 1);
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[0]);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), ids[1]);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(list, 1), "rules")), 7);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "1", "5", &out), 200);
    list = json_object_get(out, "schedules");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[1]);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "0", "0", &out), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "schedules")), 0);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_B, "team", "blue", NULL, NULL, &out), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "schedules")), 0);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, NULL, "red", NULL, NULL, &out), NT_EINVAL);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "undefined", NULL, &out), NT_EINVAL);
    ck_assert_int_eq(meta(ACC_A, "team", "red", NULL, "-1", &out), NT_EINVAL);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}
END_TEST

/* ---- the service ------------------------------------------------------------------------- */

START_TEST(test_service_owner)
{
    const fh_service *s = schedules_service();
    const nt_schedules_v1 *ops = s->ops;
    char *id = create_admin(USER_A2, "{\"timezone\":\"UTC\"}");
    char user[NT_UUID_BUF], account[NT_UUID_BUF];

    ck_assert_int_eq(ops->owner(s->state, fh_db(host), id, user, account), NT_OK);
    ck_assert_str_eq(user, USER_A2);
    ck_assert_str_eq(account, ACC_A);
    ck_assert_int_eq(ops->owner(s->state, fh_db(host), id, NULL, NULL), NT_OK);
    ck_assert_int_eq(ops->owner(s->state, fh_db(host), NO_SUCH, user, account), NT_ENOTFOUND);
    ck_assert_int_eq(ops->owner(s->state, fh_db(host), "not-a-uuid", user, account), NT_ENOTFOUND);
    ck_assert_int_eq(ops->owner(s->state, fh_db(host), NULL, user, account), NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_service_free_time)
{
    const fh_service *s = schedules_service();
    const nt_schedules_v1 *ops = s->ops;
    /* Sydney, Monday 09:00-17:30 only; Monday 2030-10-07 is the first day after the change
     * to AEDT (+11): 2030-10-06T22:00Z .. 2030-10-07T06:30Z (zoneinfo). */
    char *id = create_admin(USER_A1, "{\"timezone\":\"Australia/Sydney\",\"rules\":[" WDAYJ(
                                         "Mon", IVJ(9, 0, 17, 30)) "]}");
    const int64_t ws = 1917388800000LL; /* 2030-10-05T00:00Z */
    nt_intervals out = {0};
    fh_req *q;

    ck_assert_int_eq(
        ops->free_time(s->state, NULL, fh_db(host), ACC_A, id, ws, ws + 7 * DAY_MS, &out), NT_OK);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(out.v[0].start, 1917554400000LL); /* 2030-10-06T22:00Z */
    ck_assert_int_eq(out.v[0].end, 1917585000000LL);   /* 2030-10-07T06:30Z */
    ck_assert_int_eq(out.v[0].busy, 0);
    free(out.v);

    /* another account, an unknown or malformed id: not found, nothing allocated */
    ck_assert_int_eq(ops->free_time(s->state, NULL, fh_db(host), ACC_B, id, ws, ws + DAY_MS, &out),
                     NT_ENOTFOUND);
    ck_assert_ptr_null(out.v);
    ck_assert_int_eq(
        ops->free_time(s->state, NULL, fh_db(host), ACC_A, NO_SUCH, ws, ws + DAY_MS, &out),
        NT_ENOTFOUND);
    ck_assert_int_eq(ops->free_time(s->state, NULL, fh_db(host), ACC_A, "x", ws, ws + DAY_MS, &out),
                     NT_ENOTFOUND);
    /* a window too long */
    ck_assert_int_eq(ops->free_time(s->state, NULL, fh_db(host), ACC_A, id, ws,
                                    ws + NT_SCHEDULES_MAX_WINDOW_MS + 1, &out),
                     NT_EINVAL);
    ck_assert_ptr_null(out.v);

    /* within a request: its budget is asked while the days are walked, and its code ends
     * the work (the fake host answers NT_EBUDGET from the third call on here) */
    q = fh_req_new(host);
    fh_req_set_budget(q, 2, 0);
    ck_assert_int_eq(
        ops->free_time(s->state, q, fh_db(host), ACC_A, id, ws, ws + 101 * DAY_MS, &out),
        NT_EBUDGET);
    ck_assert_int_eq(fh_req_check_calls(q), 3);
    ck_assert_ptr_null(out.v);
    ck_assert_int_eq(out.n, 0);
    fh_req_free(q);
    q = fh_req_new(host);
    fh_req_set_budget(q, 0, 1); /* the client went away */
    ck_assert_int_eq(
        ops->free_time(s->state, q, fh_db(host), ACC_A, id, ws, ws + 101 * DAY_MS, &out), NT_EGONE);
    fh_req_free(q);
    q = fh_req_new(host);
    ck_assert_int_eq(
        ops->free_time(s->state, q, fh_db(host), ACC_A, id, ws, ws + 101 * DAY_MS, &out), NT_OK);
    ck_assert_int_gt(fh_req_check_calls(q), 4);
    ck_assert_int_eq(out.n, 15); /* 15 Mondays from 2030-10-07 to 2031-01-13 */
    free(out.v);
    fh_req_free(q);
    free(id);
}
END_TEST

START_TEST(test_storage_errors)
{
    json_t *out;
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");

    fh_fail_prepare(host, "INSERT INTO schedule_schedules");
    {
        fh_req *q = fh_req_new(host);
        int rc;
        ck_assert_int_eq(fh_req_add_param(q, "userId", USER_A1), NT_OK);
        ck_assert_int_eq(fh_req_set_principal(q, ACC_A, NULL), NT_OK);
        ck_assert_int_eq(fh_req_set_body_text(q, "{\"timezone\":\"UTC\"}", 18, 0), NT_OK);
        out = NULL;
        rc = fh_call(host, q, "POST", S_CREATE_ADMIN, &out);
        ck_assert_int_lt(rc, 0);
        ck_assert_ptr_null(fh_check_reply(host, q, rc, out));
        ck_assert_int_eq(fh_in_transaction(host), 0);
        fh_req_free(q);
    }
    fh_fail_prepare(host, "UPDATE schedule_schedules");
    {
        fh_req *q = fh_req_new(host);
        int rc;
        ck_assert_int_eq(fh_req_add_param(q, "scheduleId", id), NT_OK);
        ck_assert_int_eq(fh_req_set_principal(q, ACC_A, NULL), NT_OK);
        ck_assert_int_eq(fh_req_set_body_text(q, "{\"timezone\":\"GMT\"}", 18, 0), NT_OK);
        out = NULL;
        rc = fh_call(host, q, "PUT", S_ADMIN, &out);
        ck_assert_int_lt(rc, 0);
        ck_assert_ptr_null(fh_check_reply(host, q, rc, out));
        fh_req_free(q);
    }
    fh_fail_prepare(host, NULL);
    fh_log_clear(host); /* the failures above were wanted */
    ck_assert_int_eq(count("SELECT COUNT(*) FROM schedule_schedules WHERE timezone = 'UTC'"), 1);
    free(id);
}
END_TEST

static Suite *
schedule_plugin_suite(void)
{
    Suite *s = suite_create("schedule_plugin");
    TCase *tc = tcase_create("handlers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_routes);
    tcase_add_test(tc, test_create);
    tcase_add_test(tc, test_get_scope);
    tcase_add_test(tc, test_update);
    tcase_add_test(tc, test_delete);
    tcase_add_test(tc, test_user_cascade);
    tcase_add_test(tc, test_meta);
    tcase_add_test(tc, test_service_owner);
    tcase_add_test(tc, test_service_free_time);
    tcase_add_test(tc, test_storage_errors);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(schedule_plugin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

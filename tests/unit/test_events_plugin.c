/* Tests of the real events.so (with account.so, user.so and calendar.so, whose services it
 * uses) under the shared fake host (tests/support): every handler's scoping (admin of the
 * account, end user of its own calendars and events), cross-account 404s, validation 400s,
 * and the "events" service of services.h. Every scope check in the plugin is the only thing
 * between a test here and a leak: removing one fails a test.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettu/plugin.h>
#include <nettu/services.h>

#include "fakehost.h"

#define ACC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define ACC_B "bbbbbbbb-0000-4000-8000-000000000002"
#define USER_A1 "aaaaaaaa-1111-4000-8000-000000000001"
#define USER_A2 "aaaaaaaa-2222-4000-8000-000000000002"
#define USER_B1 "bbbbbbbb-1111-4000-8000-000000000001"
#define CAL_A1 "aaaaaaaa-cccc-4000-8000-000000000001"  /* A1's, UTC */
#define CAL_A1X "aaaaaaaa-cccc-4000-8000-000000000002" /* A1's, Europe/Oslo, week from Sun */
#define CAL_A2 "aaaaaaaa-cccc-4000-8000-000000000003"  /* A2's, UTC */
#define CAL_B1 "bbbbbbbb-cccc-4000-8000-000000000001"  /* B1's, UTC */
#define SVC_1 "55555555-0000-4000-8000-000000000001"
#define SVC_2 "55555555-0000-4000-8000-000000000002"
#define NO_SUCH "cccccccc-0000-4000-8000-000000000000"

#define T0 1893456000000LL /* 2030-01-01T00:00:00Z, a Tuesday */
#define HOUR 3600000LL
#define DAY 86400000LL

static const char seed_sql[] =
    "INSERT INTO account_accounts (id, api_key_hash, public_jwt_key, key_version, webhook_url,"
    " webhook_key, created) VALUES"
    " ('" ACC_A "', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', NULL, 0,"
    " NULL, NULL, 1),"
    " ('" ACC_B "', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', NULL, 0,"
    " NULL, NULL, 2);"
    "INSERT INTO user_users (id, account_id, metadata, created) VALUES"
    " ('" USER_A1 "', '" ACC_A "', '{}', 1), ('" USER_A2 "', '" ACC_A "', '{}', 2),"
    " ('" USER_B1 "', '" ACC_B "', '{}', 3);"
    "INSERT INTO calendar_calendars (id, user_id, account_id, timezone, week_start, metadata,"
    " created) VALUES"
    " ('" CAL_A1 "', '" USER_A1 "', '" ACC_A "', 'UTC', 0, '{\"k\":\"v\"}', 1),"
    " ('" CAL_A1X "', '" USER_A1 "', '" ACC_A "', 'Europe/Oslo', 6, '{}', 2),"
    " ('" CAL_A2 "', '" USER_A2 "', '" ACC_A "', 'UTC', 0, '{}', 3),"
    " ('" CAL_B1 "', '" USER_B1 "', '" ACC_B "', 'UTC', 0, '{}', 4);";

static fh_host *host;

/* ---- fixture ----------------------------------------------------------------------------- */

static void
setup(void)
{
    static const char *const names[] = {"account", "user", "calendar", "events", NULL};

    host = fh_new();
    ck_assert_ptr_nonnull(host);
    ck_assert_int_eq(fh_config_set(host, "account", "create_account_secret", "s3cret"), NT_OK);
    fh_clock_set(T0, 1);
    ck_assert_msg(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), seed_sql, NULL, NULL, NULL), SQLITE_OK);
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

/* ---- calling handlers -------------------------------------------------------------------- */

/* A request: the route, the principal (user NULL = admin), path parameters, query pairs and
 * a JSON body (NULL = {}). */
struct call {
    const char *method, *path;
    const char *account, *user;
    const char *param[2][2];
    const char *query[4][2];
    const char *body;
};

/* Runs c and checks the ABI contract of the answer. Returns the status or NT_E* code; *out
 * gets the reply (owned by the caller) and msg (512 bytes, may be NULL) the message. */
static int
call(const struct call *c, json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    ck_assert_msg(fh_route(host, c->method, c->path) != NULL, "no route %s %s", c->method, c->path);
    for (int i = 0; i < 2 && c->param[i][0] != NULL; i++)
        ck_assert_int_eq(fh_req_add_param(q, c->param[i][0], c->param[i][1]), NT_OK);
    for (int i = 0; i < 4 && c->query[i][0] != NULL; i++)
        ck_assert_int_eq(fh_req_add_query(q, c->query[i][0], c->query[i][1]), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, c->account, c->user), NT_OK);
    if (c->body != NULL)
        ck_assert_msg(fh_req_set_body_text(q, c->body, strlen(c->body), FH_CORE_JSON_FLAGS) ==
                          NT_OK,
                      "bad test body %s", c->body);
    *out = NULL;
    rc = fh_call(host, q, c->method, c->path, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "%s %s: %s", c->method, c->path, bad);
    if (rc < 0)
        ck_assert_msg(fh_req_fail_code(q) == rc, "%s %s: %d without fail() (%s)", c->method,
                      c->path, rc, fh_req_msg(q));
    if (msg != NULL)
        snprintf(msg, 512, "%s", fh_req_msg(q));
    if (rc == 200 && *out == NULL) { /* a reply written as text (free/busy) must be JSON */
        const char *type = NULL;
        size_t len = 0;
        const char *text = fh_req_reply_text(q, &type, &len);

        ck_assert_msg(text != NULL, "%s %s: 200 without a reply", c->method, c->path);
        ck_assert_str_eq(type, "application/json");
        *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        ck_assert_msg(*out != NULL, "%s %s: the reply is not JSON: %.*s", c->method, c->path,
                      (int)len, text);
    }
    ck_assert_int_eq(fh_in_transaction(host), 0);
    fh_req_free(q);
    return rc;
}

/* call() for tests that only look at the status; the reply is released. */
static int
status(const struct call *c)
{
    json_t *out = NULL;
    int rc = call(c, &out, NULL);

    json_decref(out);
    return rc;
}

/* call() that must fail with `code` and a message containing `part`. */
static void
expect_fail(const struct call *c, int code, const char *part)
{
    json_t *out = NULL;
    char msg[512];
    int rc = call(c, &out, msg);

    ck_assert_msg(rc == code, "%s %s: %d, expected %d (%s)", c->method, c->path, rc, code, msg);
    ck_assert_msg(part == NULL || strstr(msg, part) != NULL, "%s %s: message '%s' lacks '%s'",
                  c->method, c->path, msg, part);
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

static int64_t
events_count(void)
{
    return count("SELECT COUNT(*) FROM events_events");
}

/* Creates an event as admin of `account` for `user` with the body; returns its id
 * (malloc'd). */
static char *
create(const char *account, const char *user, const char *body)
{
    struct call c = {.method = "POST",
                     .path = "/api/v1/user/{userId}/events",
                     .account = account,
                     .user = NULL,
                     .param = {{"userId", user}}};
    json_t *out = NULL;
    char msg[512], *id;
    int rc;

    c.body = body;
    rc = call(&c, &out, msg);
    ck_assert_msg(rc == 201, "create: %d %s", rc, msg);
    id = strdup(json_string_value(json_object_get(json_object_get(out, "event"), "id")));
    json_decref(out);
    return id;
}

/* A body for calendar `cal`: start T0 + start_h hours, one hour, busy or not, and `extra`
 * JSON members (without the leading comma; "" for none). */
static const char *
body(char *buf, size_t n, const char *cal, int start_h, int busy, const char *extra)
{
    snprintf(buf, n, "{\"calendarId\":\"%s\",\"startTs\":%lld,\"duration\":%lld,\"busy\":%s%s%s}",
             cal, (long long)(T0 + start_h * HOUR), (long long)HOUR, busy ? "true" : "false",
             extra[0] != '\0' ? "," : "", extra);
    return buf;
}

/* The event `id` as the admin of ACC_A reads it (a new reference), NULL when there is none. */
static json_t *
stored(const char *id)
{
    struct call c = {.method = "GET",
                     .path = "/api/v1/user/events/{eventId}",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"eventId", id}}};
    json_t *out = NULL, *e;

    if (call(&c, &out, NULL) != 200)
        return NULL;
    e = json_incref(json_object_get(out, "event"));
    json_decref(out);
    return e;
}

/* ---- routes ------------------------------------------------------------------------------ */

START_TEST(test_routes_and_service)
{
    static const struct {
        const char *method, *path;
        nt_auth_kind auth;
        const char *perm;
    } want[] = {
        {"POST", "/api/v1/events", NT_AUTH_USER, "CreateCalendarEvent"},
        {"POST", "/api/v1/user/{userId}/events", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/events/meta", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/events/{eventId}", NT_AUTH_USER, NULL},
        {"GET", "/api/v1/user/events/{eventId}", NT_AUTH_ADMIN, NULL},
        {"PUT", "/api/v1/events/{eventId}", NT_AUTH_USER, "UpdateCalendarEvent"},
        {"PUT", "/api/v1/user/events/{eventId}", NT_AUTH_ADMIN, NULL},
        {"DELETE", "/api/v1/events/{eventId}", NT_AUTH_USER, "DeleteCalendarEvent"},
        {"DELETE", "/api/v1/user/events/{eventId}", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/events/{eventId}/instances", NT_AUTH_USER, NULL},
        {"GET", "/api/v1/user/events/{eventId}/instances", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/calendar/{calendarId}/events", NT_AUTH_USER, NULL},
        {"GET", "/api/v1/user/calendar/{calendarId}/events", NT_AUTH_ADMIN_OR_USER, NULL},
        {"GET", "/api/v1/calendar/{calendarId}/ical", NT_AUTH_USER, NULL},
        {"GET", "/api/v1/user/calendar/{calendarId}/ical", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/user/{userId}/freebusy", NT_AUTH_PUBLIC_ACCOUNT, NULL},
        {"POST", "/api/v1/user/freebusy", NT_AUTH_PUBLIC_ACCOUNT, NULL},
    };
    const fh_service *s = fh_service_find(host, NT_SERVICE_EVENTS, NULL);

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const nt_route *r = fh_route(host, want[i].method, want[i].path);
        ck_assert_msg(r != NULL, "%s %s", want[i].method, want[i].path);
        ck_assert_int_eq(r->auth, want[i].auth);
        if (want[i].perm == NULL)
            ck_assert(r->perms == NULL || r->perms[0] == NULL);
        else
            ck_assert_str_eq(r->perms[0], want[i].perm);
    }
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "nettu");
    ck_assert_uint_eq(s->version, NT_EVENTS_V1);
    ck_assert_uint_ge(*(const uint32_t *)s->ops, sizeof(nt_events_v1));
}
END_TEST

/* Without the calendars service the plugin does not start, and says what it needs. */
START_TEST(test_start_needs_calendars)
{
    static const char *const names[] = {"account", "user", "events", NULL};
    fh_host *h;

    fh_free(host);
    host = NULL;
    h = fh_new();
    ck_assert_int_eq(fh_config_set(h, "account", "create_account_secret", "s3cret"), NT_OK);
    /* events_events refers to calendar_calendars: give the schema a stand-in */
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(h),
                                  "CREATE TABLE calendar_calendars (id TEXT PRIMARY KEY)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_ne(fh_load_all(h, names), NT_OK);
    ck_assert_msg(strstr(fh_log(h), "needs service calendars") != NULL, "%s", fh_log(h));
    fh_free(h);
    host = fh_new(); /* for teardown */
}
END_TEST

/* ---- create ------------------------------------------------------------------------------ */

START_TEST(test_create_admin)
{
    char b[512];
    struct call c = {.method = "POST",
                     .path = "/api/v1/user/{userId}/events",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"userId", USER_A1}}};
    json_t *out = NULL, *e;

    c.body = body(b, sizeof(b), CAL_A1, 1, 1,
                  "\"metadata\":{\"team\":\"red\"},\"serviceId\":\"" SVC_1 "\"");
    ck_assert_int_eq(call(&c, &out, NULL), 201);
    e = json_object_get(out, "event");
    ck_assert_str_eq(json_string_value(json_object_get(e, "calendarId")), CAL_A1);
    ck_assert_str_eq(json_string_value(json_object_get(e, "userId")), USER_A1);
    ck_assert_str_eq(json_string_value(json_object_get(e, "serviceId")), SVC_1);
    ck_assert(json_is_true(json_object_get(e, "busy")));
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_events WHERE account_id = '" ACC_A
                           "' AND user_id = '" USER_A1 "'"),
                     1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_metadata WHERE key = 'team' AND "
                           "account_id = '" ACC_A "'"),
                     1);

    /* The path's user must be in the account; the calendar must be that user's. */
    c.param[0][1] = USER_B1;
    expect_fail(&c, NT_ENOTFOUND, "userId");
    c.param[0][1] = NO_SUCH;
    expect_fail(&c, NT_ENOTFOUND, "userId");
    c.param[0][1] = USER_A2;
    expect_fail(&c, NT_ENOTFOUND, "calendarId");
    /* Another account's admin, for its own user, with this account's calendar. */
    c.account = ACC_B;
    c.param[0][1] = USER_B1;
    expect_fail(&c, NT_ENOTFOUND, "calendarId");
    c.body = body(b, sizeof(b), CAL_B1, 1, 1, "");
    ck_assert_int_eq(status(&c), 201); /* its own calendar is fine */
    ck_assert_int_eq(events_count(), 2);
}
END_TEST

START_TEST(test_create_validation)
{
    static const struct {
        const char *body, *part;
    } bad[] = {
        {"{\"startTs\":0,\"duration\":1}", "calendarId"},
        {"{\"calendarId\":\"x\",\"startTs\":0,\"duration\":1}", "calendarId"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"duration\":1}", "startTs"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0}", "duration"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":\"0\",\"duration\":1}", "startTs"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":1,\"busy\":1}", "busy"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":1,\"metadata\":{\"a\":1}}",
         "metadata"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":1,\"serviceId\":\"nope\"}",
         "serviceId"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":1,\"recurrence\":5}",
         "recurrence"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":1,\"recurrence\":"
         "{\"freq\":\"hourly\"}}",
         "recurrence"},
        {"{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":1,\"reminders\":[{}]}",
         "reminders"},
    };
    struct call c = {.method = "POST",
                     .path = "/api/v1/user/{userId}/events",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"userId", USER_A1}}};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.body = bad[i].body;
        expect_fail(&c, NT_EINVAL, bad[i].part);
    }
    ck_assert_int_eq(events_count(), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_metadata"), 0);
}
END_TEST

START_TEST(test_create_end_user)
{
    char b[512];
    struct call c = {.method = "POST", .path = "/api/v1/events", .account = ACC_A, .user = USER_A1};

    c.body = body(b, sizeof(b), CAL_A1, 1, 1, "");
    ck_assert_int_eq(status(&c), 201);
    /* not its calendar: another user's of the account, or another account's */
    c.user = USER_A2;
    expect_fail(&c, NT_ENOTFOUND, "calendarId");
    c.account = ACC_B;
    c.user = USER_B1;
    expect_fail(&c, NT_ENOTFOUND, "calendarId");
    /* an admin principal on the end-user route has no user */
    c.account = ACC_A;
    c.user = NULL;
    expect_fail(&c, NT_EUNAUTH, NULL);
    ck_assert_int_eq(events_count(), 1);
}
END_TEST

/* ---- get, update, delete ---------------------------------------------------------------- */

START_TEST(test_get_scope)
{
    char b[512], *id = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 1, 1, ""));
    struct call admin = {.method = "GET",
                         .path = "/api/v1/user/events/{eventId}",
                         .account = ACC_A,
                         .user = NULL,
                         .param = {{"eventId", id}}};
    struct call user = {.method = "GET",
                        .path = "/api/v1/events/{eventId}",
                        .account = ACC_A,
                        .user = USER_A1,
                        .param = {{"eventId", id}}};
    json_t *out = NULL;

    ck_assert_int_eq(call(&admin, &out, NULL), 200);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "event"), "id")), id);
    json_decref(out);
    ck_assert_int_eq(status(&user), 200);
    admin.account = ACC_B;
    expect_fail(&admin, NT_ENOTFOUND, id);
    user.user = USER_A2;
    expect_fail(&user, NT_ENOTFOUND, id);
    user.account = ACC_B;
    user.user = USER_B1;
    expect_fail(&user, NT_ENOTFOUND, id);
    admin.account = ACC_A;
    admin.param[0][1] = NO_SUCH;
    expect_fail(&admin, NT_ENOTFOUND, NO_SUCH);
    free(id);
}
END_TEST

START_TEST(test_update_scope)
{
    char b[512], *id = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 1, 1, ""));
    struct call c = {.method = "PUT",
                     .path = "/api/v1/user/events/{eventId}",
                     .account = ACC_B,
                     .user = NULL,
                     .param = {{"eventId", id}}};
    json_t *before = stored(id), *after;

    c.body = "{\"startTs\":0,\"busy\":false,\"metadata\":{\"x\":\"y\"}}";
    expect_fail(&c, NT_ENOTFOUND, id); /* another account's admin */
    c.path = "/api/v1/events/{eventId}";
    c.account = ACC_A;
    c.user = USER_A2;
    expect_fail(&c, NT_ENOTFOUND, id); /* another user of the account */
    c.account = ACC_B;
    c.user = USER_B1;
    expect_fail(&c, NT_ENOTFOUND, id);
    after = stored(id);
    ck_assert(json_equal(before, after));
    json_decref(after);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_metadata"), 0);

    /* the owner may, and so may the account's admin */
    c.account = ACC_A;
    c.user = USER_A1;
    ck_assert_int_eq(status(&c), 200);
    after = stored(id);
    ck_assert_int_eq(json_integer_value(json_object_get(after, "startTs")), 0);
    ck_assert(json_is_false(json_object_get(after, "busy")));
    json_decref(after);
    c.path = "/api/v1/user/events/{eventId}";
    c.user = NULL;
    c.body = "{\"busy\":true}";
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_metadata WHERE key = 'x'"), 1);
    json_decref(before);
    free(id);
}
END_TEST

START_TEST(test_update_validation)
{
    static const struct {
        const char *body, *part;
    } bad[] = {
        {"{\"startTs\":\"soon\"}", "startTs"},
        {"{\"duration\":true}", "duration"},
        {"{\"busy\":\"yes\"}", "busy"},
        {"{\"exdates\":[\"x\"]}", "exdates"},
        {"{\"exdates\":5}", "exdates"},
        {"{\"serviceId\":5}", "serviceId"},
        {"{\"metadata\":[]}", "metadata"},
        {"{\"recurrence\":{\"freq\":\"daily\",\"count\":0}}", "recurrence"},
        {"{\"recurrence\":\"daily\"}", "recurrence"},
        {"{\"reminders\":[{\"delta\":1}]}", "reminders"},
    };
    char b[512], *id = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 1, 1, ""));
    struct call c = {.method = "PUT",
                     .path = "/api/v1/user/events/{eventId}",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"eventId", id}}};
    json_t *before = stored(id), *after;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.body = bad[i].body;
        expect_fail(&c, NT_EINVAL, bad[i].part);
    }
    after = stored(id);
    ck_assert(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    /* an unknown event is 404 before the body's values matter */
    c.param[0][1] = NO_SUCH;
    c.body = "{\"recurrence\":{\"freq\":\"daily\",\"count\":0}}";
    expect_fail(&c, NT_ENOTFOUND, NO_SUCH);
    free(id);
}
END_TEST

START_TEST(test_delete_scope)
{
    char b[512], *id = create(ACC_A, USER_A1,
                              body(b, sizeof(b), CAL_A1, 1, 1, "\"metadata\":{\"k\":\"v\"}"));
    struct call c = {.method = "DELETE",
                     .path = "/api/v1/user/events/{eventId}",
                     .account = ACC_B,
                     .user = NULL,
                     .param = {{"eventId", id}}};
    json_t *out = NULL;

    expect_fail(&c, NT_ENOTFOUND, id);
    c.path = "/api/v1/events/{eventId}";
    c.account = ACC_A;
    c.user = USER_A2;
    expect_fail(&c, NT_ENOTFOUND, id);
    ck_assert_int_eq(events_count(), 1);
    c.user = USER_A1;
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "event"), "id")), id);
    json_decref(out);
    ck_assert_int_eq(events_count(), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_metadata"), 0);
    expect_fail(&c, NT_ENOTFOUND, id);
    free(id);
    /* the admin deletes any event of the account */
    id = create(ACC_A, USER_A2, body(b, sizeof(b), CAL_A2, 1, 1, ""));
    c.path = "/api/v1/user/events/{eventId}";
    c.user = NULL;
    c.param[0][1] = id;
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(events_count(), 0);
    free(id);
}
END_TEST

/* Deleting a calendar (calendar plugin) deletes its events and their metadata rows
 * (foreign keys with ON DELETE CASCADE). */
START_TEST(test_calendar_delete_cascades)
{
    char b[512], *id = create(ACC_A, USER_A1,
                              body(b, sizeof(b), CAL_A1, 1, 1, "\"metadata\":{\"k\":\"v\"}"));
    char *other = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1X, 1, 1, ""));
    struct call c = {.method = "DELETE",
                     .path = "/api/v1/user/calendar/{calendarId}",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"calendarId", CAL_A1}}};

    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(events_count(), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_metadata"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_events WHERE calendar_id = '" CAL_A1X "'"),
                     1);
    free(id);
    free(other);
}
END_TEST

/* ---- instances and calendar events ------------------------------------------------------- */

START_TEST(test_instances)
{
    char b[512], from[32], to[32], far[32];
    char *id = create(ACC_A, USER_A1,
                      body(b, sizeof(b), CAL_A1X, 1, 1,
                           "\"recurrence\":{\"freq\":\"daily\",\"interval\":1,\"count\":5}"));
    struct call c = {.method = "GET",
                     .path = "/api/v1/user/events/{eventId}/instances",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"eventId", id}},
                     .query = {{"startTs", from}, {"endTs", to}}};
    json_t *out = NULL, *list;

    snprintf(from, sizeof(from), "%lld", (long long)T0);
    snprintf(to, sizeof(to), "%lld", (long long)(T0 + 10 * DAY));
    snprintf(far, sizeof(far), "%lld", (long long)(T0 + 63 * DAY));
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    list = json_object_get(out, "instances");
    ck_assert_int_eq(json_array_size(list), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 4), "startTs")),
                     T0 + HOUR + 4 * DAY);
    json_decref(out);
    c.path = "/api/v1/events/{eventId}/instances";
    c.user = USER_A1;
    ck_assert_int_eq(status(&c), 200);
    c.user = USER_A2;
    expect_fail(&c, NT_ENOTFOUND, id);
    c.path = "/api/v1/user/events/{eventId}/instances";
    c.user = NULL;
    c.account = ACC_B;
    expect_fail(&c, NT_ENOTFOUND, id);
    /* bad queries: 400; an unknown event is 404 before the span is looked at */
    c.account = ACC_A;
    c.query[1][1] = far;
    expect_fail(&c, NT_EINVAL, "62 days");
    c.param[0][1] = NO_SUCH;
    expect_fail(&c, NT_ENOTFOUND, NO_SUCH);
    c.query[1][0] = NULL;
    expect_fail(&c, NT_EINVAL, "endTs");
    c.query[0][1] = "soon";
    expect_fail(&c, NT_EINVAL, "startTs");
    free(id);
}
END_TEST

START_TEST(test_calendar_events)
{
    char b[512], from[32], to[32], far[32];
    char *id = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 2, 1, ""));
    char *late = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 24 * 30, 1, ""));
    struct call c = {.method = "GET",
                     .path = "/api/v1/user/calendar/{calendarId}/events",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"calendarId", CAL_A1}},
                     .query = {{"startTs", from}, {"endTs", to}}};
    struct call cal = {.method = "GET",
                       .path = "/api/v1/user/calendar/{calendarId}",
                       .account = ACC_A,
                       .user = NULL,
                       .param = {{"calendarId", CAL_A1}}};
    json_t *out = NULL, *want = NULL, *events;

    snprintf(from, sizeof(from), "%lld", (long long)T0);
    snprintf(to, sizeof(to), "%lld", (long long)(T0 + DAY));
    snprintf(far, sizeof(far), "%lld", (long long)(T0 + 63 * DAY));
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    /* the calendar as the calendar plugin prints it */
    ck_assert_int_eq(call(&cal, &want, NULL), 200);
    ck_assert(json_equal(json_object_get(out, "calendar"), json_object_get(want, "calendar")));
    events = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(events), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(events, 0), "event"), "id")),
                     id);
    json_decref(out);
    json_decref(want);
    /* end users, also on the admin path (compat), see only their own calendars */
    c.user = USER_A1;
    ck_assert_int_eq(status(&c), 200);
    c.user = USER_A2;
    expect_fail(&c, NT_ENOTFOUND, CAL_A1);
    c.path = "/api/v1/calendar/{calendarId}/events";
    expect_fail(&c, NT_ENOTFOUND, CAL_A1);
    c.user = USER_A1;
    ck_assert_int_eq(status(&c), 200);
    c.account = ACC_B;
    c.user = USER_B1;
    expect_fail(&c, NT_ENOTFOUND, CAL_A1);
    c.path = "/api/v1/user/calendar/{calendarId}/events";
    c.user = NULL;
    expect_fail(&c, NT_ENOTFOUND, CAL_A1);
    c.account = ACC_A;
    c.query[1][1] = far;
    expect_fail(&c, NT_EINVAL, "62 days");
    c.query[1][0] = NULL;
    expect_fail(&c, NT_EINVAL, "endTs");
    free(id);
    free(late);
}
END_TEST

/* ---- free/busy --------------------------------------------------------------------------- */

START_TEST(test_freebusy)
{
    char b[512], from[32], to[32], far[32];
    char *e1 = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 1, 1, ""));
    char *e2 = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1X, 2, 1, "")); /* touches e1 */
    char *e3 = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 5, 0, ""));  /* not busy */
    char *e4 = create(ACC_A, USER_A2, body(b, sizeof(b), CAL_A2, 8, 1, ""));  /* A2's */
    struct call c = {
        .method = "GET",
        .path = "/api/v1/user/{userId}/freebusy",
        .account = ACC_A,
        .user = NULL,
        .param = {{"userId", USER_A1}},
        .query = {{"startTs", from}, {"endTs", to}, {"calendarIds", CAL_A1 "," CAL_A1X}}};
    json_t *out = NULL, *busy;

    snprintf(from, sizeof(from), "%lld", (long long)T0);
    snprintf(to, sizeof(to), "%lld", (long long)(T0 + DAY));
    snprintf(far, sizeof(far), "%lld", (long long)(T0 + 63 * DAY));
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    busy = json_object_get(out, "busy");
    ck_assert_int_eq(json_array_size(busy), 1); /* e1 and e2 merged */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(busy, 0), "startTs")),
                     T0 + HOUR);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(busy, 0), "endTs")),
                     T0 + 3 * HOUR);
    /* busy comes from the query's constant now, not the row: still true */
    ck_assert(json_is_true(json_object_get(json_array_get(busy, 0), "busy")));
    ck_assert_str_eq(json_string_value(json_object_get(out, "userId")), USER_A1);
    json_decref(out);
    /* another user's calendar in the list counts for nothing; unknown and bad ids neither */
    c.query[2][1] = CAL_A2 "," NO_SUCH ",nope," CAL_B1;
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "busy")), 0);
    json_decref(out);
    /* the user must be in the account */
    c.account = ACC_B;
    expect_fail(&c, NT_ENOTFOUND, USER_A1);
    c.account = ACC_A;
    c.param[0][1] = NO_SUCH;
    expect_fail(&c, NT_ENOTFOUND, NO_SUCH);
    c.param[0][1] = USER_A1;
    c.query[1][1] = far;
    expect_fail(&c, NT_EINVAL, "62 days");
    c.query[0][1] = "x";
    expect_fail(&c, NT_EINVAL, "startTs");
    free(e1);
    free(e2);
    free(e3);
    free(e4);
}
END_TEST

START_TEST(test_freebusy_multi)
{
    char b[512];
    char *e1 = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1X, 1, 1, ""));
    char *e2 = create(ACC_A, USER_A2, body(b, sizeof(b), CAL_A2, 3, 1, ""));
    char *e3 = create(ACC_A, USER_A2, body(b, sizeof(b), CAL_A2, 6, 0, ""));
    char *e4 = create(ACC_B, USER_B1, body(b, sizeof(b), CAL_B1, 3, 1, ""));
    struct call c = {
        .method = "POST", .path = "/api/v1/user/freebusy", .account = ACC_A, .user = NULL};
    char ok[256], other[256], big[8192];
    json_t *out = NULL, *l;
    int n;

    snprintf(ok, sizeof(ok),
             "{\"userIds\":[\"" USER_A2 "\",\"" USER_A1 "\",\"" USER_A1
             "\"],\"startTs\":%lld,\"endTs\":%lld}",
             (long long)T0, (long long)(T0 + DAY));
    c.body = ok;
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert_int_eq(json_object_size(out), 2);
    l = json_object_get(out, USER_A1);
    ck_assert_int_eq(json_array_size(l), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(l, 0), "startTs")),
                     T0 + HOUR);
    l = json_object_get(out, USER_A2);
    ck_assert_int_eq(json_array_size(l), 1); /* e3 is not busy */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(l, 0), "startTs")),
                     T0 + 3 * HOUR);
    json_decref(out);
    c.body = "{\"userIds\":[\"" USER_A1 "\"],\"startTime\":\"2030-01-01T00:00:00Z\","
             "\"endTime\":\"2030-01-02T00:00:00.000Z\"}";
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, USER_A1)), 1);
    json_decref(out);
    /* a user of another account is 404, also for that account's admin the other way */
    snprintf(other, sizeof(other),
             "{\"userIds\":[\"" USER_A1 "\",\"" USER_B1 "\"],\"startTs\":%lld,\"endTs\":%lld}",
             (long long)T0, (long long)(T0 + DAY));
    c.body = other;
    expect_fail(&c, NT_ENOTFOUND, USER_B1);
    c.account = ACC_B;
    expect_fail(&c, NT_ENOTFOUND, USER_A1);
    c.account = ACC_A;
    c.body = "{\"userIds\":[],\"startTs\":0,\"endTs\":1}";
    expect_fail(&c, NT_EINVAL, "userIds");
    c.body = "{\"userIds\":[\"x\"],\"startTs\":0,\"endTs\":1}";
    expect_fail(&c, NT_EINVAL, "userIds[0]");
    c.body = "{\"userIds\":[\"" USER_A1 "\"],\"startTs\":0}";
    expect_fail(&c, NT_EINVAL, "endTs");
    c.body = "{\"userIds\":[\"" USER_A1 "\"],\"startTs\":0,\"endTime\":\"tomorrow\"}";
    expect_fail(&c, NT_EINVAL, "endTime");
    c.body = "{\"userIds\":[\"" USER_A1 "\"],\"startTs\":0,\"endTs\":6000000000}";
    expect_fail(&c, NT_EINVAL, "62 days");
    n = snprintf(big, sizeof(big), "{\"startTs\":0,\"endTs\":1,\"userIds\":[");
    for (int i = 0; i < 101; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "%s\"%08x-0000-4000-8000-000000000000\"",
                      i ? "," : "", i);
    snprintf(big + n, sizeof(big) - (size_t)n, "]}");
    c.body = big;
    expect_fail(&c, NT_EINVAL, "userIds");
    free(e1);
    free(e2);
    free(e3);
    free(e4);
}
END_TEST

/* ---- metadata query ---------------------------------------------------------------------- */

START_TEST(test_meta)
{
    char b[512];
    char *a =
        create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 1, 1, "\"metadata\":{\"t\":\"x\"}"));
    char *a2 =
        create(ACC_A, USER_A2, body(b, sizeof(b), CAL_A2, 1, 1, "\"metadata\":{\"t\":\"x\"}"));
    char *bb =
        create(ACC_B, USER_B1, body(b, sizeof(b), CAL_B1, 1, 1, "\"metadata\":{\"t\":\"x\"}"));
    struct call c = {.method = "GET",
                     .path = "/api/v1/events/meta",
                     .account = ACC_A,
                     .user = NULL,
                     .query = {{"key", "t"}, {"value", "x"}}};
    json_t *out = NULL, *list;

    ck_assert_int_eq(call(&c, &out, NULL), 200);
    list = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), a);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), a2);
    json_decref(out);
    c.account = ACC_B;
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    list = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), bb);
    json_decref(out);
    c.query[2][0] = "skip";
    c.query[2][1] = "1";
    c.query[3][0] = "limit";
    c.query[3][1] = "100";
    c.account = ACC_A;
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "events")), 1);
    json_decref(out);
    c.query[3][1] = "101";
    expect_fail(&c, NT_EINVAL, "limit: at most 100");
    c.query[3][1] = "-1";
    expect_fail(&c, NT_EINVAL, "limit");
    c.query[0][0] = "nokey";
    expect_fail(&c, NT_EINVAL, "key");
    free(a);
    free(a2);
    free(bb);
}
END_TEST

/* ---- the events service ------------------------------------------------------------------ */

static const nt_events_v1 *
events_service(void **state)
{
    const fh_service *s = fh_service_find(host, NT_SERVICE_EVENTS, NULL);

    ck_assert_ptr_nonnull(s);
    *state = s->state;
    return s->ops;
}

/* Checks list l against n {start, end} pairs (hours after T0) with flag busy. */
static void
expect_intervals(const nt_intervals *l, const int64_t (*want)[2], size_t n, int busy)
{
    ck_assert_uint_eq(l->n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(l->v[i].start, T0 + want[i][0] * HOUR);
        ck_assert_int_eq(l->v[i].end, T0 + want[i][1] * HOUR);
        ck_assert_int_eq(l->v[i].busy, busy);
    }
}

/* freebusy: busy merged; free = non-busy merged minus busy. */
START_TEST(test_service_freebusy)
{
    char b[512];
    char *ids[5];
    const char *cals[3] = {CAL_A1, CAL_A1X, CAL_A1};
    void *st;
    const nt_events_v1 *svc = events_service(&st);
    nt_intervals busy = {0}, free_time = {0};
    fh_req *q = fh_req_new(host);
    static const int64_t want_busy[][2] = {{2, 4}};
    static const int64_t want_free[][2] = {{1, 2}, {4, 6}, {9, 10}};

    /* free 1-6 (two touching events), busy 2-3 and 3-4 (two calendars), free 9-10 */
    ids[0] = create(ACC_A, USER_A1,
                    "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":1893459600000,\"duration\":"
                    "10800000,\"busy\":false}");
    ids[1] = create(ACC_A, USER_A1,
                    "{\"calendarId\":\"" CAL_A1X "\",\"startTs\":1893470400000,\"duration\":"
                    "7200000,\"busy\":false}");
    ids[2] = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 2, 1, ""));
    ids[3] = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1X, 3, 1, ""));
    ids[4] = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 9, 0, ""));
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, USER_A1, cals, 3, T0, T0 + DAY, &busy, &free_time),
                     NT_OK);
    expect_intervals(&busy, want_busy, 1, 1);
    expect_intervals(&free_time, want_free, 3, 0);
    free(busy.v);
    free(free_time.v);
    memset(&busy, 0, sizeof(busy));
    memset(&free_time, 0, sizeof(free_time));
    /* free alone (no busy list asked for) still subtracts the busy instances */
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, NULL, cals, 3, T0, T0 + DAY, NULL, &free_time),
                     NT_OK);
    expect_intervals(&free_time, want_free, 3, 0);
    free(free_time.v);
    memset(&free_time, 0, sizeof(free_time));
    /* scope: another account, another user, or nobody's calendars give nothing */
    ck_assert_int_eq(svc->freebusy(st, q, ACC_B, NULL, cals, 3, T0, T0 + DAY, &busy, &free_time),
                     NT_OK);
    ck_assert_uint_eq(busy.n + free_time.n, 0);
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, USER_A2, cals, 3, T0, T0 + DAY, &busy, &free_time),
                     NT_OK);
    ck_assert_uint_eq(busy.n + free_time.n, 0);
    /* an empty window has nothing in it */
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, USER_A1, cals, 3, T0 + DAY, T0, &busy, NULL),
                     NT_OK);
    ck_assert_uint_eq(busy.n, 0);
    free(busy.v);
    free(free_time.v);
    fh_req_free(q);
    for (int i = 0; i < 5; i++)
        free(ids[i]);
}
END_TEST

/* busy_by_service groups busy instances by serviceId; other_service_spans is the quirk. */
START_TEST(test_service_busy_by_service)
{
    char b[512];
    char *ids[6];
    const char *cals[2] = {CAL_A1, CAL_A1X};
    void *st;
    const nt_events_v1 *svc = events_service(&st);
    nt_service_busy *groups = NULL;
    nt_intervals spans = {0};
    size_t n = 0;
    fh_req *q = fh_req_new(host);
    static const int64_t want_none[][2] = {{1, 2}, {25, 26}, {49, 50}};
    static const int64_t want_svc1[][2] = {{4, 5}};
    static const int64_t want_spans[][2] = {{7, 8}};

    ids[0] = create(ACC_A, USER_A1,
                    body(b, sizeof(b), CAL_A1X, 1, 1,
                         "\"recurrence\":{\"freq\":\"daily\",\"interval\":1,\"count\":3}"));
    ids[1] =
        create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 4, 1, "\"serviceId\":\"" SVC_1 "\""));
    ids[2] =
        create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 5, 0, "\"serviceId\":\"" SVC_1 "\""));
    ids[3] =
        create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 7, 0, "\"serviceId\":\"" SVC_2 "\""));
    ids[4] =
        create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, 8, 1, "\"serviceId\":\"" SVC_2 "\""));
    ids[5] =
        create(ACC_A, USER_A2, body(b, sizeof(b), CAL_A2, 9, 0, "\"serviceId\":\"" SVC_2 "\""));
    ck_assert_int_eq(
        svc->busy_by_service(st, q, ACC_A, USER_A1, cals, 2, T0, T0 + 3 * DAY, &groups, &n), NT_OK);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        if (groups[i].service_id[0] == '\0') {
            expect_intervals(&groups[i].busy, want_none, 3, 1);
        } else if (strcmp(groups[i].service_id, SVC_1) == 0) {
            expect_intervals(&groups[i].busy, want_svc1, 1, 1);
        } else {
            ck_assert_str_eq(groups[i].service_id, SVC_2);
            ck_assert_uint_eq(groups[i].busy.n, 1);
            ck_assert_int_eq(groups[i].busy.v[0].start, T0 + 8 * HOUR);
        }
    }
    svc->service_busy_free(groups, n);
    ck_assert_int_eq(
        svc->busy_by_service(st, q, ACC_B, USER_A1, cals, 2, T0, T0 + 3 * DAY, &groups, &n), NT_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(groups);

    /* the quirk: not-busy events of the user with another service's id, unexpanded */
    ck_assert_int_eq(svc->other_service_spans(st, q, ACC_A, USER_A1, SVC_1, T0, T0 + DAY, &spans),
                     NT_OK);
    expect_intervals(&spans, want_spans, 1, 1);
    free(spans.v);
    memset(&spans, 0, sizeof(spans));
    ck_assert_int_eq(svc->other_service_spans(st, q, ACC_A, USER_A1, SVC_2, T0, T0 + DAY, &spans),
                     NT_OK);
    ck_assert_uint_eq(spans.n, 1); /* SVC_1's not-busy event at 5 */
    ck_assert_int_eq(spans.v[0].start, T0 + 5 * HOUR);
    free(spans.v);
    memset(&spans, 0, sizeof(spans));
    ck_assert_int_eq(svc->other_service_spans(st, q, ACC_B, USER_A1, SVC_1, T0, T0 + DAY, &spans),
                     NT_OK);
    ck_assert_uint_eq(spans.n, 0);
    free(spans.v);
    fh_req_free(q);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
}
END_TEST

/* In a group commit the first event write of a user and calendar keeps them in the group's
 * memo and the later ones use it; another account's request does not see them, and the memo
 * ends with the group: a calendar deleted after it is gone for the next write. */
START_TEST(test_group_memo)
{
    struct call c = {.method = "POST",
                     .path = "/api/v1/user/{userId}/events",
                     .account = ACC_B,
                     .user = NULL,
                     .param = {{"userId", USER_A1}}};
    json_t *out = NULL;
    char b[512], msg[512], *ids[3];
    int rc;

    fh_group_begin(host);
    for (int i = 0; i < 3; i++) {
        ids[i] = create(ACC_A, USER_A1, body(b, sizeof(b), CAL_A1, i, 1, ""));
        ck_assert_uint_eq(fh_memo_count(host), 2); /* the user, the calendar */
    }
    c.body = body(b, sizeof(b), CAL_A1, 5, 1, "");
    rc = call(&c, &out, msg);
    ck_assert_msg(rc == NT_ENOTFOUND, "%d %s", rc, msg);
    json_decref(out);
    out = NULL;
    ck_assert_uint_eq(fh_memo_count(host), 0); /* a failed request empties the memo */
    fh_group_end(host);
    ck_assert_uint_eq(fh_memo_count(host), 0);
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host),
                                  "DELETE FROM calendar_calendars WHERE id = '" CAL_A1 "'", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    fh_group_begin(host);
    c.account = ACC_A;
    rc = call(&c, &out, msg);
    ck_assert_msg(rc == NT_ENOTFOUND && strstr(msg, "calendarId") != NULL, "%d %s", rc, msg);
    json_decref(out);
    fh_group_end(host);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}
END_TEST

/* The query plan of sql (EXPLAIN QUERY PLAN details joined by "; ") into out. */
static void
plan_of(const char *sql, char *out, size_t cap)
{
    char eqp[1024];
    sqlite3_stmt *st = NULL;
    size_t len = 0;

    snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
    out[0] = '\0';
    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host), eqp, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && len + 2 < cap) {
        int n = snprintf(out + len, cap - len, "%s; ", (const char *)sqlite3_column_text(st, 3));
        len += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(st);
}

/* Migration 5 dropped events_events_user, which no query went by: the queries of the events
 * service for bookings still read by their indexes (no table scan). */
START_TEST(test_service_query_plans)
{
    static const char *const sql[][2] = {
        {"SELECT MAX(created) FROM events_events WHERE user_id = ?1 AND account_id = ?2 AND "
         "service_id = ?3",
         "events_events_service_last"},
        {"SELECT COUNT(*) FROM events_events WHERE user_id = ?1 AND account_id = ?2 AND "
         "service_id = ?3 AND end_ts >= ?5 AND start_ts <= ?4",
         "events_events_service_end"},
        {"SELECT e.start_ts, e.end_ts FROM events_events e WHERE e.user_id = ?1 AND "
         "e.service_id IS NOT NULL AND e.busy = 0 AND e.end_ts >= ?4 AND e.start_ts <= ?3 AND "
         "e.service_id <> ?2 ORDER BY e.start_ts, e.end_ts",
         "events_events_service_free"},
        {"DELETE FROM events_events WHERE account_id = ?1 AND service_id = ?2",
         "events_events_account"}};
    char plan[2048];

    ck_assert_int_eq(count("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'events_events_user'"),
                     0);
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        plan_of(sql[i][0], plan, sizeof(plan));
        ck_assert_msg(strstr(plan, sql[i][1]) != NULL && strstr(plan, "SCAN") == NULL,
                      "query %zu: %s", i, plan);
    }
}
END_TEST

/* Window queries read each span class of events from its own lower bound (events.c migration
 * 4): events of every span, at each class bound and just above it, that reach into a window
 * are found, and those ending just before it are not; each stored class is the one the bounds
 * give (4 h, 2 d, 16 d, 128 d, 1096 d, longer). */
START_TEST(test_span_windows)
{
    static const int64_t spans[] = {1000,        14400000,    14400001,    172800000,
                                    172800001,   1382400000,  1382400001,  11059200000,
                                    11059200001, 94694400000, 94694400001, 315619200000};
    const size_t n = sizeof(spans) / sizeof(spans[0]);
    const int64_t w0 = T0 + 3660 * DAY; /* later than every event start below */
    char b[512], from[32], to[32], *ids[24];
    struct call c = {.method = "GET",
                     .path = "/api/v1/user/calendar/{calendarId}/events",
                     .account = ACC_A,
                     .user = NULL,
                     .param = {{"calendarId", CAL_A2}},
                     .query = {{"startTs", from}, {"endTs", to}}};
    const char *cals[1] = {CAL_A2};
    void *st;
    const nt_events_v1 *svc = events_service(&st);
    nt_intervals busy = {0};
    fh_req *q = NULL;
    json_t *out = NULL, *list;
    size_t found = 0, i, k;

    for (i = 0; i < n; i++) {
        /* in: ends (i + 1) s into the window; out: ends 1 s before it */
        snprintf(b, sizeof(b),
                 "{\"calendarId\":\"%s\",\"startTs\":%lld,\"duration\":%lld,\"busy\":true}", CAL_A2,
                 (long long)(w0 + (int64_t)(i + 1) * 1000 - spans[i]), (long long)spans[i]);
        ids[i] = create(ACC_A, USER_A2, b);
        snprintf(b, sizeof(b),
                 "{\"calendarId\":\"%s\",\"startTs\":%lld,\"duration\":%lld,\"busy\":true}", CAL_A2,
                 (long long)(w0 - 1000 - spans[i]), (long long)spans[i]);
        ids[n + i] = create(ACC_A, USER_A2, b);
    }
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_events WHERE span_class <> CASE "
                           "WHEN end_ts - start_ts <= 14400000 THEN 0 "
                           "WHEN end_ts - start_ts <= 172800000 THEN 1 "
                           "WHEN end_ts - start_ts <= 1382400000 THEN 2 "
                           "WHEN end_ts - start_ts <= 11059200000 THEN 3 "
                           "WHEN end_ts - start_ts <= 94694400000 THEN 4 ELSE 5 END"),
                     0);
    ck_assert_int_eq(count("SELECT COUNT(DISTINCT span_class) FROM events_events"), 6);
    snprintf(from, sizeof(from), "%lld", (long long)w0);
    snprintf(to, sizeof(to), "%lld", (long long)(w0 + HOUR));
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    list = json_object_get(out, "events");
    for (k = 0; k < json_array_size(list); k++) {
        const char *id = json_string_value(
            json_object_get(json_object_get(json_array_get(list, k), "event"), "id"));
        for (i = 0; i < 2 * n; i++)
            if (id != NULL && strcmp(id, ids[i]) == 0) {
                ck_assert_msg(i < n, "event of span %lld ending before the window was listed",
                              (long long)spans[i - n]);
                found++;
            }
    }
    ck_assert_uint_eq(json_array_size(list), n);
    ck_assert_uint_eq(found, n);
    json_decref(out);
    /* free/busy (the calendar-set query): from the earliest start to the last end */
    q = fh_req_new(host);
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, NULL, cals, 1, w0, w0 + HOUR, &busy, NULL), NT_OK);
    ck_assert_uint_eq(busy.n, 1);
    ck_assert_int_eq(busy.v[0].end, w0 + (int64_t)n * 1000);
    free(busy.v);
    memset(&busy, 0, sizeof(busy));
    /* a window that starts after the shortest event ended finds the others only */
    fh_req_free(q);
    q = fh_req_new(host);
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, NULL, cals, 1, w0 + 1500, w0 + 1600, &busy, NULL),
                     NT_OK);
    ck_assert_uint_eq(busy.n, 1);
    fh_req_free(q);
    free(busy.v);
    for (i = 0; i < 2 * n; i++)
        free(ids[i]);
}
END_TEST

/* The service works inside the request's budget: a used-up budget stops it with NT_EBUDGET
 * and a gone client with NT_EGONE, leaving the lists empty. */
START_TEST(test_service_budget)
{
    const char *cals[1] = {CAL_A1};
    void *st;
    const nt_events_v1 *svc = events_service(&st);
    nt_intervals busy = {0};
    fh_req *q = fh_req_new(host);
    char sql[256];

    for (int i = 0; i < 200; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO events_events VALUES ('e%03d', '" CAL_A1 "', '" USER_A1 "', '" ACC_A
                 "', %lld, 1000, %lld, 1, 0, 0, NULL, '[]', '[]', NULL, '{}', 0)",
                 i, (long long)(T0 + i * 60000), (long long)(T0 + i * 60000 + 1000));
        ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), sql, NULL, NULL, NULL), SQLITE_OK);
    }
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, NULL, cals, 1, T0, T0 + DAY, &busy, NULL), NT_OK);
    ck_assert_uint_eq(busy.n, 200);
    ck_assert_int_gt(fh_req_check_calls(q), 0);
    free(busy.v);
    memset(&busy, 0, sizeof(busy));
    fh_req_set_budget(q, 1, 0);
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, NULL, cals, 1, T0, T0 + DAY, &busy, NULL),
                     NT_EBUDGET);
    ck_assert_uint_eq(busy.n, 0);
    ck_assert_ptr_null(busy.v);
    fh_req_free(q);
    q = fh_req_new(host);
    fh_req_set_budget(q, 0, 1);
    ck_assert_int_eq(svc->freebusy(st, q, ACC_A, NULL, cals, 1, T0, T0 + DAY, &busy, NULL),
                     NT_EGONE);
    ck_assert_uint_eq(busy.n, 0);
    fh_req_free(q);
}
END_TEST

/* ---- reminders ---------------------------------------------------------------------------- */

#define MINUTE 60000LL

/* Creates an event of CAL_A1 at `start` (one hour) with `extra` members; returns its id. */
static char *
create_at(int64_t start, const char *extra)
{
    char b[1024];

    snprintf(b, sizeof(b), "{\"calendarId\":\"%s\",\"startTs\":%lld,\"duration\":%lld%s%s}", CAL_A1,
             (long long)start, (long long)HOUR, extra[0] != '\0' ? "," : "", extra);
    return create(ACC_A, USER_A1, b);
}

/* The sum of remindAt - base over the event's reminders (a checksum of their dates). */
static int64_t
rem_sum(const char *id, int64_t base)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT COALESCE(SUM(remind_at - %lld), 0) FROM events_reminders WHERE event_id = "
             "'%s'",
             (long long)base, id);
    return count(sql);
}

static int64_t
rem_count(const char *id)
{
    char sql[160];

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events_reminders WHERE event_id = '%s'", id);
    return count(sql);
}

/* One reminder per occurrence x reminder, remindAt = o + delta minutes, only those more than
 * 61 s ahead; account and identifier are stored; no follow-up for a single event. */
START_TEST(test_reminders_single)
{
    int64_t s0 = T0 + HOUR;
    char sql[256];
    char *id;

    fh_clock_set(T0, 0);
    id = create_at(s0, "\"reminders\":[{\"delta\":-10,\"identifier\":\"a\"},"
                       "{\"delta\":-59,\"identifier\":\"b\"},{\"delta\":-60,\"identifier\":\"c\"},"
                       "{\"delta\":5,\"identifier\":\"d\"}]");
    /* -59 min: T0 + 60 s, not more than 61 s ahead; -60 min: T0 */
    ck_assert_int_eq(rem_count(id), 2);
    ck_assert_int_eq(rem_sum(id, s0), -10 * MINUTE + 5 * MINUTE);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminders WHERE identifier IN ('a','d') "
                           "AND account_id = '" ACC_A "'"),
                     2);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminder_jobs WHERE next_at IS NULL AND "
                           "version = 1"),
                     1);
    free(id);
    /* the 61 s rule at its edge: remindAt = now + 61 s is dropped, now + 61.001 s is kept */
    fh_clock_set(s0 - MINUTE - 61000, 0);
    id = create_at(s0, "\"reminders\":[{\"delta\":-1,\"identifier\":\"x\"}]");
    ck_assert_int_eq(rem_count(id), 0);
    free(id);
    fh_clock_set(s0 - MINUTE - 61001, 0);
    id = create_at(s0, "\"reminders\":[{\"delta\":-1,\"identifier\":\"x\"}]");
    ck_assert_int_eq(rem_count(id), 1);
    free(id);
    /* the compat form {minutesBefore} is a reminder too; no reminders: no rows */
    fh_clock_set(T0, 0);
    id = create_at(s0, "\"reminder\":{\"minutesBefore\":30}");
    ck_assert_int_eq(rem_count(id), 1);
    ck_assert_int_eq(rem_sum(id, s0), -30 * MINUTE);
    free(id);
    id = create_at(s0, "");
    ck_assert_int_eq(rem_count(id), 0);
    /* ... and no job row either (a new event without reminders writes none) */
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events_reminder_jobs WHERE event_id = '%s'",
             id);
    ck_assert_int_eq(count(sql), 0);
    free(id);
}
END_TEST

/* A recurring event: the next 100 future occurrences (plus an earlier one whose reminder is
 * still ahead), a follow-up at the 91st; a finite rule gets all and no follow-up. */
START_TEST(test_reminders_recurring)
{
    int64_t s0 = T0 + HOUR;
    char *id, sql[256];

    fh_clock_set(T0, 0);
    id = create_at(s0, "\"recurrence\":{\"freq\":\"daily\",\"interval\":1},"
                       "\"reminders\":[{\"delta\":-10,\"identifier\":\"a\"}]");
    ck_assert_int_eq(rem_count(id), 100);
    /* sum over k = 0..99 of (s0 + k days - 10 min - s0) */
    ck_assert_int_eq(rem_sum(id, s0), 4950 * DAY - 100 * 10 * MINUTE);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM events_reminder_jobs WHERE event_id = '%s' AND next_at = %lld",
             id, (long long)(s0 + 90 * DAY));
    ck_assert_int_eq(count(sql), 1);
    free(id);
    /* started yesterday: yesterday's occurrence has its +25 h reminder ahead */
    id = create_at(s0 - DAY, "\"recurrence\":{\"freq\":\"daily\",\"interval\":1},"
                             "\"reminders\":[{\"delta\":1500,\"identifier\":\"late\"}]");
    ck_assert_int_eq(rem_count(id), 101);
    free(id);
    /* weekly, 7 occurrences, one already past: 6 reminders, no follow-up */
    id = create_at(s0 - 7 * DAY, "\"recurrence\":{\"freq\":\"weekly\",\"interval\":1,\"count\":7},"
                                 "\"reminders\":[{\"delta\":-10,\"identifier\":\"w\"}]");
    ck_assert_int_eq(rem_count(id), 6);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM events_reminder_jobs WHERE event_id = '%s' AND next_at IS NULL",
             id);
    ck_assert_int_eq(count(sql), 1);
    free(id);
}
END_TEST

/* An update replaces the reminders (new version, none of the old left); deleting the event or
 * its calendar drops them. */
START_TEST(test_reminders_update_delete)
{
    int64_t s0 = T0 + HOUR;
    struct call c = {
        .method = "PUT", .path = "/api/v1/user/events/{eventId}", .account = ACC_A, .user = NULL};
    char *id, *other;

    fh_clock_set(T0, 0);
    id = create_at(s0, "\"reminders\":[{\"delta\":-10,\"identifier\":\"a\"}]");
    other = create_at(s0, "\"reminders\":[{\"delta\":-20,\"identifier\":\"o\"}]");
    c.param[0][0] = "eventId";
    c.param[0][1] = id;
    c.body = "{\"reminders\":[{\"delta\":-15,\"identifier\":\"b\"},"
             "{\"delta\":-5,\"identifier\":\"c\"}]}";
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(rem_count(id), 2);
    ck_assert_int_eq(rem_sum(id, s0), -20 * MINUTE);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminders WHERE identifier = 'a'"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminders WHERE version = 2"), 2);
    /* moving the event moves its reminders */
    c.body = "{\"startTs\":1893463200000}"; /* T0 + 2 h */
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(rem_sum(id, s0 + HOUR), -20 * MINUTE);
    ck_assert_int_eq(count("SELECT MAX(version) FROM events_reminders"), 3);
    ck_assert_int_eq(rem_count(other), 1);
    /* another account's admin cannot touch them */
    c.account = ACC_B;
    c.body = "{\"reminders\":[]}";
    expect_fail(&c, NT_ENOTFOUND, id);
    ck_assert_int_eq(rem_count(id), 2);
    c.account = ACC_A;
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(rem_count(id), 0);
    c.method = "DELETE";
    c.body = NULL;
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminder_jobs"), 1);
    ck_assert_int_eq(rem_count(other), 1);
    /* deleting the calendar drops the other event's reminders */
    c.path = "/api/v1/user/calendar/{calendarId}";
    c.param[0][0] = "calendarId";
    c.param[0][1] = CAL_A1;
    ck_assert_int_eq(status(&c), 200);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminders"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM events_reminder_jobs"), 0);
    free(id);
    free(other);
}
END_TEST

/* The reminder thread runs a due follow-up job: the reminders are computed again, with a new
 * version and the next follow-up date. Own host: [events] reminder_followup_ms = 100. */
START_TEST(test_reminders_followup)
{
    static const char *const names[] = {"account", "user", "calendar", "events", NULL};
    int64_t s0 = T0 + HOUR, version = 0;
    char *id, sql[256];

    fh_free(host);
    host = fh_new();
    ck_assert_int_eq(fh_config_set(host, "account", "create_account_secret", "s3cret"), NT_OK);
    ck_assert_int_eq(fh_config_set(host, "events", "reminder_tick_ms", "100"), NT_OK);
    ck_assert_int_eq(fh_config_set(host, "events", "reminder_followup_ms", "100"), NT_OK);
    fh_clock_set(T0, 0);
    ck_assert_msg(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), seed_sql, NULL, NULL, NULL), SQLITE_OK);
    id = create_at(s0, "\"recurrence\":{\"freq\":\"daily\",\"interval\":1},"
                       "\"reminders\":[{\"delta\":-10,\"identifier\":\"a\"}]");
    /* the job falls due (the thread's clock is the wall clock, years before T0) */
    snprintf(sql, sizeof(sql),
             "DELETE FROM events_reminders WHERE event_id = '%s';"
             "UPDATE events_reminder_jobs SET next_at = 1 WHERE event_id = '%s'",
             id, id);
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), "SELECT version FROM events_reminder_jobs WHERE event_id = '%s'",
             id);
    for (int i = 0; i < 200 && version < 2; i++) {
        sqlite3_stmt *st = NULL;

        usleep(50000);
        if (sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    ck_assert_int_eq(version, 2);
    ck_assert_int_eq(rem_count(id), 100);
    ck_assert_int_eq(rem_sum(id, s0), 4950 * DAY - 100 * 10 * MINUTE);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM events_reminder_jobs WHERE event_id = '%s' AND next_at = %lld",
             id, (long long)(s0 + 90 * DAY));
    ck_assert_int_eq(count(sql), 1);
    free(id);
}
END_TEST

static Suite *
events_plugin_suite(void)
{
    Suite *s = suite_create("events_plugin");
    TCase *tc = tcase_create("handlers");
    TCase *ts = tcase_create("service");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_routes_and_service);
    tcase_add_test(tc, test_start_needs_calendars);
    tcase_add_test(tc, test_create_admin);
    tcase_add_test(tc, test_create_validation);
    tcase_add_test(tc, test_create_end_user);
    tcase_add_test(tc, test_get_scope);
    tcase_add_test(tc, test_update_scope);
    tcase_add_test(tc, test_update_validation);
    tcase_add_test(tc, test_delete_scope);
    tcase_add_test(tc, test_calendar_delete_cascades);
    tcase_add_test(tc, test_instances);
    tcase_add_test(tc, test_calendar_events);
    tcase_add_test(tc, test_freebusy);
    tcase_add_test(tc, test_freebusy_multi);
    tcase_add_test(tc, test_span_windows);
    tcase_add_test(tc, test_service_query_plans);
    tcase_add_test(tc, test_group_memo);
    tcase_add_test(tc, test_meta);
    tcase_add_test(tc, test_reminders_single);
    tcase_add_test(tc, test_reminders_recurring);
    tcase_add_test(tc, test_reminders_update_delete);
    tcase_add_test(tc, test_reminders_followup);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, test_service_freebusy);
    tcase_add_test(ts, test_service_busy_by_service);
    tcase_add_test(ts, test_service_budget);
    suite_add_tcase(s, ts);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(events_plugin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

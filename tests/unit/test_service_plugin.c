/* Tests of the real service.so under the shared fake host (tests/support), loaded with the
 * real account, user, calendar, events and schedule plugins: every route keeps the ABI
 * (fh_check_reply: statuses, fail() messages, no transaction or statement left), booking
 * slots on a fixed clock (booking-time limits against "now"), the request budget, cross-account
 * 404s, the foreign-key cascades, and the start-up check for the services it needs.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
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

#define T_UTC 1917820800000LL /* 2030-10-10T00:00Z */
#define H_MS 3600000LL

static fh_host *host;

static void
setup(void)
{
    static const char *const names[] = {"account",  "user",    "calendar", "events",
                                        "schedule", "service", NULL};

    host = fh_new();
    ck_assert_ptr_nonnull(host);
    fh_clock_set(T_UTC - 24 * H_MS, 0);
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
    ck_assert_msg(strstr(fh_log(host), "prepare failed") == NULL, "%s", fh_log(host));
    fh_free(host);
    host = NULL;
    fh_clock_set(0, 0);
}

/* Calls method+path as the admin of `account` (NULL: public) with the path parameters and
 * query pairs of `kv` ("p:name", value, "q:name", value, ..., NULL), an optional body, a
 * budget of `budget` req_check calls (0: none). Checks the ABI; returns the status or code.
 * *out gets the JSON reply (or the text reply parsed), msg (256 bytes, may be NULL) the
 * message. */
static int
callv(const char *method, const char *path, const char *account, const char *body, long budget,
      json_t **out, char *msg, const char *const *kv)
{
    fh_req *q = fh_req_new(host);
    const char *bad, *text, *type = NULL;
    size_t len = 0;
    int rc;

    ck_assert_ptr_nonnull(q);
    ck_assert_msg(fh_route(host, method, path) != NULL, "no route %s %s", method, path);
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
        if (kv[i][0] == 'p')
            ck_assert_int_eq(fh_req_add_param(q, kv[i] + 2, kv[i + 1]), NT_OK);
        else
            ck_assert_int_eq(fh_req_add_query(q, kv[i] + 2, kv[i + 1]), NT_OK);
    }
    if (account != NULL)
        ck_assert_int_eq(fh_req_set_principal(q, account, NULL), NT_OK);
    if (body != NULL)
        ck_assert_msg(fh_req_set_body_text(q, body, strlen(body), FH_CORE_JSON_FLAGS) == NT_OK,
                      "bad test body %s", body);
    if (budget > 0)
        fh_req_set_budget(q, budget, 0);
    *out = NULL;
    rc = fh_call(host, q, method, path, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "%s %s: %s", method, path, bad);
    text = fh_req_reply_text(q, &type, &len);
    if (rc >= 0 && *out == NULL && text != NULL) {
        ck_assert_str_eq(type, "application/json");
        *out = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    }
    if (rc >= 0)
        ck_assert_msg(*out != NULL, "%s %s: no reply", method, path);
    else
        ck_assert_msg(fh_req_fail_code(q) == rc || rc == NT_EBUDGET || rc == NT_ERETRY,
                      "%s %s: %d without fail()", method, path, rc);
    /* The booking step re-checks the hosts' free time inside its write transaction by design
     * (bounded by the 24 h span and the request's CPU budget); nothing else may. */
    if (strstr(path, "/bookings") == NULL && strstr(path, "/holds") == NULL)
        ck_assert_int_eq(fh_req_check_calls_in_txn(q), 0);
    if (msg != NULL)
        snprintf(msg, 256, "%s", fh_req_msg(q));
    ck_assert_int_eq(fh_in_transaction(host), 0);
    fh_req_free(q);
    return rc;
}

#define CALL(method, path, account, body, out, ...)                                                \
    callv(method, path, account, body, 0, out, NULL, (const char *const[]){__VA_ARGS__, NULL})

/* Creates something through a route answering 201 and returns obj[key].id (malloc'd). */
static char *
created(int rc, json_t *out, const char *key)
{
    char *id;

    ck_assert_int_eq(rc, 201);
    id = strdup(json_string_value(json_object_get(json_object_get(out, key), "id")));
    json_decref(out);
    return id;
}

static char *
new_service(const char *account, const char *body)
{
    json_t *out;
    int rc = callv("POST", "/api/v1/service", account, body, 0, &out, NULL, NULL);

    return created(rc, out, "service");
}

/* A Berlin schedule of user with every day 00:00-23:59. */
static char *
all_day_schedule(const char *user)
{
    static const char body[] =
        "{\"timezone\":\"Europe/Berlin\",\"rules\":["
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Wed\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Thu\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Fri\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]}]}";
    json_t *out;
    int rc = CALL("POST", "/api/v1/user/{userId}/schedule", ACC_A, body, &out, "p:userId", user);

    return created(rc, out, "schedule");
}

/* The number of slots of a booking answer. */
static size_t
slot_count(const json_t *out)
{
    size_t n = 0, i;
    json_t *d;

    json_array_foreach(json_object_get(out, "dates"), i, d) n +=
        json_array_size(json_object_get(d, "slots"));
    return n;
}

/* The slots of 2030-10-10 (or of 101 days from it when `long_span`), 1 h every 15 min (5). */
static int
booking(const char *sid, int long_span, long budget, json_t **out, char *msg)
{
    return callv("GET", "/api/v1/service/{serviceId}/booking", NULL, NULL, budget, out, msg,
                 (const char *const[]){"p:serviceId", sid, "q:startDate", "2030-10-10", "q:endDate",
                                       long_span ? "2031-1-18" : "2030-10-10", "q:ianaTz", "UTC",
                                       "q:duration", "3600000", "q:interval",
                                       long_span ? "300000" : "900000", NULL});
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(test_flow_and_clock)
{
    char *sid = new_service(ACC_A, "{\"metadata\":{\"k\":\"v\"}}");
    char *sched = all_day_schedule(USER_A1);
    char body[512], msg[256];
    json_t *out;

    snprintf(body, sizeof(body),
             "{\"userId\":\"" USER_A1
             "\",\"availibility\":{\"variant\":\"Schedule\",\"id\":\"%s\"}}",
             sched);
    ck_assert_int_eq(
        CALL("POST", "/api/v1/service/{serviceId}/users", ACC_A, body, &out, "p:serviceId", sid),
        200);
    ck_assert_str_eq(json_string_value(json_object_get(out, "userId")), USER_A1);
    json_decref(out);
    /* The clock is the day before: the whole day, 89 slots. */
    ck_assert_int_eq(booking(sid, 0, 0, &out, NULL), 200);
    ck_assert_uint_eq(slot_count(out), 89);
    json_decref(out);
    /* At 10:00Z on the day, with closestBookingTime 30: from 10:30, 10:30..20:45 (42) + 5. */
    fh_clock_set(T_UTC + 10 * H_MS, 0);
    ck_assert_int_eq(CALL("PUT", "/api/v1/service/{serviceId}/users/{userId}", ACC_A,
                          "{\"closestBookingTime\":30}", &out, "p:serviceId", sid, "p:userId",
                          USER_A1),
                     200);
    json_decref(out);
    ck_assert_int_eq(booking(sid, 0, 0, &out, NULL), 200);
    ck_assert_uint_eq(slot_count(out), 47);
    ck_assert_int_eq(
        json_integer_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(out, "dates"), 0), "slots"), 0),
            "start")),
        T_UTC + 10 * H_MS + 30 * 60000);
    json_decref(out);
    /* furthestBookingTime 120 more: only 10:30..11:00 fit a 1 h slot before 12:00. */
    ck_assert_int_eq(CALL("PUT", "/api/v1/service/{serviceId}/users/{userId}", ACC_A,
                          "{\"furthestBookingTime\":120}", &out, "p:serviceId", sid, "p:userId",
                          USER_A1),
                     200);
    json_decref(out);
    ck_assert_int_eq(booking(sid, 0, 0, &out, NULL), 200);
    ck_assert_uint_eq(slot_count(out), 3);
    json_decref(out);
    /* The work stops at the request's budget: 29 000 starts ask req_check every 4096. */
    ck_assert_int_eq(booking(sid, 1, 2, &out, msg), NT_EBUDGET);
    ck_assert_int_eq(booking(sid, 1, 0, &out, NULL), 200);
    json_decref(out);
    /* Busy calendars: text replies. */
    {
        json_t *c;
        char *cal;
        int rc = CALL("POST", "/api/v1/user/{userId}/calendar", ACC_A, "{\"timezone\":\"UTC\"}", &c,
                      "p:userId", USER_A1);
        cal = created(rc, c, "calendar");
        snprintf(body, sizeof(body), "{\"busy\":{\"provider\":\"Nettu\",\"id\":\"%s\"}}", cal);
        ck_assert_int_eq(CALL("PUT", "/api/v1/service/{serviceId}/users/{userId}/busy", ACC_A, body,
                              &out, "p:serviceId", sid, "p:userId", USER_A1),
                         200);
        ck_assert(json_is_string(out));
        json_decref(out);
        ck_assert_int_eq(CALL("PUT", "/api/v1/service/{serviceId}/users/{userId}/busy", ACC_A, body,
                              &out, "p:serviceId", sid, "p:userId", USER_A1),
                         NT_ECONFLICT);
        /* Deleting the calendar drops the registration (foreign key). */
        ck_assert_int_eq(CALL("DELETE", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, &out,
                              "p:calendarId", cal),
                         200);
        json_decref(out);
        ck_assert_int_eq(CALL("DELETE", "/api/v1/service/{serviceId}/users/{userId}/busy", ACC_A,
                              body, &out, "p:serviceId", sid, "p:userId", USER_A1),
                         NT_ENOTFOUND);
        free(cal);
    }
    /* Deleting the schedule leaves the member Empty; deleting the service takes the rest. */
    ck_assert_int_eq(CALL("DELETE", "/api/v1/user/schedule/{scheduleId}", ACC_A, NULL, &out,
                          "p:scheduleId", sched),
                     200);
    json_decref(out);
    ck_assert_int_eq(
        CALL("GET", "/api/v1/service/{serviceId}", ACC_A, NULL, &out, "p:serviceId", sid), 200);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(out, "users"), 0), "availability"),
            "variant")),
        "Empty");
    json_decref(out);
    ck_assert_int_eq(
        CALL("DELETE", "/api/v1/service/{serviceId}", ACC_A, NULL, &out, "p:serviceId", sid), 200);
    json_decref(out);
    {
        sqlite3_stmt *st;
        ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host),
                                            "SELECT (SELECT COUNT(*) FROM service_users) + "
                                            "(SELECT COUNT(*) FROM service_metadata)",
                                            -1, &st, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int64(st, 0), 0);
        sqlite3_finalize(st);
    }
    free(sched);
    free(sid);
}
END_TEST

START_TEST(test_cross_account)
{
    char *sid = new_service(ACC_A, NULL);
    json_t *out;

    ck_assert_int_eq(CALL("POST", "/api/v1/service/{serviceId}/users", ACC_A,
                          "{\"userId\":\"" USER_A2 "\"}", &out, "p:serviceId", sid),
                     200);
    json_decref(out);
    ck_assert_int_eq(
        CALL("GET", "/api/v1/service/{serviceId}", ACC_B, NULL, &out, "p:serviceId", sid),
        NT_ENOTFOUND);
    ck_assert_int_eq(
        CALL("PUT", "/api/v1/service/{serviceId}", ACC_B, "{}", &out, "p:serviceId", sid),
        NT_ENOTFOUND);
    ck_assert_int_eq(
        CALL("DELETE", "/api/v1/service/{serviceId}", ACC_B, NULL, &out, "p:serviceId", sid),
        NT_ENOTFOUND);
    ck_assert_int_eq(CALL("POST", "/api/v1/service/{serviceId}/users", ACC_B,
                          "{\"userId\":\"" USER_B1 "\"}", &out, "p:serviceId", sid),
                     NT_ENOTFOUND);
    ck_assert_int_eq(CALL("DELETE", "/api/v1/service/{serviceId}/users/{userId}", ACC_B, NULL, &out,
                          "p:serviceId", sid, "p:userId", USER_A2),
                     NT_ENOTFOUND);
    ck_assert_int_eq(CALL("POST", "/api/v1/service/{serviceId}/booking-intend", ACC_B,
                          "{\"timestamp\":0,\"duration\":1,\"interval\":900000}", &out,
                          "p:serviceId", sid),
                     NT_ENOTFOUND);
    /* A's admin cannot add B's user. */
    ck_assert_int_eq(CALL("POST", "/api/v1/service/{serviceId}/users", ACC_A,
                          "{\"userId\":\"" USER_B1 "\"}", &out, "p:serviceId", sid),
                     NT_ENOTFOUND);
    ck_assert_int_eq(
        CALL("GET", "/api/v1/service/{serviceId}", ACC_A, NULL, &out, "p:serviceId", sid), 200);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "users")), 1);
    json_decref(out);
    free(sid);
}
END_TEST

/* The events of the service in the events table. */
static int64_t
service_events(const char *sid)
{
    sqlite3_stmt *st;
    int64_t n;

    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host),
                                        "SELECT COUNT(*) FROM events_events WHERE service_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Bookings and holds under the fake clock: a hold blocks, expires by the clock, a
 * retryable storage failure leaves nothing behind, cancel deletes the events. */
START_TEST(test_bookings)
{
    char *sid = new_service(ACC_A, NULL);
    char *sched = all_day_schedule(USER_A1);
    char body[512], msg[256], *hold, *bk, *cal;
    json_t *out;
    int rc;

    snprintf(body, sizeof(body),
             "{\"userId\":\"" USER_A1
             "\",\"availability\":{\"variant\":\"Schedule\",\"id\":\"%s\"}}",
             sched);
    ck_assert_int_eq(
        CALL("POST", "/api/v1/service/{serviceId}/users", ACC_A, body, &out, "p:serviceId", sid),
        200);
    json_decref(out);
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld}",
             (long long)(T_UTC + 10 * H_MS), (long long)H_MS);
    /* No busy calendar and a schedule plan: no booking calendar. */
    ck_assert_int_eq(callv("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, 0, &out,
                           msg, (const char *const[]){"p:serviceId", sid, NULL}),
                     NT_ECONFLICT);
    ck_assert_msg(strstr(msg, "booking calendar") != NULL, "%s", msg);
    rc = CALL("POST", "/api/v1/user/{userId}/calendar", ACC_A, "{\"timezone\":\"UTC\"}", &out,
              "p:userId", USER_A1);
    cal = created(rc, out, "calendar");
    {
        char b2[256];
        snprintf(b2, sizeof(b2), "{\"busy\":{\"provider\":\"Nettu\",\"id\":\"%s\"}}", cal);
        ck_assert_int_eq(CALL("PUT", "/api/v1/service/{serviceId}/users/{userId}/busy", ACC_A, b2,
                              &out, "p:serviceId", sid, "p:userId", USER_A1),
                         200);
        json_decref(out);
    }
    /* A hold of 10 s blocks the time until the clock passes it. */
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld,\"ttlSeconds\":10}",
             (long long)(T_UTC + 10 * H_MS), (long long)H_MS);
    rc = CALL("POST", "/api/v1/service/{serviceId}/holds", ACC_A, body, &out, "p:serviceId", sid);
    hold = created(rc, out, "hold");
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld}",
             (long long)(T_UTC + 10 * H_MS), (long long)H_MS);
    ck_assert_int_eq(callv("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, 0, &out,
                           msg, (const char *const[]){"p:serviceId", sid, NULL}),
                     NT_ECONFLICT);
    ck_assert_msg(strstr(msg, "taken") != NULL, "%s", msg);
    fh_clock_set(T_UTC - 24 * H_MS + 10001, 0);
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld,\"holdId\":\"%s\"}",
             (long long)(T_UTC + 10 * H_MS), (long long)H_MS, hold);
    ck_assert_int_eq(callv("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, 0, &out,
                           msg, (const char *const[]){"p:serviceId", sid, NULL}),
                     NT_ECONFLICT);
    ck_assert_msg(strstr(msg, "expired") != NULL, "%s", msg);
    /* A retryable failure of the last write leaves neither booking nor event. */
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld}",
             (long long)(T_UTC + 10 * H_MS), (long long)H_MS);
    fh_fail_next(host, "INSERT INTO service_bookings", NT_ERETRY, 1);
    ck_assert_int_eq(
        CALL("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, &out, "p:serviceId", sid),
        NT_ERETRY);
    ck_assert_int_eq(service_events(sid), 0);
    rc =
        CALL("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, &out, "p:serviceId", sid);
    bk = created(rc, out, "booking");
    ck_assert_int_eq(service_events(sid), 1);
    /* The booking's hour is gone from the slots: the 7 starts from 9:15 to 10:45 overlap it
     * (9:00 and 11:00 only touch it)... */
    ck_assert_int_eq(booking(sid, 0, 0, &out, NULL), 200);
    ck_assert_uint_eq(slot_count(out), 82);
    json_decref(out);
    /* ...and cancel gives it back. */
    ck_assert_int_eq(CALL("DELETE", "/api/v1/service/{serviceId}/bookings/{bookingId}", ACC_A, NULL,
                          &out, "p:serviceId", sid, "p:bookingId", bk),
                     200);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "booking"), "status")),
                     "cancelled");
    json_decref(out);
    ck_assert_int_eq(service_events(sid), 0);
    ck_assert_int_eq(booking(sid, 0, 0, &out, NULL), 200);
    ck_assert_uint_eq(slot_count(out), 89);
    json_decref(out);
    /* Another account sees none of it. */
    ck_assert_int_eq(CALL("GET", "/api/v1/service/{serviceId}/bookings/{bookingId}", ACC_B, NULL,
                          &out, "p:serviceId", sid, "p:bookingId", bk),
                     NT_ENOTFOUND);
    ck_assert_int_eq(CALL("DELETE", "/api/v1/service/{serviceId}/holds/{holdId}", ACC_B, NULL, &out,
                          "p:serviceId", sid, "p:holdId", hold),
                     NT_ENOTFOUND);
    free(bk);
    free(cal);
    free(hold);
    free(sched);
    free(sid);
}
END_TEST

/* Adds user as a member of sid with an all-day schedule and a busy (booking) calendar. */
static void
add_host(const char *sid, const char *user)
{
    char *sched = all_day_schedule(user), *cal, body[512];
    json_t *out;
    int rc;

    snprintf(body, sizeof(body),
             "{\"userId\":\"%s\",\"availability\":{\"variant\":\"Schedule\",\"id\":\"%s\"}}", user,
             sched);
    ck_assert_int_eq(
        CALL("POST", "/api/v1/service/{serviceId}/users", ACC_A, body, &out, "p:serviceId", sid),
        200);
    json_decref(out);
    rc = CALL("POST", "/api/v1/user/{userId}/calendar", ACC_A, "{\"timezone\":\"UTC\"}", &out,
              "p:userId", user);
    cal = created(rc, out, "calendar");
    snprintf(body, sizeof(body), "{\"busy\":{\"provider\":\"Nettu\",\"id\":\"%s\"}}", cal);
    ck_assert_int_eq(CALL("PUT", "/api/v1/service/{serviceId}/users/{userId}/busy", ACC_A, body,
                          &out, "p:serviceId", sid, "p:userId", user),
                     200);
    json_decref(out);
    free(cal);
    free(sched);
}

/* Books sid at T_UTC + hour h; returns the booking id (malloc'd) and its host in *chosen. */
static char *
book(const char *sid, int h, const char **chosen)
{
    char body[128], *id;
    json_t *out;
    int rc;

    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld}",
             (long long)(T_UTC + h * H_MS), (long long)H_MS);
    rc =
        CALL("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, &out, "p:serviceId", sid);
    ck_assert_int_eq(rc, 201);
    *chosen = strcmp(json_string_value(json_array_get(
                         json_object_get(json_object_get(out, "booking"), "hostUserIds"), 0)),
                     USER_A1) == 0
                  ? USER_A1
                  : USER_A2;
    id = strdup(json_string_value(json_object_get(json_object_get(out, "booking"), "id")));
    json_decref(out);
    return id;
}

/* In a group commit the first booking of a service keeps it in the group's memo and the later
 * ones use it (another account's request does not see it, and its 404 empties the memo); the
 * memo ends with the group, so a change of the service after the group is seen at once. */
START_TEST(test_group_memo)
{
    char *sid = new_service(ACC_A, NULL);
    char body[512], msg[256];
    json_t *out;

    add_host(sid, USER_A1);
    fh_group_begin(host);
    for (int i = 0; i < 3; i++) {
        const char *chosen = NULL;
        free(book(sid, 10 + 2 * i, &chosen)); /* 201 */
        ck_assert_ptr_eq(chosen, USER_A1);
        /* the service and the host's buffers; through the events plugin the host's
         * calendars, its booking calendar, the host as a user of the account, and the
         * round-robin statistic with its generation */
        ck_assert_uint_eq(fh_memo_count(host), 7);
    }
    ck_assert_int_eq(service_events(sid), 3);
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld}",
             (long long)(T_UTC + 16 * H_MS), (long long)H_MS);
    ck_assert_int_eq(callv("POST", "/api/v1/service/{serviceId}/bookings", ACC_B, body, 0, &out,
                           msg, (const char *const[]){"p:serviceId", sid, NULL}),
                     NT_ENOTFOUND);
    ck_assert_uint_eq(fh_memo_count(host), 0); /* a failed request empties the memo */
    fh_group_end(host);
    ck_assert_uint_eq(fh_memo_count(host), 0);
    ck_assert_int_eq(CALL("DELETE", "/api/v1/service/{serviceId}/users/{userId}", ACC_A, NULL, &out,
                          "p:serviceId", sid, "p:userId", USER_A1),
                     200);
    json_decref(out);
    fh_group_begin(host);
    snprintf(body, sizeof(body), "{\"startTs\":%lld,\"duration\":%lld}",
             (long long)(T_UTC + 18 * H_MS), (long long)H_MS);
    ck_assert_int_eq(callv("POST", "/api/v1/service/{serviceId}/bookings", ACC_A, body, 0, &out,
                           msg, (const char *const[]){"p:serviceId", sid, NULL}),
                     NT_ECONFLICT);
    ck_assert_msg(strstr(msg, "no members") != NULL, "%s", msg);
    fh_group_end(host);
    free(sid);
}
END_TEST

/* Round robin inside one group: the memo keeps each host's newest booking time, and the
 * group's own bookings and cancellations keep it exact, so the hosts alternate as they do
 * without a group, and a cancelled booking gives its host the turn back. */
START_TEST(test_group_round_robin)
{
    char *sid = new_service(ACC_A, NULL), *ids[6];
    const char *chosen[6], *next;
    json_t *out;

    add_host(sid, USER_A1);
    add_host(sid, USER_A2);
    fh_clock_set(T_UTC - 24 * H_MS, 1); /* each reading of the clock is a millisecond later */
    fh_group_begin(host);
    for (int i = 0; i < 6; i++) {
        ids[i] = book(sid, 2 * i, &chosen[i]);
        if (i > 0)
            ck_assert_msg(chosen[i] != chosen[i - 1], "booking %d went to the same host", i);
    }
    /* The newest booking goes: its host's newest is older than the other's now. */
    ck_assert_int_eq(CALL("DELETE", "/api/v1/service/{serviceId}/bookings/{bookingId}", ACC_A, NULL,
                          &out, "p:serviceId", sid, "p:bookingId", ids[5]),
                     200);
    json_decref(out);
    free(book(sid, 20, &next));
    ck_assert_ptr_eq(next, chosen[5]);
    fh_group_end(host);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
    free(sid);
}
END_TEST

START_TEST(test_needs_services)
{
    static const char *const names[] = {"account", "user", "calendar", "events", "service", NULL};
    fh_host *h = fh_new();

    ck_assert_ptr_nonnull(h);
    ck_assert_int_ne(fh_load_all(h, names), NT_OK);
    ck_assert_msg(strstr(fh_log(h), "needs service schedules") != NULL, "%s", fh_log(h));
    fh_free(h);
}
END_TEST

static Suite *
service_suite(void)
{
    Suite *s = suite_create("service_plugin");
    TCase *tc = tcase_create("routes");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_flow_and_clock);
    tcase_add_test(tc, test_cross_account);
    tcase_add_test(tc, test_bookings);
    tcase_add_test(tc, test_group_memo);
    tcase_add_test(tc, test_group_round_robin);
    suite_add_tcase(s, tc);
    tc = tcase_create("load");
    tcase_add_test(tc, test_needs_services);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(service_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

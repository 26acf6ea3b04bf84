/* Tests of the real events.so under the shared fake host (tests/support): how its routes use
 * the request budget of the host (req_check) while they expand events.
 *
 *  - every route that expands stored events asks req_check while it works, stops with
 *    NT_EBUDGET (422) or NT_EGONE when the host says so, and keeps the ABI contract (a
 *    message, no transaction left open);
 *  - create and update compute a rule's expansion (endTs) before their write transaction: no
 *    req_check call ever comes from inside a transaction;
 *  - a rule over [events] rule_cpu_ms is refused with 400 naming the setting, and nothing is
 *    stored; the same rule passes with a larger cap;
 *  - times and durations out of range answer 400 before any lookup.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

#include "fakehost.h"

#define ACC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define USER_A1 "aaaaaaaa-1111-4000-8000-000000000001"
#define CAL_A1 "aaaaaaaa-cccc-4000-8000-000000000001"

static const char seed_sql[] =
    "INSERT INTO account_accounts (id, api_key_hash, public_jwt_key, key_version, webhook_url,"
    " webhook_key, created) VALUES ('" ACC_A "', '"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', NULL, 0, NULL, NULL, 1);"
    "INSERT INTO user_users (id, account_id, metadata, created) VALUES"
    " ('" USER_A1 "', '" ACC_A "', '{}', 1);"
    "INSERT INTO calendar_calendars (id, user_id, account_id, timezone, week_start, metadata,"
    " created) VALUES ('" CAL_A1 "', '" USER_A1 "', '" ACC_A "', 'UTC', 0, '{}', 1);";

/* A rule with hundreds of candidate dates per occurrence and 366 days per period, from the
 * year 1: about a millisecond to count, a year of libical candidates per window. */
static char costly[4096];

static fh_host *host;

static void
setup_with(const char *rule_cpu_ms)
{
    static const char *const names[] = {"account", "user", "calendar", "events", NULL};
    size_t n;

    host = fh_new();
    ck_assert_ptr_nonnull(host);
    ck_assert_int_eq(fh_config_set(host, "account", "create_account_secret", "s3cret"), NT_OK);
    if (rule_cpu_ms != NULL)
        ck_assert_int_eq(fh_config_set(host, "events", "rule_cpu_ms", rule_cpu_ms), NT_OK);
    ck_assert_msg(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), seed_sql, NULL, NULL, NULL), SQLITE_OK);
    n = (size_t)snprintf(costly, sizeof(costly),
                         "{\"freq\":\"yearly\",\"interval\":1,\"byweekday\":[\"Mon\",\"Tue\","
                         "\"Wed\",\"Thu\",\"Fri\",\"Sat\",\"Sun\"],\"bysetpos\":[-1],"
                         "\"byyearday\":[");
    for (int d = 1; d <= 366; d++)
        n += (size_t)snprintf(costly + n, sizeof(costly) - n, d == 1 ? "%d" : ",%d", d);
    snprintf(costly + n, sizeof(costly) - n, "]}");
}

static void
setup(void)
{
    setup_with(NULL);
}

static void
teardown(void)
{
    fh_free(host);
    host = NULL;
}

/* Calls method + path as the account's admin with a body (may be NULL), optional path
 * params ("name", value pairs, NULL-terminated) and query pairs. budget/gone as
 * fh_req_set_budget. Returns the status; *out (may be NULL) gets the reply; *q keeps the
 * request for inspection (free it with fh_req_free). */
static int
call(const char *method, const char *path, const char *body, const char *const *params,
     const char *const *query, long budget, int gone, json_t **out, fh_req **keep)
{
    fh_req *q = fh_req_new(host);
    json_t *o = NULL;
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(fh_req_set_principal(q, ACC_A, NULL), NT_OK);
    if (body != NULL)
        ck_assert_int_eq(fh_req_set_body_text(q, body, strlen(body), FH_CORE_JSON_FLAGS), NT_OK);
    for (int i = 0; params != NULL && params[i] != NULL; i += 2)
        ck_assert_int_eq(fh_req_add_param(q, params[i], params[i + 1]), NT_OK);
    for (int i = 0; query != NULL && query[i] != NULL; i += 2)
        ck_assert_int_eq(fh_req_add_query(q, query[i], query[i + 1]), NT_OK);
    fh_req_set_budget(q, budget, gone);
    rc = fh_call(host, q, method, path, &o);
    bad = fh_check_reply(host, q, rc, o);
    ck_assert_msg(bad == NULL, "%s %s: %s (rc %d, msg '%s')", method, path, bad, rc, fh_req_msg(q));
    if (out != NULL)
        *out = o;
    else
        json_decref(o);
    if (keep != NULL)
        *keep = q;
    else
        fh_req_free(q);
    return rc;
}

/* Creates an event with `recurrence` (JSON text or NULL) starting at start; returns its id
 * (static buffer). */
static const char *
create(int64_t start, const char *recurrence)
{
    static char id[NT_UUID_BUF];
    const char *const params[] = {"userId", USER_A1, NULL};
    char body[8192];
    json_t *out = NULL;
    int rc;

    snprintf(body, sizeof(body),
             "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":%lld,\"duration\":3600000,\"busy\":true"
             "%s%s}",
             (long long)start, recurrence != NULL ? ",\"recurrence\":" : "",
             recurrence != NULL ? recurrence : "");
    rc = call("POST", "/api/v1/user/{userId}/events", body, params, NULL, 0, 0, &out, NULL);
    ck_assert_msg(rc == 201, "create: %d", rc);
    snprintf(id, sizeof(id), "%s",
             json_string_value(json_object_get(json_object_get(out, "event"), "id")));
    json_decref(out);
    return id;
}

#define Y1 "-62135564400000" /* 0001-01-01T09:00:00Z */
#define WS "1704067200000"   /* 2024-01-01 */
#define WE "1709251200000"   /* 2024-03-01 */

/* Every expanding route asks req_check and stops with its verdict. */
START_TEST(test_routes_stop)
{
    char id[NT_UUID_BUF];
    const char *const win[] = {"startTs", WS, "endTs", WE, "calendarIds", CAL_A1, NULL};
    const char *const user[] = {"userId", USER_A1, NULL};
    const char *const cal[] = {"calendarId", CAL_A1, NULL};
    const char *const ev[] = {"eventId", id, NULL};
    const char multi[] = "{\"userIds\":[\"" USER_A1 "\"],\"startTs\":" WS ",\"endTs\":" WE
                         ",\"calendarIds\":[\"" CAL_A1 "\"]}";
    struct {
        const char *method, *path, *body;
        const char *const *params, *const *query;
    } routes[] = {
        {"GET", "/api/v1/user/{userId}/freebusy", NULL, user, win},
        {"POST", "/api/v1/user/freebusy", multi, NULL, NULL},
        {"GET", "/api/v1/user/calendar/{calendarId}/events", NULL, cal, win},
        {"GET", "/api/v1/user/events/{eventId}/instances", NULL, ev, win},
    };

    snprintf(id, sizeof(id), "%s", create(1609750800000LL, costly));
    for (int i = 0; i < 10; i++)
        create(1609750800000LL + i, costly);
    for (size_t r = 0; r < sizeof(routes) / sizeof(routes[0]); r++) {
        fh_req *q = NULL;
        int rc = call(routes[r].method, routes[r].path, routes[r].body, routes[r].params,
                      routes[r].query, 0, 0, NULL, &q);
        ck_assert_msg(rc == 200, "%s: %d %s", routes[r].path, rc, fh_req_msg(q));
        ck_assert_msg(fh_req_check_calls(q) > 0, "%s never asked req_check", routes[r].path);
        fh_req_free(q);
        rc = call(routes[r].method, routes[r].path, routes[r].body, routes[r].params,
                  routes[r].query, 1, 0, NULL, &q);
        ck_assert_msg(rc == NT_EBUDGET, "%s: %d instead of NT_EBUDGET", routes[r].path, rc);
        ck_assert_msg(fh_req_check_calls(q) == 2, "%s: %ld checks after the budget", routes[r].path,
                      fh_req_check_calls(q));
        fh_req_free(q);
        rc = call(routes[r].method, routes[r].path, routes[r].body, routes[r].params,
                  routes[r].query, 0, 1, NULL, &q);
        ck_assert_msg(rc == NT_EGONE, "%s: %d instead of NT_EGONE", routes[r].path, rc);
        ck_assert_msg(fh_req_check_calls(q) == 1, "%s: %ld checks after the client left",
                      routes[r].path, fh_req_check_calls(q));
        fh_req_free(q);
    }
}
END_TEST

/* Create and update expand before their write transaction begins. */
START_TEST(test_expand_outside_transaction)
{
    const char *const user[] = {"userId", USER_A1, NULL};
    char body[8192], id[NT_UUID_BUF];
    const char *const ev[] = {"eventId", id, NULL};
    fh_req *q = NULL;
    int rc;

    snprintf(body, sizeof(body),
             "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":" Y1 ",\"duration\":1000,"
             "\"recurrence\":%.*s,\"count\":739}}",
             (int)strlen(costly) - 1, costly);
    rc = call("POST", "/api/v1/user/{userId}/events", body, user, NULL, 0, 0, NULL, &q);
    ck_assert_int_eq(rc, 201);
    ck_assert_msg(fh_req_check_calls(q) > 0, "the expansion never asked req_check");
    ck_assert_int_eq(fh_req_check_calls_in_txn(q), 0);
    fh_req_free(q);

    snprintf(id, sizeof(id), "%s", create(1609750800000LL, NULL));
    snprintf(body, sizeof(body), "{\"startTs\":" Y1 ",\"recurrence\":%.*s,\"count\":700}}",
             (int)strlen(costly) - 1, costly);
    rc = call("PUT", "/api/v1/user/events/{eventId}", body, ev, NULL, 0, 0, NULL, &q);
    ck_assert_int_eq(rc, 200);
    ck_assert_msg(fh_req_check_calls(q) > 0, "the expansion never asked req_check");
    ck_assert_int_eq(fh_req_check_calls_in_txn(q), 0);
    ck_assert_int_eq(fh_in_transaction(host), 0);
    fh_req_free(q);

    /* The host's budget also stops a create. */
    snprintf(body, sizeof(body),
             "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":" Y1 ",\"duration\":1000,"
             "\"recurrence\":%.*s,\"count\":739}}",
             (int)strlen(costly) - 1, costly);
    rc = call("POST", "/api/v1/user/{userId}/events", body, user, NULL, 1, 0, NULL, NULL);
    ck_assert_int_eq(rc, NT_EBUDGET);
}
END_TEST

static int
count_events(void)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    ck_assert_int_eq(
        sqlite3_prepare_v2(fh_sqlite(host), "SELECT count(*) FROM events_events", -1, &st, NULL),
        SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* [events] rule_cpu_ms = 1: a rule whose endTs walks two years of 366 candidate dates with
 * libical (until, no count: a few ms) is refused. */
START_TEST(test_rule_cap)
{
    const char *const user[] = {"userId", USER_A1, NULL};
    char body[8192];
    fh_req *q = NULL;
    int before, rc;

    teardown();
    setup_with("1");
    snprintf(body, sizeof(body),
             "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":" Y1 ",\"duration\":1000,"
             "\"recurrence\":%.*s,\"until\":-62072319600000}}",
             (int)strlen(costly) - 1, costly);
    before = count_events();
    rc = call("POST", "/api/v1/user/{userId}/events", body, user, NULL, 0, 0, NULL, &q);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_msg(strstr(fh_req_msg(q), "rule_cpu_ms") != NULL, "%s", fh_req_msg(q));
    fh_req_free(q);
    ck_assert_int_eq(count_events(), before);
    teardown();
    setup_with("60000");
    snprintf(body, sizeof(body),
             "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":" Y1 ",\"duration\":1000,"
             "\"recurrence\":%.*s,\"until\":-62072319600000}}",
             (int)strlen(costly) - 1, costly);
    rc = call("POST", "/api/v1/user/{userId}/events", body, user, NULL, 0, 0, NULL, NULL);
    ck_assert_int_eq(rc, 201);
}
END_TEST

/* Numbers out of range: 400 naming the field, before the calendar is even looked up. */
START_TEST(test_ranges)
{
    static const char *const bodies[] = {
        "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":-9223372036854775808}",
        "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":-1}",
        "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":0,\"duration\":315619200001}",
        "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":-62135596800001,\"duration\":0}",
        "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":253402300800000,\"duration\":0}",
        "{\"calendarId\":\"cccccccc-0000-4000-8000-000000000000\",\"startTs\":0,"
        "\"duration\":-1}",
        "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":253402214400000,\"duration\":0,"
        "\"recurrence\":{\"freq\":\"daily\",\"interval\":1,\"until\":253402387200000}}",
    };
    static const char *const fields[] = {"duration", "duration", "duration",        "startTs",
                                         "startTs",  "duration", "recurrence.until"};
    const char *const user[] = {"userId", USER_A1, NULL};
    const char *const far[] = {
        "startTs", "253402300800000", "endTs", "253402300800001", "calendarIds", CAL_A1, NULL};

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        fh_req *q = NULL;
        int rc =
            call("POST", "/api/v1/user/{userId}/events", bodies[i], user, NULL, 0, 0, NULL, &q);
        ck_assert_msg(rc == NT_EINVAL, "body %zu: %d", i, rc);
        ck_assert_msg(strncmp(fh_req_msg(q), fields[i], strlen(fields[i])) == 0, "body %zu: '%s'",
                      i, fh_req_msg(q));
        fh_req_free(q);
    }
    ck_assert_int_eq(
        call("GET", "/api/v1/user/{userId}/freebusy", NULL, user, far, 0, 0, NULL, NULL),
        NT_EINVAL);
    /* Ten years exactly and the edges of the years 1..9999 pass. */
    ck_assert_int_eq(call("POST", "/api/v1/user/{userId}/events",
                          "{\"calendarId\":\"" CAL_A1 "\",\"startTs\":-62135596800000,"
                          "\"duration\":315619200000}",
                          user, NULL, 0, 0, NULL, NULL),
                     201);
}
END_TEST

static Suite *
glue_suite(void)
{
    Suite *s = suite_create("expand_glue");
    TCase *tc = tcase_create("events");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_routes_stop);
    tcase_add_test(tc, test_expand_outside_transaction);
    tcase_add_test(tc, test_rule_cap);
    tcase_add_test(tc, test_ranges);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(glue_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

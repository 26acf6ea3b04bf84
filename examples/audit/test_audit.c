/* Unit tests of the example plugin examples/audit under the fake host (<nettu/fakehost.h>,
 * libnettu-fakehost): audit.c is compiled into this test and admitted with fh_adopt, next
 * to the real account.so and user.so, which give it write routes to observe. The observer is
 * called directly, as the server calls it after a reply.
 *
 * In the source tree ctest builds it (tests/sdk); against an installed nettu, `make check`
 * in this folder does (pkg-config nettu-fakehost and check, NETTU_FAKEHOST_PLUGIN_DIR set to
 * the installed plugin folder).
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/fakehost.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

#define ACCOUNT "aaaaaaaa-0000-4000-8000-000000000001"
#define OTHER "bbbbbbbb-0000-4000-8000-000000000002"
#define END_USER "cccccccc-0000-4000-8000-000000000003"

/* The descriptor of the audit plugin linked into this test (examples/audit/audit.c). */
const nt_plugin_desc *nt_plugin_entry(void);

static fh_host *host;
static fh_plugin *audit;

/* Opens account and user from the build, adopts audit with the given [audit] keys
 * (NULL-terminated pairs) and runs init; returns audit's init result. */
static int
load(const char *const *kv)
{
    const char *const names[] = {"account", "user", NULL};

    host = fh_new();
    ck_assert_ptr_nonnull(host);
    ck_assert_int_eq(fh_config_set(host, "account", "default_api_key", "sk_test_0123456789"),
                     NT_OK);
    ck_assert_int_eq(fh_config_set(host, "account", "default_account_id", ACCOUNT), NT_OK);
    ck_assert_int_eq(fh_config_set(host, "account", "create_account_secret", "s"), NT_OK);
    for (int i = 0; kv != NULL && kv[i] != NULL; i += 2)
        ck_assert_int_eq(fh_config_set(host, "audit", kv[i], kv[i + 1]), NT_OK);
    ck_assert_msg(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    audit = fh_adopt(host, nt_plugin_entry());
    ck_assert_msg(audit != NULL, "%s", fh_log(host));
    return fh_init(audit);
}

static void
setup(void)
{
    fh_clock_set(0, 0);
    ck_assert_msg(load(NULL) == NT_OK, "%s", fh_log(host));
    ck_assert_msg(fh_migrate(host) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(fh_start(audit), NT_OK);
}

static void
teardown(void)
{
    fh_free(host);
    host = NULL;
    fh_clock_set(0, 0);
}

/* Runs `method path` as the server would for the principal (user NULL: an admin), then
 * tells the audit observer the reply had `status`. Returns the handler's result. param
 * names the {userId} value, or NULL. */
static int
serve(const char *method, const char *path, const char *param, const char *account,
      const char *user, int status)
{
    const fh_service *s = fh_service_find(host, NT_SERVICE_OBSERVER, "audit");
    const nt_observer_v1 *obs;
    fh_req *q = fh_req_new(host);
    json_t *out = NULL;
    int rc;

    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(q);
    obs = s->ops;
    ck_assert_uint_ge(obs->size, sizeof(nt_observer_v1));
    if (param != NULL)
        ck_assert_int_eq(fh_req_add_param(q, "userId", param), NT_OK);
    if (account != NULL)
        ck_assert_int_eq(fh_req_set_principal(q, account, user), NT_OK);
    rc = fh_call(host, q, method, path, &out);
    json_decref(out);
    obs->request_done(s->state, q, status, 123);
    fh_req_free(q);
    return rc;
}

/* GET /api/v1/audit for `account` with up to two query pairs. Returns the status or code,
 * *out the reply (caller frees) and msg (512 bytes) the fail() message. */
static int
list(const char *account, const char *k1, const char *v1, const char *k2, const char *v2,
     json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(fh_req_set_principal(q, account, NULL), NT_OK);
    if (k1 != NULL)
        ck_assert_int_eq(fh_req_add_query(q, k1, v1), NT_OK);
    if (k2 != NULL)
        ck_assert_int_eq(fh_req_add_query(q, k2, v2), NT_OK);
    *out = NULL;
    rc = fh_call(host, q, "GET", "/api/v1/audit", out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "GET /api/v1/audit broke the ABI: %s", bad);
    snprintf(msg, 512, "%s", fh_req_msg(q));
    fh_req_free(q);
    return rc;
}

/* The number of audit_log rows. */
static int
rows(void)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    ck_assert_int_eq(
        sqlite3_prepare_v2(fh_sqlite(host), "SELECT COUNT(*) FROM audit_log", -1, &st, NULL),
        SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(registers_route_migration_observer)
{
    const nt_route *r = fh_route(host, "GET", "/api/v1/audit");

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->auth, NT_AUTH_ADMIN);
    ck_assert_ptr_null(r->perms);
    ck_assert_int_eq(fh_migration_count(audit), 1);
    ck_assert_int_eq(fh_migration_version(audit, 0), 1);
    ck_assert_ptr_nonnull(fh_service_find(host, NT_SERVICE_OBSERVER, "audit"));
    ck_assert_str_eq(fh_plugin_desc(audit)->name, "audit");
    ck_assert_int_eq(rows(), 0);
}
END_TEST

START_TEST(records_successful_writes_only)
{
    json_t *out;
    char msg[512];

    fh_clock_set(1000, 10); /* every now_ms() later than the one before: a defined order */
    ck_assert_int_eq(serve("POST", "/api/v1/user", NULL, ACCOUNT, NULL, 201), 201);
    ck_assert_int_eq(rows(), 1);
    /* A failed write, a read, a request without a principal: not recorded. */
    serve("POST", "/api/v1/user", NULL, ACCOUNT, NULL, 400);
    serve("GET", "/api/v1/user/{userId}", END_USER, ACCOUNT, NULL, 200);
    serve("POST", "/api/v1/user", NULL, NULL, NULL, 201);
    ck_assert_int_eq(rows(), 1);
    /* An end user's write names the user. */
    serve("PUT", "/api/v1/user/{userId}", END_USER, ACCOUNT, END_USER, 200);
    ck_assert_int_eq(rows(), 2);

    ck_assert_int_eq(list(ACCOUNT, NULL, NULL, NULL, NULL, &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "entries")), 2);
    {
        json_t *e0 = json_array_get(json_object_get(out, "entries"), 0);
        json_t *e1 = json_array_get(json_object_get(out, "entries"), 1);
        ck_assert_str_eq(json_string_value(json_object_get(e0, "method")), "PUT");
        ck_assert_str_eq(json_string_value(json_object_get(e0, "route")), "/api/v1/user/{userId}");
        ck_assert_str_eq(json_string_value(json_object_get(e0, "userId")), END_USER);
        ck_assert_str_eq(json_string_value(json_object_get(e0, "accountId")), ACCOUNT);
        ck_assert_str_eq(
            json_string_value(json_object_get(json_object_get(e0, "params"), "userId")), END_USER);
        ck_assert_int_eq(json_integer_value(json_object_get(e0, "status")), 200);
        ck_assert_str_eq(json_string_value(json_object_get(e1, "method")), "POST");
        ck_assert(json_is_null(json_object_get(e1, "userId")));
        ck_assert_int_eq(json_object_size(json_object_get(e1, "params")), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(e1, "status")), 201);
    }
    json_decref(out);

    /* Another account sees none of it. */
    ck_assert_int_eq(list(OTHER, NULL, NULL, NULL, NULL, &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "entries")), 0);
    json_decref(out);
}
END_TEST

START_TEST(pages_end_at_a_millisecond)
{
    json_t *out;
    char msg[512];

    fh_clock_set(5000, 0); /* every entry in one millisecond */
    for (int i = 0; i < 3; i++)
        serve("POST", "/api/v1/user", NULL, ACCOUNT, NULL, 201);
    fh_clock_set(4000, 0);
    serve("POST", "/api/v1/user", NULL, ACCOUNT, NULL, 201);
    fh_clock_set(0, 0);

    ck_assert_int_eq(list(ACCOUNT, "limit", "1", NULL, NULL, &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "entries")), 3); /* the whole ms */
    json_decref(out);
    ck_assert_int_eq(list(ACCOUNT, "limit", "1", "before", "5000", &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "entries")), 1);
    ck_assert_int_eq(json_integer_value(
                         json_object_get(json_array_get(json_object_get(out, "entries"), 0), "ts")),
                     4000);
    json_decref(out);
    ck_assert_int_eq(list(ACCOUNT, "before", "4000", NULL, NULL, &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "entries")), 0);
    json_decref(out);
}
END_TEST

START_TEST(bad_query_parameters)
{
    static const char *const bad[][2] = {{"limit", "0"},    {"limit", "501"}, {"limit", "x"},
                                         {"limit", "5 "},   {"before", "-1"}, {"before", ""},
                                         {"before", "1e3"}, {"limit", "-0x1"}};
    json_t *out;
    char msg[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(list(ACCOUNT, bad[i][0], bad[i][1], NULL, NULL, &out, msg), NT_EINVAL);
        ck_assert_msg(strncmp(msg, bad[i][0], strlen(bad[i][0])) == 0 &&
                          msg[strlen(bad[i][0])] == ':',
                      "%s=%s: message '%s' does not name the parameter", bad[i][0], bad[i][1], msg);
        ck_assert_ptr_null(out);
    }
    ck_assert_int_eq(list(ACCOUNT, "limit", "500", NULL, NULL, &out, msg), 200);
    json_decref(out);
}
END_TEST

START_TEST(storage_failures)
{
    json_t *out;
    char msg[512];

    /* A failing insert is logged and changes nothing else. */
    fh_fail_prepare(host, "INSERT INTO audit_log");
    serve("POST", "/api/v1/user", NULL, ACCOUNT, NULL, 201);
    fh_fail_prepare(host, NULL);
    ck_assert_int_eq(rows(), 0);
    ck_assert_msg(strstr(fh_log(host), "WARN cannot record POST /api/v1/user") != NULL, "%s",
                  fh_log(host));
    /* A failing read answers the storage error (list() checks the ABI contract). */
    fh_fail_prepare(host, "FROM audit_log");
    ck_assert_int_lt(list(ACCOUNT, NULL, NULL, NULL, NULL, &out, msg), 0);
    fh_fail_prepare(host, NULL);
}
END_TEST

/* Loads audit with the given [audit] keys (k2 may be NULL); returns its init result. */
static int
load_with(const char *k1, const char *v1, const char *k2, const char *v2)
{
    const char *const kv[] = {k1, v1, k2, v2, NULL};

    return load(kv);
}

START_TEST(configuration)
{
    json_t *out;
    char msg[512];

    teardown(); /* each case below loads its own host */
    /* max_limit below the default lowers the default with it. */
    ck_assert_int_eq(load_with("max_limit", "20", NULL, NULL), NT_OK);
    ck_assert_int_eq(fh_migrate(host), NT_OK);
    ck_assert_int_eq(list(ACCOUNT, "limit", "21", NULL, NULL, &out, msg), NT_EINVAL);
    ck_assert_str_eq(msg, "limit: expected an integer from 1 to 20, got '21'");
    teardown();

    ck_assert_int_eq(load_with("max_limit", "100", "default_limit", "101"), NT_EINVAL);
    teardown();
    ck_assert_int_eq(load_with("max_limit", "0", NULL, NULL), NT_EINVAL);
    teardown();
    ck_assert_int_eq(load_with("retention", "7", NULL, NULL), NT_EINVAL);
    ck_assert_ptr_null(fh_route(host, "GET", "/api/v1/audit")); /* dropped after the failure */
    teardown();
    ck_assert_int_eq(load_with("default_limit", "10", NULL, NULL), NT_OK);
    teardown();
    setup(); /* for the fixture's teardown */
}
END_TEST

static Suite *
audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("plugin");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, registers_route_migration_observer);
    tcase_add_test(tc, records_successful_writes_only);
    tcase_add_test(tc, pages_end_at_a_millisecond);
    tcase_add_test(tc, bad_query_parameters);
    tcase_add_test(tc, storage_failures);
    tcase_add_test(tc, configuration);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(audit_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

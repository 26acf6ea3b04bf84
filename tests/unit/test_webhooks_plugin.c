/* Tests of the real webhooks.so under the shared fake host (tests/support), loaded with the
 * real account.so: the "webhooks" service (enqueue inside the caller's transaction, refusals,
 * nothing for accounts without a webhook; check_url and the account plugin's use of it in
 * PUT /account/webhook), and the routes POST /account/webhook/test and GET
 * /account/webhook/deliveries (scopes, query validation). The delivery thread runs, but polls once
 * a minute, so it sends nothing while a test runs (delivery itself is tested end to end in
 * tests/e2e/webhooks.test.mjs).
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
#define NOW_MS 1907755200000LL
#define R_TEST "/api/v1/account/webhook/test"
#define R_LIST "/api/v1/account/webhook/deliveries"

static fh_host *host;
static const nt_webhooks_v1 *wh;
static void *wh_state;

static void
setup(void)
{
    static const char *const names[] = {"account", "webhooks", NULL};
    const fh_service *s;

    host = fh_new();
    ck_assert_ptr_nonnull(host);
    fh_clock_set(NOW_MS, 0);
    ck_assert_int_eq(fh_config_set(host, "account", "create_account_secret", "s3cret"), NT_OK);
    ck_assert_int_eq(fh_config_set(host, "webhooks", "poll_ms", "60000"), NT_OK);
    ck_assert_msg(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host),
                                  "INSERT INTO account_accounts (id, api_key_hash, created) VALUES"
                                  " ('" ACC_A "', 'hash-a', 1), ('" ACC_B "', 'hash-b', 2);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    s = fh_service_find(host, NT_SERVICE_WEBHOOKS, "nettu");
    ck_assert_ptr_nonnull(s);
    wh = s->ops;
    wh_state = s->state;
}

static void
teardown(void)
{
    ck_assert_msg(strstr(fh_log(host), "prepare failed") == NULL, "%s", fh_log(host));
    fh_free(host);
    host = NULL;
    fh_clock_set(0, 0);
}

/* Calls a route as an admin of `account` with an optional query (name, value pairs, NULL
 * ended). Returns the status or code; *out the reply; msg (512 bytes) the fail() message. */
static int
call(const char *method, const char *path, const char *account, const char *const *query,
     json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_nonnull(fh_route(host, method, path));
    ck_assert_int_eq(fh_req_set_principal(q, account, NULL), NT_OK);
    for (int i = 0; query != NULL && query[i] != NULL; i += 2)
        ck_assert_int_eq(fh_req_add_query(q, query[i], query[i + 1]), NT_OK);
    *out = NULL;
    rc = fh_call(host, q, method, path, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "%s %s: %s", method, path, bad);
    if (msg != NULL)
        snprintf(msg, 512, "%s", fh_req_msg(q));
    fh_req_free(q);
    return rc;
}

/* Gives `account` a webhook (deliveries are stored only for accounts with one). */
static void
give_webhook(const char *account)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "UPDATE account_accounts SET webhook_url = 'https://example.com/h',"
             " webhook_key = 'sk_k' WHERE id = '%s'",
             account);
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* The deliveries of `account` (a new reference). */
static json_t *
list(const char *account, const char *const *query)
{
    json_t *out = NULL;

    ck_assert_int_eq(call("GET", R_LIST, account, query, &out, NULL), 200);
    ck_assert(json_is_array(json_object_get(out, "deliveries")));
    return out;
}

START_TEST(test_enqueue_is_listed_in_its_account_only)
{
    json_t *payload = json_pack("{s:s, s:{s:s}}", "type", "booking.created", "booking", "id", "x");
    char id[NT_UUID_BUF];
    json_t *a, *b, *d;

    give_webhook(ACC_A);
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, "booking.created", payload, id),
                     NT_OK);
    json_decref(payload);
    a = list(ACC_A, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(a, "deliveries")), 1);
    d = json_array_get(json_object_get(a, "deliveries"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(d, "type")), "booking.created");
    ck_assert_str_eq(json_string_value(json_object_get(d, "status")), "pending");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attempts")), 0);
    ck_assert(json_is_null(json_object_get(d, "lastStatusCode")));
    ck_assert(json_is_null(json_object_get(d, "lastError")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "nextAttemptAt")), NOW_MS);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "created")), NOW_MS);
    b = list(ACC_B, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(b, "deliveries")), 0);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(test_enqueue_follows_the_callers_transaction)
{
    const nt_host_api *api = fh_api();
    json_t *payload = json_pack("{s:s}", "type", "ping"), *a;
    char id[NT_UUID_BUF];

    ck_assert_int_eq(api->db_begin(fh_db(host)), NT_OK);
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, "ping", payload, id), NT_OK);
    ck_assert_int_eq(api->db_rollback(fh_db(host)), NT_OK);
    a = list(ACC_A, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(a, "deliveries")), 0);
    json_decref(a);
    json_decref(payload);
}
END_TEST

START_TEST(test_enqueue_refusals)
{
    json_t *arr = json_array(), *obj = json_object(), *big = json_object();
    char id[NT_UUID_BUF], *text = malloc(300 * 1024);

    ck_assert_ptr_nonnull(text);
    give_webhook(ACC_A);
    memset(text, 'x', 300 * 1024 - 1);
    text[300 * 1024 - 1] = '\0';
    json_object_set_new(big, "v", json_string(text));
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, "ping", arr, id), NT_EINVAL);
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, "", obj, id), NT_EINVAL);
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, NULL, obj, id), NT_EINVAL);
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, "ping", big, id), NT_EINVAL);
    /* an account that does not exist has no webhook: nothing is stored */
    ck_assert_int_eq(
        wh->enqueue(wh_state, fh_db(host), "cccccccc-0000-4000-8000-000000000000", "ping", obj, id),
        NT_OK);
    ck_assert_str_eq(id, "");
    free(text);
    json_decref(arr);
    json_decref(obj);
    json_decref(big);
}
END_TEST

START_TEST(test_enqueue_without_webhook_stores_nothing)
{
    json_t *payload = json_pack("{s:s}", "type", "reminders"), *b;
    char id[NT_UUID_BUF];

    memset(id, 'x', sizeof(id));
    ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_B, "reminders", payload, id), NT_OK);
    ck_assert_str_eq(id, "");
    b = list(ACC_B, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(b, "deliveries")), 0);
    json_decref(b);
    json_decref(payload);
}
END_TEST

START_TEST(test_check_url_service)
{
    char err[512];

    ck_assert(NT_HAS_MEMBER(wh, nt_webhooks_v1, check_url));
    /* no allow_private in this configuration */
    ck_assert_int_eq(wh->check_url(wh_state, "http://127.0.0.1:9/x", err, sizeof(err)), NT_EINVAL);
    ck_assert_msg(strstr(err, "127.0.0.1") != NULL, "%s", err);
    ck_assert_int_eq(wh->check_url(wh_state, "http://10.0.0.1/x", err, sizeof(err)), NT_EINVAL);
    ck_assert_int_eq(wh->check_url(wh_state, "https://93.184.215.14/x", err, sizeof(err)), NT_OK);
    ck_assert_int_eq(wh->check_url(wh_state, NULL, err, sizeof(err)), NT_EINVAL);
}
END_TEST

/* PUT /account/webhook as an admin of ACC_A with {"webhookUrl": url}; msg gets fail()'s text. */
static int
put_webhook(const char *url, char *msg)
{
    fh_req *q = fh_req_new(host);
    json_t *out = NULL;
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(fh_req_set_principal(q, ACC_A, NULL), NT_OK);
    fh_req_set_body(q, json_pack("{s:s}", "webhookUrl", url));
    rc = fh_call(host, q, "PUT", "/api/v1/account/webhook", &out);
    bad = fh_check_reply(host, q, rc, out);
    ck_assert_msg(bad == NULL, "PUT %s: %s", url, bad);
    snprintf(msg, 512, "%s", fh_req_msg(q));
    json_decref(out);
    fh_req_free(q);
    return rc;
}

START_TEST(test_account_put_checks_the_target)
{
    char msg[512];
    json_t *out = NULL;

    /* the account plugin found this service at start and asks it */
    ck_assert_int_eq(put_webhook("http://10.0.0.1/x", msg), NT_EINVAL);
    ck_assert_msg(strstr(msg, "webhookUrl: ") == msg && strstr(msg, "10.0.0.1") != NULL, "%s", msg);
    ck_assert_int_eq(put_webhook("http://[::1]:9/x", msg), NT_EINVAL);
    /* the refused PUTs stored nothing: still no webhook to ping */
    ck_assert_int_eq(call("POST", R_TEST, ACC_A, NULL, &out, msg), NT_EINVAL);
    ck_assert_int_eq(put_webhook("https://93.184.215.14/hook", msg), 200);
    ck_assert_int_eq(call("POST", R_TEST, ACC_A, NULL, &out, msg), 201);
    json_decref(out);
}
END_TEST

START_TEST(test_ping_route_needs_a_webhook)
{
    json_t *out = NULL, *d, *b;
    char msg[512];

    ck_assert_int_eq(call("POST", R_TEST, ACC_A, NULL, &out, msg), NT_EINVAL);
    ck_assert_msg(strstr(msg, "webhook") != NULL, "%s", msg);
    ck_assert_int_eq(
        sqlite3_exec(fh_sqlite(host),
                     "UPDATE account_accounts SET webhook_url = 'https://example.com/h',"
                     " webhook_key = 'sk_k' WHERE id = '" ACC_A "'",
                     NULL, NULL, NULL),
        SQLITE_OK);
    ck_assert_int_eq(call("POST", R_TEST, ACC_A, NULL, &out, msg), 201);
    d = json_object_get(out, "delivery");
    ck_assert_str_eq(json_string_value(json_object_get(d, "type")), "ping");
    ck_assert_str_eq(json_string_value(json_object_get(d, "status")), "pending");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attempts")), 0);
    json_decref(out);
    /* B has no webhook and sees nothing of A's */
    ck_assert_int_eq(call("POST", R_TEST, ACC_B, NULL, &out, msg), NT_EINVAL);
    b = list(ACC_B, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(b, "deliveries")), 0);
    json_decref(b);
}
END_TEST

START_TEST(test_list_query)
{
    static const char *const bad[][3] = {
        {"status", "done", "status"}, {"skip", "-1", "skip"},        {"limit", "101", "limit"},
        {"limit", "x", "limit"},      {"skip", "undefined", "skip"},
    };
    json_t *payload = json_pack("{s:s}", "type", "ping"), *out;
    char id[NT_UUID_BUF], ids[3][NT_UUID_BUF], msg[512];

    give_webhook(ACC_A);
    for (int i = 0; i < 3; i++) {
        fh_clock_set(NOW_MS + i, 0);
        ck_assert_int_eq(wh->enqueue(wh_state, fh_db(host), ACC_A, "ping", payload, id), NT_OK);
        memcpy(ids[i], id, NT_UUID_BUF);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const q[] = {bad[i][0], bad[i][1], NULL};
        ck_assert_int_eq(call("GET", R_LIST, ACC_A, q, &out, msg), NT_EINVAL);
        ck_assert_msg(strncmp(msg, bad[i][2], strlen(bad[i][2])) == 0, "%s", msg);
    }
    {
        const char *const q[] = {"skip", "1", "limit", "1", NULL};
        json_t *l = list(ACC_A, q);
        json_t *arr = json_object_get(l, "deliveries");
        ck_assert_int_eq(json_array_size(arr), 1); /* newest first: the second one */
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "id")), ids[1]);
        json_decref(l);
    }
    {
        const char *const q[] = {"status", "delivered", NULL};
        json_t *l = list(ACC_A, q);
        ck_assert_int_eq(json_array_size(json_object_get(l, "deliveries")), 0);
        json_decref(l);
    }
    json_decref(payload);
}
END_TEST

static Suite *
webhooks_plugin_suite(void)
{
    Suite *s = suite_create("webhooks_plugin");
    TCase *tc = tcase_create("plugin");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_enqueue_is_listed_in_its_account_only);
    tcase_add_test(tc, test_enqueue_follows_the_callers_transaction);
    tcase_add_test(tc, test_enqueue_refusals);
    tcase_add_test(tc, test_enqueue_without_webhook_stores_nothing);
    tcase_add_test(tc, test_check_url_service);
    tcase_add_test(tc, test_account_put_checks_the_target);
    tcase_add_test(tc, test_ping_route_needs_a_webhook);
    tcase_add_test(tc, test_list_query);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(webhooks_plugin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

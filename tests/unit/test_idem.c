/* Unit tests of the Idempotency-Key records (core/idem.c): the key rule, the fingerprint,
 * the verdict table, and claim / keep / release / purge on the real store_sqlite plugin,
 * with the core's migration applied as the server applies it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettu/services.h>

#include "config.h"
#include "hostapi.h"
#include "idem.h"
#include "loader.h"
#include "migrate.h"
#include "service.h"

/* ---- the key, the fingerprint, the verdict ------------------------------------------- */

START_TEST(test_key_rule)
{
    char msg[256], key[IDEM_KEY_MAX + 2];

    ck_assert_int_eq(idem_key_check("a", msg, sizeof(msg)), NT_OK);
    ck_assert_int_eq(idem_key_check(" ~!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}", msg, sizeof(msg)),
                     NT_OK);
    memset(key, 'k', IDEM_KEY_MAX);
    key[IDEM_KEY_MAX] = '\0';
    ck_assert_int_eq(idem_key_check(key, msg, sizeof(msg)), NT_OK);
    key[IDEM_KEY_MAX] = 'k';
    key[IDEM_KEY_MAX + 1] = '\0';
    ck_assert_int_eq(idem_key_check(key, msg, sizeof(msg)), NT_EINVAL);
    ck_assert_str_eq(msg, "Idempotency-Key: expected 1 to 255 printable ASCII characters, got "
                          "256 characters");
    ck_assert_int_eq(idem_key_check("", msg, sizeof(msg)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "empty"));
    ck_assert_int_eq(idem_key_check(NULL, msg, sizeof(msg)), NT_EINVAL);
    ck_assert_int_eq(idem_key_check("a\tb", msg, sizeof(msg)), NT_EINVAL);
    ck_assert_str_eq(msg, "Idempotency-Key: expected printable ASCII characters only; byte 2 is "
                          "0x09");
    ck_assert_int_eq(idem_key_check("caf\xc3\xa9", msg, sizeof(msg)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "byte 4 is 0xc3"));
    ck_assert_int_eq(idem_key_check("del\x7f", msg, sizeof(msg)), NT_EINVAL);
}
END_TEST

START_TEST(test_fingerprint)
{
    char a[IDEM_FP_HEX], b[IDEM_FP_HEX];

    /* SHA-256 of the length-prefixed parts (a presence byte, 8 bytes of length, the bytes):
     * computed independently with Python's hashlib. */
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/user", NULL, "{}", 2, a), NT_OK);
    ck_assert_str_eq(a, "65c629ea72a705594ab512ebf1b3ad1dfa9f8cfc8c297fff5225e23f7e4e7335");
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/user", NULL, "{}", 2, b), NT_OK);
    ck_assert_str_eq(a, b);
    /* Each part counts, and moving bytes between parts changes it. */
    ck_assert_int_eq(idem_fingerprint("PUT", "/api/v1/user", NULL, "{}", 2, b), NT_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/users", NULL, "{}", 2, b), NT_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/user", "", "{}", 2, b), NT_OK);
    ck_assert_str_ne(a, b); /* "?" with nothing after it is not "no query" */
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/user", NULL, "{ }", 3, b), NT_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/use", "r", "{}", 2, a), NT_OK);
    ck_assert_int_eq(idem_fingerprint("POST", "/api/v1/u", "ser", "{}", 2, b), NT_OK);
    ck_assert_str_ne(a, b);
    /* Only the first body_len bytes count; an empty body is the same with or without a
     * pointer. */
    ck_assert_int_eq(idem_fingerprint("POST", "/p", NULL, "{}xyz", 2, a), NT_OK);
    ck_assert_int_eq(idem_fingerprint("POST", "/p", NULL, "{}", 2, b), NT_OK);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(idem_fingerprint("POST", "/p", NULL, NULL, 0, a), NT_OK);
    ck_assert_int_eq(idem_fingerprint("POST", "/p", NULL, "", 0, b), NT_OK);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 64);
}
END_TEST

START_TEST(test_decide)
{
    idem_row row = {1, IDEM_STATE_DONE, "fp", 1000};

    ck_assert_int_eq(idem_decide(NULL, "fp", 0), IDEM_RUN);
    ck_assert_int_eq(idem_decide(&row, "fp", 999), IDEM_REPLAY);
    ck_assert_int_eq(idem_decide(&row, "other", 999), IDEM_MISMATCH);
    ck_assert_int_eq(idem_decide(&row, "fp", 1000), IDEM_RUN);    /* expired */
    ck_assert_int_eq(idem_decide(&row, "other", 1000), IDEM_RUN); /* expired: any request */
    row.state = IDEM_STATE_RUNNING;
    ck_assert_int_eq(idem_decide(&row, "fp", 999), IDEM_INFLIGHT);
    ck_assert_int_eq(idem_decide(&row, "other", 999), IDEM_MISMATCH);
    ck_assert_int_eq(idem_decide(&row, "fp", 1001), IDEM_RUN); /* a dead server's claim */
    row.state = IDEM_STATE_UNKEPT;
    ck_assert_int_eq(idem_decide(&row, "fp", 999), IDEM_UNKEPT);
    row.found = 0;
    ck_assert_int_eq(idem_decide(&row, "fp", 999), IDEM_RUN);
}
END_TEST

/* ---- records on the real store ---------------------------------------------------------- */

static char g_dir[64];
static cfg *g_cfg;
static loader g_l;
static const nt_store_v1 *st;
static void *g_state;
static nt_db *db, *db2;

static void
store_setup(void)
{
    char ini[512], err[256] = "";
    char *names[] = {"store_sqlite"};
    loader none = {0};

    snprintf(g_dir, sizeof(g_dir), "/tmp/nettu-idem-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(ini, sizeof(ini),
             "[plugins]\nload = x\n[store_sqlite]\npath = %s/db.sqlite\nbusy_timeout_ms = 50\n",
             g_dir);
    g_cfg = cfg_load_string("idem.ini", ini);
    hostapi_set_config(g_cfg);
    ck_assert_int_eq(loader_load_all(&g_l, g_cfg, NETTU_TEST_PLUGIN_DIR, names, 1), NT_OK);
    st = service_lookup(NT_SERVICE_STORE, "sqlite", NT_STORE_V1, &g_state);
    ck_assert_ptr_nonnull(st);
    db = st->conn_open(g_state, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    db2 = st->conn_open(g_state, err, sizeof(err));
    ck_assert_msg(db2 != NULL, "%s", err);
    ck_assert_int_eq(migrate_run(st, db, &none), NT_OK); /* the core's own step */
}

static void
store_teardown(void)
{
    char cmd[128];

    st->conn_close(db2);
    st->conn_close(db);
    loader_unload_all(&g_l);
    service_clear();
    hostapi_shutdown();
    cfg_free(g_cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int64_t
count_rows(void)
{
    nt_stmt *s = st->prepare(db, "SELECT COUNT(*) FROM nettu_idempotency");
    int64_t n;

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(st->step(s), 1);
    n = st->col_int64(s, 0);
    st->finalize(s);
    return n;
}

/* A claim for (account, user, key) with the fingerprint of `body`. */
static idem_claim
claim_of(const char *account, const char *user, const char *key, const char *body)
{
    idem_claim c = {account, user, key, "", ""};

    ck_assert_int_eq(idem_fingerprint("POST", "/p", NULL, body, strlen(body), c.fp), NT_OK);
    return c;
}

static idem_verdict
claim(idem_claim *c, int64_t now, idem_kept *kept)
{
    idem_verdict v = IDEM_RUN;

    ck_assert_int_eq(idem_claim_key(st, db, c, now, &v, kept), NT_OK);
    return v;
}

START_TEST(test_claim_keep_replay)
{
    idem_claim a = claim_of("acct", "", "k1", "{}"), again = a,
               other = claim_of("acct", "", "k1", "{\"x\":1}");
    idem_kept kept;
    const char reply[] = "{\"user\":{\"id\":\"1\"}}";

    ck_assert_int_eq(claim(&a, 1000, &kept), IDEM_RUN);
    ck_assert_ptr_null(kept.body);
    ck_assert_uint_eq(strlen(a.token), 36);
    /* While it runs: the same request is in flight, another one a mismatch. */
    ck_assert_int_eq(claim(&again, 1001, &kept), IDEM_INFLIGHT);
    ck_assert_int_eq(claim(&other, 1001, &kept), IDEM_MISMATCH);
    ck_assert_int_eq(
        idem_keep(st, db, &a, 201, "application/json", reply, strlen(reply), 1002, 86400000, 1024),
        NT_OK);
    ck_assert_int_eq(claim(&again, 2000, &kept), IDEM_REPLAY);
    ck_assert_int_eq(kept.status, 201);
    ck_assert_str_eq(kept.type, "application/json");
    ck_assert_uint_eq(kept.len, strlen(reply));
    ck_assert_str_eq(kept.body, reply);
    idem_kept_free(&kept);
    ck_assert_ptr_null(kept.body);
    idem_kept_free(NULL);
    ck_assert_int_eq(claim(&other, 2000, &kept), IDEM_MISMATCH);
    ck_assert_ptr_null(kept.body);
    /* Kept for the TTL from the reply on; then the key is free for any request. */
    ck_assert_int_eq(claim(&again, 1002 + 86400000 - 1, &kept), IDEM_REPLAY);
    idem_kept_free(&kept);
    ck_assert_int_eq(claim(&other, 1002 + 86400000, &kept), IDEM_RUN);
    ck_assert_int_eq(count_rows(), 1);
}
END_TEST

START_TEST(test_scopes)
{
    idem_claim admin = claim_of("acct", "", "k", "{}"), u1 = claim_of("acct", "user1", "k", "{}");
    idem_claim u2 = claim_of("acct", "user2", "k", "{\"other\":1}");
    idem_claim acct2 = claim_of("acct2", "", "k", "{\"other\":2}");
    idem_kept kept;

    ck_assert_int_eq(claim(&admin, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(claim(&u1, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(claim(&u2, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(claim(&acct2, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(
        idem_keep(st, db, &u1, 200, "application/json", "{\"u\":1}", 7, 1001, 1000, 1024), NT_OK);
    ck_assert_int_eq(
        idem_keep(st, db, &admin, 200, "application/json", "{\"a\":1}", 7, 1001, 1000, 1024),
        NT_OK);
    ck_assert_int_eq(claim(&u1, 1500, &kept), IDEM_REPLAY);
    ck_assert_str_eq(kept.body, "{\"u\":1}");
    idem_kept_free(&kept);
    ck_assert_int_eq(claim(&admin, 1500, &kept), IDEM_REPLAY);
    ck_assert_str_eq(kept.body, "{\"a\":1}");
    idem_kept_free(&kept);
    ck_assert_int_eq(count_rows(), 4);
}
END_TEST

START_TEST(test_release_and_tokens)
{
    idem_claim a = claim_of("acct", "", "k", "{}"), b = a,
               c = claim_of("acct", "", "k", "{\"n\":2}");
    idem_kept kept;

    ck_assert_int_eq(claim(&a, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(idem_release(st, db, &a), NT_OK); /* a 5xx: the key is free again */
    ck_assert_int_eq(count_rows(), 0);
    ck_assert_int_eq(claim(&c, 1001, &kept), IDEM_RUN);
    /* The first claim's lease ends (its server died); a newer request takes the key over and
     * the old claim can neither keep nor release what is now the new one's. */
    ck_assert_int_eq(claim(&b, 1001 + IDEM_LEASE_MS, &kept), IDEM_RUN);
    ck_assert_str_ne(b.token, c.token);
    ck_assert_int_eq(idem_keep(st, db, &c, 201, "application/json", "{}", 2, 2000, 1000, 1024),
                     NT_OK);
    ck_assert_int_eq(idem_release(st, db, &c), NT_OK);
    ck_assert_int_eq(claim(&a, 1002 + IDEM_LEASE_MS, &kept), IDEM_INFLIGHT); /* still b's */
    ck_assert_int_eq(idem_keep(st, db, &b, 409, "application/json", "{\"e\":1}", 7,
                               1002 + IDEM_LEASE_MS, 1000, 1024),
                     NT_OK);
    ck_assert_int_eq(claim(&a, 1003 + IDEM_LEASE_MS, &kept), IDEM_REPLAY);
    ck_assert_int_eq(kept.status, 409);
    ck_assert_str_eq(kept.body, "{\"e\":1}");
    idem_kept_free(&kept);
}
END_TEST

START_TEST(test_unkept_replies)
{
    idem_claim big = claim_of("acct", "", "big", "{}"), nul = claim_of("acct", "", "nul", "{}");
    idem_kept kept;
    char body[2048];

    memset(body, 'x', sizeof(body));
    ck_assert_int_eq(claim(&big, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(idem_keep(st, db, &big, 200, "text/plain", body, 1025, 1000, 1000, 1024),
                     NT_OK);
    ck_assert_int_eq(claim(&big, 1001, &kept), IDEM_UNKEPT);
    ck_assert_int_eq(kept.status, 200);
    ck_assert_uint_eq(kept.len, 1025);
    ck_assert_ptr_null(kept.body);
    /* Exactly the limit is kept. */
    ck_assert_int_eq(claim(&big, 5000, &kept), IDEM_RUN);
    ck_assert_int_eq(idem_keep(st, db, &big, 200, "text/plain", body, 1024, 5000, 1000, 1024),
                     NT_OK);
    ck_assert_int_eq(claim(&big, 5001, &kept), IDEM_REPLAY);
    ck_assert_uint_eq(kept.len, 1024);
    idem_kept_free(&kept);
    /* A body with a NUL byte cannot be kept as text. */
    ck_assert_int_eq(claim(&nul, 1000, &kept), IDEM_RUN);
    ck_assert_int_eq(idem_keep(st, db, &nul, 200, "text/plain", "a\0b", 3, 1000, 1000, 1024),
                     NT_OK);
    ck_assert_int_eq(claim(&nul, 1001, &kept), IDEM_UNKEPT);
}
END_TEST

START_TEST(test_purge_batches)
{
    char key[32];
    idem_kept kept;
    int64_t n = -1;

    for (int i = 0; i < 7; i++) {
        idem_claim c;
        snprintf(key, sizeof(key), "k%d", i);
        c = claim_of("acct", "", key, "{}");
        ck_assert_int_eq(claim(&c, 1000, &kept), IDEM_RUN);
        ck_assert_int_eq(idem_keep(st, db, &c, 201, "application/json", "{}", 2, 1000,
                                   i < 5 ? 100 : 100000, 1024),
                         NT_OK);
    }
    /* Five expired at 1100; a batch of 3 deletes 3, the next the other 2, then none. */
    ck_assert_int_eq(idem_purge(st, db, 1100, 3, &n), NT_OK);
    ck_assert_int_eq(n, 0); /* expires < now: at 1100 exactly nothing has expired yet */
    ck_assert_int_eq(idem_purge(st, db, 1101, 3, &n), NT_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(idem_purge(st, db, 1101, 3, &n), NT_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(idem_purge(st, db, 1101, 3, NULL), NT_OK);
    ck_assert_int_eq(count_rows(), 2);
}
END_TEST

/* A claim that meets another writer's lock fails retryably and leaves nothing behind; the
 * pipeline then tries again (or answers 503). */
START_TEST(test_claim_conflict_is_retryable)
{
    idem_claim c = claim_of("acct", "", "k", "{}");
    idem_verdict v;
    idem_kept kept;

    ck_assert_int_eq(st->begin(db2), NT_OK); /* holds the write lock */
    ck_assert_int_eq(idem_claim_key(st, db, &c, 1000, &v, &kept), NT_ERETRY);
    ck_assert_ptr_null(kept.body);
    ck_assert_str_eq(c.token, "");
    ck_assert_int_eq(st->rollback(db2), NT_OK);
    st->clear_error(db);
    ck_assert_int_eq(count_rows(), 0);
    ck_assert_int_eq(claim(&c, 1000, &kept), IDEM_RUN);
    /* Keeping under another writer's lock fails retryably too and changes nothing. */
    ck_assert_int_eq(st->begin(db2), NT_OK);
    ck_assert_int_eq(idem_keep(st, db, &c, 201, "application/json", "{}", 2, 1000, 1000, 1024),
                     NT_ERETRY);
    ck_assert_int_eq(st->rollback(db2), NT_OK);
    st->clear_error(db);
    ck_assert_int_eq(claim(&c, 1001, &kept), IDEM_INFLIGHT);
}
END_TEST

static Suite *
idem_suite(void)
{
    Suite *s = suite_create("idem");
    TCase *pure = tcase_create("pure");
    TCase *store = tcase_create("store");

    tcase_add_test(pure, test_key_rule);
    tcase_add_test(pure, test_fingerprint);
    tcase_add_test(pure, test_decide);
    tcase_add_checked_fixture(store, store_setup, store_teardown);
    tcase_add_test(store, test_claim_keep_replay);
    tcase_add_test(store, test_scopes);
    tcase_add_test(store, test_release_and_tokens);
    tcase_add_test(store, test_unkept_replies);
    tcase_add_test(store, test_purge_batches);
    tcase_add_test(store, test_claim_conflict_is_retryable);
    suite_add_tcase(s, pure);
    suite_add_tcase(s, store);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(idem_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

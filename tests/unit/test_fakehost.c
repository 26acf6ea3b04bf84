/* Unit tests of the fake host itself (include/nettu/fakehost.h): its table has every member of
 * the ABI it was built for, db_open/db_close give a plugin a second connection to the same
 * database, its storage keeps the store contract (an error ends the transaction, the
 * injected failures of fh_fail_next), and the plugin folder can be chosen. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/fakehost.h>

static fh_host *host;

/* A plugin linked into the test: its start opens a connection of its own (db_open) unless
 * fx_skip_open, its stop closes it unless fx_leak. */
static const nt_host_api *fx_api;
static nt_plugin *fx_self;
static nt_db *fx_db;
static char fx_err[256];
static int fx_leak, fx_init_open_failed;

static int
fx_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    char err[128] = "";

    (void)cfg;
    fx_api = api;
    fx_self = p;
    *state = NULL;
    /* not during init: storage is not open yet */
    fx_init_open_failed = api->db_open(p, err, sizeof(err)) == NULL && strstr(err, "start") != NULL;
    return NT_OK;
}

static int
fx_start(void *state)
{
    (void)state;
    fx_db = fx_api->db_open(fx_self, fx_err, sizeof(fx_err));
    return fx_db != NULL ? NT_OK : NT_ERR;
}

static void
fx_stop(void *state)
{
    (void)state;
    if (!fx_leak)
        fx_api->db_close(fx_db);
    fx_db = NULL;
}

static const nt_plugin_desc fx_desc = {
    NT_PLUGIN_HEADER, .name = "fx_thread", .version = "0.0.1",
    .init = fx_init,  .start = fx_start,   .stop = fx_stop,
};

static void
setup(void)
{
    host = fh_new();
    ck_assert_ptr_nonnull(host);
    fx_leak = 0;
}

static void
teardown(void)
{
    fh_free(host);
    host = NULL;
}

static int64_t
count(const char *sql)
{
    sqlite3_stmt *st;
    int64_t n;

    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Every member of the table the fake host hands out is set: it is a complete ABI 1.2 host. */
START_TEST(test_table_complete)
{
    const nt_host_api *api = fh_api();
    const unsigned char *base = (const unsigned char *)api;
    size_t first = NT_SIZE_UPTO(nt_host_api, abi_minor);

    ck_assert_uint_eq(api->size, sizeof(nt_host_api));
    ck_assert_uint_eq(api->abi_major, NT_ABI_MAJOR);
    ck_assert_uint_eq(api->abi_minor, NT_ABI_MINOR);
    ck_assert(NT_HAS_MEMBER(api, nt_host_api, req_peer));
    first = (first + sizeof(void (*)(void)) - 1) / sizeof(void (*)(void)) * sizeof(void (*)(void));
    for (size_t off = first; off + sizeof(void (*)(void)) <= sizeof(nt_host_api);
         off += sizeof(void (*)(void))) {
        void (*fn)(void);

        memcpy(&fn, base + off, sizeof(fn));
        ck_assert_msg(fn != NULL, "the member at offset %zu is NULL", off);
    }
}
END_TEST

/* db_open: from start on, another connection to the same database; db_close before stop
 * returns, else fh_close logs an ERROR. */
START_TEST(test_db_open)
{
    fh_plugin *p = fh_adopt(host, &fx_desc);
    const nt_host_api *api = fh_api();
    nt_stmt *st;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fh_init(p), NT_OK);
    ck_assert_int_eq(fx_init_open_failed, 1);
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host), "CREATE TABLE fx(v TEXT)", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_msg(fh_start(p) == NT_OK, "%s", fx_err);
    ck_assert_ptr_nonnull(fx_db);
    ck_assert_ptr_ne(fx_db, fh_db(host));
    /* a write through the plugin's connection is seen by the host's */
    ck_assert_int_eq(api->db_begin(fx_db), NT_OK);
    st = api->db_prepare(fx_db, "INSERT INTO fx(v) VALUES ($1)");
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(api->db_bind_text(st, 1, "from the thread"), NT_OK);
    ck_assert_int_eq(api->db_step(st), 0);
    api->db_finalize(st);
    ck_assert_int_eq(api->db_commit(fx_db), NT_OK);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM fx WHERE v = 'from the thread'"), 1);
    fh_close(p);
    ck_assert_ptr_null(strstr(fh_log(host), "left"));

    /* a plugin that forgets db_close is named */
    fx_leak = 1;
    p = fh_adopt(host, &fx_desc);
    ck_assert_int_eq(fh_init(p), NT_OK);
    ck_assert_int_eq(fh_start(p), NT_OK);
    {
        nt_db *leaked = fx_db;
        fh_close(p);
        ck_assert_ptr_nonnull(strstr(fh_log(host), "fx_thread left 1 db_open connection(s)"));
        api->db_close(leaked); /* closed by fh_close already: ignored */
    }
    api->db_close(NULL);
    api->db_close(fh_db(host)); /* the host's own connection is not the plugin's to close */
    ck_assert_int_eq(count("SELECT COUNT(*) FROM fx"), 1);
}
END_TEST

/* The store contract on the fake database: a failed statement in a transaction ends it, the
 * rest is refused until rollback, commit answers the error; fh_fail_next injects failures. */
START_TEST(test_store_contract)
{
    const nt_host_api *api = fh_api();
    nt_db *db = fh_db(host);
    nt_stmt *st;

    ck_assert_int_eq(api->db_exec(db, "CREATE TABLE k(id TEXT PRIMARY KEY)"), NT_OK);
    ck_assert_int_eq(api->db_begin(db), NT_OK);
    ck_assert_int_eq(api->db_exec(db, "INSERT INTO k VALUES ('a')"), NT_OK);
    ck_assert_int_eq(api->db_exec(db, "INSERT INTO k VALUES ('a')"), NT_ECONFLICT);
    ck_assert_int_eq(fh_in_transaction(host), 0);
    ck_assert_ptr_null(api->db_prepare(db, "SELECT 1"));
    ck_assert_int_eq(api->db_exec(db, "INSERT INTO k VALUES ('b')"), NT_ECONFLICT);
    ck_assert_int_eq(api->db_commit(db), NT_ECONFLICT);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM k"), 0);
    ck_assert_int_eq(api->db_begin(db), NT_OK);
    ck_assert_int_eq(api->db_exec(db, "INSERT INTO k VALUES ('a')"), NT_OK);
    ck_assert_int_eq(api->db_commit(db), NT_OK);

    fh_fail_next(host, "BEGIN", NT_ERETRY, 1);
    ck_assert_int_eq(api->db_begin(db), NT_ERETRY);
    ck_assert_ptr_nonnull(strstr(api->db_errmsg(db), "injected"));
    ck_assert_int_eq(api->db_begin(db), NT_OK);
    fh_fail_next(host, "INSERT INTO k", NT_ERETRY, 1);
    st = api->db_prepare(db, "INSERT INTO k VALUES ($1)");
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(api->db_bind_text(st, 1, "c"), NT_OK);
    ck_assert_int_eq(api->db_step(st), NT_ERETRY);
    api->db_finalize(st);
    ck_assert_int_eq(api->db_rollback(db), NT_OK);
    fh_fail_next(host, "COMMIT", NT_ERETRY, 1);
    ck_assert_int_eq(api->db_begin(db), NT_OK);
    ck_assert_int_eq(api->db_exec(db, "INSERT INTO k VALUES ('d')"), NT_OK);
    ck_assert_int_eq(api->db_commit(db), NT_ERETRY);
    ck_assert_int_eq(fh_in_transaction(host), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM k"), 1);
}
END_TEST

/* fh_set_plugin_dir chooses the folder fh_open loads from; NULL goes back to the default. */
START_TEST(test_plugin_dir)
{
    ck_assert_int_eq(fh_set_plugin_dir(host, "/nonexistent/nettu-plugins"), NT_OK);
    ck_assert_ptr_null(fh_open(host, "user"));
    ck_assert_ptr_nonnull(strstr(fh_log(host), "/nonexistent/nettu-plugins/user.so"));
    ck_assert_int_eq(fh_set_plugin_dir(host, NULL), NT_OK);
    ck_assert_ptr_nonnull(fh_open(host, "user"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("fakehost");
    TCase *tc = tcase_create("fakehost");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_table_complete);
    tcase_add_test(tc, test_db_open);
    tcase_add_test(tc, test_store_contract);
    tcase_add_test(tc, test_plugin_dir);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

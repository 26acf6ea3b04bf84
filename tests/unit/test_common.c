/* Tests of the helpers the domain plugins share (plugins/common, ntc.h) on the fake host's
 * table and database: statements from a format string, IN lists, transactions, and the
 * metadata side table and query with their limits.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost.h"
#include "ntc.h"

#define ACC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define ACC_B "bbbbbbbb-0000-4000-8000-000000000002"

static fh_host *host;
static const nt_host_api *api;
static nt_db *db;

static void
setup(void)
{
    host = fh_new();
    ck_assert_ptr_nonnull(host);
    api = fh_api();
    db = fh_db(host);
    ck_assert_int_eq(sqlite3_exec(fh_sqlite(host),
                                  "CREATE TABLE t_items (id TEXT PRIMARY KEY, account_id TEXT NOT "
                                  "NULL, n INTEGER, created BIGINT NOT NULL, metadata TEXT);"
                                  "CREATE TABLE t_meta (entity_id TEXT NOT NULL, account_id TEXT "
                                  "NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
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
    sqlite3_stmt *st = NULL;
    int64_t n;

    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- statements -------------------------------------------------------------------------- */

START_TEST(test_prepare_binds_every_letter)
{
    nt_stmt *st = NULL;

    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT $1, $2, $3, $4, $5", "tidnt", "text",
                                 (int64_t)1 << 40, -7, NULL),
                     NT_OK);
    ck_assert_int_eq(ntc_row(api, st), NT_OK);
    ck_assert_str_eq(api->db_col_text(st, 0), "text");
    ck_assert_int_eq(api->db_col_int64(st, 1), (int64_t)1 << 40);
    ck_assert_int_eq(api->db_col_int64(st, 2), -7);
    ck_assert(api->db_col_is_null(st, 3));
    ck_assert(api->db_col_is_null(st, 4)); /* a NULL text binds SQL null */
    api->db_finalize(st);
    /* a $ inside a quoted literal or identifier is not a parameter; a repeated one counts
     * once */
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT '$9', $1 AS \"$8\", $1", "t", "x"), NT_OK);
    ck_assert_int_eq(ntc_row(api, st), NT_OK);
    ck_assert_str_eq(api->db_col_text(st, 0), "$9");
    ck_assert_str_eq(api->db_col_text(st, 2), "x");
    api->db_finalize(st);
}
END_TEST

/* A format that does not fit the SQL is a programming error: NT_ERR before anything runs. */
START_TEST(test_prepare_refuses_bad_formats)
{
    nt_stmt *st = (nt_stmt *)&st;

    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT $1, $2", "t", "a"), NT_ERR);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT $1", "tt", "a", "b"), NT_ERR);
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT $1", "x", "a"), NT_ERR);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(ntc_exec(api, db,
                              "INSERT INTO t_items (id, account_id, created) VALUES "
                              "($1, $2, $3)",
                              "tt", "id", ACC_A),
                     NT_ERR);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM t_items"), 0);
    /* ntc_bind knows the letters only */
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT $1", "d", 1), NT_OK);
    ck_assert_int_eq(ntc_bind(api, st, "q", 1), NT_ERR);
    ck_assert_int_eq(ntc_bind(api, st, "i", (int64_t)5), NT_OK);
    ck_assert_int_eq(ntc_row(api, st), NT_OK);
    ck_assert_int_eq(api->db_col_int64(st, 0), 5);
    api->db_finalize(st);
    /* invalid SQL: the host's prepare error, kept on the connection */
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELEC $1", "t", "a"), NT_ERR);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(api->db_errmsg(db));
}
END_TEST

START_TEST(test_exec_and_row)
{
    nt_stmt *st = NULL;
    static const char ins[] = "INSERT INTO t_items (id, account_id, n, created) VALUES "
                              "($1, $2, $3, $4)";

    ck_assert_int_eq(ntc_exec(api, db, ins, "ttdi", "a", ACC_A, 1, (int64_t)10), NT_OK);
    ck_assert_int_lt(ntc_exec(api, db, ins, "ttdi", "a", ACC_A, 2, (int64_t)11), 0);
    ck_assert_int_eq(
        ntc_exec_changed(api, db, "UPDATE t_items SET n = $1 WHERE id = $2", "dt", 5, "a"), NT_OK);
    ck_assert_int_eq(
        ntc_exec_changed(api, db, "UPDATE t_items SET n = $1 WHERE id = $2", "dt", 5, "nope"),
        NT_ENOTFOUND);
    ck_assert_int_eq(ntc_exec(api, db, "DELETE FROM t_items WHERE id = $1", "t", "nope"), NT_OK);
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT n FROM t_items WHERE id = $1", "t", "a"),
                     NT_OK);
    ck_assert_int_eq(ntc_row(api, st), NT_OK);
    ck_assert_int_eq(api->db_col_int64(st, 0), 5);
    api->db_finalize(st);
    ck_assert_int_eq(ntc_prepare(api, db, &st, "SELECT n FROM t_items WHERE id = $1", "t", "b"),
                     NT_OK);
    ck_assert_int_eq(ntc_row(api, st), NT_ENOTFOUND);
    api->db_finalize(st);
}
END_TEST

START_TEST(test_tx_end)
{
    static const char ins[] = "INSERT INTO t_items (id, account_id, created) VALUES ($1, $2, 1)";

    ck_assert_int_eq(api->db_begin(db), NT_OK);
    ck_assert_int_eq(ntc_exec(api, db, ins, "tt", "kept", ACC_A), NT_OK);
    ck_assert_int_eq(ntc_tx_end(api, db, NT_OK), NT_OK);
    ck_assert_int_eq(fh_in_transaction(host), 0);
    ck_assert_int_eq(api->db_begin(db), NT_OK);
    ck_assert_int_eq(ntc_exec(api, db, ins, "tt", "dropped", ACC_A), NT_OK);
    ck_assert_int_eq(ntc_tx_end(api, db, NT_EINVAL), NT_EINVAL);
    ck_assert_int_eq(fh_in_transaction(host), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM t_items"), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM t_items WHERE id = 'kept'"), 1);
}
END_TEST

START_TEST(test_in_lists)
{
    char buf[256];

    ck_assert_int_eq(ntc_in_slots(0), 1);
    ck_assert_int_eq(ntc_in_slots(1), 1);
    ck_assert_int_eq(ntc_in_slots(3), 4);
    ck_assert_int_eq(ntc_in_slots(64), 64);
    ck_assert_int_eq(ntc_in_slots(65), NTC_IN_MAX);
    ck_assert_int_eq(ntc_in_slots(1000), NTC_IN_MAX);
    ck_assert_int_eq(ntc_in_sql(buf, sizeof(buf), "x IN (", 3, 4, ")"), NT_OK);
    ck_assert_str_eq(buf, "x IN ($3, $4, $5, $6)");
    ck_assert_int_eq(ntc_in_sql(buf, 12, "x IN (", 3, 4, ")"), NT_ERR);
}
END_TEST

/* ---- metadata ---------------------------------------------------------------------------- */

/* The row printer of t_items: {id, n}. */
static int
item_json(const nt_host_api *a, nt_stmt *st, void *arg, json_t **out)
{
    (*(int *)arg)++;
    *out = json_pack("{s:s,s:I}", "id", a->db_col_text(st, 0), "n",
                     (json_int_t)a->db_col_int64(st, 1));
    return *out != NULL ? NT_OK : NT_ENOMEM;
}

static int printed;
static const ntc_meta_table items = {
    .table = "t_items",
    .meta_table = "t_meta",
    .alias = "t",
    .columns = "t.id, t.n",
    .reply_key = "items",
    .row_json = item_json,
    .arg = &printed,
};

/* Adds item id of account with n and metadata (JSON text) through ntc_meta_store. */
static void
add_item(const char *id, const char *account, int n, const char *meta)
{
    json_t *m = json_loads(meta, 0, NULL);

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ntc_exec(api, db,
                              "INSERT INTO t_items (id, account_id, n, created, metadata) VALUES "
                              "($1, $2, $3, $4, $5)",
                              "ttdit", id, account, n, (int64_t)n, meta),
                     NT_OK);
    ck_assert_int_eq(ntc_meta_store(api, db, "t_meta", id, account, m), NT_OK);
    json_decref(m);
}

START_TEST(test_meta_store_and_find)
{
    ntc_meta_query q = {.key = "team", .value = "red", .skip = 0, .limit = 20};
    json_t *list = NULL, *m;

    add_item("i3", ACC_A, 3, "{\"team\":\"red\"}");
    add_item("i1", ACC_A, 1, "{\"team\":\"red\",\"x\":\"y\"}");
    add_item("i2", ACC_A, 2, "{\"team\":\"blue\"}");
    add_item("j1", ACC_B, 0, "{\"team\":\"red\"}");
    ck_assert_int_eq(count("SELECT COUNT(*) FROM t_meta"), 5);
    ck_assert_int_eq(ntc_meta_find(api, db, ACC_A, &q, &items, &list), NT_OK);
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "i1");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), "i3");
    ck_assert_int_eq(printed, 2);
    json_decref(list);
    q.skip = 1;
    q.limit = 1;
    ck_assert_int_eq(ntc_meta_find(api, db, ACC_A, &q, &items, &list), NT_OK);
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "i3");
    json_decref(list);
    q.skip = 0;
    q.limit = 20;
    ck_assert_int_eq(ntc_meta_find(api, db, ACC_B, &q, &items, &list), NT_OK);
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "j1");
    json_decref(list);
    /* replacing and clearing an entity's rows */
    m = json_pack("{s:s}", "team", "green");
    ck_assert_int_eq(ntc_meta_store(api, db, "t_meta", "i1", ACC_A, m), NT_OK);
    json_decref(m);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM t_meta WHERE entity_id = 'i1'"), 1);
    ck_assert_int_eq(ntc_meta_store(api, db, "t_meta", "i3", ACC_A, NULL), NT_OK);
    ck_assert_int_eq(ntc_meta_find(api, db, ACC_A, &q, &items, &list), NT_OK);
    ck_assert_int_eq(json_array_size(list), 0);
    json_decref(list);
}
END_TEST

/* Runs ntc_meta_route with the query pairs (NULL-terminated name/value list). */
static int
meta_route(const char *const *pairs, json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    int rc;

    for (int i = 0; pairs[i] != NULL; i += 2)
        ck_assert_int_eq(fh_req_add_query(q, pairs[i], pairs[i + 1]), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, ACC_A, NULL), NT_OK);
    *out = NULL;
    rc = ntc_meta_route(api, q, &items, out);
    snprintf(msg, 512, "%s", fh_req_msg(q));
    fh_req_free(q);
    return rc;
}

/* ntc_json_dump writes what json_dumps writes (compact; sorted keys when asked), also for
 * values its serialiser leaves to jansson (real numbers, unsorted keys, deep nesting). */
START_TEST(test_json_dump_matches_jansson)
{
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"b\":1,\"a\":[true,false,null],\"c\":{\"z\":\"x\",\"y\":-7}}",
        "{\"a\":\"quote \\\" back \\\\ tab \\t nl \\n ctl \\u0001 del \\u007f\"}",
        "{\"bookingId\":\"0195e1c4-0000-4000-8000-000000000000\",\"note\":\"Zürich \\u2603 / ok\"}",
        "[\"u1\",\"u2\",\"u3\"]",
        "{\"n\":9007199254740993,\"m\":-9223372036854775808}",
        "{\"r\":1.5,\"a\":2}",
        "[{\"b\":{\"a\":0}},{\"a\":{\"c\":1,\"b\":2}}]",
        "\"text\"",
        "42"};
    json_t *deep = json_array(), *cur = deep;

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_error_t err;
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY, &err);
        ck_assert_msg(v != NULL, "doc %zu: %s", i, err.text);
        for (int sorted = 0; sorted < 2; sorted++) {
            size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0);
            char *want = json_dumps(v, flags), *got = ntc_json_dump(v, sorted);
            ck_assert_ptr_nonnull(want);
            ck_assert_ptr_nonnull(got);
            ck_assert_msg(strcmp(want, got) == 0, "doc %zu sorted %d: %s vs %s", i, sorted, got,
                          want);
            free(want);
            free(got);
        }
        json_decref(v);
    }
    for (int i = 0; i < 80; i++) { /* deeper than the serialiser goes */
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    {
        char *want = json_dumps(deep, JSON_COMPACT), *got = ntc_json_dump(deep, 0);
        ck_assert_str_eq(got, want);
        free(want);
        free(got);
    }
    json_decref(deep);
    ck_assert_ptr_null(ntc_json_dump(NULL, 0));
}
END_TEST

/* Memo keys: parts joined by '/', NULL as "-", refused (empty) when they do not fit. */
START_TEST(test_key)
{
    char k[16];

    ck_assert_int_eq(ntc_key(k, sizeof(k), 3, (const char *const[]){"a", NULL, "bc"}), 1);
    ck_assert_str_eq(k, "a/-/bc");
    ck_assert_int_eq(ntc_key(k, sizeof(k), 2, (const char *const[]){"012345", "01234567"}), 1);
    ck_assert_str_eq(k, "012345/01234567"); /* 15 bytes and the NUL */
    ck_assert_int_eq(ntc_key(k, sizeof(k), 2, (const char *const[]){"0123456", "01234567"}), 0);
    ck_assert_str_eq(k, "");
    ck_assert_int_eq(ntc_key(k, sizeof(k), 0, NULL), 1);
    ck_assert_str_eq(k, "");
    ck_assert_int_eq(ntc_key(k, 0, 1, (const char *const[]){"a"}), 0);
}
END_TEST

START_TEST(test_meta_route_and_limits)
{
    static const char *const ok[] = {"key", "team", "value", "red", NULL};
    static const char *const at_cap[] = {"key", "team", "value", "red", "limit", "100", NULL};
    static const char *const over[] = {"key", "team", "value", "red", "limit", "101", NULL};
    static const char *const huge[] = {
        "key", "team", "value", "red", "limit", "99999999999999999999", NULL};
    static const char *const neg[] = {"key", "team", "value", "red", "skip", "-1", NULL};
    static const char *const nokey[] = {"value", "red", NULL};
    static const char *const novalue[] = {"key", "team", NULL};
    json_t *out;
    char msg[512];

    for (int i = 0; i < 25; i++) {
        char id[16];
        snprintf(id, sizeof(id), "k%02d", i);
        add_item(id, ACC_A, i, "{\"team\":\"red\"}");
    }
    ck_assert_int_eq(meta_route(ok, &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "items")), NTC_META_LIMIT_DEFAULT);
    json_decref(out);
    ck_assert_int_eq(meta_route(at_cap, &out, msg), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "items")), 25);
    json_decref(out);
    ck_assert_int_eq(meta_route(over, &out, msg), NT_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(msg, "limit: at most 100 (got 101)");
    ck_assert_int_eq(meta_route(huge, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "limit"));
    ck_assert_int_eq(meta_route(neg, &out, msg), NT_EINVAL);
    ck_assert_str_eq(msg, "skip: expected an integer >= 0");
    ck_assert_int_eq(meta_route(nokey, &out, msg), NT_EINVAL);
    ck_assert_str_eq(msg, "key: required query parameter is missing");
    ck_assert_int_eq(meta_route(novalue, &out, msg), NT_EINVAL);
    ck_assert_str_eq(msg, "value: required query parameter is missing");
}
END_TEST

static Suite *
common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("helpers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_prepare_binds_every_letter);
    tcase_add_test(tc, test_prepare_refuses_bad_formats);
    tcase_add_test(tc, test_exec_and_row);
    tcase_add_test(tc, test_tx_end);
    tcase_add_test(tc, test_in_lists);
    tcase_add_test(tc, test_meta_store_and_find);
    tcase_add_test(tc, test_meta_route_and_limits);
    tcase_add_test(tc, test_json_dump_matches_jansson);
    tcase_add_test(tc, test_key);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(common_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

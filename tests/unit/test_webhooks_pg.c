/* The webhooks plugin's claim (wh_store_claim) on PostgreSQL: two instances (two lease
 * owners, two connections, two threads) drain one queue of due deliveries at once. Every
 * delivery is claimed, and finished (sent), by exactly one of them, and no claim round fails
 * serializing (begin_claim + FOR UPDATE SKIP LOCKED). Runs wh_store.c over store_pg's
 * connection code directly (no plugin loading) against the ctest fixture `pg`; skipped (77)
 * without a cluster.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg_int.h"
#include "wh.h"

#define WH_PG_ROWS 240
#define WH_PG_BATCH 8

static char g_base[512];     /* the cluster's conninfo */
static char g_conninfo[640]; /* with this run's database */
static char g_dbname[64];

static void t_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...) NT_PRINTF(3, 4);
static void
t_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...)
{
    (void)p;
    (void)lvl;
    (void)fmt;
}

static int64_t
t_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
t_uuid_new(char out[NT_UUID_BUF])
{
    static int n;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

    pthread_mutex_lock(&mu);
    snprintf(out, NT_UUID_BUF, "00000000-0000-4000-8000-%012d", ++n);
    pthread_mutex_unlock(&mu);
    return NT_OK;
}

static const char *
t_dialect(void)
{
    return "postgresql";
}

/* The host table wh_store.c uses: store_pg's functions behind the db_* members. */
static const nt_host_api t_api = {
    .size = sizeof(nt_host_api),
    .abi_major = NT_ABI_MAJOR,
    .abi_minor = NT_ABI_MINOR,
    .log = t_log,
    .db_prepare = pg_prepare,
    .db_bind_text = pg_bind_text,
    .db_bind_int64 = pg_bind_int64,
    .db_bind_null = pg_bind_null,
    .db_step = pg_step,
    .db_col_text = pg_col_text,
    .db_col_int64 = pg_col_int64,
    .db_col_is_null = pg_col_is_null,
    .db_changes = pg_changes,
    .db_finalize = pg_finalize,
    .db_exec = pg_exec,
    .db_begin = pg_begin,
    .db_commit = pg_commit,
    .db_rollback = pg_rollback,
    .db_errmsg = pg_errmsg,
    .uuid_new = t_uuid_new,
    .now_ms = t_now_ms,
    .db_begin_claim = pg_begin_claim,
    .db_dialect = t_dialect,
};

static char g_describe[] = "postgresql (test_webhooks_pg)";
static struct pg_cfg g_cfg = {.api = &t_api,
                              .describe = g_describe,
                              .statement_timeout_ms = 30000,
                              .lock_timeout_ms = 10000,
                              .connect_timeout_s = 10};

/* Runs SQL on the cluster's maintenance database. */
static void
admin(const char *sql)
{
    PGconn *c = PQconnectdb(g_base);
    PGresult *res;

    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "admin connection: %s", PQerrorMessage(c));
    res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

static nt_db *
open_db(void)
{
    char err[256] = "";
    nt_db *db = pg_conn_open(&g_cfg, err, sizeof(err));

    ck_assert_msg(db != NULL, "conn_open: %s", err);
    return db;
}

static int64_t
query_int(nt_db *db, const char *sql)
{
    nt_stmt *s = pg_prepare(db, sql);
    int64_t v;

    ck_assert_msg(s != NULL, "%s: %s", sql, pg_errmsg(db));
    ck_assert_int_eq(pg_step(s), 1);
    v = pg_col_int64(s, 0);
    pg_finalize(s);
    return v;
}

static void
setup(void)
{
    char sql[128];

    snprintf(g_dbname, sizeof(g_dbname), "nt_whpg_%d", (int)getpid());
    snprintf(g_conninfo, sizeof(g_conninfo), "%s dbname=%s", g_base, g_dbname);
    g_cfg.conninfo = g_conninfo;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_dbname);
    admin(sql);
}

static void
teardown(void)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_dbname);
    admin(sql);
}

/* One instance: its plugin state (lease owner), connection and what it claimed and sent. */
struct inst {
    wh_plugin w;
    nt_db *db;
    pthread_barrier_t *start;
    char ids[WH_PG_ROWS][NT_UUID_BUF];
    int sent;        /* deliveries it finished (its lease still held) */
    int lost;        /* finishes refused: the lease was not its own */
    int failed;      /* claim rounds that failed */
    int last_failed; /* the code of the last failure */
    char why[256];   /* and its message */
};

/* Thread: claims rounds of WH_PG_BATCH and "sends" each (wh_store_finish, delivered) until
 * nothing is due. */
static void *
inst_main(void *arg)
{
    struct inst *in = arg;
    int n = 1;

    pthread_barrier_wait(in->start);
    while (n > 0 && in->failed < 50) {
        wh_job *jobs = NULL;
        int rc = wh_store_claim(&in->w, in->db, WH_PG_BATCH, &jobs, &n);

        if (rc != NT_OK) {
            in->failed++;
            in->last_failed = rc;
            snprintf(in->why, sizeof(in->why), "%s", pg_errmsg(in->db));
            pg_clear_error(in->db);
            n = 1;
            continue;
        }
        for (int i = 0; i < n; i++) {
            rc = wh_store_finish(&in->w, in->db, &jobs[i], t_now_ms(), 1, 200, NULL, 0);
            if (rc == NT_OK && in->sent < WH_PG_ROWS)
                memcpy(in->ids[in->sent++], jobs[i].id, NT_UUID_BUF);
            else {
                in->lost++;
                snprintf(in->why, sizeof(in->why), "finish %d: %s", rc, pg_errmsg(in->db));
                pg_clear_error(in->db);
            }
        }
        wh_jobs_free(jobs, n);
    }
    return NULL;
}

START_TEST(test_two_instances_claim_disjoint)
{
    nt_db *db = open_db();
    struct inst *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    pthread_barrier_t start;
    pthread_t ta, tb;
    int rc;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pg_exec(db, "CREATE TABLE webhooks_deliveries ("
                                 " id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
                                 " type TEXT NOT NULL, payload TEXT NOT NULL,"
                                 " status TEXT NOT NULL, attempts INTEGER NOT NULL,"
                                 " last_status_code INTEGER NULL, last_error TEXT NULL,"
                                 " first_attempt_at BIGINT NULL, next_attempt_at BIGINT NOT NULL,"
                                 " lease_owner TEXT NULL, lease_until BIGINT NOT NULL,"
                                 " created BIGINT NOT NULL);"
                                 "CREATE INDEX webhooks_deliveries_due ON "
                                 "webhooks_deliveries(status, next_attempt_at)"),
                     NT_OK);
    a->w.api = b->w.api = &t_api;
    a->w.lease_ms = b->w.lease_ms = 60000;
    snprintf(a->w.instance, NT_UUID_BUF, "aaaaaaaa-0000-4000-8000-000000000000");
    snprintf(b->w.instance, NT_UUID_BUF, "bbbbbbbb-0000-4000-8000-000000000000");
    for (int i = 0; i < WH_PG_ROWS; i++) {
        char id[NT_UUID_BUF];
        ck_assert_int_eq(wh_store_insert(&a->w, db, "acc", "ping", "{}", id), NT_OK);
    }
    usleep(5 * 1000); /* every row due (next_attempt_at <= now) */
    a->db = open_db();
    b->db = open_db();
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
    a->start = b->start = &start;
    ck_assert_int_eq(pthread_create(&ta, NULL, inst_main, a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, inst_main, b), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_int_eq(pthread_join(tb, NULL), 0);
    pthread_barrier_destroy(&start);

    fprintf(stderr, "test_webhooks_pg: instance a sent %d, b sent %d\n", a->sent, b->sent);
    ck_assert_msg(a->failed == 0 && b->failed == 0,
                  "claim rounds failed: %d, %d (last %d %s, %d %s)", a->failed, b->failed,
                  a->last_failed, a->why, b->last_failed, b->why);
    ck_assert_msg(a->lost + b->lost == 0, "finishes refused: %d (%s), %d (%s)", a->lost, a->why,
                  b->lost, b->why);
    ck_assert_int_eq(a->sent + b->sent, WH_PG_ROWS);
    for (int i = 0; i < a->sent; i++)
        for (int j = 0; j < b->sent; j++)
            ck_assert_str_ne(a->ids[i], b->ids[j]);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM webhooks_deliveries WHERE "
                                   "status = 'delivered' AND attempts = 1"),
                     WH_PG_ROWS);
    rc = wh_store_due_any(&a->w, db);
    ck_assert_int_eq(rc, 0);
    pg_conn_close(a->db);
    pg_conn_close(b->db);
    pg_conn_close(db);
    free(a);
    free(b);
}
END_TEST

/* The cluster's conninfo from the environment or the fixture's file; 0 when there is none. */
static int
find_cluster(void)
{
    const char *v = getenv("NETTU_TEST_PG_CONNINFO"), *dir = getenv("NETTU_TEST_PG_DIR");
    char path[512];
    FILE *f;
    size_t n;

    if (v != NULL && v[0] != '\0') {
        snprintf(g_base, sizeof(g_base), "%s", v);
        return 1;
    }
    if (dir == NULL || dir[0] == '\0')
        return 0;
    snprintf(path, sizeof(path), "%s/conninfo", dir);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    n = fread(g_base, 1, sizeof(g_base) - 1, f);
    fclose(f);
    g_base[n] = '\0';
    while (n > 0 && (g_base[n - 1] == '\n' || g_base[n - 1] == ' '))
        g_base[--n] = '\0';
    return n > 0;
}

int
main(void)
{
    Suite *s = suite_create("webhooks_pg");
    TCase *tc = tcase_create("claim");
    SRunner *sr;
    int failed;

    if (!find_cluster()) {
        fprintf(stderr, "test_webhooks_pg: no PostgreSQL: skipped\n");
        return 77;
    }
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_two_instances_claim_disjoint);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The store contract suite (store_contract.h): the cases every store backend passes, run by
 * test_store_sqlite always and by test_store_pg against a throwaway PostgreSQL cluster.
 * Statements follow C2 (no bare parameters), so they run unchanged on both.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_contract.h"

static const struct ct_backend *ct_b;

#define g_ops (ct_b->ops())

/* Runs a statement without rows and returns step's result. */
static int
run(nt_db *db, const char *sql)
{
    nt_stmt *s = g_ops->prepare(db, sql);
    int rc;

    ck_assert_msg(s != NULL, "prepare %s: %s", sql, g_ops->errmsg(db));
    rc = g_ops->step(s);
    g_ops->finalize(s);
    return rc;
}

/* The integer of a one-row query. */
static int64_t
query_int(nt_db *db, const char *sql)
{
    nt_stmt *s = g_ops->prepare(db, sql);
    int64_t v;

    ck_assert_msg(s != NULL, "prepare %s: %s", sql, g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->step(s), 1);
    v = g_ops->col_int64(s, 0);
    g_ops->finalize(s);
    return v;
}

static const char *schema = "CREATE TABLE parent(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
                            "CREATE TABLE child(id TEXT PRIMARY KEY, parent_id TEXT NOT NULL "
                            "  REFERENCES parent(id) ON DELETE CASCADE, n BIGINT,"
                            "  CHECK (n IS NULL OR n >= -9223372036854775807 - 1));"
                            "CREATE TABLE t(a TEXT, b TEXT, n BIGINT);";

START_TEST(ct_bind_order_and_repeat)
{
    nt_db *db = ct_b->open();
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    s = g_ops->prepare(db, "INSERT INTO t(a, b, n) VALUES ($2, $1, $3)");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(g_ops->bind_text(s, 1, "one"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 2, "two"), NT_OK);
    ck_assert_int_eq(g_ops->bind_int64(s, 3, 3), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    ck_assert_int_eq(g_ops->changes(s), 1);
    g_ops->finalize(s);

    s = g_ops->prepare(db, "SELECT a, b, n FROM t WHERE a = $1 OR b = $1");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "one"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "two");
    ck_assert_str_eq(g_ops->col_text(s, 1), "one");
    ck_assert_int_eq(g_ops->col_int64(s, 2), 3);
    ck_assert_int_eq(g_ops->step(s), 0);
    g_ops->finalize(s);

    s = g_ops->prepare(db, "SELECT CAST($1 AS TEXT) || '-' || CAST($2 AS TEXT) || '-' || "
                           "CAST($1 AS TEXT)");
    ck_assert_int_eq(g_ops->bind_text(s, 2, "b"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 1, "a"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "a-b-a");
    g_ops->finalize(s);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(ct_int64_extremes)
{
    static const int64_t vals[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    nt_db *db = ct_b->open();
    nt_stmt *s;
    size_t i;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        s = g_ops->prepare(db, "INSERT INTO t(a, n) VALUES ($1, $2)");
        ck_assert_int_eq(g_ops->bind_int64(s, 1, (int64_t)i), NT_OK);
        ck_assert_int_eq(g_ops->bind_int64(s, 2, vals[i]), NT_OK);
        ck_assert_int_eq(g_ops->step(s), 0);
        g_ops->finalize(s);
    }
    s = g_ops->prepare(db, "SELECT n FROM t ORDER BY CAST(a AS INTEGER)");
    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        ck_assert_int_eq(g_ops->step(s), 1);
        ck_assert(g_ops->col_int64(s, 0) == vals[i]);
    }
    ck_assert_int_eq(g_ops->step(s), 0);
    g_ops->finalize(s);
    s = g_ops->prepare(db, "SELECT count(*) FROM t WHERE n = $1");
    ck_assert_int_eq(g_ops->bind_int64(s, 1, INT64_MIN), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_int_eq(g_ops->col_int64(s, 0), 1);
    g_ops->finalize(s);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(ct_null_binds)
{
    nt_db *db = ct_b->open();
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    s = g_ops->prepare(db, "INSERT INTO t(a, b, n) VALUES ($1, $2, $3)");
    ck_assert_int_eq(g_ops->bind_text(s, 1, NULL), NT_OK);
    ck_assert_int_eq(g_ops->bind_null(s, 2), NT_OK);
    ck_assert_int_eq(g_ops->bind_null(s, 3), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    g_ops->finalize(s);
    s = g_ops->prepare(db, "SELECT a, b, n, 'x', 0 FROM t");
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_int_eq(g_ops->col_is_null(s, 0), 1);
    ck_assert_ptr_null(g_ops->col_text(s, 0));
    ck_assert_int_eq(g_ops->col_is_null(s, 1), 1);
    ck_assert_int_eq(g_ops->col_is_null(s, 2), 1);
    ck_assert_int_eq(g_ops->col_int64(s, 2), 0);
    ck_assert_int_eq(g_ops->col_is_null(s, 3), 0);
    ck_assert_str_eq(g_ops->col_text(s, 3), "x");
    ck_assert_int_eq(g_ops->col_is_null(s, 4), 0);
    ck_assert_str_eq(g_ops->col_text(s, 4), "0");
    g_ops->finalize(s);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(ct_constraints)
{
    nt_db *db = ct_b->open();
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p1', 'one')"), 0);
    /* unique and primary key: conflict */
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p2', 'one')"), NT_ECONFLICT);
    ck_assert_int_eq(g_ops->errcode(db), NT_ECONFLICT);
    ck_assert_msg(strstr(g_ops->errmsg(db), "unique constraint") != NULL, "%s", g_ops->errmsg(db));
    g_ops->clear_error(db);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p1', 'two')"), NT_ECONFLICT);
    /* foreign key, not null, check: bad data */
    ck_assert_int_eq(run(db, "INSERT INTO child VALUES ('c1', 'nope', 1)"), NT_EINVAL);
    ck_assert_int_eq(g_ops->errcode(db), NT_EINVAL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "foreign key") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p3', NULL)"), NT_EINVAL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "not-null") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(run(db, "INSERT INTO child VALUES ('c1', 'p1', 1)"), 0);
    /* cascade (foreign keys are on) */
    s = g_ops->prepare(db, "DELETE FROM parent WHERE id = $1");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "p1"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    ck_assert_int_eq(g_ops->changes(s), 1);
    g_ops->finalize(s);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM child"), 0);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(ct_transactions)
{
    nt_db *db = ct_b->open();
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(g_ops->rollback(db), NT_OK); /* none open */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('gone')"), 0);
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 0);
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('kept')"), 0);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('kept')"), 0);
    ck_assert_int_eq(g_ops->commit(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 2);
    s = g_ops->prepare(db, "UPDATE t SET b = $1 WHERE a = 'kept'");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "x"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    ck_assert_int_eq(g_ops->changes(s), 2);
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->commit(db), NT_ERR); /* none open */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(g_ops->begin(db), NT_ERR); /* no nesting */
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    g_ops->conn_close(db);
}
END_TEST

/* C6: a failed statement inside a write transaction rolls the whole transaction back; the
 * connection then refuses statements, begin, lock_schema and commit with that code (and keeps
 * the first error's message) until rollback; commit reports it and ends the transaction. */
START_TEST(ct_error_ends_write_transaction)
{
    nt_db *db = ct_b->open();
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p0', 'zero')"), 0);
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p1', 'one')"), 0);
    s = g_ops->prepare(db, "SELECT id FROM parent ORDER BY id"); /* a cursor left open */
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p2', 'one')"), NT_ECONFLICT);
    /* everything after it is refused with the same code and the first message */
    ck_assert_int_eq(g_ops->step(s), NT_ECONFLICT);
    g_ops->finalize(s);
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT 1"));
    ck_assert_int_eq(g_ops->errcode(db), NT_ECONFLICT);
    ck_assert_msg(strstr(g_ops->errmsg(db), "unique constraint") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->exec(db, "INSERT INTO t(a) VALUES ('x')"), NT_ECONFLICT);
    ck_assert_int_eq(g_ops->begin(db), NT_ECONFLICT);
    ck_assert_int_eq(g_ops->lock_schema(db), NT_ECONFLICT);
    /* commit answers the error: nothing of the transaction was kept */
    ck_assert_int_eq(g_ops->commit(db), NT_ECONFLICT);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM parent"), 1);
    ck_assert_int_eq(g_ops->commit(db), NT_ERR); /* it is over */

    /* the same with rollback, after an error of another kind (foreign key) */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p3', 'three')"), 0);
    ck_assert_int_eq(run(db, "INSERT INTO child VALUES ('c1', 'nope', 1)"), NT_EINVAL);
    ck_assert_ptr_null(g_ops->prepare(db, "INSERT INTO parent VALUES ('p4', 'four')"));
    ck_assert_int_eq(g_ops->errcode(db), NT_EINVAL);
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM parent"), 1);
    /* a statement that cannot compile ends it too */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p5', 'five')"), 0);
    ck_assert_ptr_null(g_ops->prepare(db, "SELEKT 1"));
    ck_assert_int_eq(g_ops->errcode(db), NT_ERR);
    ck_assert_int_eq(g_ops->commit(db), NT_ERR);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM parent WHERE id = 'p5'"), 0);
    /* so does a failing script */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(g_ops->exec(db, "INSERT INTO t(a) VALUES ('s'); BOGUS"), NT_ERR);
    ck_assert_int_eq(g_ops->exec(db, "INSERT INTO t(a) VALUES ('s2')"), NT_ERR);
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 0);
    /* a bind error is caught before anything runs: the transaction goes on */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    s = g_ops->prepare(db, "INSERT INTO parent VALUES ($1, $2)");
    ck_assert_int_eq(g_ops->bind_text(s, 3, "x"), NT_EINVAL);
    ck_assert_int_eq(g_ops->bind_text(s, 1, "p6"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 2, "six"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->commit(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM parent"), 2);
    /* outside a transaction a failure ends nothing */
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p7', 'six')"), NT_ECONFLICT);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p7', 'seven')"), 0);
    /* clear_error (the host, at the start of a request) also forgets an ended transaction */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p8', 'zero')"), NT_ECONFLICT);
    g_ops->clear_error(db);
    ck_assert_int_eq(g_ops->errcode(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM parent"), 3);
    g_ops->conn_close(db);
}
END_TEST

/* C6 for read transactions: the error ends it; end_read forgets it (NT_OK); begin() also
 * ends it and starts afresh. */
START_TEST(ct_error_ends_read_transaction)
{
    nt_db *db = ct_b->open();

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(g_ops->begin_read(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 0);
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT * FROM missing"));
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT count(*) FROM t"));
    ck_assert_int_eq(g_ops->begin_read(db), NT_ERR);
    ck_assert_int_eq(g_ops->end_read(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 0);
    ck_assert_int_eq(g_ops->begin_read(db), NT_OK);
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT * FROM missing"));
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('w')"), 0);
    ck_assert_int_eq(g_ops->commit(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 1);
    g_ops->conn_close(db);
}
END_TEST

#define RMW_THREADS 4
#define RMW_ROUNDS 40

static pthread_barrier_t rmw_start;

struct rmw_arg {
    int retries, failures;
};

/* One thread of test_serializable_rmw: RMW_ROUNDS read-modify-write transactions on its own
 * connection, each run again from its start while it fails with NT_ERETRY. */
static void *
rmw_thread(void *arg)
{
    struct rmw_arg *r = arg;
    char err[256];
    nt_db *db = g_ops->conn_open(ct_b->state(), err, sizeof(err));

    pthread_barrier_wait(&rmw_start);
    for (int i = 0; db != NULL && i < RMW_ROUNDS; i++) {
        int rc;
        do {
            nt_stmt *s;
            int64_t n = 0;

            g_ops->clear_error(db);
            rc = g_ops->begin(db);
            if (rc == NT_OK && (s = g_ops->prepare(db, "SELECT n FROM t WHERE a = 'c'")) != NULL) {
                rc = g_ops->step(s) == 1 ? NT_OK : g_ops->errcode(db);
                n = g_ops->col_int64(s, 0);
                g_ops->finalize(s);
            }
            if (rc == NT_OK &&
                (s = g_ops->prepare(db, "UPDATE t SET n = $1 WHERE a = 'c'")) != NULL) {
                rc = g_ops->bind_int64(s, 1, n + 1);
                if (rc == NT_OK)
                    rc = g_ops->step(s);
                g_ops->finalize(s);
            }
            if (rc == NT_OK)
                rc = g_ops->commit(db);
            if (rc != NT_OK)
                g_ops->rollback(db);
            r->retries += rc == NT_ERETRY;
        } while (rc == NT_ERETRY);
        r->failures += rc != NT_OK;
    }
    if (db == NULL)
        r->failures++;
    g_ops->conn_close(db);
    return NULL;
}

/* C3 + C7: read-modify-write transactions from several threads, each run again while it gets
 * NT_ERETRY (a lock not had in time, a serialization failure), lose no update. */
START_TEST(ct_serializable_rmw)
{
    nt_db *db = ct_b->open();
    pthread_t th[RMW_THREADS];
    struct rmw_arg args[RMW_THREADS];
    int retries = 0;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, n) VALUES ('c', 0)"), 0);
    memset(args, 0, sizeof(args));
    ck_assert_int_eq(pthread_barrier_init(&rmw_start, NULL, RMW_THREADS), 0);
    for (int i = 0; i < RMW_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, rmw_thread, &args[i]), 0);
    for (int i = 0; i < RMW_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
        retries += args[i].retries;
    }
    pthread_barrier_destroy(&rmw_start);
    ck_assert_int_eq(query_int(db, "SELECT n FROM t"), RMW_THREADS * RMW_ROUNDS);
    fprintf(stderr, "test_serializable_rmw: %d transactions, %d runs again after NT_ERETRY\n",
            RMW_THREADS * RMW_ROUNDS, retries);
    g_ops->conn_close(db);
}
END_TEST

/* C4: a read transaction sees one snapshot: a write committed by another connection in the
 * meantime shows only after end_read. begin() inside it ends it first. */
START_TEST(ct_read_snapshot)
{
    nt_db *a = ct_b->open();
    nt_db *b = ct_b->open();

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(g_ops->begin_read(a), NT_OK);
    ck_assert_int_eq(g_ops->begin_read(a), NT_OK); /* already open */
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 0);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('1')"), 0);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 0);
    ck_assert_int_eq(g_ops->end_read(a), NT_OK);
    ck_assert_int_eq(g_ops->end_read(a), NT_OK); /* none open */
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    ck_assert_int_eq(g_ops->begin_read(a), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('2')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 2);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* C1: the same text prepared again while in use gets its own statement; a finalized one
 * comes back without its bindings; results of the two do not mix. */
START_TEST(ct_nested_same_sql)
{
    nt_db *db = ct_b->open();
    const char *sql = "SELECT a FROM t WHERE b = $1 ORDER BY a";
    nt_stmt *x, *y;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, b) VALUES ('x1', 'x'), ('x2', 'x'), ('y1', 'y')"),
                     0);
    x = g_ops->prepare(db, sql);
    ck_assert_int_eq(g_ops->bind_text(x, 1, "x"), NT_OK);
    ck_assert_int_eq(g_ops->step(x), 1);
    ck_assert_str_eq(g_ops->col_text(x, 0), "x1");
    y = g_ops->prepare(db, sql);
    ck_assert_ptr_ne(x, y);
    ck_assert_int_eq(g_ops->bind_text(y, 1, "y"), NT_OK);
    ck_assert_int_eq(g_ops->step(y), 1);
    ck_assert_str_eq(g_ops->col_text(y, 0), "y1");
    ck_assert_int_eq(g_ops->step(y), 0);
    g_ops->finalize(y);
    ck_assert_int_eq(g_ops->step(x), 1);
    ck_assert_str_eq(g_ops->col_text(x, 0), "x2");
    ck_assert_int_eq(g_ops->step(x), 0);
    g_ops->finalize(x);
    /* finalize forgot the bindings: $1 is NULL, which matches nothing */
    x = g_ops->prepare(db, sql);
    ck_assert_int_eq(g_ops->step(x), 0);
    g_ops->finalize(x);
    /* a $n not in the statement is refused before anything runs */
    x = g_ops->prepare(db, sql);
    ck_assert_int_eq(g_ops->bind_text(x, 2, "z"), NT_EINVAL);
    ck_assert_int_eq(g_ops->errcode(db), NT_EINVAL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "$2") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->bind_int64(x, 0, 1), NT_EINVAL);
    g_ops->finalize(x);
    g_ops->clear_error(db);
    ck_assert_int_eq(g_ops->errcode(db), NT_OK);
    ck_assert_str_eq(g_ops->errmsg(db), "");
    /* errors: a syntax error and a missing table are NT_ERR at prepare */
    ck_assert_ptr_null(g_ops->prepare(db, "SELEKT 1"));
    ck_assert_int_eq(g_ops->errcode(db), NT_ERR);
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT * FROM missing"));
    ck_assert_msg(strstr(g_ops->errmsg(db), "missing") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->exec(db, "CREATE TABLE x(a BIGINT); BOGUS"), NT_ERR);
    ck_assert_msg(strstr(g_ops->errmsg(db), "BOGUS") != NULL, "%s", g_ops->errmsg(db));
    g_ops->conn_close(db);
}
END_TEST

/* C2: a statement may leave $n out (one binder shared by an INSERT and an UPDATE); binding
 * a $n it does not use is NT_EINVAL and ends nothing; the others bind and run. */
START_TEST(ct_param_gaps)
{
    nt_db *db = ct_b->open();
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, b, n) VALUES ('k', 'old', 1)"), 0);
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    s = g_ops->prepare(db, "UPDATE t SET b = $4, n = $5 WHERE a = $1");
    ck_assert_msg(s != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->bind_text(s, 1, "k"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 2, "x"), NT_EINVAL);
    ck_assert_int_eq(g_ops->bind_int64(s, 3, 3), NT_EINVAL);
    ck_assert_int_eq(g_ops->bind_text(s, 4, "new"), NT_OK);
    ck_assert_int_eq(g_ops->bind_int64(s, 5, 5), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    ck_assert_int_eq(g_ops->changes(s), 1);
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->commit(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT n FROM t WHERE a = 'k' AND b = 'new'"), 5);
    g_ops->conn_close(db);
}
END_TEST

/* C8: lock_schema works only inside a write transaction; taken, the transaction goes on. */
START_TEST(ct_lock_schema)
{
    nt_db *a = ct_b->open();

    ck_assert(NT_HAS_MEMBER(g_ops, nt_store_v1, lock_schema));
    ck_assert_int_eq(g_ops->lock_schema(a), NT_ERR);
    ck_assert_msg(strstr(g_ops->errmsg(a), "write transaction") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(g_ops->begin_read(a), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_ERR);
    ck_assert_int_eq(g_ops->end_read(a), NT_OK);
    g_ops->clear_error(a);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, "CREATE TABLE IF NOT EXISTS s1(x INTEGER)"), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO s1(x) VALUES (1)"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO s1(x) VALUES (2)"), 0);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_OK); /* after a statement too */
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM s1"), 1);
    g_ops->conn_close(a);
}
END_TEST

/* ABI 1.4: begin_claim begins a write transaction that commits and rolls back like begin's,
 * does not nest, ends a read transaction first and is ended by an error (C6); dialect names
 * the SQL, and a claim (SELECT of the due rows, FOR UPDATE SKIP LOCKED on PostgreSQL, then a
 * guarded UPDATE) runs in it. */
START_TEST(ct_begin_claim)
{
    nt_db *db = ct_b->open();
    const char *dialect;
    int pg;
    nt_stmt *s;

    ck_assert(NT_HAS_MEMBER(g_ops, nt_store_v1, dialect));
    ck_assert_ptr_nonnull(g_ops->begin_claim);
    dialect = g_ops->dialect(ct_b->state());
    pg = strcmp(dialect, "postgresql") == 0;
    ck_assert_msg(pg || strcmp(dialect, "sqlite") == 0, "%s", dialect);
    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(g_ops->begin_claim(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, n) VALUES ('gone', 0)"), 0);
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 0);
    ck_assert_int_eq(g_ops->begin_claim(db), NT_OK);
    ck_assert_int_eq(g_ops->begin_claim(db), NT_ERR); /* no nesting */
    ck_assert_int_eq(g_ops->begin(db), NT_ERR);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, n) VALUES ('j1', 0)"), 0);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, n) VALUES ('j2', 5)"), 0);
    ck_assert_int_eq(g_ops->commit(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 2);
    ck_assert_int_eq(g_ops->commit(db), NT_ERR); /* none open */

    /* a claim: the due row read (locked on PostgreSQL), then leased under a guard */
    ck_assert_int_eq(g_ops->begin_read(db), NT_OK);
    ck_assert_int_eq(g_ops->begin_claim(db), NT_OK); /* ends the read transaction */
    s = g_ops->prepare(db, pg ? "SELECT a FROM t WHERE n <= $1 ORDER BY a LIMIT $2 FOR UPDATE "
                                "SKIP LOCKED"
                              : "SELECT a FROM t WHERE n <= $1 ORDER BY a LIMIT $2");
    ck_assert_msg(s != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->bind_int64(s, 1, 1), NT_OK);
    ck_assert_int_eq(g_ops->bind_int64(s, 2, 10), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "j1");
    ck_assert_int_eq(g_ops->step(s), 0);
    g_ops->finalize(s);
    s = g_ops->prepare(db, "UPDATE t SET b = 'me', n = $2 WHERE a = 'j1' AND n <= $1");
    ck_assert_int_eq(g_ops->bind_int64(s, 1, 1), NT_OK);
    ck_assert_int_eq(g_ops->bind_int64(s, 2, 100), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    ck_assert_int_eq(g_ops->changes(s), 1);
    ck_assert_int_eq(g_ops->step(s), 0); /* the guard: leased already */
    ck_assert_int_eq(g_ops->changes(s), 0);
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->commit(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t WHERE b = 'me'"), 1);

    /* C6: an error ends it; commit answers that error and keeps nothing */
    ck_assert_int_eq(g_ops->begin_claim(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a, n) VALUES ('j3', 0)"), 0);
    ck_assert_ptr_null(g_ops->prepare(db, "SELEKT 1"));
    ck_assert_int_eq(g_ops->commit(db), NT_ERR);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 2);
    g_ops->conn_close(db);
}
END_TEST

void
ct_add_tests(TCase *tc, const struct ct_backend *b)
{
    ct_b = b;
    tcase_add_test(tc, ct_bind_order_and_repeat);
    tcase_add_test(tc, ct_int64_extremes);
    tcase_add_test(tc, ct_null_binds);
    tcase_add_test(tc, ct_constraints);
    tcase_add_test(tc, ct_transactions);
    tcase_add_test(tc, ct_error_ends_write_transaction);
    tcase_add_test(tc, ct_error_ends_read_transaction);
    tcase_add_test(tc, ct_serializable_rmw);
    tcase_add_test(tc, ct_read_snapshot);
    tcase_add_test(tc, ct_nested_same_sql);
    tcase_add_test(tc, ct_lock_schema);
    tcase_add_test(tc, ct_param_gaps);
    tcase_add_test(tc, ct_begin_claim);
}

/* Unit tests of the store_pg plugin: its sources are compiled into this test, which calls
 * init through a fake host table and then the captured "store" ops directly, each test on a
 * fresh database of the throwaway cluster of the ctest fixture `pg`
 * (tests/support/pg_cluster.sh). The cluster's conninfo comes from NETTU_TEST_PG_CONNINFO,
 * or the file $NETTU_TEST_PG_DIR/conninfo; without either the test is skipped (exit 77).
 * Runs the store contract suite (store_contract.c) and the PostgreSQL-only cases: SQLSTATE
 * mapping, serialization failures, a terminated backend, read-only, timeouts, the schema lock.
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pg_int.h"
#include "store_contract.h"

struct nt_plugin {
    int unused;
};
struct nt_config {
    const char *const *kv; /* key, value, ..., NULL */
};

static struct nt_plugin g_plugin;
static char g_init_err[1024];
static const nt_store_v1 *g_ops;
static void *g_state;
static char g_base[512];     /* the cluster's conninfo */
static char g_dbname[64];    /* this test's database */
static char g_conninfo[640]; /* g_base with dbname=g_dbname */

/* ---- the fake host ---------------------------------------------------------------------- */

static void fake_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...) NT_PRINTF(3, 4);
static void
fake_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...)
{
    (void)p;
    (void)lvl;
    (void)fmt;
}

static void fake_init_error(nt_plugin *p, const char *fmt, ...) NT_PRINTF(2, 3);
static void
fake_init_error(nt_plugin *p, const char *fmt, ...)
{
    va_list ap;

    (void)p;
    va_start(ap, fmt);
    vsnprintf(g_init_err, sizeof(g_init_err), fmt, ap);
    va_end(ap);
}

static const char *
fake_cfg_get(const nt_config *c, const char *key)
{
    for (size_t i = 0; c->kv[i] != NULL; i += 2)
        if (strcmp(c->kv[i], key) == 0)
            return c->kv[i + 1];
    return NULL;
}

static int
fake_cfg_int(nt_plugin *p, const nt_config *c, const char *key, long long dflt, long long min,
             long long max, long long *out)
{
    const char *v = fake_cfg_get(c, key);
    char *end;
    long long n;

    if (v == NULL) {
        *out = dflt;
        return NT_OK;
    }
    n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < min || n > max) {
        fake_init_error(p, "[store_pg] %s: expected %lld..%lld", key, min, max);
        return NT_EINVAL;
    }
    *out = n;
    return NT_OK;
}

/* A number with an optional unit ms or s (enough for these tests). */
static int
fake_cfg_duration(nt_plugin *p, const nt_config *c, const char *key, long long dflt, long long min,
                  long long max, long long *out)
{
    const char *v = fake_cfg_get(c, key);
    char *end;
    long long n;

    if (v == NULL) {
        *out = dflt;
        return NT_OK;
    }
    n = strtoll(v, &end, 10);
    if (strcmp(end, "s") == 0)
        n *= 1000;
    else if (*end != '\0' && strcmp(end, "ms") != 0)
        n = -1;
    if (end == v || n < min || n > max) {
        fake_init_error(p, "[store_pg] %s: expected a duration in %lld..%lld ms", key, min, max);
        return NT_EINVAL;
    }
    *out = n;
    return NT_OK;
}

static void fake_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
    NT_PRINTF(4, 5);
static void
fake_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    (void)c;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fake_init_error(p, "[store_pg] %s: %s", key, msg);
}

static int
fake_cfg_check_keys(nt_plugin *p, const nt_config *c, const char *const *known)
{
    for (size_t i = 0; c->kv[i] != NULL; i += 2) {
        size_t k = 0;

        while (known[k] != NULL && strcmp(known[k], c->kv[i]) != 0)
            k++;
        if (known[k] == NULL) {
            fake_init_error(p, "[store_pg] %s: unknown key", c->kv[i]);
            return NT_EINVAL;
        }
    }
    return NT_OK;
}

static int
fake_service_provide(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                     const void *ops, void *state)
{
    (void)p;
    ck_assert_str_eq(kind, NT_SERVICE_STORE);
    ck_assert_str_eq(name, "pg");
    ck_assert_uint_eq(version, NT_STORE_V1);
    g_ops = ops;
    g_state = state;
    return NT_OK;
}

static const nt_host_api fake_api = {
    .size = sizeof(nt_host_api),
    .abi_major = NT_ABI_MAJOR,
    .abi_minor = NT_ABI_MINOR,
    .log = fake_log,
    .init_error = fake_init_error,
    .cfg_get = fake_cfg_get,
    .cfg_int = fake_cfg_int,
    .cfg_check_keys = fake_cfg_check_keys,
    .service_provide = fake_service_provide,
    .cfg_duration = fake_cfg_duration,
    .cfg_fail = fake_cfg_fail,
};

NT_EXPORT const nt_plugin_desc *nt_plugin_entry(void);

/* Runs the plugin's init with the key/value list kv (NULL-terminated). */
static int
plugin_init(const char *const *kv)
{
    const nt_config cfg = {kv};
    void *state = NULL;
    int rc;

    g_init_err[0] = '\0';
    g_ops = NULL;
    g_state = NULL;
    rc = nt_plugin_entry()->init(&g_plugin, &fake_api, &cfg, &state);
    if (rc == NT_OK)
        ck_assert_ptr_eq(state, g_state);
    else
        ck_assert_ptr_null(state);
    return rc;
}

/* init on the test's database (with an optional extra pair), then opens a connection. */
static nt_db *
open_db(const char *k1, const char *v1)
{
    const char *kv[] = {"conninfo", g_conninfo, k1, v1, NULL};
    char err[512] = "";
    nt_db *db;

    if (g_ops == NULL)
        ck_assert_msg(plugin_init(kv) == NT_OK, "init: %s", g_init_err);
    db = g_ops->conn_open(g_state, err, sizeof(err));
    ck_assert_msg(db != NULL, "conn_open: %s", err);
    return db;
}

/* Runs SQL on the cluster's maintenance database through a connection of its own. */
static void admin(const char *fmt, ...) NT_PRINTF(1, 2);
static void
admin(const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    PGconn *c = PQconnectdb(g_base);
    PGresult *res;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "admin connection: %s", PQerrorMessage(c));
    res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

/* Fixture: a fresh database for the test. */
static void
setup(void)
{
    static int n;

    snprintf(g_dbname, sizeof(g_dbname), "nt_unit_%d_%d", (int)getpid(), n++);
    snprintf(g_conninfo, sizeof(g_conninfo), "%s dbname=%s", g_base, g_dbname);
    admin("CREATE DATABASE %s", g_dbname);
    g_ops = NULL;
    g_state = NULL;
}

/* Fixture: frees the plugin state and drops the database. */
static void
teardown(void)
{
    if (g_state != NULL)
        nt_plugin_entry()->fini(g_state);
    g_state = NULL;
    g_ops = NULL;
    admin("DROP DATABASE IF EXISTS %s WITH (FORCE)", g_dbname);
}

/* Runs a statement without rows and returns step's result. */
static int
run(nt_db *db, const char *sql)
{
    nt_stmt *s = g_ops->prepare(db, sql);
    int rc;

    if (s == NULL)
        return g_ops->errcode(db);
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
    ck_assert_msg(g_ops->step(s) == 1, "step %s: %s", sql, g_ops->errmsg(db));
    v = g_ops->col_int64(s, 0);
    g_ops->finalize(s);
    return v;
}

static const char *schema = "CREATE TABLE parent(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
                            "CREATE TABLE t(a TEXT, b TEXT, n BIGINT, flag INTEGER);";

/* ---- configuration ---------------------------------------------------------------------- */

START_TEST(test_config)
{
    const char *with_password[] = {"conninfo",
                                   "host=/nowhere port=5999 dbname=cal user=nettu "
                                   "password=s3cret-pw",
                                   NULL};
    const char *uri[] = {"conninfo", "postgresql://nettu:s3cret-pw@db.example:6543/cal", NULL};
    const char *bad[] = {"conninfo", "host=/x bogus_key=s3cret-pw", NULL};
    const char *unterminated[] = {"conninfo", "password='s3cret-pw", NULL};
    const char *unknown[] = {"conninfo", "", "port", "5432", NULL};
    const char *timeouts[] = {
        "conninfo", "",  "statement_timeout_ms", "2s", "lock_timeout_ms", "0", "connect_timeout_s",
        "7",        NULL};
    const char *bad_timeout[] = {"conninfo", "", "connect_timeout_s", "0", NULL};
    const struct pg_cfg *c;
    char err[512] = "";

    /* describe: host, port, dbname, user; never the password; init connects to nothing */
    ck_assert_int_eq(plugin_init(with_password), NT_OK);
    c = g_state;
    ck_assert_str_eq(g_ops->describe(g_state),
                     "postgresql host=/nowhere port=5999 dbname=cal user=nettu");
    ck_assert_int_eq(c->statement_timeout_ms, 5000);
    ck_assert_int_eq(c->lock_timeout_ms, 2000);
    ck_assert_int_eq(c->connect_timeout_s, 5);
    /* opening fails with libpq's reason, not the password */
    ck_assert_ptr_null(g_ops->conn_open(g_state, err, sizeof(err)));
    ck_assert_msg(strstr(err, "cannot connect") != NULL, "%s", err);
    ck_assert_ptr_null(strstr(err, "s3cret"));
    nt_plugin_entry()->fini(g_state);

    ck_assert_int_eq(plugin_init(uri), NT_OK);
    ck_assert_ptr_null(strstr(g_ops->describe(g_state), "s3cret"));
    ck_assert_msg(strstr(g_ops->describe(g_state), "host=db.example port=6543 dbname=cal") != NULL,
                  "%s", g_ops->describe(g_state));
    nt_plugin_entry()->fini(g_state);

    ck_assert_int_eq(plugin_init(timeouts), NT_OK);
    c = g_state;
    ck_assert_int_eq(c->statement_timeout_ms, 2000);
    ck_assert_int_eq(c->lock_timeout_ms, 0);
    ck_assert_int_eq(c->connect_timeout_s, 7);
    nt_plugin_entry()->fini(g_state);
    g_state = NULL;

    ck_assert_int_eq(plugin_init(bad), NT_EINVAL);
    ck_assert_msg(strstr(g_init_err, "conninfo") != NULL, "%s", g_init_err);
    ck_assert_ptr_null(strstr(g_init_err, "s3cret"));
    ck_assert_int_eq(plugin_init(unterminated), NT_EINVAL);
    ck_assert_ptr_null(strstr(g_init_err, "s3cret"));
    ck_assert_int_eq(plugin_init(unknown), NT_EINVAL);
    ck_assert_msg(strstr(g_init_err, "port") != NULL, "%s", g_init_err);
    ck_assert_int_eq(plugin_init(bad_timeout), NT_EINVAL);
}
END_TEST

/* The parameter scan: $n outside quotes and comments. */
START_TEST(test_max_param)
{
    ck_assert_int_eq(pg_scan_params("SELECT 1", NULL), 0);
    char present[12] = {0};

    ck_assert_int_eq(pg_scan_params("SELECT a FROM t WHERE a = $2 AND b = $1 OR c = $2", NULL), 2);
    ck_assert_int_eq(
        pg_scan_params("SELECT '$5', \"$6\" -- $7\n FROM t WHERE x = $3 /* $9 */", NULL), 3);
    ck_assert_int_eq(pg_scan_params("SELECT 'it''s $4' || $1", NULL), 1);
    ck_assert_int_eq(pg_scan_params("INSERT INTO t VALUES ($12, $3)", present), 12);
    ck_assert(present[11] && present[2] && !present[0] && !present[1] && !present[10]);
}
END_TEST

/* ---- SQLSTATE mapping ------------------------------------------------------------------- */

START_TEST(test_sqlstate_table)
{
    ck_assert_int_eq(pg_code("23505"), NT_ECONFLICT);
    ck_assert_int_eq(pg_code("23503"), NT_EINVAL);
    ck_assert_int_eq(pg_code("23502"), NT_EINVAL);
    ck_assert_int_eq(pg_code("22P02"), NT_EINVAL);
    ck_assert_int_eq(pg_code("22003"), NT_EINVAL);
    ck_assert_int_eq(pg_code("40001"), NT_ERETRY);
    ck_assert_int_eq(pg_code("40P01"), NT_ERETRY);
    ck_assert_int_eq(pg_code("08006"), NT_EUNAVAIL);
    ck_assert_int_eq(pg_code("25006"), NT_EUNAVAIL);
    ck_assert_int_eq(pg_code("55P03"), NT_EUNAVAIL);
    ck_assert_int_eq(pg_code("57014"), NT_EUNAVAIL);
    ck_assert_int_eq(pg_code("53100"), NT_EUNAVAIL);
    ck_assert_int_eq(pg_code("57P01"), NT_EUNAVAIL);
    ck_assert_int_eq(pg_code("53200"), NT_ENOMEM);
    ck_assert_int_eq(pg_code("42601"), NT_ERR);
    ck_assert_int_eq(pg_code("42P01"), NT_ERR);
    ck_assert_int_eq(pg_code(NULL), NT_ERR);
    ck_assert_int_eq(pg_code("4"), NT_ERR);
}
END_TEST

/* Unique -> 409, bad text for an integer -> 400, out of range -> 400; messages carry the
 * SQLSTATE; INTEGER columns and booleans read as numbers. */
START_TEST(test_errors_and_types)
{
    nt_db *db = open_db(NULL, NULL);
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p1', 'one')"), 0);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p2', 'one')"), NT_ECONFLICT);
    ck_assert_msg(strstr(g_ops->errmsg(db), "23505") != NULL, "%s", g_ops->errmsg(db));
    s = g_ops->prepare(db, "INSERT INTO t(a, flag) VALUES ($1, $2)");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "x"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 2, "not a number"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), NT_EINVAL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "22P02") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->bind_int64(s, 2, INT64_C(1) << 40), NT_OK); /* INTEGER is 32-bit */
    ck_assert_int_eq(g_ops->step(s), NT_EINVAL);
    ck_assert_int_eq(g_ops->bind_int64(s, 2, 1), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 0);
    ck_assert_int_eq(g_ops->changes(s), 1);
    g_ops->finalize(s);
    s = g_ops->prepare(db, "SELECT flag, flag = 1, flag = 2, n IS NULL FROM t");
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_int_eq(g_ops->col_int64(s, 0), 1);
    ck_assert_int_eq(g_ops->col_int64(s, 1), 1);
    ck_assert_str_eq(g_ops->col_text(s, 1), "1");
    ck_assert_str_eq(g_ops->col_text(s, 2), "0");
    ck_assert_int_eq(g_ops->col_int64(s, 3), 1);
    ck_assert_int_eq(g_ops->col_is_null(s, 9), 1); /* no such column */
    ck_assert_ptr_null(g_ops->col_text(s, 9));
    ck_assert_int_eq(g_ops->step(s), 0);
    g_ops->finalize(s);
    g_ops->conn_close(db);
}
END_TEST

/* Two serializable transactions that each read what the other writes: one of them fails
 * with NT_ERETRY (at a statement or at commit) and leaves nothing; run again, it works. */
START_TEST(test_serialization_failure)
{
    nt_db *a = open_db(NULL, NULL);
    nt_db *b = open_db(NULL, NULL);
    int rc;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t WHERE b = 'b'"), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t WHERE b = 'a'"), 0);
    ck_assert_int_eq(run(a, "INSERT INTO t(a, b) VALUES ('x', 'a')"), 0);
    ck_assert_int_eq(run(b, "INSERT INTO t(a, b) VALUES ('y', 'b')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    rc = g_ops->commit(b);
    ck_assert_int_eq(rc, NT_ERETRY);
    ck_assert_int_eq(g_ops->errcode(b), NT_ERETRY);
    ck_assert_msg(strstr(g_ops->errmsg(b), "40001") != NULL, "%s", g_ops->errmsg(b));
    ck_assert_int_eq(g_ops->rollback(b), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    g_ops->clear_error(b);
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t WHERE b = 'a'"), 1);
    ck_assert_int_eq(run(b, "INSERT INTO t(a, b) VALUES ('y', 'b')"), 0);
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 2);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* pg_terminate_backend: the call that finds the session gone gets 503 (inside a transaction
 * the transaction is over), the next call connects again and works; prepared statements
 * are prepared again on the new session. */
START_TEST(test_terminated_backend)
{
    nt_db *a = open_db(NULL, NULL);
    nt_db *b = open_db(NULL, NULL);
    char sql[96];
    int64_t pid;
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES ('x', 1)"), 0);
    ck_assert_int_eq(query_int(a, "SELECT n FROM t WHERE a = 'x'"), 1); /* cached */
    pid = query_int(a, "SELECT pg_backend_pid()");
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)", (long long)pid);
    ck_assert_int_eq(query_int(b, sql), 1);
    usleep(100 * 1000);
    ck_assert_int_eq(run(a, "SELECT n FROM t WHERE a = 'x'"), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->errcode(a), NT_EUNAVAIL);
    ck_assert_ptr_null(a->conn);
    g_ops->clear_error(a);
    ck_assert_int_eq(query_int(a, "SELECT n FROM t WHERE a = 'x'"), 1);
    ck_assert_int_ne(query_int(a, "SELECT pg_backend_pid()"), pid);

    /* inside a write transaction, with a statement prepared before */
    s = g_ops->prepare(a, "UPDATE t SET n = n + 1 WHERE a = 'x'");
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "UPDATE t SET n = n + 1 WHERE a = 'x'"), 0);
    pid = query_int(a, "SELECT pg_backend_pid()");
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)", (long long)pid);
    ck_assert_int_eq(query_int(b, sql), 1);
    usleep(100 * 1000);
    ck_assert_int_eq(run(a, "UPDATE t SET n = n + 1 WHERE a = 'x'"), NT_EUNAVAIL);
    ck_assert_ptr_null(g_ops->prepare(a, "SELECT 1")); /* the transaction is over */
    ck_assert_int_eq(g_ops->commit(a), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    g_ops->clear_error(a);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "UPDATE t SET n = n + 1 WHERE a = 'x'"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT n FROM t WHERE a = 'x'"), 2);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* While the database refuses connections, a lost connection answers 503 without hammering
 * it: after a failed attempt the next ones wait for the backoff; then it connects again. */
START_TEST(test_reconnect_backoff)
{
    nt_db *a = open_db(NULL, NULL);
    nt_db *b = open_db(NULL, NULL);
    char sql[160];
    int64_t pid;

    pid = query_int(a, "SELECT pg_backend_pid()");
    snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false", g_dbname);
    admin("%s", sql);
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)", (long long)pid);
    ck_assert_int_eq(query_int(b, sql), 1);
    usleep(100 * 1000);
    ck_assert_int_eq(run(a, "SELECT 1"), NT_EUNAVAIL); /* finds it gone */
    ck_assert_int_eq(run(a, "SELECT 1"), NT_EUNAVAIL); /* tries, refused */
    ck_assert_msg(strstr(g_ops->errmsg(a), "cannot connect") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(run(a, "SELECT 1"), NT_EUNAVAIL); /* within the backoff: no attempt */
    ck_assert_msg(strstr(g_ops->errmsg(a), "pause") != NULL, "%s", g_ops->errmsg(a));
    admin("ALTER DATABASE %s ALLOW_CONNECTIONS true", g_dbname);
    usleep((PG_BACKOFF_MIN_MS + 100) * 1000);
    ck_assert_int_eq(run(a, "SELECT 1"), 1);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* A read-only session (default_transaction_read_only, as on a standby) and a write in a
 * read transaction: 503. */
START_TEST(test_read_only)
{
    nt_db *db = open_db(NULL, NULL);
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(g_ops->begin_read(db), NT_OK);
    s = g_ops->prepare(db, "INSERT INTO t(a) VALUES ($1)");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "r"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "25006") != NULL, "%s", g_ops->errmsg(db));
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->end_read(db), NT_OK);
    g_ops->clear_error(db);
    ck_assert_int_eq(g_ops->exec(db, "SET default_transaction_read_only = on"), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('x')"), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('x')"), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->commit(db), NT_EUNAVAIL);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 0); /* reads work */
    g_ops->conn_close(db);
}
END_TEST

/* lock_timeout_ms and statement_timeout_ms: a write waiting for a row lock, and a statement
 * running too long, are cancelled by the server: 503; the connection goes on. */
START_TEST(test_timeouts)
{
    const char *kv[] = {"conninfo", g_conninfo, "lock_timeout_ms", "100", "statement_timeout_ms",
                        "1500",     NULL};
    char err[256];
    nt_db *a, *b;
    int64_t t0;

    ck_assert_int_eq(plugin_init(kv), NT_OK);
    a = g_ops->conn_open(g_state, err, sizeof(err));
    b = g_ops->conn_open(g_state, err, sizeof(err));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES ('x', 1)"), 0);
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(run(b, "UPDATE t SET n = 2 WHERE a = 'x'"), 0);
    t0 = pg_mono_ms();
    ck_assert_int_eq(run(a, "UPDATE t SET n = 3 WHERE a = 'x'"), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(a), "55P03") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_lt(pg_mono_ms() - t0, 3000);
    ck_assert_int_eq(g_ops->rollback(b), NT_OK);
    ck_assert_int_eq(run(a, "UPDATE t SET n = 3 WHERE a = 'x'"), 0);
    t0 = pg_mono_ms();
    ck_assert_int_eq(run(a, "SELECT count(*) FROM pg_sleep(10)"), NT_EUNAVAIL);
    ck_assert_int_lt(pg_mono_ms() - t0, 8000);
    ck_assert_msg(strstr(g_ops->errmsg(a), "57014") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(query_int(a, "SELECT n FROM t"), 3);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

struct locker {
    int64_t seen; /* rows of s1 seen right after the lock */
    int rc;
};

/* Thread of test_schema_lock_waits: begin, lock_schema (waits), then counts s1's rows. */
static void *
locker_main(void *arg)
{
    struct locker *l = arg;
    char err[256];
    nt_db *db = g_ops->conn_open(g_state, err, sizeof(err));
    nt_stmt *s;

    l->rc = db == NULL ? NT_ERR : g_ops->begin(db);
    if (l->rc == NT_OK)
        l->rc = g_ops->lock_schema(db);
    if (l->rc == NT_OK && g_ops->exec(db, "CREATE TABLE IF NOT EXISTS s1(x INTEGER)") != NT_OK)
        l->rc = g_ops->errcode(db);
    if (l->rc == NT_OK && (s = g_ops->prepare(db, "SELECT count(*) FROM s1")) != NULL) {
        l->rc = g_ops->step(s) == 1 ? NT_OK : g_ops->errcode(db);
        l->seen = g_ops->col_int64(s, 0);
        g_ops->finalize(s);
    }
    if (l->rc == NT_OK)
        l->rc = g_ops->commit(db);
    g_ops->conn_close(db);
    return NULL;
}

/* C8 across connections: a second lock_schema waits until the first transaction ended, and
 * then sees what it committed (the migration runner's "apply each step once"), although the
 * waiting transaction had begun before. */
START_TEST(test_schema_lock_waits)
{
    nt_db *a = open_db(NULL, NULL);
    struct locker l = {-1, NT_ERR};
    pthread_t th;

    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_OK);
    ck_assert_int_eq(pthread_create(&th, NULL, locker_main, &l), 0);
    usleep(300 * 1000);
    ck_assert_int_eq(g_ops->exec(a, "CREATE TABLE IF NOT EXISTS s1(x INTEGER)"), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO s1(x) VALUES (1)"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(l.rc, NT_OK);
    ck_assert_int_eq(l.seen, 1);
    /* released at the end of the transaction: another one takes it at once */
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_OK);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    g_ops->conn_close(a);
}
END_TEST

/* ---- claiming queued jobs (begin_claim + FOR UPDATE SKIP LOCKED) ------------------------ */

#define CLAIM_ROWS 300
#define CLAIM_BATCH 10

static const char *claim_schema =
    "CREATE TABLE q(id BIGINT PRIMARY KEY, due BIGINT NOT NULL, lease_owner TEXT, "
    "lease_until BIGINT NOT NULL DEFAULT 0, claims BIGINT NOT NULL DEFAULT 0)";

static const char *claim_select = "SELECT id FROM q WHERE due <= $1 AND lease_until <= $1 "
                                  "ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED";

/* Reads up to max due ids into ids (the rows locked until the transaction ends); the count
 * or a negative NT_E* code. */
static int
claim_due(nt_db *db, int64_t now, int max, int64_t *ids)
{
    nt_stmt *s = g_ops->prepare(db, claim_select);
    int n = 0, rc = s != NULL ? NT_OK : g_ops->errcode(db);

    if (rc == NT_OK)
        rc = g_ops->bind_int64(s, 1, now);
    if (rc == NT_OK)
        rc = g_ops->bind_int64(s, 2, max);
    while (rc == NT_OK && (rc = g_ops->step(s)) == 1) {
        ids[n++] = g_ops->col_int64(s, 0);
        rc = NT_OK;
    }
    g_ops->finalize(s);
    return rc < 0 ? rc : n;
}

/* Leases row id to owner under the guard lease_until <= now: 1 taken, 0 not, or NT_E*. */
static int
claim_lease(nt_db *db, const char *owner, int64_t id, int64_t now)
{
    nt_stmt *s = g_ops->prepare(db, "UPDATE q SET lease_owner = $1, lease_until = $2, "
                                    "claims = claims + 1 WHERE id = $3 AND lease_until <= $4");
    int rc = s != NULL ? NT_OK : g_ops->errcode(db);

    if (rc == NT_OK)
        rc = g_ops->bind_text(s, 1, owner);
    if (rc == NT_OK)
        rc = g_ops->bind_int64(s, 2, now + 60000);
    if (rc == NT_OK)
        rc = g_ops->bind_int64(s, 3, id);
    if (rc == NT_OK)
        rc = g_ops->bind_int64(s, 4, now);
    if (rc == NT_OK)
        rc = g_ops->step(s);
    if (rc == 0)
        rc = g_ops->changes(s) == 1 ? 1 : 0;
    g_ops->finalize(s);
    return rc;
}

struct claimer {
    nt_db *db;
    const char *owner;
    pthread_barrier_t *start;
    int64_t ids[CLAIM_ROWS];
    int n;       /* rows this claimer leased */
    int retries; /* rounds that failed with NT_ERETRY */
    int rc;      /* the first other failure */
};

/* Thread: claims rounds of CLAIM_BATCH due rows (begin_claim, SKIP LOCKED, guarded lease,
 * a short pause with the locks held so that the two claimers overlap) until none is left. */
static void *
claimer_main(void *arg)
{
    struct claimer *c = arg;
    int64_t ids[CLAIM_BATCH];
    int got = 1;

    pthread_barrier_wait(c->start);
    while (got > 0 && c->rc == NT_OK && c->retries < 100) {
        int rc = g_ops->begin_claim(c->db), mine = 0;

        got = rc == NT_OK ? claim_due(c->db, 1000, CLAIM_BATCH, ids) : rc;
        if (got > 0)
            usleep(2000);
        for (int i = 0; i < got; i++) {
            int t = claim_lease(c->db, c->owner, ids[i], 1000);
            if (t < 0) {
                got = t;
                break;
            }
            if (t == 1 && c->n + mine < CLAIM_ROWS)
                c->ids[c->n + mine++] = ids[i];
        }
        rc = got >= 0 ? g_ops->commit(c->db) : got;
        if (rc == NT_OK) {
            c->n += mine;
        } else {
            g_ops->rollback(c->db);
            g_ops->clear_error(c->db);
            if (rc == NT_ERETRY)
                c->retries++;
            else
                c->rc = rc;
            got = 1;
        }
    }
    return NULL;
}

/* Two connections claim from one queue at once with begin_claim and FOR UPDATE SKIP LOCKED:
 * the second passes over the rows the first holds (it neither waits nor fails), no round
 * fails serializing, the row sets are disjoint and every row is claimed exactly once. */
START_TEST(test_claim_skip_locked)
{
    nt_db *a = open_db(NULL, NULL);
    nt_db *b = open_db(NULL, NULL);
    int64_t ida[CLAIM_BATCH], idb[CLAIM_BATCH];
    struct claimer ca = {0}, cb = {0};
    pthread_barrier_t start;
    pthread_t ta, tb;
    static char seen[CLAIM_ROWS + 1];
    int na, nb;

    ck_assert_str_eq(g_ops->dialect(g_state), "postgresql");
    ck_assert_int_eq(g_ops->exec(a, claim_schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO q(id, due) SELECT g, g FROM generate_series(1, 300) g"),
                     0);

    /* interleaved by hand: b skips the rows a holds */
    ck_assert_int_eq(g_ops->begin_claim(a), NT_OK);
    ck_assert_int_eq(g_ops->begin_claim(b), NT_OK);
    na = claim_due(a, 1000, 3, ida);
    ck_assert_int_eq(na, 3);
    nb = claim_due(b, 1000, 3, idb);
    ck_assert_int_eq(nb, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ida[i], i + 1);
        ck_assert_int_eq(idb[i], i + 4);
        ck_assert_int_eq(claim_lease(a, "a", ida[i], 1000), 1);
        ck_assert_int_eq(claim_lease(b, "b", idb[i], 1000), 1);
    }
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    /* the guard: a leased row is not taken again, whatever the lock */
    ck_assert_int_eq(g_ops->begin_claim(a), NT_OK);
    ck_assert_int_eq(claim_lease(a, "a", idb[0], 1000), 0);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    ck_assert_int_eq(run(a, "UPDATE q SET lease_owner = NULL, lease_until = 0, claims = 0"), 0);

    /* two threads drain the queue at once */
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
    ca.db = a;
    ca.owner = "a";
    ca.start = &start;
    cb.db = b;
    cb.owner = "b";
    cb.start = &start;
    ck_assert_int_eq(pthread_create(&ta, NULL, claimer_main, &ca), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, claimer_main, &cb), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_int_eq(pthread_join(tb, NULL), 0);
    pthread_barrier_destroy(&start);
    ck_assert_msg(ca.rc == NT_OK && cb.rc == NT_OK, "claim failed: %d %d (%s / %s)", ca.rc, cb.rc,
                  g_ops->errmsg(a), g_ops->errmsg(b));
    ck_assert_int_eq(ca.retries, 0);
    ck_assert_int_eq(cb.retries, 0);
    ck_assert_int_eq(ca.n + cb.n, CLAIM_ROWS);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < ca.n; i++)
        seen[ca.ids[i]]++;
    for (int i = 0; i < cb.n; i++)
        seen[cb.ids[i]]++;
    for (int i = 1; i <= CLAIM_ROWS; i++)
        ck_assert_msg(seen[i] == 1, "row %d claimed %d times", i, seen[i]);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM q WHERE claims = 1"), CLAIM_ROWS);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM q WHERE lease_owner = 'a'"), ca.n);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM q WHERE lease_owner = 'b'"), cb.n);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* The statement cache: bounded, and a statement prepared on the server is reused. */
START_TEST(test_cache)
{
    nt_db *db = open_db(NULL, NULL);
    char text[64];
    nt_stmt *a, *b;

    a = g_ops->prepare(db, "SELECT 1");
    g_ops->finalize(a);
    b = g_ops->prepare(db, "SELECT 1");
    ck_assert_ptr_eq(a, b);
    g_ops->finalize(b);
    for (int i = 0; i < PG_CACHE_MAX + 20; i++) {
        snprintf(text, sizeof(text), "SELECT %d", i);
        a = g_ops->prepare(db, text);
        ck_assert_int_eq(g_ops->step(a), 1);
        ck_assert_int_eq(g_ops->col_int64(a, 0), i);
        g_ops->finalize(a);
        ck_assert_int_le(db->ncached, PG_CACHE_MAX);
    }
    ck_assert_int_le(query_int(db, "SELECT count(*) FROM pg_prepared_statements"), PG_CACHE_MAX);
    g_ops->conn_close(db);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static nt_db *
ct_open(void)
{
    return open_db(NULL, NULL);
}

static const nt_store_v1 *
ct_ops(void)
{
    return g_ops;
}

static void *
ct_state(void)
{
    return g_state;
}

static const struct ct_backend ct_pg = {ct_open, ct_ops, ct_state};

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store_pg");
    TCase *tc = tcase_create("pg");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_max_param);
    tcase_add_test(tc, test_sqlstate_table);
    tcase_add_test(tc, test_errors_and_types);
    tcase_add_test(tc, test_serialization_failure);
    tcase_add_test(tc, test_terminated_backend);
    tcase_add_test(tc, test_reconnect_backoff);
    tcase_add_test(tc, test_read_only);
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_schema_lock_waits);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_claim_skip_locked);
    suite_add_tcase(s, tc);

    tc = tcase_create("contract");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    ct_add_tests(tc, &ct_pg);
    suite_add_tcase(s, tc);
    return s;
}

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
    SRunner *sr;
    int failed;

    if (!find_cluster()) {
        fprintf(stderr, "test_store_pg: no PostgreSQL (set NETTU_TEST_PG_CONNINFO or run it "
                        "through ctest, fixture pg): skipped\n");
        return 77;
    }
    sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Unit tests of the store_sqlite plugin: its sources are compiled into this test, which
 * calls init through a fake host table and then the captured "store" ops directly, on a
 * database in a fresh temporary directory per test.
 */
#include <check.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlite_int.h"

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
static char g_dir[64];
static char g_path[256];
static char g_fault[256];

/* ---- the fake host ------------------------------------------------------------------- */

/* host log: discarded. */
static void
fake_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...)
{
    (void)p;
    (void)lvl;
    (void)fmt;
}

/* host init_error: keeps the last message in g_init_err. */
static void
fake_init_error(nt_plugin *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(g_init_err, sizeof(g_init_err), fmt, ap);
    va_end(ap);
}

/* host cfg_get: the value of key in the section's pairs (borrowed) or NULL. */
static const char *
fake_cfg_get(const nt_config *c, const char *key)
{
    size_t i;

    for (i = 0; c->kv[i] != NULL; i += 2) {
        if (strcmp(c->kv[i], key) == 0)
            return c->kv[i + 1];
    }
    return NULL;
}

/* host cfg_int: an integer in [min, max], dflt when absent; reports like the host. */
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
        fake_init_error(p, "[store_sqlite] %s: expected an integer in %lld..%lld, got '%s'", key,
                        min, max, v);
        return NT_EINVAL;
    }
    *out = n;
    return NT_OK;
}

/* host cfg_check_keys: NT_EINVAL naming the first key not in known. */
static int
fake_cfg_check_keys(nt_plugin *p, const nt_config *c, const char *const *known)
{
    size_t i, k;

    for (i = 0; c->kv[i] != NULL; i += 2) {
        for (k = 0; known[k] != NULL && strcmp(known[k], c->kv[i]) != 0; k++)
            ;
        if (known[k] == NULL) {
            fake_init_error(p, "[store_sqlite] %s: unknown key", c->kv[i]);
            return NT_EINVAL;
        }
    }
    return NT_OK;
}

/* host service_provide: checks the service's name and keeps its ops and state. */
static int
fake_service_provide(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                     const void *ops, void *state)
{
    ck_assert_str_eq(kind, NT_SERVICE_STORE);
    ck_assert_str_eq(name, "sqlite");
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
};

NT_EXPORT const nt_plugin_desc *nt_plugin_entry(void);

/* Runs the plugin's init with the key/value list kv (NULL-terminated). */
static int
plugin_init(const char *const *kv)
{
    const nt_config cfg = {kv};
    const nt_plugin_desc *d = nt_plugin_entry();
    void *state = NULL;
    int rc;

    g_init_err[0] = '\0';
    g_ops = NULL;
    g_state = NULL;
    rc = d->init(&g_plugin, &fake_api, &cfg, &state);
    if (rc == NT_OK)
        ck_assert_ptr_eq(state, g_state);
    else
        ck_assert_ptr_null(state);
    return rc;
}

/* init with the test's path and optional extra pairs, then opens a connection. */
static nt_db *
open_db(const char *k1, const char *v1)
{
    const char *kv[] = {"path", g_path, "fault_file", g_fault, k1, v1, NULL};
    char err[256] = "";
    nt_db *db;

    if (g_ops == NULL)
        ck_assert_int_eq(plugin_init(kv), NT_OK);
    db = g_ops->conn_open(g_state, err, sizeof(err));
    ck_assert_msg(db != NULL, "conn_open: %s", err);
    return db;
}

/* nftw callback removing one entry of the test directory. */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Fixture: a fresh temporary directory; the database goes below var/sub/ in it. */
static void
setup(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/nt_store_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(g_path, sizeof(g_path), "%s/var/sub/test.db", g_dir);
    snprintf(g_fault, sizeof(g_fault), "%s/fault", g_dir);
    g_ops = NULL;
    g_state = NULL;
}

/* Fixture: frees the plugin state and removes the temporary directory. */
static void
teardown(void)
{
    if (g_state != NULL)
        nt_plugin_entry()->fini(g_state);
    g_state = NULL;
    g_ops = NULL;
    nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

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

    ck_assert_ptr_nonnull(s);
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

/* Replaces the content of the file at path with text. */
static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- tests ----------------------------------------------------------------------------- */

START_TEST(test_open_and_pragmas)
{
    struct stat sb;
    char dir[300];
    nt_db *db;
    nt_stmt *s;

    ck_assert_int_eq(plugin_init((const char *const[]){"path", g_path, NULL}), NT_OK);
    ck_assert_uint_eq(g_ops->size, sizeof(nt_store_v1));
    /* init opens nothing */
    snprintf(dir, sizeof(dir), "%s/var", g_dir);
    ck_assert_int_ne(stat(dir, &sb), 0);
    db = open_db(NULL, NULL);
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0700);
    ck_assert_int_eq(stat(g_path, &sb), 0);
    s = g_ops->prepare(db, "PRAGMA journal_mode");
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "wal");
    g_ops->finalize(s);
    ck_assert_int_eq(query_int(db, "PRAGMA foreign_keys"), 1);
    ck_assert_int_eq(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
    ck_assert_int_eq(query_int(db, "PRAGMA busy_timeout"), 5000);
    ck_assert_int_eq(query_int(db, "PRAGMA cache_size"), -2048);
    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(g_ops->errcode(db), NT_OK);
    ck_assert_str_eq(g_ops->errmsg(db), "");
    g_ops->conn_close(db);
    g_ops->conn_close(NULL);
}
END_TEST

START_TEST(test_settings)
{
    nt_db *db;

    ck_assert_int_eq(
        plugin_init((const char *const[]){"path", g_path, "synchronous", "FULL", "busy_timeout_ms",
                                          "0", "cache_kib", "4096", NULL}),
        NT_OK);
    db = open_db(NULL, NULL);
    ck_assert_int_eq(query_int(db, "PRAGMA synchronous"), 2);
    ck_assert_int_eq(query_int(db, "PRAGMA busy_timeout"), 0);
    ck_assert_int_eq(query_int(db, "PRAGMA cache_size"), -4096);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(test_config_defaults)
{
    const struct sq_cfg *c;

    ck_assert_int_eq(plugin_init((const char *const[]){NULL}), NT_OK);
    c = g_state;
    ck_assert_str_eq(c->path, "var/nettu.db");
    ck_assert_str_eq(c->synchronous, "NORMAL");
    ck_assert_int_eq(c->busy_timeout_ms, 5000);
    ck_assert_int_eq(c->cache_kib, 2048);
    ck_assert_ptr_null(c->fault_file);
}
END_TEST

/* Bad sections: each is rejected, and the message names the offending key or value. */
static const struct {
    const char *k, *v, *msg;
} bad_cfg[] = {
    {"colour", "red", "colour"},
    {"synchronous", "fast", "'fast'"},
    {"synchronous", "", "synchronous"},
    {"path", ":memory:", "':memory:'"},
    {"path", "", "path"},
    {"path", "file:x.db?mode=memory&cache=shared", "file:x.db"},
    {"busy_timeout_ms", "-1", "busy_timeout_ms"},
    {"busy_timeout_ms", "600001", "600001"},
    {"busy_timeout_ms", "5s", "'5s'"},
    {"cache_kib", "1", "cache_kib"},
};

START_TEST(test_config_rejected)
{
    const char *kv[] = {bad_cfg[_i].k, bad_cfg[_i].v, NULL};

    ck_assert_int_eq(plugin_init(kv), NT_EINVAL);
    ck_assert_ptr_null(g_ops);
    ck_assert_msg(strstr(g_init_err, bad_cfg[_i].msg) != NULL, "message '%s' lacks '%s'",
                  g_init_err, bad_cfg[_i].msg);
}
END_TEST

START_TEST(test_open_fails)
{
    char path[300], err[256] = "";
    nt_db *db;

    snprintf(path, sizeof(path), "%s/afile", g_dir);
    write_file(path, "x");
    snprintf(path, sizeof(path), "%s/afile/sub/x.db", g_dir);
    ck_assert_int_eq(plugin_init((const char *const[]){"path", path, NULL}), NT_OK);
    db = g_ops->conn_open(g_state, err, sizeof(err));
    ck_assert_ptr_null(db);
    ck_assert_msg(strstr(err, "afile") != NULL, "err: %s", err);

    /* a file that is not a database */
    nt_plugin_entry()->fini(g_state);
    snprintf(path, sizeof(path), "%s/notadb", g_dir);
    write_file(path, "this is certainly not an SQLite database file, just some text.......\n");
    ck_assert_int_eq(plugin_init((const char *const[]){"path", path, NULL}), NT_OK);
    err[0] = '\0';
    db = g_ops->conn_open(g_state, err, sizeof(err));
    ck_assert_ptr_null(db);
    ck_assert_msg(strstr(err, "notadb") != NULL, "err: %s", err);
}
END_TEST

START_TEST(test_bind_order_and_repeat)
{
    nt_db *db = open_db(NULL, NULL);
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

    s = g_ops->prepare(db, "SELECT $1 || '-' || $2 || '-' || $1");
    ck_assert_int_eq(g_ops->bind_text(s, 2, "b"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 1, "a"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "a-b-a");
    g_ops->finalize(s);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(test_bind_missing_index)
{
    nt_db *db = open_db(NULL, NULL);
    nt_stmt *s = g_ops->prepare(db, "SELECT $1, $2");

    ck_assert_int_eq(g_ops->bind_text(s, 3, "x"), NT_EINVAL);
    ck_assert_int_eq(g_ops->errcode(db), NT_EINVAL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "$3") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_int_eq(g_ops->bind_int64(s, 0, 1), NT_EINVAL);
    ck_assert_int_eq(g_ops->bind_null(s, -1), NT_EINVAL);
    ck_assert_int_eq(g_ops->bind_int64(s, 2, 1), NT_OK);
    g_ops->finalize(s);
    /* `?` placeholders are not $n parameters */
    s = g_ops->prepare(db, "SELECT ?");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "x"), NT_EINVAL);
    g_ops->finalize(s);
    g_ops->clear_error(db);
    ck_assert_int_eq(g_ops->errcode(db), NT_OK);
    ck_assert_str_eq(g_ops->errmsg(db), "");
    g_ops->conn_close(db);
}
END_TEST

START_TEST(test_int64_extremes)
{
    static const int64_t vals[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    nt_db *db = open_db(NULL, NULL);
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

START_TEST(test_null_binds)
{
    nt_db *db = open_db(NULL, NULL);
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

START_TEST(test_constraints)
{
    nt_db *db = open_db(NULL, NULL);
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p1', 'one')"), 0);
    /* unique and primary key: conflict */
    ck_assert_int_eq(run(db, "INSERT INTO parent VALUES ('p2', 'one')"), NT_ECONFLICT);
    ck_assert_int_eq(g_ops->errcode(db), NT_ECONFLICT);
    ck_assert_msg(strstr(g_ops->errmsg(db), "unique constraint") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_msg(strstr(g_ops->errmsg(db), "parent.name") != NULL, "%s", g_ops->errmsg(db));
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

START_TEST(test_prepare_errors)
{
    nt_db *db = open_db(NULL, NULL);

    ck_assert_ptr_null(g_ops->prepare(db, "SELEKT 1"));
    ck_assert_int_eq(g_ops->errcode(db), NT_ERR);
    ck_assert_msg(strstr(g_ops->errmsg(db), "prepare") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT 1; SELECT 2"));
    ck_assert_msg(strstr(g_ops->errmsg(db), "exec") != NULL, "%s", g_ops->errmsg(db));
    ck_assert_ptr_null(g_ops->prepare(db, "  "));
    ck_assert_ptr_null(g_ops->prepare(db, "SELECT * FROM missing"));
    ck_assert_ptr_nonnull(strstr(g_ops->errmsg(db), "missing"));
    ck_assert_int_eq(g_ops->exec(db, "CREATE TABLE x(a); BOGUS"), NT_ERR);
    ck_assert_msg(strstr(g_ops->errmsg(db), "BOGUS") != NULL, "%s", g_ops->errmsg(db));
    /* a trailing semicolon is fine */
    ck_assert_int_eq(run(db, "SELECT 1;"), 1);
    ck_assert_ptr_null(g_ops->prepare(NULL, "SELECT 1"));
    ck_assert_int_eq(g_ops->step(NULL), NT_ERR);
    g_ops->finalize(NULL);
    g_ops->conn_close(db);
}
END_TEST

START_TEST(test_transactions)
{
    nt_db *db = open_db(NULL, NULL);
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

START_TEST(test_cache_reuse)
{
    nt_db *db = open_db(NULL, NULL);
    const char *sql = "SELECT $1";
    nt_stmt *a, *b, *c;
    char text[64];
    int i;

    a = g_ops->prepare(db, sql);
    ck_assert_int_eq(g_ops->bind_text(a, 1, "bound"), NT_OK);
    g_ops->finalize(a);
    b = g_ops->prepare(db, sql);
    ck_assert_ptr_eq(a, b);
    /* finalize cleared the bindings */
    ck_assert_int_eq(g_ops->step(b), 1);
    ck_assert_int_eq(g_ops->col_is_null(b, 0), 1);
    /* nested use of the same text gets another statement */
    c = g_ops->prepare(db, sql);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(b, c);
    ck_assert_int_eq(g_ops->bind_text(c, 1, "inner"), NT_OK);
    ck_assert_int_eq(g_ops->step(c), 1);
    ck_assert_str_eq(g_ops->col_text(c, 0), "inner");
    g_ops->finalize(c);
    ck_assert_int_eq(g_ops->step(b), 0);
    g_ops->finalize(b);
    g_ops->finalize(b); /* a second finalize is ignored */
    a = g_ops->prepare(db, sql);
    b = g_ops->prepare(db, sql);
    ck_assert(a != b && (a == c || b == c));
    g_ops->finalize(a);
    g_ops->finalize(b);
    ck_assert_int_eq(db->ncached, 2);

    /* many texts: the cache stays bounded and the old ones go */
    for (i = 0; i < SQ_CACHE_MAX * 3; i++) {
        snprintf(text, sizeof(text), "SELECT %d", i);
        a = g_ops->prepare(db, text);
        ck_assert_int_eq(g_ops->step(a), 1);
        ck_assert_int_eq(g_ops->col_int64(a, 0), i);
        g_ops->finalize(a);
        ck_assert_int_le(db->ncached, SQ_CACHE_MAX);
    }
    ck_assert_int_eq(db->ncached, SQ_CACHE_MAX);
    /* all in use: more than SQ_CACHE_MAX live statements still work */
    {
        nt_stmt *held[SQ_CACHE_MAX + 8];

        for (i = 0; i < SQ_CACHE_MAX + 8; i++) {
            held[i] = g_ops->prepare(db, "SELECT 1");
            ck_assert_ptr_nonnull(held[i]);
        }
        ck_assert_int_le(db->ncached, SQ_CACHE_MAX);
        for (i = 0; i < SQ_CACHE_MAX + 8; i++)
            g_ops->finalize(held[i]);
        /* a statement still in use at close is freed too */
        held[0] = g_ops->prepare(db, "SELECT 1");
        ck_assert_ptr_nonnull(held[0]);
    }
    g_ops->conn_close(db);
}
END_TEST

START_TEST(test_two_connections)
{
    nt_db *a = open_db("busy_timeout_ms", "100");
    nt_db *b = open_db(NULL, NULL);
    nt_stmt *r;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('1')"), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 1);
    /* a reader in the middle of a query does not block a writer (WAL) */
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('2')"), 0);
    r = g_ops->prepare(b, "SELECT a FROM t ORDER BY a");
    ck_assert_int_eq(g_ops->step(r), 1);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('3')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->step(r), 1);
    ck_assert_int_eq(g_ops->step(r), 0); /* its snapshot predates '3' */
    g_ops->finalize(r);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 3);
    /* one writer at a time: the second waits busy_timeout_ms, then 503 */
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->errcode(a), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(a), "database is locked") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    ck_assert_int_eq(g_ops->rollback(b), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

START_TEST(test_read_only)
{
    nt_db *db = open_db(NULL, NULL);
    nt_db *ro;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('1')"), 0);
    /* a connection that may not write (what a read-only file gives) */
    ck_assert_int_eq(g_ops->exec(db, "PRAGMA query_only=ON"), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('2')"), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->errcode(db), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "database is read-only") != NULL, "%s",
                  g_ops->errmsg(db));
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 1);
    if (geteuid() != 0) {
        /* a read-only file (root ignores file modes, so only for other users) */
        ck_assert_int_eq(chmod(g_path, 0444), 0);
        ro = open_db(NULL, NULL);
        ck_assert_int_eq(run(ro, "INSERT INTO t(a) VALUES ('3')"), NT_EUNAVAIL);
        ck_assert_msg(strstr(g_ops->errmsg(ro), "read-only") != NULL, "%s", g_ops->errmsg(ro));
        ck_assert_int_eq(query_int(ro, "SELECT count(*) FROM t"), 1);
        g_ops->conn_close(ro);
    }
    g_ops->conn_close(db);
}
END_TEST

START_TEST(test_fault_file)
{
    nt_db *a = open_db(NULL, NULL), *b;
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('1')"), 0);

    write_file(g_fault, "full\n");
    b = open_db(NULL, NULL);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('2')"), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->errcode(b), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(b), "disk is full") != NULL, "%s", g_ops->errmsg(b));
    ck_assert_int_eq(run(b, "UPDATE t SET b = 'x'"), NT_EUNAVAIL);
    /* reads still work */
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 1);
    g_ops->conn_close(b);

    write_file(g_fault, "locked");
    b = open_db(NULL, NULL);
    s = g_ops->prepare(b, "DELETE FROM t WHERE a = $1");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "1"), NT_OK);
    ck_assert_int_eq(g_ops->step(s), NT_EUNAVAIL);
    g_ops->finalize(s);
    ck_assert_msg(strstr(g_ops->errmsg(b), "database is locked") != NULL, "%s", g_ops->errmsg(b));
    g_ops->conn_close(b);

    write_file(g_fault, "readonly");
    b = open_db(NULL, NULL);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('2')"), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(b), "database is read-only") != NULL, "%s",
                  g_ops->errmsg(b));

    /* removing the file ends the fault within a second */
    ck_assert_int_eq(unlink(g_fault), 0);
    usleep(1100 * 1000);
    g_ops->clear_error(b);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('2')"), 0);
    ck_assert_int_eq(g_ops->errcode(b), NT_OK);

    /* unknown content is no fault */
    write_file(g_fault, "sunny");
    g_ops->conn_close(b);
    b = open_db(NULL, NULL);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('3')"), 0);
    g_ops->conn_close(b);
    g_ops->conn_close(a);
}
END_TEST

/* Every test in one case, each in its own process and directory. */
static Suite *
store_suite(void)
{
    Suite *s = suite_create("store_sqlite");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_and_pragmas);
    tcase_add_test(tc, test_settings);
    tcase_add_test(tc, test_config_defaults);
    tcase_add_loop_test(tc, test_config_rejected, 0, sizeof(bad_cfg) / sizeof(bad_cfg[0]));
    tcase_add_test(tc, test_open_fails);
    tcase_add_test(tc, test_bind_order_and_repeat);
    tcase_add_test(tc, test_bind_missing_index);
    tcase_add_test(tc, test_int64_extremes);
    tcase_add_test(tc, test_null_binds);
    tcase_add_test(tc, test_constraints);
    tcase_add_test(tc, test_prepare_errors);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_cache_reuse);
    tcase_add_test(tc, test_two_connections);
    tcase_add_test(tc, test_read_only);
    tcase_add_test(tc, test_fault_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

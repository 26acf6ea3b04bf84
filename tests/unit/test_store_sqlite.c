/* Unit tests of the store_sqlite plugin: its sources are compiled into this test, which
 * calls init through a fake host table and then the captured "store" ops directly, on a
 * database in a fresh temporary directory per test. The "read-only mount" case needs root
 * (bind mounts in a private mount namespace); without it those tests say so and pass.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlite_int.h"
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
static void fake_init_error(nt_plugin *p, const char *fmt, ...) NT_PRINTF(2, 3);
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

/* host cfg_enum (ABI 1.3): the index of the value among names; reports like the host. */
static int
fake_cfg_enum(nt_plugin *p, const nt_config *c, const char *key, const char *const *names, int dflt,
              int *out)
{
    const char *v = fake_cfg_get(c, key);

    *out = dflt;
    if (v == NULL)
        return NT_OK;
    for (int i = 0; names[i] != NULL; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return NT_OK;
        }
    }
    fake_init_error(p, "[store_sqlite] %s: expected one of the names, got '%s'", key, v);
    return NT_EINVAL;
}

/* host cfg_path (ABI 1.3): the value or dflt; only emptiness is checked here. */
static int
fake_cfg_path(nt_plugin *p, const nt_config *c, const char *key, const char *dflt, unsigned flags,
              const char **out)
{
    const char *v = fake_cfg_get(c, key);

    (void)flags;
    *out = v != NULL ? v : dflt;
    if (*out == NULL || **out == '\0') {
        fake_init_error(p, "[store_sqlite] %s: expected a path", key);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* host cfg_fail (ABI 1.3): "[section] key: message". */
static void fake_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
    NT_PRINTF(4, 5);
static void
fake_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    (void)c;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fake_init_error(p, "[store_sqlite] %s: %s", key, msg);
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
    .cfg_enum = fake_cfg_enum,
    .cfg_path = fake_cfg_path,
    .cfg_fail = fake_cfg_fail,
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

/* $n binds by the statement's parameter map ($1..$31) or by name beyond it, whatever order the
 * parameters first appear in and however often; texts that differ only where the cache's
 * hash does not read are still told apart. */
START_TEST(test_bind_params)
{
    nt_db *db = open_db(NULL, NULL);
    char sql[1024], a[400], b[400];
    int off = snprintf(sql, sizeof(sql), "SELECT $40");
    nt_stmt *s;

    for (int i = 39; i >= 1; i--)
        off += snprintf(sql + off, sizeof(sql) - (size_t)off, " + $%d", i);
    s = g_ops->prepare(db, sql);
    ck_assert_ptr_nonnull(s);
    for (int i = 1; i <= 40; i++)
        ck_assert_int_eq(g_ops->bind_int64(s, i, (int64_t)i * 1000), NT_OK);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_int_eq(g_ops->col_int64(s, 0), 820000); /* 1000 * (1 + ... + 40) */
    g_ops->finalize(s);
    s = g_ops->prepare(db, "SELECT $2, $1, $2 || $1, $7");
    ck_assert_int_eq(g_ops->bind_text(s, 1, "a"), NT_OK);
    ck_assert_int_eq(g_ops->bind_text(s, 2, "b"), NT_OK);
    ck_assert_int_eq(g_ops->bind_int64(s, 7, 7), NT_OK);
    ck_assert_int_eq(g_ops->bind_int64(s, 3, 3), NT_EINVAL); /* not in the statement */
    g_ops->clear_error(db);
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "b");
    ck_assert_str_eq(g_ops->col_text(s, 1), "a");
    ck_assert_str_eq(g_ops->col_text(s, 2), "ba");
    ck_assert_int_eq(g_ops->col_int64(s, 3), 7);
    g_ops->finalize(s);
    /* two long texts alike but for one character */
    memset(a, ' ', sizeof(a));
    memcpy(a, "SELECT 1", 8);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(a));
    b[8] = '2';
    for (int k = 0; k < 2; k++) {
        s = g_ops->prepare(db, a);
        ck_assert_int_eq(g_ops->step(s), 1);
        ck_assert_int_eq(g_ops->col_int64(s, 0), 1);
        g_ops->finalize(s);
        s = g_ops->prepare(db, b);
        ck_assert_int_eq(g_ops->step(s), 1);
        ck_assert_int_eq(g_ops->col_int64(s, 0), 12);
        g_ops->finalize(s);
    }
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
    int64_t t0;

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
    /* one writer at a time: the second waits busy_timeout_ms, then may try again */
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    t0 = sq_mono_ms();
    ck_assert_int_eq(g_ops->begin(a), NT_ERETRY);
    ck_assert_int_ge(sq_mono_ms() - t0, 100);
    ck_assert_int_eq(g_ops->errcode(a), NT_ERETRY);
    ck_assert_msg(strstr(g_ops->errmsg(a), "database is locked") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    ck_assert_int_eq(g_ops->rollback(b), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* A writer waiting for the lock starts soon after the holder commits: SQLite's own busy
 * handler backed off up to 100 ms between looks (the waiter began 57-84 ms after a commit),
 * and a worker's whole event loop waits with it. */
struct busy_waiter {
    nt_db *db;
    int rc;
    int64_t began_ms;
    sem_t started;
};

static void *
busy_waiter_main(void *arg)
{
    struct busy_waiter *w = arg;

    sem_post(&w->started);
    w->rc = g_ops->begin(w->db);
    w->began_ms = sq_mono_ms();
    if (w->rc == NT_OK)
        w->rc = g_ops->rollback(w->db);
    return NULL;
}

START_TEST(test_busy_wait_wakes_soon)
{
    nt_db *a = open_db(NULL, NULL);
    struct busy_waiter w = {open_db(NULL, NULL), NT_ERR, 0, {{0}}};
    /* SQLite's back-off looked at 328 ms and then at 428 ms into a wait */
    const struct timespec hold = {0, 335 * 1000000L};
    pthread_t th;
    int64_t committed;

    ck_assert_int_eq(sem_init(&w.started, 0, 0), 0);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(pthread_create(&th, NULL, busy_waiter_main, &w), 0);
    ck_assert_int_eq(sem_wait(&w.started), 0);
    nanosleep(&hold, NULL);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    committed = sq_mono_ms();
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(w.rc, NT_OK);
    ck_assert_msg(w.began_ms - committed < 40, "the waiting writer began %lld ms after the commit",
                  (long long)(w.began_ms - committed));
    sem_destroy(&w.started);
    g_ops->conn_close(a);
    g_ops->conn_close(w.db);
}
END_TEST

/* ---- group commit (ABI 1.5: group_open, group_close, group_pending) -------------------- */

/* Requests' write transactions inside a group are savepoints of one transaction: another
 * connection sees none of them until group_close; rollback() and a failed statement undo
 * only the request's own part (C6 still refuses what follows until rollback); a statement
 * outside begin/commit joins the group; group_close commits what remains. */
START_TEST(test_group_commit)
{
    nt_db *a = open_db("busy_timeout_ms", "200");
    nt_db *b = open_db(NULL, NULL);

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(g_ops->group_pending(a), 0);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->group_pending(a), 0); /* nothing written yet: no transaction */
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO parent(id, name) VALUES ('p1', 'one')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->group_pending(a), 1);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM parent"), 0);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM parent"), 1); /* its own writes */
    /* a request that rolls back leaves the others */
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO parent(id, name) VALUES ('p2', 'two')"), 0);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM parent"), 1);
    /* a failed statement undoes its request only, and refuses the rest of it */
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO parent(id, name) VALUES ('p3', 'three')"), 0);
    ck_assert_int_eq(run(a, "INSERT INTO parent(id, name) VALUES ('p4', 'one')"), NT_ECONFLICT);
    ck_assert_ptr_null(g_ops->prepare(a, "SELECT 1"));
    ck_assert_int_eq(g_ops->commit(a), NT_ECONFLICT);
    ck_assert_int_eq(g_ops->group_pending(a), 1);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM parent"), 1);
    /* commit without begin is refused, and does not commit the group */
    ck_assert_int_eq(g_ops->commit(a), NT_ERR);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM parent"), 0);
    g_ops->clear_error(a);
    /* a statement outside begin/commit joins the group */
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('x')"), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 0);
    /* the group holds the write lock: another writer waits and may try again */
    ck_assert_int_eq(g_ops->begin(b), NT_ERETRY);
    ck_assert_int_eq(g_ops->rollback(b), NT_OK);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    ck_assert_int_eq(g_ops->group_pending(a), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM parent"), 1);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM parent WHERE id = 'p1'"), 1);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 1);
    /* after the group: transactions of their own again */
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('y')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 2);
    /* an empty group commits nothing and fails nothing */
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    /* group_open inside a transaction is refused */
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->group_open(a), NT_ERR);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* Page-cache misses of handle h since the last call (the counter is reset). */
static int
cache_misses(sqlite3 *h)
{
    int cur = 0, hi = 0;

    ck_assert_int_eq(sqlite3_db_status(h, SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 1), SQLITE_OK);
    return cur;
}

/* Every group of the process runs on one connection, the group connection: a group opened on
 * b reads what a's group wrote from the page cache (no page read again, unlike a connection
 * that another connection's commit emptied), sees its own uncommitted writes, and a plain
 * connection sees them only after group_close. Errors of a group's requests are reported on
 * the connection that made the calls. */
START_TEST(test_group_connection)
{
    nt_db *a = open_db(NULL, NULL);
    nt_db *b = open_db(NULL, NULL);
    nt_db *c = open_db(NULL, NULL);
    const struct sq_cfg *cfg = g_state;
    sqlite3 *w;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_ptr_null(cfg->shared->writer); /* opened by the first group */
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_ptr_nonnull(cfg->shared->writer);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES (hex(randomblob(500)))"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    w = cfg->shared->writer->db;
    ck_assert_ptr_nonnull(w);

    /* c, a plain connection, reads the pages from the file: misses */
    (void)cache_misses(c->db);
    ck_assert_int_eq(query_int(c, "SELECT sum(length(a)) FROM t"), 200 * 1000);
    ck_assert_int_gt(cache_misses(c->db), 10);
    /* b's group reads them from the group connection's cache */
    ck_assert_int_eq(g_ops->group_open(b), NT_OK);
    (void)cache_misses(w);
    (void)cache_misses(b->db);
    ck_assert_int_eq(query_int(b, "SELECT sum(length(a)) FROM t"), 200 * 1000);
    ck_assert_int_eq(cache_misses(w), 0);
    ck_assert_int_eq(cache_misses(b->db), 0); /* b's own handle was not used */
    /* its own writes, before the group commits */
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(run(b, "INSERT INTO parent(id, name) VALUES ('p1', 'one')"), 0);
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM parent"), 1);
    ck_assert_int_eq(query_int(c, "SELECT count(*) FROM parent"), 0);
    /* a failed request: its error is b's, and only its savepoint goes */
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(run(b, "INSERT INTO parent(id, name) VALUES ('p2', 'one')"), NT_ECONFLICT);
    ck_assert_int_eq(g_ops->errcode(b), NT_ECONFLICT);
    ck_assert_msg(strstr(g_ops->errmsg(b), "UNIQUE") != NULL, "%s", g_ops->errmsg(b));
    ck_assert_int_eq(g_ops->rollback(b), NT_OK);
    g_ops->clear_error(b);
    ck_assert_int_eq(g_ops->group_pending(b), 1);
    ck_assert_int_eq(g_ops->group_pending(a), 0);
    ck_assert_int_eq(g_ops->group_close(b), NT_OK);
    ck_assert_int_eq(query_int(c, "SELECT count(*) FROM parent"), 1);
    ck_assert_int_eq(g_ops->errcode(b), NT_OK);
    /* outside a group, b is itself again: its reads use its own handle */
    (void)cache_misses(w);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM parent"), 1);
    ck_assert_int_eq(cache_misses(w), 0);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
    g_ops->conn_close(c);
}
END_TEST

/* A connection closed with its group open: the group's writes are rolled back and the turn
 * is free for the next group. */
START_TEST(test_group_closed_open)
{
    nt_db *a = open_db("busy_timeout_ms", "200");
    nt_db *b = open_db(NULL, NULL);

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('gone')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    g_ops->conn_close(a);
    ck_assert_int_eq(g_ops->group_open(b), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 0);
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('kept')"), 0);
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(g_ops->group_close(b), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t WHERE a = 'kept'"), 1);
    g_ops->conn_close(b);
}
END_TEST

/* Reads n bytes at off of the file at path into buf; returns the count read. */
static ssize_t
file_bytes(const char *path, void *buf, size_t n, off_t off)
{
    FILE *f = fopen(path, "rb");
    size_t got = 0;

    if (f != NULL && fseeko(f, off, SEEK_SET) == 0)
        got = fread(buf, 1, n, f);
    if (f != NULL)
        fclose(f);
    return (ssize_t)got;
}

/* Fills a 24-byte WAL frame header: byte 0 tags it, bytes 4-7 are the database size (not 0:
 * a commit frame). */
static void
frame_hdr(char *hdr, char tag, int commit)
{
    memset(hdr, 0, 24);
    hdr[0] = tag;
    hdr[7] = (char)commit;
}

/* The VFS collects appended WAL frames (header, then the page right behind it) and writes them
 * when the commit frame's page arrives, in pieces the default VFS accepts; a header rewritten
 * below what was appended is written at once; any other call writes what is collected first,
 * so the file always ends up as written. */
START_TEST(test_vfs_frame_writes)
{
    enum { FRAMES = 70, FRAME = 4096 + 24 };
    sqlite3_vfs *vfs;
    sqlite3_file *f;
    char path[300], page[4096], hdr[24], back[FRAME];
    sqlite3_int64 size = 0, off = 32, base;
    int out = 0;

    ck_assert_int_eq(sq_vfs_init(), SQLITE_OK);
    vfs = sqlite3_vfs_find(SQ_VFS_NAME);
    ck_assert_ptr_nonnull(vfs);
    ck_assert(sqlite3_vfs_find(NULL) != vfs); /* not the default */
    f = calloc(1, (size_t)vfs->szOsFile);
    ck_assert_ptr_nonnull(f);
    snprintf(path, sizeof(path), "%s/x.db", g_dir); /* a WAL file takes its database's mode */
    write_file(path, "");
    snprintf(path, sizeof(path), "%s/x.db-wal", g_dir);
    ck_assert_int_eq(vfs->xOpen(vfs, path, f,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL, &out),
                     SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xWrite(f, "W", 1, 0), SQLITE_OK); /* not a frame: at once */
    ck_assert_int_eq(file_bytes(path, back, 1, 0), 1);
    /* not batching (every connection but the group one): each frame at its page */
    frame_hdr(hdr, 'n', 0);
    memset(page, 'N', sizeof(page));
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, off), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, 1, off), 0);
    ck_assert_int_eq(f->pMethods->xWrite(f, page, 4096, off + 24), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, FRAME, off), FRAME);
    ck_assert(back[0] == 'n' && back[24] == 'N');
    ck_assert_int_eq(sq_vfs_batch_file(f), 1);
    off += FRAME;
    base = off;
    /* 70 frames (288 KiB, more than one write of the default VFS takes), the last a commit:
     * nothing reaches the file before the commit frame's page, then all of it */
    for (int i = 0; i < FRAMES; i++, off += FRAME) {
        frame_hdr(hdr, (char)('a' + i % 26), i == FRAMES - 1);
        memset(page, 'A' + i % 26, sizeof(page));
        ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, off), SQLITE_OK);
        ck_assert_int_eq(f->pMethods->xWrite(f, page, 4096, off + 24), SQLITE_OK);
        if (i < FRAMES - 1)
            ck_assert_int_eq(file_bytes(path, back, 1, base), 0);
    }
    for (int i = 0; i < FRAMES; i++) {
        ck_assert_int_eq(file_bytes(path, back, FRAME, base + (off_t)i * FRAME), FRAME);
        ck_assert_int_eq(back[0], 'a' + i % 26);
        ck_assert_int_eq(back[7], i == FRAMES - 1);
        ck_assert(back[24] == 'A' + i % 26 && back[FRAME - 1] == 'A' + i % 26);
    }
    /* a header rewritten below the appended frames (checksums after a commit) is written at
     * once: nothing may wait once a commit is visible */
    frame_hdr(hdr, 'R', 0);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, base + FRAME), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, 24, base + FRAME), 24);
    ck_assert_int_eq(back[0], 'R');
    /* collected frames, then a write elsewhere: they are written first, where they belong */
    frame_hdr(hdr, 'H', 0);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, off), SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xWrite(f, page, 4096, off + 24), SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xWrite(f, "tail", 4, off + 2 * FRAME), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, FRAME, off), FRAME);
    ck_assert(back[0] == 'H' && memcmp(back + 24, page, 4096) == 0);
    off += FRAME;
    /* a page rewritten in place (not behind its header) follows what is collected */
    frame_hdr(hdr, 'I', 0);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, off), SQLITE_OK);
    memset(page, 'z', sizeof(page));
    ck_assert_int_eq(f->pMethods->xWrite(f, page, 4096, 32 + 24), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, 24, off), 24);
    ck_assert_int_eq(back[0], 'I');
    ck_assert_int_eq(file_bytes(path, back, 1, 32 + 24), 1);
    ck_assert_int_eq(back[0], 'z');
    /* a collected header is in the file's size, is read back, and reaches the disk before a
     * sync and before the file closes */
    frame_hdr(hdr, 'S', 0);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, off + 2 * FRAME + 4), SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xFileSize(f, &size), SQLITE_OK);
    ck_assert_int_eq(size, off + 2 * FRAME + 28);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, size), SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xRead(f, back, 24, size), SQLITE_OK);
    ck_assert_int_eq(back[0], 'S');
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, size + 24), SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, 24, size + 24), 24);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, size + 48), SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xClose(f), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, 24, size + 48), 24);
    ck_assert_int_eq(back[0], 'S');
    /* other files: a 24-byte write is written at once */
    snprintf(path, sizeof(path), "%s/x.db", g_dir);
    ck_assert_int_eq(vfs->xOpen(vfs, path, f,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB,
                                &out),
                     SQLITE_OK);
    ck_assert_int_eq(f->pMethods->xWrite(f, hdr, 24, 0), SQLITE_OK);
    ck_assert_int_eq(file_bytes(path, back, 24, 0), 24);
    ck_assert_int_eq(f->pMethods->xClose(f), SQLITE_OK);
    free(f);
}
END_TEST

/* A transaction that spilled its cache into the WAL and rolled back leaves nothing behind to
 * be written later: another connection's commits at the same place in the WAL stay intact
 * when the first connection touches the WAL again. (A WAL file that collected frames on a
 * connection whose cache spills would overwrite them: only the group connection, whose cache
 * never spills, collects.) */
START_TEST(test_vfs_spill_rollback)
{
    nt_db *a = open_db("cache_kib", "64");
    nt_db *b = open_db("checkpoint_ms", "0");
    nt_db *c;

    ck_assert_int_eq(g_ops->exec(b, "PRAGMA wal_autocheckpoint=0"), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, "PRAGMA wal_autocheckpoint=0"), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    /* an empty WAL: the rollback then reads nothing from it (which would write what a
     * collected while the write lock is still a's) */
    ck_assert_int_eq(g_ops->exec(b, "PRAGMA wal_checkpoint(TRUNCATE)"), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    for (int i = 0; i < 300; i++) /* about 75 pages in a 16-page cache: spills */
        ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES (hex(randomblob(500)), 1)"), 0);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    for (int g = 0; g < 5; g++) {
        ck_assert_int_eq(g_ops->begin(b), NT_OK);
        for (int i = 0; i < 50; i++)
            ck_assert_int_eq(run(b, "INSERT INTO t(a, n) VALUES (hex(randomblob(500)), 2)"), 0);
        ck_assert_int_eq(g_ops->commit(b), NT_OK);
    }
    ck_assert_int_eq(query_int(a, "SELECT sum(n) FROM t"), 500);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES ('a', 3)"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
    c = open_db(NULL, NULL);
    ck_assert_int_eq(query_int(c, "SELECT count(*) FROM t"), 251);
    ck_assert_int_eq(query_int(c, "SELECT sum(n) FROM t"), 503);
    g_ops->conn_close(c);
}
END_TEST

/* The group connection never spills its cache and its WAL file collects each commit's frames;
 * other connections keep SQLite's default (spilling). */
START_TEST(test_group_batching)
{
    nt_db *a = open_db(NULL, NULL);
    const struct sq_cfg *cfg = g_state;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('g')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    ck_assert_int_eq(cfg->shared->writer->batching, 1);
    ck_assert_int_eq(query_int(cfg->shared->writer, "PRAGMA cache_spill"), 0);
    ck_assert_int_ne(query_int(a, "PRAGMA cache_spill"), 0);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    g_ops->conn_close(a);
}
END_TEST

/* A commit whose frames cannot be written (the file-size limit, as a full disk): a group's,
 * whose frames the group connection collects, and a plain transaction's, written frame by
 * frame, fail and leave nothing: another connection sees the rows committed before them, and
 * the next group, once the file can grow, writes all of its own. */
START_TEST(test_vfs_write_error_fails_commit)
{
    nt_db *a = open_db("checkpoint_ms", "0");
    nt_db *b = open_db(NULL, NULL);
    struct rlimit lim;
    struct stat sb;
    char wal[600];

    ck_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    ck_assert_int_eq(g_ops->exec(a, "PRAGMA wal_autocheckpoint=0"), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES ('before', 1)"), 0);
    snprintf(wal, sizeof(wal), "%s-wal", g_path);
    ck_assert_int_eq(stat(wal, &sb), 0);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
    lim.rlim_cur = (rlim_t)sb.st_size + 64 * 1024; /* room for some frames, not all */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    /* a group (its connection collects the commit's frames), then a plain transaction */
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    for (int r = 0; r < 10; r++) {
        ck_assert_int_eq(g_ops->begin(a), NT_OK);
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES (hex(randomblob(1000)), 1)"), 0);
        ck_assert_int_eq(g_ops->commit(a), NT_OK);
    }
    ck_assert_int_eq(g_ops->group_close(a), NT_EUNAVAIL);
    g_ops->clear_error(a);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES (hex(randomblob(1000)), 1)"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_EUNAVAIL);
    g_ops->clear_error(a);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 1);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    lim.rlim_cur = lim.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES (hex(randomblob(1000)), 2)"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 101);
    ck_assert_int_eq(query_int(b, "SELECT sum(n) FROM t"), 201);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
    ck_assert_int_eq(query_int(b = open_db(NULL, NULL), "SELECT count(*) FROM t"), 101);
    g_ops->conn_close(b);
}
END_TEST

/* Frames written through the VFS recover: a copy of the database and its WAL taken while the
 * writer is still open (as after a crash) opens with SQLite's own VFS, which checks every
 * frame's header and checksum, with every committed row. */
START_TEST(test_vfs_wal_recovers)
{
    nt_db *a = open_db("checkpoint_ms", "0");
    char cmd[1200], copy[300];
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;

    ck_assert_int_eq(g_ops->exec(a, "PRAGMA wal_autocheckpoint=0"), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    for (int g = 0; g < 20; g++) {
        ck_assert_int_eq(g_ops->begin(a), NT_OK);
        for (int i = 0; i < 25; i++)
            ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES (hex(randomblob(300)), 1)"), 0);
        ck_assert_int_eq(g_ops->commit(a), NT_OK);
    }
    snprintf(copy, sizeof(copy), "%s/copy.db", g_dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s-wal' '%s-wal'", g_path, copy, g_path, copy);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(file_bytes(copy, cmd, 1, 0), 1);
    ck_assert_int_eq(sqlite3_open_v2(copy, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*), sum(n) FROM t", -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 500);
    ck_assert_int_eq(sqlite3_column_int(st, 1), 500);
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(h);
    g_ops->conn_close(a);
}
END_TEST

/* A commit that fails (fault_file `commit`: as a full disk would) loses the whole group and
 * says so; a plain transaction's commit fails the same way. Nothing of either is written. */
START_TEST(test_group_commit_fails)
{
    nt_db *a = open_db(NULL, NULL);
    nt_db *b = open_db(NULL, NULL);

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    write_file(g_fault, "commit\n");
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(g_ops->begin(a), NT_OK);
        ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('g')"), 0); /* statements run */
        ck_assert_int_eq(g_ops->commit(a), NT_OK);
    }
    ck_assert_int_eq(g_ops->group_close(a), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(a), "disk is full") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(g_ops->group_pending(a), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 0);
    g_ops->clear_error(a);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('p')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_EUNAVAIL);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('auto')"), NT_EUNAVAIL); /* its own */
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 0);
    /* the lock was let go: the other connection writes at once when the fault is gone */
    ck_assert_int_eq(unlink(g_fault), 0);
    usleep(1100 * 1000);
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('ok')"), 0);
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* Groups of one process take turns: a group waiting for the write lock starts as soon as
 * the group holding it commits (no busy-handler sleep), and gives up with NT_ERETRY after
 * busy_timeout_ms. A group takes the turn when it opens. */
struct group_waiter {
    nt_db *db;
    int rc;
    int64_t began_ms;
    sem_t started;
};

static void *
group_waiter_main(void *arg)
{
    struct group_waiter *w = arg;

    sem_post(&w->started);
    w->rc = g_ops->group_open(w->db);
    if (w->rc == NT_OK)
        w->rc = g_ops->begin(w->db);
    w->began_ms = sq_mono_ms();
    if (w->rc == NT_OK && (w->rc = g_ops->commit(w->db)) == NT_OK)
        w->rc = g_ops->group_close(w->db);
    else
        g_ops->group_close(w->db);
    return NULL;
}

START_TEST(test_group_turns)
{
    nt_db *a = open_db("busy_timeout_ms", "2000");
    struct group_waiter w = {open_db(NULL, NULL), NT_ERR, 0, {{0}}};
    const struct timespec hold = {0, 150 * 1000000L};
    pthread_t th;
    int64_t committed, t0;

    ck_assert_int_eq(sem_init(&w.started, 0, 0), 0);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(pthread_create(&th, NULL, group_waiter_main, &w), 0);
    ck_assert_int_eq(sem_wait(&w.started), 0);
    nanosleep(&hold, NULL);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    committed = sq_mono_ms();
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(w.rc, NT_OK);
    /* 100 ms: a loaded machine may be slow to schedule the woken thread; a waiter that missed
     * the handover would wait out busy_timeout_ms (2000 ms) */
    ck_assert_msg(w.began_ms - committed < 100, "the waiting group began %lld ms after the commit",
                  (long long)(w.began_ms - committed));
    ck_assert_int_ge(w.began_ms - committed, -5);
    sem_destroy(&w.started);
    g_ops->conn_close(w.db);
    g_ops->conn_close(a);
    /* a group that waits longer than busy_timeout_ms gives up */
    teardown();
    setup();
    a = open_db("busy_timeout_ms", "100");
    w.db = open_db(NULL, NULL);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    t0 = sq_mono_ms();
    ck_assert_int_eq(g_ops->group_open(w.db), NT_ERETRY); /* a group takes the turn at once */
    ck_assert_int_ge(sq_mono_ms() - t0, 100);
    ck_assert_msg(strstr(g_ops->errmsg(w.db), "write lock") != NULL, "%s", g_ops->errmsg(w.db));
    ck_assert_int_eq(g_ops->group_pending(w.db), 0);
    ck_assert_int_eq(g_ops->group_close(w.db), NT_OK); /* no group: nothing to do */
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    /* the turn is free again: and a connection closed while holding it gives it back */
    ck_assert_int_eq(g_ops->group_open(w.db), NT_OK);
    ck_assert_int_eq(g_ops->begin(w.db), NT_OK);
    ck_assert_int_eq(g_ops->commit(w.db), NT_OK);
    g_ops->conn_close(w.db);
    ck_assert_int_eq(g_ops->group_open(a), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(g_ops->group_close(a), NT_OK);
    g_ops->conn_close(a);
}
END_TEST

/* The checkpoint sequence number in the WAL header (bytes 12-15): SQLite adds one each time
 * the WAL starts over. -1 when the file cannot be read. */
static long long
wal_ckpt_seq(const char *wal)
{
    unsigned char h[16];

    if (file_bytes(wal, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return -1;
    return ((long long)h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15];
}

/* The checkpoint thread (plugin start): under group writes that follow each other without a
 * pause, the WAL starts over again and again (the thread copies it in the background, and
 * once it passes 8000 pages runs a RESTART in the write turn), so its file stays bounded
 * instead of growing with every write, and the groups keep committing meanwhile. How far the
 * file grows between restarts depends on how much CPU the thread gets against the writer
 * (39-73 MB measured; a loaded machine once saw no restart within 480 groups), so the test
 * writes for up to 40 s (or 400 MB of WAL) until it has seen three restarts. Without the
 * thread it sees none. */
START_TEST(test_checkpoint_bounds_wal)
{
    nt_db *a = open_db("checkpoint_ms", "20");
    char wal[600];
    struct stat sb;
    off_t max = 0;
    long long seq, last = -1;
    int restarts = 0, groups = 0;
    int64_t until = sq_mono_ms() + 40000; /* under CK_DEFAULT_TIMEOUT (60 s) */

    ck_assert_int_eq(nt_plugin_entry()->start(g_state), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    snprintf(wal, sizeof(wal), "%s-wal", g_path);
    /* groups of 50 rows of 3000 bytes (about one page each): 24000 rows are 96 MiB of WAL
     * without restarts */
    while (restarts < 3 && sq_mono_ms() < until && max < (off_t)400 * 1024 * 1024) {
        ck_assert_int_eq(g_ops->group_open(a), NT_OK);
        for (int i = 0; i < 50; i++) {
            ck_assert_int_eq(g_ops->begin(a), NT_OK);
            ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES (hex(randomblob(1500)))"), 0);
            ck_assert_int_eq(g_ops->commit(a), NT_OK);
        }
        ck_assert_int_eq(g_ops->group_close(a), NT_OK);
        groups++;
        if (stat(wal, &sb) == 0 && sb.st_size > max)
            max = sb.st_size;
        seq = wal_ckpt_seq(wal);
        restarts += last >= 0 && seq != last;
        last = seq;
    }
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), groups * 50);
    ck_assert_msg(restarts >= 3, "%d WAL restarts in %d groups (%lld bytes at most)", restarts,
                  groups, (long long)max);
    /* every restart came before the WAL held all of the rows written so far */
    ck_assert_msg(max < (off_t)groups * 50 * 4120, "the WAL grew to %lld bytes", (long long)max);
    printf("test_checkpoint_bounds_wal: %d restarts in %d groups, WAL at most %lld bytes\n",
           restarts, groups, (long long)max);
    nt_plugin_entry()->stop(g_state);
    g_ops->conn_close(a);
}
END_TEST

/* ---- the store contract (services.h C1..C8) -------------------------------------------- */

/* C5/C7: lock conflicts are NT_ERETRY, after busy_timeout_ms: a second writer's begin, a
 * write outside a transaction while another holds the lock, and a write in a read
 * transaction whose snapshot went stale. Each leaves nothing behind, and the same work run
 * again once the other transaction ended succeeds. */
START_TEST(test_retryable_conflicts)
{
    nt_db *a = open_db("busy_timeout_ms", "50");
    nt_db *b = open_db(NULL, NULL);
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a, n) VALUES ('c', 0)"), 0);
    /* a second writer */
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(run(b, "UPDATE t SET n = n + 1"), 0);
    ck_assert_int_eq(g_ops->begin(a), NT_ERETRY);
    ck_assert_msg(strstr(g_ops->errmsg(a), "database is locked") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    /* a write outside a transaction */
    ck_assert_int_eq(run(a, "UPDATE t SET n = n + 10"), NT_ERETRY);
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT n FROM t"), 1);
    /* a stale read snapshot that tries to write */
    ck_assert_int_eq(g_ops->begin_read(a), NT_OK);
    ck_assert_int_eq(query_int(a, "SELECT n FROM t"), 1);
    ck_assert_int_eq(run(b, "UPDATE t SET n = n + 1"), 0);
    s = g_ops->prepare(a, "UPDATE t SET n = n + 100");
    ck_assert_int_eq(g_ops->step(s), NT_ERETRY);
    g_ops->finalize(s);
    ck_assert_int_eq(g_ops->errcode(a), NT_ERETRY);
    ck_assert_ptr_null(g_ops->prepare(a, "SELECT n FROM t")); /* ended by the error */
    ck_assert_int_eq(g_ops->end_read(a), NT_OK);
    /* run again from the start: it works and sees b's write */
    g_ops->clear_error(a);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "UPDATE t SET n = n + 100"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(query_int(b, "SELECT n FROM t"), 102);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* C8: lock_schema (ABI 1.2) works inside a write transaction only, and holds off another
 * connection's write transaction (so its lock_schema) until the first ends. */
START_TEST(test_lock_schema)
{
    nt_db *a = open_db("busy_timeout_ms", "50");
    nt_db *b = open_db(NULL, NULL);

    ck_assert(NT_HAS_MEMBER(g_ops, nt_store_v1, lock_schema));
    ck_assert_ptr_nonnull(g_ops->lock_schema);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_ERR);
    ck_assert_msg(strstr(g_ops->errmsg(a), "write transaction") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_int_eq(g_ops->begin_read(a), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_ERR);
    ck_assert_int_eq(g_ops->end_read(a), NT_OK);
    g_ops->clear_error(a);
    ck_assert_int_eq(g_ops->begin(b), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(b), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_ERETRY);
    ck_assert_int_eq(g_ops->rollback(a), NT_OK);
    ck_assert_int_eq(g_ops->exec(b, "CREATE TABLE s1(x INTEGER)"), NT_OK);
    ck_assert_int_eq(g_ops->commit(b), NT_OK);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(g_ops->lock_schema(a), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, "CREATE TABLE IF NOT EXISTS s1(x INTEGER)"), NT_OK);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

START_TEST(test_read_only)
{
    nt_db *db = open_db(NULL, NULL);
    const struct sq_cfg *c = g_state;
    nt_db *ro;
    nt_stmt *s;

    ck_assert_int_eq(g_ops->exec(db, schema), NT_OK);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('1')"), 0);
    ck_assert_int_eq(db->ro, 0);
    /* a handle that may not write (what a read-only file gives) */
    ck_assert_int_eq(g_ops->exec(db, "PRAGMA query_only=ON"), NT_OK);
    s = g_ops->prepare(db, "INSERT INTO t(a) VALUES ('2')");
    ck_assert_int_eq(g_ops->step(s), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->errcode(db), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(db), "database is read-only") != NULL, "%s",
                  g_ops->errmsg(db));
    /* marked, but kept while a statement is in use */
    ck_assert_int_eq(db->ro, 1);
    ck_assert_int_eq(c->shared->nro, 1);
    ck_assert_ptr_nonnull(db->db);
    g_ops->finalize(s);
    /* idle: closed, and opened again at the next use (without query_only) */
    ck_assert_ptr_null(db->db);
    ck_assert_int_eq(c->shared->nro, 0);
    ck_assert_int_eq(db->ncached, 0);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 1);
    ck_assert_ptr_nonnull(db->db);
    ck_assert_int_eq(db->ro, 0);
    ck_assert_int_eq(run(db, "INSERT INTO t(a) VALUES ('2')"), 0);
    ck_assert_ptr_nonnull(db->db); /* a writable handle stays open */
    /* in a transaction the failed write ends it (store contract C6): the handle stays while
     * the statement is in use, closes once idle, and commit reports the error */
    ck_assert_int_eq(g_ops->begin(db), NT_OK);
    ck_assert_int_eq(g_ops->exec(db, "PRAGMA query_only=ON"), NT_OK);
    s = g_ops->prepare(db, "INSERT INTO t(a) VALUES ('3')");
    ck_assert_int_eq(g_ops->step(s), NT_EUNAVAIL);
    ck_assert_ptr_nonnull(db->db);
    g_ops->finalize(s);
    ck_assert_ptr_null(db->db);
    ck_assert_int_eq(g_ops->commit(db), NT_EUNAVAIL);
    ck_assert_int_eq(g_ops->commit(db), NT_ERR); /* none open */
    ck_assert_int_eq(g_ops->rollback(db), NT_OK);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 2);
    if (geteuid() != 0) {
        /* a read-only file (root ignores file modes, so only for other users) */
        ck_assert_int_eq(chmod(g_path, 0444), 0);
        ro = open_db(NULL, NULL);
        ck_assert_int_eq(run(ro, "INSERT INTO t(a) VALUES ('3')"), NT_EUNAVAIL);
        ck_assert_msg(strstr(g_ops->errmsg(ro), "read-only") != NULL, "%s", g_ops->errmsg(ro));
        ck_assert_int_eq(query_int(ro, "SELECT count(*) FROM t"), 2);
        g_ops->conn_close(ro);
    }
    g_ops->conn_close(db);
    ck_assert_int_eq(c->shared->nro, 0);
}
END_TEST

/* A connection opened while another holds a read-only handle waits for it (up to
 * SQ_DRAIN_MS, then at most once a second) and is read-only itself until that one closes. */
START_TEST(test_read_only_drain)
{
    nt_db *a = open_db(NULL, NULL), *b;
    const struct sq_cfg *c = g_state;
    nt_stmt *held;
    int64_t t0, waited;

    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(g_ops->exec(a, "PRAGMA query_only=ON"), NT_OK);
    held = g_ops->prepare(a, "SELECT 1");
    ck_assert_int_eq(g_ops->step(held), 1);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('1')"), NT_EUNAVAIL);
    ck_assert_int_eq(c->shared->nro, 1);
    /* the read-only handle of a stays open (held): b waits, then opens read-only */
    t0 = sq_mono_ms();
    b = open_db(NULL, NULL);
    waited = sq_mono_ms() - t0;
    ck_assert_msg(waited >= SQ_DRAIN_MS - 10 && waited < 1000, "waited %lld ms", (long long)waited);
    ck_assert_ptr_null(b->db); /* read-only, so closed while idle */
    /* within the second: no second wait */
    t0 = sq_mono_ms();
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 0);
    ck_assert_int_lt(sq_mono_ms() - t0, SQ_DRAIN_MS / 2);
    ck_assert_ptr_null(b->db);
    /* the held statement still works, and its handle goes when it is finalized */
    ck_assert_int_eq(g_ops->step(held), 0);
    g_ops->finalize(held);
    ck_assert_ptr_null(a->db);
    ck_assert_int_eq(c->shared->nro, 0);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('2')"), 0);
    ck_assert_ptr_nonnull(b->db);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('3')"), 0);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 2);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
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
    ck_assert_int_eq(g_ops->step(s), NT_ERETRY);
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

/* ---- a real read-only database: bind mounts ------------------------------------------ */

/* The mount tests work below g_mnt: data/ is bind-mounted on view/, which the tests remount
 * read-only and read-write; the database lives in view/. The test process first moves to a
 * mount namespace of its own, so every mount goes away with it, even when it is killed. */
static char g_mnt[64];
static char g_view[128];
static char g_file_mnt[256]; /* a file bind-mounted over view/<file>, or "" */
static int g_mount_ok;
static char g_mount_why[256];

/* Unchecked fixture (once, in the runner): a private mount namespace and the bind mount;
 * g_mount_ok says whether it worked (it needs root with CAP_SYS_ADMIN). */
static void
mount_setup(void)
{
    char data[128];

    g_mount_ok = 0;
    snprintf(g_mnt, sizeof(g_mnt), "/tmp/nt_store_mnt_XXXXXX");
    if (mkdtemp(g_mnt) == NULL) {
        snprintf(g_mount_why, sizeof(g_mount_why), "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(data, sizeof(data), "%s/data", g_mnt);
    snprintf(g_view, sizeof(g_view), "%s/view", g_mnt);
    if (mkdir(data, 0700) != 0 || mkdir(g_view, 0700) != 0) {
        snprintf(g_mount_why, sizeof(g_mount_why), "mkdir: %s", strerror(errno));
        return;
    }
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(data, g_view, "none", MS_BIND, NULL) != 0) {
        snprintf(g_mount_why, sizeof(g_mount_why), "%s", strerror(errno));
        return;
    }
    g_mount_ok = 1;
}

/* Unchecked fixture: removes the mounts and the directory. */
static void
mount_teardown(void)
{
    if (g_file_mnt[0] != '\0')
        umount2(g_file_mnt, MNT_DETACH);
    g_file_mnt[0] = '\0';
    if (g_mount_ok)
        umount2(g_view, MNT_DETACH);
    g_mount_ok = 0;
    if (g_mnt[0] != '\0')
        nftw(g_mnt, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_mnt[0] = '\0';
}

/* Remounts view/ read-only (ro 1) or read-write (ro 0). */
static void
mnt_set_ro(int ro)
{
    unsigned long flags = MS_REMOUNT | MS_BIND | (ro ? MS_RDONLY : 0);

    ck_assert_msg(mount("none", g_view, "none", flags, NULL) == 0, "remount %s: %s",
                  ro ? "ro" : "rw", strerror(errno));
}

/* Starts a mount test: 0 (after saying why) when mounting is not permitted here; else sets
 * g_path to view/<name> on a writable mount, with nothing left of an earlier test. */
static int
mnt_begin(const char *name)
{
    if (!g_mount_ok) {
        fprintf(stderr, "%s: skipped, mounting is not permitted here (%s)\n", name, g_mount_why);
        return 0;
    }
    if (g_file_mnt[0] != '\0')
        umount2(g_file_mnt, MNT_DETACH);
    g_file_mnt[0] = '\0';
    mnt_set_ro(0);
    snprintf(g_path, sizeof(g_path), "%s/%s.db", g_view, name);
    return 1;
}

/* 1 when view/<db>suffix exists. */
static int
mnt_has(const char *suffix)
{
    char name[300];
    struct stat sb;

    snprintf(name, sizeof(name), "%s%s", g_path, suffix);
    return stat(name, &sb) == 0;
}

/* Copies the file from to the file to (created or replaced). */
static void
copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[8192];
    size_t n;

    ck_assert_msg(in != NULL && out != NULL, "copy %s to %s: %s", from, to, strerror(errno));
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    ck_assert_int_eq(ferror(in), 0);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* Creates the database at g_path with SQLite alone: journal mode jm, table t with n rows,
 * closed cleanly (crash 0), or (crash 1) as a crash leaves it: the files of a database that
 * is still open, with the data in its -wal and the -shm file beside it. */
static void
raw_create(const char *jm, int n, int crash)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char sql[256], tmp[310], from[320], to[320];
    sqlite3 *h = NULL;
    int i;

    snprintf(tmp, sizeof(tmp), "%s.image", g_path);
    snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s; CREATE TABLE t(a TEXT, b TEXT, n BIGINT)",
             jm);
    ck_assert_int_eq(sqlite3_open(crash ? tmp : g_path, &h), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    for (i = 0; i < n; i++)
        ck_assert_int_eq(sqlite3_exec(h, "INSERT INTO t(a) VALUES ('x')", NULL, NULL, NULL),
                         SQLITE_OK);
    for (i = 0; crash && i < 3; i++) {
        snprintf(from, sizeof(from), "%s%s", tmp, suffixes[i]);
        snprintf(to, sizeof(to), "%s%s", g_path, suffixes[i]);
        copy_file(from, to);
    }
    ck_assert_int_eq(sqlite3_close(h), SQLITE_OK);
}

/* Started on a read-only mount after a crash: reads work, writes fail with "read-only",
 * every read-only handle is closed while idle; writable again: writes work at once on the
 * same connections. */
START_TEST(test_ro_mount_recovers)
{
    const struct sq_cfg *c;
    nt_db *a, *b, *m;
    int i;

    if (!mnt_begin("crashed"))
        return;
    raw_create("wal", 3, 1);
    ck_assert(mnt_has("-wal") && mnt_has("-shm"));
    mnt_set_ro(1);
    m = open_db(NULL, NULL); /* the host's own connection: idle after startup */
    c = g_state;
    a = open_db(NULL, NULL);
    b = open_db(NULL, NULL);
    ck_assert_ptr_null(m->db);
    ck_assert_ptr_null(a->db);
    ck_assert_int_eq(query_int(m, "SELECT count(*) FROM t"), 3);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 3);
        ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('ro')"), NT_EUNAVAIL);
        ck_assert_msg(strstr(g_ops->errmsg(b), "database is read-only") != NULL, "%s",
                      g_ops->errmsg(b));
        ck_assert_int_eq(g_ops->begin(a), NT_OK);
        ck_assert_int_eq(run(a, "UPDATE t SET b = 'ro'"), NT_EUNAVAIL);
        ck_assert_int_eq(g_ops->rollback(a), NT_OK);
        ck_assert_int_eq(c->shared->nro, 0);
    }
    ck_assert_ptr_null(a->db);
    ck_assert_ptr_null(b->db);

    mnt_set_ro(0);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('rw')"), 0);
    ck_assert_ptr_nonnull(b->db);
    ck_assert_int_eq(b->ro, 0);
    ck_assert_int_eq(g_ops->begin(a), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('rw')"), 0);
    ck_assert_int_eq(g_ops->commit(a), NT_OK);
    ck_assert_int_eq(run(m, "DELETE FROM t WHERE a = 'x'"), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 2);
    g_ops->conn_close(m);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
    ck_assert_int_eq(c->shared->nro, 0);
}
END_TEST

/* A statement in use on a read-only handle when the mount becomes writable: it keeps
 * working, and its handle is dropped only when it is finalized; then writes work. */
START_TEST(test_ro_mount_statement_in_use)
{
    nt_db *a, *b;
    nt_stmt *held;
    int64_t t0;

    if (!mnt_begin("held"))
        return;
    raw_create("wal", 2, 1);
    mnt_set_ro(1);
    a = open_db(NULL, NULL);
    b = open_db(NULL, NULL);
    held = g_ops->prepare(a, "SELECT a FROM t");
    ck_assert_ptr_nonnull(held);
    ck_assert_int_eq(g_ops->step(held), 1);
    mnt_set_ro(0);
    /* b waits for a's handle (held by this very thread, so in vain), then opens read-only */
    t0 = sq_mono_ms();
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('b')"), NT_EUNAVAIL);
    ck_assert_int_lt(sq_mono_ms() - t0, 1000);
    ck_assert_ptr_null(b->db);
    ck_assert_str_eq(g_ops->col_text(held, 0), "x");
    ck_assert_int_eq(g_ops->step(held), 1);
    ck_assert_int_eq(g_ops->step(held), 0);
    ck_assert_ptr_nonnull(a->db);
    g_ops->finalize(held);
    ck_assert_ptr_null(a->db);
    ck_assert_int_eq(run(b, "INSERT INTO t(a) VALUES ('b')"), 0);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('a')"), 0);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 4);
    g_ops->conn_close(a);
    g_ops->conn_close(b);
}
END_TEST

/* After a clean stop the -wal and -shm files stay, so a read-only mount still opens: reads
 * work, writes fail with "read-only", and writes work again once it is writable. */
START_TEST(test_ro_mount_after_clean_stop)
{
    nt_db *a;

    if (!mnt_begin("clean"))
        return;
    a = open_db(NULL, NULL);
    ck_assert_int_eq(g_ops->exec(a, schema), NT_OK);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('1')"), 0);
    g_ops->conn_close(a);
    ck_assert(mnt_has("-wal") && mnt_has("-shm"));
    mnt_set_ro(1);
    a = open_db(NULL, NULL);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('2')"), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(a), "database is read-only") != NULL, "%s",
                  g_ops->errmsg(a));
    mnt_set_ro(0);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('2')"), 0);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 2);
    g_ops->conn_close(a);
}
END_TEST

/* A WAL database without its -wal and -shm files on a read-only mount cannot be read: the
 * open fails saying exactly that. A missing database fails too, naming the file. */
START_TEST(test_ro_mount_wal_files_missing)
{
    char err[1024] = "";
    nt_db *a;

    if (!mnt_begin("nowal"))
        return;
    raw_create("wal", 1, 0);
    ck_assert(!mnt_has("-wal") && !mnt_has("-shm"));
    mnt_set_ro(1);
    ck_assert_int_eq(plugin_init((const char *const[]){"path", g_path, NULL}), NT_OK);
    ck_assert_ptr_null(g_ops->conn_open(g_state, err, sizeof(err)));
    ck_assert_msg(strstr(err, g_path) != NULL && strstr(err, "WAL mode") != NULL &&
                      strstr(err, "not writable (Read-only file system)") != NULL &&
                      strstr(err, "missing -wal and -shm files cannot be created") != NULL,
                  "err: %s", err);
    nt_plugin_entry()->fini(g_state);
    snprintf(g_path, sizeof(g_path), "%s/absent.db", g_view);
    ck_assert_int_eq(plugin_init((const char *const[]){"path", g_path, NULL}), NT_OK);
    err[0] = '\0';
    ck_assert_ptr_null(g_ops->conn_open(g_state, err, sizeof(err)));
    ck_assert_msg(strstr(err, "absent.db: cannot open the database") != NULL &&
                      strstr(err, "does not exist and its directory") != NULL &&
                      strstr(err, "is not writable (Read-only file system)") != NULL,
                  "err: %s", err);
    nt_plugin_entry()->fini(g_state);
    g_state = NULL;
    g_ops = NULL;

    /* writable: it opens, and from now on the files are kept */
    mnt_set_ro(0);
    snprintf(g_path, sizeof(g_path), "%s/nowal.db", g_view);
    a = open_db(NULL, NULL);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    g_ops->conn_close(a);
    ck_assert(mnt_has("-wal") && mnt_has("-shm"));
    mnt_set_ro(1);
    a = open_db(NULL, NULL);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 1);
    g_ops->conn_close(a);
}
END_TEST

/* A writable file in a read-only directory, in rollback-journal mode: SQLite opens it
 * read-write but cannot switch it to WAL (no -wal can be created), so it is opened
 * read-only: reads work, writes fail with "read-only". */
START_TEST(test_ro_dir_writable_file)
{
    char data_file[300];
    nt_db *a;
    nt_stmt *s;

    if (!mnt_begin("rollback"))
        return;
    raw_create("delete", 2, 0);
    snprintf(data_file, sizeof(data_file), "%s/data/rollback.db", g_mnt);
    mnt_set_ro(1);
    snprintf(g_file_mnt, sizeof(g_file_mnt), "%s", g_path);
    ck_assert_msg(mount(data_file, g_file_mnt, "none", MS_BIND, NULL) == 0, "bind file: %s",
                  strerror(errno));
    ck_assert_int_eq(access(g_path, W_OK), 0);
    a = open_db(NULL, NULL);
    s = g_ops->prepare(a, "PRAGMA journal_mode");
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "delete");
    g_ops->finalize(s);
    ck_assert_int_eq(query_int(a, "SELECT count(*) FROM t"), 2);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('3')"), NT_EUNAVAIL);
    ck_assert_msg(strstr(g_ops->errmsg(a), "read-only") != NULL, "%s", g_ops->errmsg(a));
    ck_assert_ptr_null(a->db);
    /* the directory becomes writable: WAL, and writes */
    ck_assert_int_eq(umount2(g_file_mnt, 0), 0);
    g_file_mnt[0] = '\0';
    mnt_set_ro(0);
    ck_assert_int_eq(run(a, "INSERT INTO t(a) VALUES ('3')"), 0);
    s = g_ops->prepare(a, "PRAGMA journal_mode");
    ck_assert_int_eq(g_ops->step(s), 1);
    ck_assert_str_eq(g_ops->col_text(s, 0), "wal");
    g_ops->finalize(s);
    g_ops->conn_close(a);
}
END_TEST

/* Readers on their own connections and threads, one query after another, while the mount
 * becomes writable: the writer gets its writes back (natively within ~100 ms; without the
 * drain wait of sqlite_handle.c the overlapping read-only handles never let it), and no read
 * fails. */
struct reader {
    pthread_t th;
    nt_db *db;
    atomic_int *stop;
    long reads, failures;
    char first_error[256];
};

/* Reader thread: counts the rows of t until told to stop. */
static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    nt_stmt *s;
    int rc;

    while (!atomic_load(r->stop)) {
        s = g_ops->prepare(r->db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                  "FROM c WHERE x < 5000) SELECT count(*) FROM c, t");
        rc = s != NULL ? g_ops->step(s) : -1;
        if (rc == 1)
            r->reads++;
        else if (r->failures++ == 0)
            snprintf(r->first_error, sizeof(r->first_error), "%s", g_ops->errmsg(r->db));
        g_ops->finalize(s);
    }
    return NULL;
}

START_TEST(test_ro_mount_recovers_under_load)
{
    enum { NREADERS = 6 };
    struct reader rd[NREADERS];
    atomic_int stop = 0;
    nt_db *w;
    int64_t t0, took = -1;
    int i, rc = NT_EUNAVAIL;

    if (!mnt_begin("load"))
        return;
    raw_create("wal", 5, 1);
    mnt_set_ro(1);
    w = open_db(NULL, NULL);
    memset(rd, 0, sizeof(rd));
    for (i = 0; i < NREADERS; i++) {
        rd[i].db = open_db(NULL, NULL);
        rd[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&rd[i].th, NULL, reader_main, &rd[i]), 0);
    }
    usleep(100 * 1000);
    ck_assert_int_eq(run(w, "INSERT INTO t(a) VALUES ('w')"), NT_EUNAVAIL);
    mnt_set_ro(0);
    t0 = sq_mono_ms();
    while (sq_mono_ms() - t0 < 10000) {
        if ((rc = run(w, "INSERT INTO t(a) VALUES ('w')")) == 0) {
            took = sq_mono_ms() - t0;
            break;
        }
        usleep(5 * 1000);
    }
    usleep(100 * 1000);
    atomic_store(&stop, 1);
    for (i = 0; i < NREADERS; i++) {
        ck_assert_int_eq(pthread_join(rd[i].th, NULL), 0);
        ck_assert_msg(rd[i].failures == 0 && rd[i].reads > 0,
                      "reader %d: %ld reads, %ld failures, first: %s", i, rd[i].reads,
                      rd[i].failures, rd[i].first_error);
        g_ops->conn_close(rd[i].db);
    }
    ck_assert_msg(rc == 0, "writes still fail 10 s after the mount became writable: %s",
                  g_ops->errmsg(w));
    fprintf(stderr, "test_ro_mount_recovers_under_load: writes came back after %lld ms\n",
            (long long)took);
    ck_assert_int_eq(query_int(w, "SELECT count(*) FROM t"), 6);
    g_ops->conn_close(w);
    ck_assert_int_eq(((const struct sq_cfg *)g_state)->shared->nro, 0);
}
END_TEST

/* The contract suite's hooks: a connection on the test's database, the ops and state. */
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

static const struct ct_backend ct_sqlite = {ct_open, ct_ops, ct_state};

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
    tcase_add_test(tc, test_bind_missing_index);
    tcase_add_test(tc, test_bind_params);
    tcase_add_test(tc, test_prepare_errors);
    tcase_add_test(tc, test_cache_reuse);
    tcase_add_test(tc, test_two_connections);
    tcase_add_test(tc, test_busy_wait_wakes_soon);
    tcase_add_test(tc, test_group_commit);
    tcase_add_test(tc, test_group_commit_fails);
    tcase_add_test(tc, test_group_connection);
    tcase_add_test(tc, test_group_closed_open);
    tcase_add_test(tc, test_vfs_frame_writes);
    tcase_add_test(tc, test_vfs_wal_recovers);
    tcase_add_test(tc, test_vfs_write_error_fails_commit);
    tcase_add_test(tc, test_vfs_spill_rollback);
    tcase_add_test(tc, test_group_batching);
    tcase_add_test(tc, test_group_turns);
    tcase_add_test(tc, test_checkpoint_bounds_wal);
    tcase_add_test(tc, test_retryable_conflicts);
    tcase_add_test(tc, test_lock_schema);
    tcase_add_test(tc, test_read_only);
    tcase_add_test(tc, test_read_only_drain);
    tcase_add_test(tc, test_fault_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("contract");
    tcase_add_checked_fixture(tc, setup, teardown);
    ct_add_tests(tc, &ct_sqlite);
    suite_add_tcase(s, tc);

    tc = tcase_create("read-only mount");
    tcase_add_unchecked_fixture(tc, mount_setup, mount_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_ro_mount_recovers);
    tcase_add_test(tc, test_ro_mount_statement_in_use);
    tcase_add_test(tc, test_ro_mount_after_clean_stop);
    tcase_add_test(tc, test_ro_mount_wal_files_missing);
    tcase_add_test(tc, test_ro_dir_writable_file);
    tcase_add_test(tc, test_ro_mount_recovers_under_load);
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

/* The fake host's storage: an in-memory SQLite database behind the db_* members, with the
 * semantics of store_sqlite and the store contract of services.h ($n bound by name, the same
 * error mapping, the last error kept on the connection, a failed statement ends its
 * transaction) and bookkeeping of live statements and failed prepares. The database lives
 * in SQLite's "memdb" VFS under a name of its own, so db_open can give a plugin a second
 * connection to it.
 */
#include "fakehost_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FH_BUSY_MS 5000 /* how long a connection waits for another's write lock */

struct nt_stmt {
    struct nt_db *db;
    sqlite3_stmt *st;
    int64_t changes;
    int inject; /* fh_fail_next: the NT_E* its first step fails with, or NT_OK */
};

/* The NT_E* code of an extended SQLite result code, as store_sqlite's table maps them
 * (plugins/store_sqlite/sqlite_error.c; store contract C5). */
static int
fh_sq_code(int ext)
{
    switch (ext & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return NT_OK;
    case SQLITE_CONSTRAINT:
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return NT_ECONFLICT;
        return NT_EINVAL;
    case SQLITE_RANGE:
        return NT_EINVAL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return NT_ERETRY;
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return NT_EUNAVAIL;
    case SQLITE_NOMEM:
        return NT_ENOMEM;
    default:
        return NT_ERR;
    }
}

/* Records a failure of `op` on db: code and message. Returns the NT_E* code. */
static int
fh_db_fail(struct nt_db *db, int code, const char *op, const char *detail)
{
    db->errcode = code;
    snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", op, detail);
    return code;
}

/* Records the connection's current SQLite error for `op`. */
static int
fh_db_fail_sq(struct nt_db *db, const char *op)
{
    int code = fh_sq_code(sqlite3_extended_errcode(db->sq));

    return fh_db_fail(db, code != NT_OK ? code : NT_ERR, op, sqlite3_errmsg(db->sq));
}

/* Store contract C6: a statement that failed with `code` inside a transaction rolls it
 * back; statements and commit are then refused with that code until rollback. */
static int
fh_db_failed(struct nt_db *db, int code)
{
    if (!db->txn)
        return code;
    if (!sqlite3_get_autocommit(db->sq))
        sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
    db->txn = 0;
    db->aborted = code;
    return code;
}

/* The code of the error that ended the transaction (the call is refused), or NT_OK. */
static int
fh_db_refused(struct nt_db *db)
{
    if (db->aborted == NT_OK)
        return NT_OK;
    db->errcode = db->aborted;
    return db->aborted;
}

int
fh_db_open(struct nt_db *db, fh_host *h)
{
    static atomic_uint serial;
    char uri[64];

    memset(db, 0, sizeof(*db));
    db->host = h;
    if (h->dbname[0] == '\0')
        snprintf(h->dbname, sizeof(h->dbname), "/fakehost-%d-%u", (int)getpid(),
                 atomic_fetch_add(&serial, 1));
    snprintf(uri, sizeof(uri), "file:%s?vfs=memdb", h->dbname);
    if (sqlite3_open_v2(uri, &db->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db->sq, FH_BUSY_MS) != SQLITE_OK ||
        sqlite3_exec(db->sq, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db->sq);
        db->sq = NULL;
        return NT_ERR;
    }
    sqlite3_extended_result_codes(db->sq, 1);
    return NT_OK;
}

void
fh_db_close(struct nt_db *db)
{
    sqlite3_close_v2(db->sq);
    db->sq = NULL;
    free(db->fail_part);
    db->fail_part = NULL;
    free(db->next_part);
    db->next_part = NULL;
}

/* fh_fail_next: the code `sql` is due to fail with (one failure used up), or NT_OK. */
static int
fh_db_due(struct nt_db *db, const char *sql)
{
    struct nt_db *hdb = &db->host->db; /* the setting lives on the host's connection */

    if (hdb->next_times <= 0 || hdb->next_part == NULL || strstr(sql, hdb->next_part) == NULL)
        return NT_OK;
    hdb->next_times--;
    return hdb->next_code;
}

/* Records an injected failure of `op` (ending an open transaction) and returns its code. */
static int
fh_db_injected(struct nt_db *db, int code, const char *op)
{
    return fh_db_failed(db, fh_db_fail(db, code, op, "failure injected by the test"));
}

void
fh_db_clear_error(struct nt_db *db)
{
    db->errcode = NT_OK;
    db->errmsg[0] = '\0';
    db->aborted = NT_OK;
}

static nt_stmt *
fh_api_db_prepare(nt_db *db, const char *sql)
{
    nt_stmt *s;

    if (db == NULL || sql == NULL || fh_db_refused(db) != NT_OK)
        return NULL;
    if (db->fail_part != NULL && strstr(sql, db->fail_part) != NULL) {
        fh_db_failed(db, fh_db_fail(db, NT_ERR, "prepare", "failure injected by the test"));
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        fh_db_fail(db, NT_ENOMEM, "prepare", "out of memory");
        return NULL;
    }
    if (sqlite3_prepare_v2(db->sq, sql, -1, &s->st, NULL) != SQLITE_OK || s->st == NULL) {
        fh_db_failed(db, fh_db_fail_sq(db, "prepare"));
        fh_logf(db->host, "ERROR", "fakehost: prepare failed: %s: %s", db->errmsg, sql);
        db->bad_sql++;
        sqlite3_finalize(s->st);
        free(s);
        return NULL;
    }
    s->db = db;
    s->inject = fh_db_due(db, sql); /* a statement fails when it runs */
    db->live++;
    return s;
}

/* The SQLite index of $i in s; 0 (error recorded) when the statement has none. */
static int
fh_param(nt_stmt *s, int i)
{
    char name[16], detail[64];
    int idx = 0;

    if (i >= 1) {
        snprintf(name, sizeof(name), "$%d", i);
        idx = sqlite3_bind_parameter_index(s->st, name);
    }
    if (idx == 0) {
        snprintf(detail, sizeof(detail), "$%d is not in the statement", i);
        fh_db_fail(s->db, NT_EINVAL, "bind", detail);
    }
    return idx;
}

/* Maps the result of an sqlite3_bind_* call. */
static int
fh_bound(nt_stmt *s, int rc)
{
    return rc == SQLITE_OK ? NT_OK : fh_db_fail_sq(s->db, "bind");
}

static int
fh_api_db_bind_text(nt_stmt *s, int i, const char *v)
{
    int idx;

    if (s == NULL)
        return NT_EINVAL;
    if ((idx = fh_param(s, i)) == 0)
        return NT_EINVAL;
    if (v == NULL)
        return fh_bound(s, sqlite3_bind_null(s->st, idx));
    return fh_bound(s, sqlite3_bind_text(s->st, idx, v, -1, SQLITE_TRANSIENT));
}

static int
fh_api_db_bind_int64(nt_stmt *s, int i, int64_t v)
{
    int idx;

    if (s == NULL)
        return NT_EINVAL;
    if ((idx = fh_param(s, i)) == 0)
        return NT_EINVAL;
    return fh_bound(s, sqlite3_bind_int64(s->st, idx, (sqlite3_int64)v));
}

static int
fh_api_db_bind_null(nt_stmt *s, int i)
{
    int idx;

    if (s == NULL)
        return NT_EINVAL;
    if ((idx = fh_param(s, i)) == 0)
        return NT_EINVAL;
    return fh_bound(s, sqlite3_bind_null(s->st, idx));
}

static int
fh_api_db_step(nt_stmt *s)
{
    int rc;

    if (s == NULL)
        return NT_EINVAL;
    if ((rc = fh_db_refused(s->db)) != NT_OK)
        return rc;
    if (s->inject != NT_OK) {
        rc = s->inject;
        s->inject = NT_OK;
        return fh_db_injected(s->db, rc, "step");
    }
    rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        s->changes = sqlite3_changes(s->db->sq);
        return 0;
    }
    return fh_db_failed(s->db, fh_db_fail_sq(s->db, "step"));
}

static const char *
fh_api_db_col_text(nt_stmt *s, int col)
{
    if (s == NULL || sqlite3_column_type(s->st, col) == SQLITE_NULL)
        return NULL;
    return (const char *)sqlite3_column_text(s->st, col);
}

static int64_t
fh_api_db_col_int64(nt_stmt *s, int col)
{
    return s != NULL ? (int64_t)sqlite3_column_int64(s->st, col) : 0;
}

static int
fh_api_db_col_is_null(nt_stmt *s, int col)
{
    return s == NULL || sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

static int64_t
fh_api_db_changes(nt_stmt *s)
{
    return s != NULL ? s->changes : 0;
}

static void
fh_api_db_finalize(nt_stmt *s)
{
    if (s == NULL)
        return;
    sqlite3_finalize(s->st);
    s->db->live--;
    free(s);
}

/* Runs sql; a failure is recorded (and ends an open transaction, C6). */
static int
fh_db_run(nt_db *db, const char *sql, const char *op)
{
    if (sqlite3_exec(db->sq, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fh_db_failed(db, fh_db_fail_sq(db, op));
    return NT_OK;
}

static int
fh_api_db_exec(nt_db *db, const char *sql)
{
    int rc;

    if (db == NULL || sql == NULL)
        return NT_EINVAL;
    if ((rc = fh_db_refused(db)) != NT_OK)
        return rc;
    return fh_db_run(db, sql, "exec");
}

static int
fh_api_db_begin(nt_db *db)
{
    int rc;

    if (db == NULL)
        return NT_EINVAL;
    if ((rc = fh_db_refused(db)) != NT_OK)
        return rc;
    if ((rc = fh_db_due(db, "BEGIN IMMEDIATE")) != NT_OK)
        return fh_db_injected(db, rc, "begin");
    if ((rc = fh_db_run(db, "BEGIN IMMEDIATE", "begin")) == NT_OK)
        db->txn = 1;
    return rc;
}

/* Commits; a transaction an error ended answers that error and is over (C6). */
static int
fh_api_db_commit(nt_db *db)
{
    int rc;

    if (db == NULL)
        return NT_EINVAL;
    if ((rc = fh_db_refused(db)) != NT_OK) {
        db->aborted = NT_OK;
        return rc;
    }
    if ((rc = fh_db_due(db, "COMMIT")) != NT_OK) {
        fh_db_injected(db, rc, "commit");
        db->aborted = NT_OK; /* the failed commit rolled it back: it is over */
        return rc;
    }
    db->txn = 0;
    rc = fh_db_run(db, "COMMIT", "commit");
    if (rc != NT_OK && !sqlite3_get_autocommit(db->sq))
        sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int
fh_api_db_rollback(nt_db *db)
{
    if (db == NULL)
        return NT_OK;
    db->txn = 0;
    db->aborted = NT_OK;
    if (sqlite3_get_autocommit(db->sq))
        return NT_OK;
    return fh_db_run(db, "ROLLBACK", "rollback");
}

/* db_open (ABI 1.2): a second connection to the host's database for a plugin's own thread,
 * from start on; the plugin closes it with db_close before its stop returns (fh_close closes
 * and names every one left open). */
static nt_db *
fh_api_db_open(nt_plugin *p, char *err, size_t errlen)
{
    struct nt_db *db;
    fh_host *h;

    if (p == NULL || p->in_init || !p->inited) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "db_open: storage is not open yet (call it from start on)");
        return NULL;
    }
    h = p->host;
    if ((db = malloc(sizeof(*db))) == NULL || fh_db_open(db, h) != NT_OK) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "db_open: cannot open a connection to the fake database");
        free(db);
        return NULL;
    }
    db->owner = p;
    pthread_mutex_lock(&h->open_mu);
    db->next_open = h->opened;
    h->opened = db;
    pthread_mutex_unlock(&h->open_mu);
    return db;
}

/* Unlinks db from h's list; 1 when it was there. With open_mu held. */
static int
fh_db_unlink(fh_host *h, const struct nt_db *db)
{
    for (struct nt_db **pp = &h->opened; *pp != NULL; pp = &(*pp)->next_open) {
        if (*pp == db) {
            *pp = db->next_open;
            return 1;
        }
    }
    return 0;
}

/* Closes a connection of db_open. NULL, the host's own connection and one already closed
 * (by fh_close) are ignored. */
static void
fh_api_db_close(nt_db *db)
{
    fh_host *h = fh_current;
    int mine;

    if (db == NULL || h == NULL || db == &h->db)
        return;
    pthread_mutex_lock(&h->open_mu);
    mine = fh_db_unlink(h, db);
    pthread_mutex_unlock(&h->open_mu);
    if (!mine)
        return;
    fh_db_close(db);
    free(db);
}

int
fh_db_close_left(fh_host *h, fh_plugin *p)
{
    struct nt_db *left = NULL, *db, *next;
    int n = 0;

    pthread_mutex_lock(&h->open_mu);
    for (db = h->opened; db != NULL; db = next) {
        next = db->next_open;
        if (p == NULL || db->owner == p) {
            fh_db_unlink(h, db);
            db->next_open = left;
            left = db;
        }
    }
    pthread_mutex_unlock(&h->open_mu);
    for (db = left; db != NULL; db = next) {
        next = db->next_open;
        fh_db_close(db);
        free(db);
        n++;
    }
    return n;
}

static const char *
fh_api_db_errmsg(nt_db *db)
{
    if (db == NULL)
        return "no storage connection";
    return db->errcode != NT_OK ? db->errmsg : "no error";
}

/* The fake store is SQLite. */
static const char *
fh_api_db_dialect(void)
{
    return "sqlite";
}

void
fh_db_fill_api(nt_host_api *api)
{
    api->db_prepare = fh_api_db_prepare;
    api->db_bind_text = fh_api_db_bind_text;
    api->db_bind_int64 = fh_api_db_bind_int64;
    api->db_bind_null = fh_api_db_bind_null;
    api->db_step = fh_api_db_step;
    api->db_col_text = fh_api_db_col_text;
    api->db_col_int64 = fh_api_db_col_int64;
    api->db_col_is_null = fh_api_db_col_is_null;
    api->db_changes = fh_api_db_changes;
    api->db_finalize = fh_api_db_finalize;
    api->db_exec = fh_api_db_exec;
    api->db_begin = fh_api_db_begin;
    api->db_commit = fh_api_db_commit;
    api->db_rollback = fh_api_db_rollback;
    api->db_errmsg = fh_api_db_errmsg;
    api->db_open = fh_api_db_open;
    api->db_close = fh_api_db_close;
    api->db_begin_claim = fh_api_db_begin; /* as store_sqlite: the write lock serializes */
    api->db_dialect = fh_api_db_dialect;
}

/* store_sqlite connections: opening (parent directory, then the handle: sqlite_handle.c),
 * closing, scripts and transactions. One connection per thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sqlite_int.h"

/* Creates the missing directories above the file `path` (mode 0700). NT_OK or NT_ERR with a
 * message in err. */
static int
sq_mkdir_parent(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path), *slash, *p, c;
    struct stat sb;
    int rc = NT_ERR, e;

    if (dir == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
        rc = NT_OK;
        goto out;
    }
    *slash = '\0';
    for (p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && (e = errno) != EEXIST &&
            (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
            snprintf(err, errlen, "cannot create the directory '%s' of the database: %s", dir,
                     strerror(e));
            goto out;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    rc = NT_OK;
out:
    free(dir);
    return rc;
}

/* Opens a connection for one thread on the configured database (state is the plugin's
 * struct sq_cfg). NULL on failure with a message in err. Close it with sq_conn_close. A
 * database that can only be read opens read-only (reads work, writes answer 503); its
 * handle is then closed while the connection is idle (sqlite_handle.c). */
nt_db *
sq_conn_open(void *state, char *err, size_t errlen)
{
    const struct sq_cfg *c = state;
    nt_db *db = calloc(1, sizeof(*db));

    if (db == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    db->cfg = c;
    if (sq_mkdir_parent(c->path, err, errlen) != NT_OK)
        goto fail;
    if (sq_handle_open(db, err, errlen) != SQLITE_OK)
        goto fail;
    c->api->log(c->plugin, NT_LOG_DEBUG, "opened %s (WAL, synchronous=%s%s)", c->path,
                c->synchronous, db->ro ? ", read-only" : "");
    sq_idle(db);
    return db;
fail:
    sq_conn_close(db);
    return NULL;
}

/* Finalizes every statement of db (also those still in use) and closes it; a group it left
 * open is rolled back. NULL is fine. */
void
sq_conn_close(nt_db *db)
{
    if (db == NULL)
        return;
    sq_group_abandon(db);
    sq_handle_close(db);
    free(db);
}

/* Store contract C6: after a statement failed inside a transaction (write or read), the
 * transaction is rolled back at once and the connection refuses statements, begin and commit
 * with the same code until rollback, end_read or clear_error, as PostgreSQL does with an
 * aborted transaction. (SQLite alone would undo just the failed statement and let the rest
 * commit.) Outside a transaction nothing is left to end. */
int
sq_stmt_failed(nt_db *db, int code)
{
    if (db != NULL && db->group) { /* only the request's savepoint ends (sqlite_group.c) */
        if (db->group_sp) {
            sq_group_undo(db);
            db->aborted_read = 0;
            db->aborted = code;
        }
        sq_group_check_lost(db, code);
        return code;
    }
    if (db == NULL || (!db->write_txn && !db->read_txn))
        return code;
    if (db->db != NULL && !sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    db->aborted_read = db->read_txn;
    db->write_txn = 0;
    db->read_txn = 0;
    db->aborted = code;
    return code;
}

int
sq_refused(nt_db *db)
{
    if (db == NULL || db->aborted == NT_OK)
        return NT_OK;
    db->errcode = db->aborted;
    return db->aborted;
}

/* Runs a script of statements without parameters; rows are ignored. */
int
sq_exec(nt_db *db, const char *sql)
{
    char *msg = NULL;
    int rc;

    db = sq_at(db);
    if (db == NULL || sql == NULL)
        return sq_fail(db, SQLITE_MISUSE, "exec", "no connection or no SQL text");
    if ((rc = sq_refused(db)) != NT_OK)
        return rc;
    if ((rc = sq_use(db)) != NT_OK)
        return rc;
    if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
        rc = sq_fail(db, sqlite3_extended_errcode(db->db), "exec",
                     msg != NULL ? msg : sqlite3_errmsg(db->db));
        if ((sqlite3_extended_errcode(db->db) & 0xff) == SQLITE_READONLY)
            sq_mark_ro(db);
        sq_stmt_failed(db, rc);
    } else {
        rc = NT_OK;
    }
    sqlite3_free(msg);
    sq_idle(db);
    return rc;
}

/* Opens a read transaction for a request that only reads (one snapshot, one shared lock
 * for all its queries). NT_OK also when a transaction is already open. */
int
sq_begin_read(nt_db *db)
{
    int rc;

    db = sq_at(db);
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "begin_read", NULL);
    if ((rc = sq_refused(db)) != NT_OK)
        return rc;
    if ((rc = sq_use(db)) != NT_OK)
        return rc;
    if (!sqlite3_get_autocommit(db->db))
        return NT_OK;
    if (sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sq_fail_db(db, "begin_read");
        sq_idle(db);
        return rc;
    }
    db->read_txn = 1;
    return NT_OK;
}

/* Ends the read transaction of sq_begin_read, if one is open; also one an error ended
 * (a read transaction has nothing to lose: NT_OK). */
int
sq_end_read(nt_db *db)
{
    int rc = NT_OK;

    db = sq_at(db);
    if (db != NULL && db->aborted != NT_OK && db->aborted_read)
        db->aborted = NT_OK;
    if (db == NULL || !db->read_txn)
        return NT_OK;
    db->read_txn = 0;
    if (db->db != NULL && !sqlite3_get_autocommit(db->db) &&
        sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sq_fail_db(db, "end_read");
        if (!sqlite3_get_autocommit(db->db))
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sq_idle(db);
    return rc;
}

/* Starts a write transaction: takes the write lock now (waiting up to busy_timeout_ms), so
 * the transaction cannot fail later on a lock upgrade, and is serializable (store contract
 * C3): no other connection, in any process, writes until it ends. A read transaction of
 * begin_read is ended first (SQLite cannot upgrade it safely). The lock not had within the
 * timeout is NT_ERETRY. */
int
sq_begin(nt_db *db)
{
    int rc;

    db = sq_at(db);
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "begin", NULL);
    if ((rc = sq_end_read(db)) != NT_OK)
        return rc;
    if ((rc = sq_refused(db)) != NT_OK)
        return rc;
    if ((rc = sq_use(db)) != NT_OK)
        return rc;
    if (db->group)
        return sq_group_begin(db);
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sq_fail_db(db, "begin");
        sq_idle(db);
        return rc;
    }
    db->write_txn = 1;
    return NT_OK;
}

/* Commits. When the commit fails the transaction is rolled back, so the connection is
 * never left inside a transaction. A transaction an error ended answers that error (it is
 * gone: nothing was committed) and is over. */
int
sq_commit(nt_db *db)
{
    int rc;

    db = sq_at(db);
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "commit", NULL);
    if ((rc = sq_refused(db)) != NT_OK) {
        db->aborted = NT_OK;
        return rc;
    }
    if (db->group)
        return sq_group_release(db);
    db->write_txn = 0;
    if (db->db == NULL) /* closed while idle: no transaction */
        return sq_fail(db, SQLITE_ERROR, "commit", "no transaction is active");
    rc = NT_OK;
    if (sq_fault(db) == SQ_FAULT_COMMIT && !sqlite3_get_autocommit(db->db)) {
        rc = sq_fail(db, SQLITE_FULL, "commit", "injected by fault_file");
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    } else if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sq_fail_db(db, "commit");
        if (!sqlite3_get_autocommit(db->db))
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sq_idle(db);
    return rc;
}

/* Rolls back the open transaction; NT_OK also when there is none, or when an error already
 * ended it. */
int
sq_rollback(nt_db *db)
{
    int rc = NT_OK;

    db = sq_at(db);
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "rollback", NULL);
    db->read_txn = 0;
    db->aborted = NT_OK;
    if (db->group) { /* the request's savepoint only; the group stays open */
        sq_group_undo(db);
        return NT_OK;
    }
    db->write_txn = 0;
    if (db->db == NULL)
        return NT_OK;
    if (!sqlite3_get_autocommit(db->db) &&
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        rc = sq_fail_db(db, "rollback");
    sq_idle(db);
    return rc;
}

/* Store contract C8: the schema lock inside the open write transaction. SQLite's write
 * transaction (BEGIN IMMEDIATE) already holds the database's write lock, which excludes every
 * other writer in every process until it ends, so there is nothing more to take; NT_ERR when
 * no write transaction is open. */
int
sq_lock_schema(nt_db *db)
{
    int rc;

    db = sq_at(db);
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "lock_schema", NULL);
    if ((rc = sq_refused(db)) != NT_OK)
        return rc;
    if (!db->write_txn || db->db == NULL || sqlite3_get_autocommit(db->db))
        return sq_fail(db, SQLITE_MISUSE, "lock_schema", "needs an open write transaction (begin)");
    return NT_OK;
}

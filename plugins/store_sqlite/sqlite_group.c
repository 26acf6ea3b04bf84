/* store_sqlite group commit (store group_open, group_close, group_pending). In a group, the
 * first begin() takes the write lock with one BEGIN IMMEDIATE that stays open across the
 * requests of a worker; each begin() .. commit() of a request is a savepoint inside it
 * (SAVEPOINT / RELEASE), a failed statement or rollback() undoes just that savepoint
 * (ROLLBACK TO), and group_close commits them all with one COMMIT: one WAL append and one
 * lock round for many requests instead of one each, and a page cache that stays valid
 * between them (another connection's commit empties it).
 *
 * The groups of one process (and its checkpoint thread, for the WAL restarts) take turns
 * for the write lock in the order they asked (a mutex and condition variable, so the next
 * group starts the moment the last one committed), and only then wait for SQLite's lock
 * (other processes, and this process's writers outside groups). Waiting in SQLite's busy handler
 * instead, a worker looked again every 250 us, and sometimes lost the lock to the worker that had
 * just let it go.
 *
 * The turn is taken when the group opens, and every group of the process runs on one
 * connection, the group connection (sq_shared.writer): from group_open to group_close the
 * worker's connection hands every call to it (sq_at). A connection's page cache is emptied
 * whenever another connection has committed, so with one connection per worker each group
 * first read again every page it needed (about five reads per booking under load); the group
 * connection only ever sees its own commits and keeps its cache.
 *
 * When an error makes SQLite roll back the whole transaction (disk full, I/O error, out of
 * memory), the group is lost: every later begin() fails with that error and group_close
 * reports it, so the host answers every request of the group with an error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sqlite_int.h"

#define SQ_SAVEPOINT "nt_req"

/* Opens the group connection of c (under the turn). NULL with a message in err. */
static nt_db *
sq_group_writer(const struct sq_cfg *c, char *err, size_t errlen)
{
    struct sq_shared *sh = c->shared;

    if (sh->writer == NULL)
        sh->writer = sq_conn_open((void *)c, err, errlen);
    return sh->writer;
}

int
sq_group_open(nt_db *db)
{
    char err[SQ_ERRLEN];
    nt_db *w;
    int rc;

    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "group_open", NULL);
    if (db->fwd != NULL || db->write_txn || db->group_sp)
        return sq_fail(db, SQLITE_MISUSE, "group_open", "a write transaction is open");
    if ((rc = sq_end_read(db)) != NT_OK)
        return rc;
    if (sq_turn_take(db->cfg) != NT_OK)
        return sq_fail(db, SQLITE_BUSY, "group_open",
                       "other requests of this process held the database's write lock for "
                       "busy_timeout_ms");
    if ((w = sq_group_writer(db->cfg, err, sizeof(err))) == NULL) {
        sq_turn_give(db->cfg);
        return sq_fail(db, SQLITE_CANTOPEN, "group_open", err);
    }
    sq_clear_error(w);
    w->group = 1;
    db->fwd = w;
    return NT_OK;
}

/* Records that the group's transaction is gone when SQLite ended it after an error (code):
 * the connection is in autocommit mode while the group thought it open. */
void
sq_group_check_lost(nt_db *db, int code)
{
    if (db == NULL || !db->group_txn || db->db == NULL || !sqlite3_get_autocommit(db->db))
        return;
    db->group_txn = 0;
    db->group_sp = 0;
    db->group_lost = code != NT_OK ? code : NT_EUNAVAIL;
}

struct sq_turn_waiter {
    struct sq_turn_waiter *next;
    int granted;
};

/* Waits (up to busy_timeout_ms) for the process's write turn (groups and the checkpoint
 * thread take it). NT_OK, or NT_ERETRY when the wait timed out. */
int
sq_turn_take(const struct sq_cfg *c)
{
    struct sq_shared *sh = c->shared;
    struct sq_turn_waiter me = {NULL, 0}, **pp;
    struct timespec until;
    int rc = NT_OK;

    sq_deadline(c->busy_timeout_ms, &until);
    pthread_mutex_lock(&sh->mu);
    if (!sh->turn_held) {
        sh->turn_held = 1;
        goto out;
    }
    if (sh->turn_tail != NULL)
        sh->turn_tail->next = &me;
    else
        sh->turn_head = &me;
    sh->turn_tail = &me;
    while (!me.granted) {
        if (pthread_cond_timedwait(&sh->turn_cv, &sh->mu, &until) == ETIMEDOUT && !me.granted) {
            for (pp = &sh->turn_head; *pp != &me; pp = &(*pp)->next)
                ;
            *pp = me.next;
            if (sh->turn_tail == &me) {
                sh->turn_tail = NULL;
                for (struct sq_turn_waiter *w = sh->turn_head; w != NULL; w = w->next)
                    sh->turn_tail = w;
            }
            rc = NT_ERETRY;
            break;
        }
    }
out:
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Hands the process's write turn to the first waiter, if any (else frees it). */
void
sq_turn_give(const struct sq_cfg *c)
{
    struct sq_shared *sh = c->shared;

    pthread_mutex_lock(&sh->mu);
    if (sh->turn_head != NULL) {
        struct sq_turn_waiter *w = sh->turn_head;
        sh->turn_head = w->next;
        if (sh->turn_head == NULL)
            sh->turn_tail = NULL;
        w->granted = 1;
        pthread_cond_broadcast(&sh->turn_cv);
    } else {
        sh->turn_held = 0;
    }
    pthread_mutex_unlock(&sh->mu);
}

/* The statements of a group, compiled once per handle: each request runs a SAVEPOINT and a
 * RELEASE, and parsing them again every time cost more than running them. */
static const char *const sq_group_sql[SQ_GROUP_STMTS] = {
    "BEGIN IMMEDIATE", "SAVEPOINT " SQ_SAVEPOINT, "RELEASE " SQ_SAVEPOINT,
    "ROLLBACK TO " SQ_SAVEPOINT, "COMMIT"};

/* Runs group statement `which` on db's handle: SQLITE_OK or SQLite's error code (its message
 * stays on the handle, as after sqlite3_exec). */
static int
sq_group_run(nt_db *db, int which)
{
    sqlite3_stmt **st = &db->group_stmt[which];
    int rc;

    if (*st == NULL && (rc = sqlite3_prepare_v3(db->db, sq_group_sql[which], -1,
                                                SQLITE_PREPARE_PERSISTENT, st, NULL)) != SQLITE_OK)
        return rc;
    rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void
sq_group_stmts_free(nt_db *db)
{
    for (int i = 0; i < SQ_GROUP_STMTS; i++) {
        sqlite3_finalize(db->group_stmt[i]);
        db->group_stmt[i] = NULL;
    }
}

/* Before the group connection's first transaction on a handle: stops its cache from spilling
 * (a group's dirty pages then stay in memory until its commit; the host commits a group after
 * at most 64 replies, of routes that write a few rows each), then has its WAL file collect each
 * commit's frames (sqlite_vfs.c says why the one needs the other). Until both are done, frames
 * are written one at a time. */
static void
sq_group_batching(nt_db *db)
{
    if (db->batching || db->db == NULL)
        return;
    if (sqlite3_exec(db->db, "PRAGMA cache_spill=OFF", NULL, NULL, NULL) != SQLITE_OK)
        return;
    db->batching = sq_vfs_batch_wal(db->db);
}

/* begin() inside a group: opens the group's transaction if needed, then a savepoint. */
int
sq_group_begin(nt_db *db)
{
    int rc;

    if (db->group_lost != NT_OK)
        return sq_fail(db, SQLITE_IOERR, "begin",
                       "an earlier error rolled back the group of writes this one would join");
    if (!db->group_txn) { /* the turn is the group's since group_open */
        sq_group_batching(db);
        if (sq_group_run(db, SQ_GROUP_BEGIN) != SQLITE_OK) {
            rc = sq_fail_db(db, "begin");
            sq_idle(db);
            return rc;
        }
        db->group_txn = 1;
    }
    if (sq_group_run(db, SQ_GROUP_SAVEPOINT) != SQLITE_OK) {
        rc = sq_fail_db(db, "begin");
        sq_group_check_lost(db, rc);
        return rc;
    }
    db->group_sp = 1;
    db->write_txn = 1;
    return NT_OK;
}

/* Undoes the open savepoint (nothing of the request remains) and closes it. */
void
sq_group_undo(nt_db *db)
{
    if (db->group_sp && db->db != NULL && !sqlite3_get_autocommit(db->db)) {
        sq_group_run(db, SQ_GROUP_ROLLBACK_TO);
        sq_group_run(db, SQ_GROUP_RELEASE);
    }
    db->group_sp = 0;
    db->write_txn = 0;
    sq_group_check_lost(db, NT_EUNAVAIL);
}

/* commit() inside a group: releases the savepoint; its writes now wait for group_close. */
int
sq_group_release(nt_db *db)
{
    int rc;

    if (!db->group_sp)
        return sq_fail(db, SQLITE_ERROR, "commit", "no transaction is active");
    if (sq_group_run(db, SQ_GROUP_RELEASE) != SQLITE_OK) {
        rc = sq_fail_db(db, "commit");
        sq_group_undo(db);
        return rc;
    }
    db->group_sp = 0;
    db->write_txn = 0;
    return NT_OK;
}

/* Commits the group's transaction on the group connection w, if it has one (sq_group_end
 * then resets w). NT_OK or the code of the failure (recorded on w). */
static int
sq_group_commit(nt_db *w)
{
    int rc = NT_OK;

    if (w->group_sp) /* a request left its savepoint open: it does not commit */
        sq_group_undo(w);
    if (w->group_txn && w->db != NULL && !sqlite3_get_autocommit(w->db)) {
        if (sq_fault(w) == SQ_FAULT_COMMIT) {
            rc = sq_fail(w, SQLITE_FULL, "group_close", "injected by fault_file");
            sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
        } else if (sq_group_run(w, SQ_GROUP_COMMIT) != SQLITE_OK) {
            rc = sq_fail_db(w, "group_close");
            if (!sqlite3_get_autocommit(w->db))
                sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
        }
    } else if (w->group_txn) {
        rc = sq_fail(w, SQLITE_IOERR, "group_close", "the group's transaction was lost");
    }
    if (rc == NT_OK && w->group_lost != NT_OK)
        rc =
            sq_fail(w, SQLITE_IOERR, "group_close", "an error rolled back the group's transaction");
    return rc;
}

/* Ends db's group: resets the group connection, gives its errors to db when rc failed, and
 * hands the turn on (last: from then on another thread may use the group connection). */
static void
sq_group_end(nt_db *db, int rc)
{
    nt_db *w = db->fwd;

    if (rc != NT_OK) {
        db->errcode = w->errcode;
        memcpy(db->errmsg, w->errmsg, sizeof(db->errmsg));
    }
    w->group = 0;
    w->group_txn = 0;
    w->group_sp = 0;
    w->group_lost = NT_OK;
    w->write_txn = 0;
    w->read_txn = 0;
    sq_clear_error(w);
    sq_idle(w);
    db->fwd = NULL;
    sq_turn_give(db->cfg);
}

int
sq_group_close(nt_db *db)
{
    int rc;

    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "group_close", NULL);
    if (db->fwd == NULL)
        return NT_OK; /* no group is open */
    rc = sq_group_commit(db->fwd);
    sq_group_end(db, rc);
    return rc;
}

/* Rolls db's open group back and ends it (a connection closed with its group open: none of
 * its replies were sent). NULL, or no group, is fine. */
void
sq_group_abandon(nt_db *db)
{
    nt_db *w;

    if (db == NULL || (w = db->fwd) == NULL)
        return;
    if (w->db != NULL && !sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    sq_group_end(db, NT_OK);
}

/* Closes the group connection of c (the plugin ends: every worker connection is closed). */
void
sq_group_writer_close(struct sq_cfg *c)
{
    if (c == NULL || c->shared == NULL)
        return;
    sq_conn_close(c->shared->writer);
    c->shared->writer = NULL;
}

int
sq_group_pending(nt_db *db)
{
    db = sq_at(db);
    return db != NULL && (db->group_txn || db->group_lost != NT_OK);
}

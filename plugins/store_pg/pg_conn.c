/* store_pg connections: the server session of a connection (opened at conn_open, opened
 * again lazily after it was lost, with a backoff while the database stays unreachable),
 * scripts and transactions. One connection per thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_int.h"

/* The monotonic clock in milliseconds. */
int64_t
pg_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ignores the server's notices (they would go to stderr). */
static void
pg_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Opens a server session on db->conn with the session settings: serializable transactions
 * (also for a statement outside a transaction, C3), the statement and lock timeouts, UTC,
 * and index scans wherever an index fits: a sequential scan makes a serializable
 * transaction lock the whole table as read (SSI predicate lock), so two concurrent writes
 * to a small table would always fail one with a serialization failure; an index scan locks
 * only the pages it read.
 * NT_OK, or NT_EUNAVAIL with libpq's message in err (it never holds the password). */
static int
pg_session(nt_db *db, char *err, size_t errlen)
{
    const struct pg_cfg *c = db->cfg;
    char timeout[24], setup[256];
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
    const char *vals[] = {c->conninfo, timeout, "nettu", NULL};
    PGresult *res;
    size_t len;

    snprintf(timeout, sizeof(timeout), "%lld", c->connect_timeout_s);
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL) {
        snprintf(err, errlen, "out of memory");
        return NT_ENOMEM;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(db->conn));
        goto fail;
    }
    PQsetNoticeProcessor(db->conn, pg_notice, NULL);
    snprintf(setup, sizeof(setup),
             "SET default_transaction_isolation = 'serializable'; SET statement_timeout = %lld; "
             "SET lock_timeout = %lld; SET TimeZone = 'UTC'; SET client_encoding = 'UTF8'; "
             "SET enable_seqscan = off",
             c->statement_timeout_ms, c->lock_timeout_ms);
    res = PQexec(db->conn, setup);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "cannot set up the PostgreSQL session: %s", PQerrorMessage(db->conn));
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    db->gen++;
    return NT_OK;
fail:
    len = strlen(err);
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
        err[--len] = '\0';
    PQfinish(db->conn);
    db->conn = NULL;
    return NT_EUNAVAIL;
}

/* Opens a connection for one thread (state is the plugin's struct pg_cfg) with its server
 * session. NULL on failure with a message in err. Close it with pg_conn_close. */
nt_db *
pg_conn_open(void *state, char *err, size_t errlen)
{
    const struct pg_cfg *c = state;
    nt_db *db = calloc(1, sizeof(*db));

    if (db == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    db->cfg = c;
    db->backoff_ms = PG_BACKOFF_MIN_MS;
    if (pg_session(db, err, errlen) != NT_OK) {
        free(db);
        return NULL;
    }
    c->api->log(c->plugin, NT_LOG_DEBUG, "opened %s", c->describe);
    return db;
}

/* Frees the statements of db and closes its session. NULL is fine. */
void
pg_conn_close(nt_db *db)
{
    if (db == NULL)
        return;
    pg_cache_clear(db);
    if (db->conn != NULL)
        PQfinish(db->conn);
    free(db);
}

/* The server session is gone (or unusable): drops it and every transaction state with it.
 * The next use opens a new one at once; further failures back off (pg_use). Prepared
 * statements of the old session are stale from now on (db->gen). */
void
pg_lost(nt_db *db)
{
    if (db == NULL || db->conn == NULL)
        return;
    PQfinish(db->conn);
    db->conn = NULL;
    if (db->write_txn || db->read_txn) {
        db->aborted_read = db->read_txn;
        db->aborted = NT_EUNAVAIL;
    }
    db->write_txn = 0;
    db->read_txn = 0;
    db->txn_used = 0;
    db->schema_lock = 0;
    db->retry_at_ms = pg_mono_ms();
    db->cfg->api->log(db->cfg->plugin, NT_LOG_WARN, "connection to %s lost: %s", db->cfg->describe,
                      db->errmsg);
}

/* Makes sure db has a server session: after one was lost, opens a new one unless the last
 * attempt failed less than the backoff ago. NT_OK or NT_EUNAVAIL (recorded). */
int
pg_use(nt_db *db)
{
    char err[PG_ERRLEN];
    int64_t now;

    if (db->conn != NULL)
        return NT_OK;
    now = pg_mono_ms();
    if (now < db->retry_at_ms)
        return pg_fail(db, NT_EUNAVAIL, "connect",
                       "the database is unreachable (the next attempt comes after a pause)");
    if (pg_session(db, err, sizeof(err)) != NT_OK) {
        db->retry_at_ms = now + db->backoff_ms;
        db->backoff_ms =
            db->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : db->backoff_ms * 2;
        return pg_fail(db, NT_EUNAVAIL, "connect", err);
    }
    db->backoff_ms = PG_BACKOFF_MIN_MS;
    db->cfg->api->log(db->cfg->plugin, NT_LOG_INFO, "connected again to %s", db->cfg->describe);
    return NT_OK;
}

/* Ends a server-side transaction left open (after a failure), and the schema lock. */
static void
pg_end_server_txn(nt_db *db)
{
    PGresult *res;

    if (db->conn == NULL)
        return;
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        res = PQexec(db->conn, "ROLLBACK");
        PQclear(res);
    }
    if (db->schema_lock) {
        char sql[80];

        snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", PG_SCHEMA_LOCK_KEY);
        res = PQexec(db->conn, sql);
        PQclear(res);
        db->schema_lock = 0;
    }
    if (PQstatus(db->conn) != CONNECTION_OK)
        pg_lost(db);
}

int
pg_stmt_failed(nt_db *db, int code)
{
    if (db == NULL)
        return code;
    pg_end_server_txn(db); /* the server aborted it; a lost session has none */
    if (!db->write_txn && !db->read_txn)
        return code;
    db->aborted_read = db->read_txn;
    db->write_txn = 0;
    db->read_txn = 0;
    db->txn_used = 0;
    db->aborted = code;
    return code;
}

int
pg_refused(nt_db *db)
{
    if (db == NULL || db->aborted == NT_OK)
        return NT_OK;
    db->errcode = db->aborted;
    if (db->errmsg[0] == '\0')
        snprintf(db->errmsg, sizeof(db->errmsg), "the transaction was ended by an error");
    return db->aborted;
}

/* Runs a command without parameters on the session; NT_OK or the mapped failure (not yet
 * ending a transaction: callers do). */
static int
pg_command(nt_db *db, const char *sql, const char *what)
{
    PGresult *res;
    ExecStatusType st;
    int rc;

    if ((rc = pg_use(db)) != NT_OK)
        return rc;
    res = PQexec(db->conn, sql);
    st = PQresultStatus(res);
    if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
        PQclear(res);
        return NT_OK;
    }
    rc = pg_fail_res(db, res, what);
    PQclear(res);
    return rc;
}

/* Runs a script of statements without parameters (in one implicit transaction when none is
 * open); rows are ignored. */
int
pg_exec(nt_db *db, const char *sql)
{
    int rc;

    if (db == NULL || sql == NULL)
        return pg_fail(db, NT_ERR, "exec", "no connection or no SQL text");
    if ((rc = pg_refused(db)) != NT_OK)
        return rc;
    if ((rc = pg_command(db, sql, "exec")) != NT_OK)
        return pg_stmt_failed(db, rc);
    if (db->write_txn || db->read_txn)
        db->txn_used = 1;
    return NT_OK;
}

/* Opens a read transaction: one snapshot for all its queries (REPEATABLE READ), READ ONLY
 * (C4). NT_OK also when a transaction is already open. */
int
pg_begin_read(nt_db *db)
{
    int rc;

    if (db == NULL)
        return pg_fail(db, NT_ERR, "begin_read", NULL);
    if ((rc = pg_refused(db)) != NT_OK)
        return rc;
    if (db->read_txn || db->write_txn)
        return NT_OK;
    rc = pg_command(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin_read");
    if (rc != NT_OK)
        return pg_stmt_failed(db, rc);
    db->read_txn = 1;
    db->txn_used = 0;
    return NT_OK;
}

/* Ends the read transaction of pg_begin_read, if one is open; also one an error ended. */
int
pg_end_read(nt_db *db)
{
    int rc;

    if (db != NULL && db->aborted != NT_OK && db->aborted_read)
        db->aborted = NT_OK;
    if (db == NULL || !db->read_txn)
        return NT_OK;
    db->read_txn = 0;
    db->txn_used = 0;
    if (db->conn == NULL || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return NT_OK;
    if ((rc = pg_command(db, "COMMIT", "end_read")) != NT_OK)
        pg_end_server_txn(db);
    return rc;
}

/* Starts a write transaction with the BEGIN command `sql` (`what` names the call in errors).
 * A read transaction of begin_read is ended first. */
static int
pg_begin_as(nt_db *db, const char *sql, const char *what)
{
    int rc;

    if (db == NULL)
        return pg_fail(db, NT_ERR, what, NULL);
    if ((rc = pg_end_read(db)) != NT_OK)
        return rc;
    if ((rc = pg_refused(db)) != NT_OK)
        return rc;
    if (db->write_txn)
        return pg_fail(db, NT_ERR, what, "a transaction is already open");
    if ((rc = pg_command(db, sql, what)) != NT_OK)
        return pg_stmt_failed(db, rc);
    db->write_txn = 1;
    db->txn_used = 0;
    return NT_OK;
}

/* Starts a write transaction, SERIALIZABLE (C3): PostgreSQL runs concurrent ones in parallel
 * and fails one that could not have run alone with a serialization failure (NT_ERETRY, at
 * a statement or at commit). */
int
pg_begin(nt_db *db)
{
    return pg_begin_as(db, "BEGIN ISOLATION LEVEL SERIALIZABLE", "begin");
}

/* Starts a write transaction for claiming queued jobs, READ COMMITTED: each statement sees
 * what committed before it, and `SELECT ... FOR UPDATE SKIP LOCKED` passes over the rows
 * another claimer holds, so concurrent claimers take disjoint rows without serialization
 * failures. Not serializable: its writes keep their own guards. Ends like pg_begin's. */
int
pg_begin_claim(nt_db *db)
{
    return pg_begin_as(db, "BEGIN ISOLATION LEVEL READ COMMITTED", "begin_claim");
}

/* Commits. A failed commit (a serialization failure is NT_ERETRY) leaves nothing: the server
 * rolled it back. A COMMIT the server answers with ROLLBACK (the transaction had failed)
 * counts as a failure too. A transaction an error ended answers that error and is over. */
int
pg_commit(nt_db *db)
{
    PGresult *res;
    int rc = NT_OK;

    if (db == NULL)
        return pg_fail(db, NT_ERR, "commit", NULL);
    if ((rc = pg_refused(db)) != NT_OK) {
        db->aborted = NT_OK;
        return rc;
    }
    if (!db->write_txn)
        return pg_fail(db, NT_ERR, "commit", "no transaction is active");
    db->write_txn = 0;
    db->txn_used = 0;
    if (db->conn == NULL)
        return pg_fail(db, NT_EUNAVAIL, "commit", "connection to the database lost");
    res = PQexec(db->conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail_res(db, res, "commit");
    else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        rc = pg_fail(db, NT_ERR, "commit", "the server rolled the transaction back");
    PQclear(res);
    pg_end_server_txn(db);
    return rc;
}

/* Rolls back the open transaction; NT_OK also when there is none, or when an error already
 * ended it. */
int
pg_rollback(nt_db *db)
{
    if (db == NULL)
        return pg_fail(db, NT_ERR, "rollback", NULL);
    db->read_txn = 0;
    db->write_txn = 0;
    db->txn_used = 0;
    db->aborted = NT_OK;
    pg_end_server_txn(db);
    return NT_OK;
}

/* Store contract C8: the schema lock, an advisory lock on the whole database, held until the
 * write transaction ends. A serializable transaction takes its snapshot at its first
 * statement: taking the lock by a statement of the transaction would fix a snapshot from
 * before the lock was had, and the transaction would not see the migration another instance
 * committed meanwhile. So, when nothing has run in the transaction yet, it is begun again
 * after the lock was taken as a session lock (released when the transaction ends); later
 * in a transaction, the lock is taken inside it (pg_advisory_xact_lock). The wait is bounded
 * by PG_SCHEMA_LOCK_WAIT_MS, not lock_timeout_ms: a start waits for other instances' work. */
int
pg_lock_schema(nt_db *db)
{
    char sql[320];
    int rc;

    if (db == NULL)
        return pg_fail(db, NT_ERR, "lock_schema", NULL);
    if ((rc = pg_refused(db)) != NT_OK)
        return rc;
    if (!db->write_txn || db->conn == NULL)
        return pg_fail(db, NT_ERR, "lock_schema", "needs an open write transaction (begin)");
    if (db->schema_lock)
        return NT_OK;
    if (db->txn_used) {
        snprintf(sql, sizeof(sql),
                 "SET LOCAL lock_timeout = %d; SET LOCAL statement_timeout = %d; "
                 "SELECT pg_advisory_xact_lock(%lld); SET LOCAL lock_timeout = %lld; "
                 "SET LOCAL statement_timeout = %lld",
                 PG_SCHEMA_LOCK_WAIT_MS, PG_SCHEMA_LOCK_WAIT_MS, PG_SCHEMA_LOCK_KEY,
                 db->cfg->lock_timeout_ms, db->cfg->statement_timeout_ms);
        if ((rc = pg_command(db, sql, "lock_schema")) != NT_OK)
            return pg_stmt_failed(db, rc);
        return NT_OK;
    }
    snprintf(sql, sizeof(sql),
             "ROLLBACK; BEGIN; SET LOCAL lock_timeout = %d; SET LOCAL statement_timeout = %d; "
             "SELECT pg_advisory_lock(%lld); COMMIT; BEGIN ISOLATION LEVEL SERIALIZABLE",
             PG_SCHEMA_LOCK_WAIT_MS, PG_SCHEMA_LOCK_WAIT_MS, PG_SCHEMA_LOCK_KEY);
    if ((rc = pg_command(db, sql, "lock_schema")) != NT_OK) {
        /* The lock may have been had before a later command failed. */
        db->schema_lock = db->conn != NULL;
        return pg_stmt_failed(db, rc);
    }
    db->schema_lock = 1;
    return NT_OK;
}

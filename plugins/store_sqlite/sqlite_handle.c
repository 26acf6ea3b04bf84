/* store_sqlite handles: the SQLite handle behind a connection, and how a connection gets
 * its writes back when a read-only database becomes writable, without a restart.
 *
 * A handle opened on a database that cannot be written (read-only file system or file)
 * stays read-only for its whole life. Worse, SQLite maps the -shm file once per process:
 * every handle opened on the same file while a read-only one is open shares that read-only
 * mapping, even after the file system became writable again. So a handle that cannot write
 * (db->ro: opened read-only, opened while another such handle was open or while the files
 * looked unwritable, or a write of it failed with SQLITE_READONLY) is closed as soon as its
 * connection is idle (no statement between prepare and finalize, no open transaction) and
 * opened again at the next use. Once no such handle is open in the process, the next handle
 * opened sees the database as it is now. When the database looks writable while read-only
 * handles are still open, an open waits up to SQ_DRAIN_MS for them to close (a wait that
 * times out is not repeated by the same connection for a second), so recovery also happens
 * under a steady stream of overlapping requests. Opening and closing are serialized by the
 * process-wide mutex of struct sq_shared, which also guards the count of read-only handles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "sqlite_int.h"

/* Sets up the state shared by the connections of c (c->shared). NT_OK or NT_ENOMEM/NT_ERR. */
int
sq_shared_init(struct sq_cfg *c)
{
    struct sq_shared *sh = calloc(1, sizeof(*sh));
    pthread_condattr_t attr;
    int rc = NT_ERR, have_attr = 0, have_mu = 0;

    if (sh == NULL)
        return NT_ENOMEM;
    if (pthread_condattr_init(&attr) != 0)
        goto out;
    have_attr = 1;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_mutex_init(&sh->mu, NULL) != 0)
        goto out;
    have_mu = 1;
    if (pthread_cond_init(&sh->drained, &attr) != 0)
        goto out;
    if (pthread_cond_init(&sh->turn_cv, &attr) != 0) {
        pthread_cond_destroy(&sh->drained);
        goto out;
    }
    c->shared = sh;
    sh = NULL;
    rc = NT_OK;
out:
    if (have_attr)
        pthread_condattr_destroy(&attr);
    if (sh != NULL && have_mu)
        pthread_mutex_destroy(&sh->mu);
    free(sh);
    return rc;
}

/* Frees c->shared (every connection is closed by now). NULL is fine. */
void
sq_shared_free(struct sq_cfg *c)
{
    if (c == NULL || c->shared == NULL)
        return;
    pthread_cond_destroy(&c->shared->drained);
    pthread_cond_destroy(&c->shared->turn_cv);
    pthread_mutex_destroy(&c->shared->mu);
    free(c->shared);
    c->shared = NULL;
}

/* Logs a change of the connection's state (read-only or writable) once per change; reason
 * says why it is read-only. */
static void
sq_note_state(nt_db *db, int ro, const char *reason)
{
    const struct sq_cfg *c = db->cfg;

    if (ro == db->ro_logged)
        return;
    db->ro_logged = ro;
    if (ro)
        c->api->log(c->plugin, NT_LOG_WARN,
                    "%s is read-only (%s): reads work, every write answers 503 until it is "
                    "writable again (no restart needed)",
                    c->path, reason);
    else
        c->api->log(c->plugin, NT_LOG_INFO, "%s is writable again", c->path);
}

/* Opens a handle on c->path with flags and applies the settings. SQLITE_OK with *out set,
 * or an extended SQLite code with a message in err (nothing left open). */
static int
sq_try_open(const struct sq_cfg *c, int flags, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(c->path, &h, flags | SQLITE_OPEN_NOMUTEX, SQ_VFS_NAME);

    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the database: %s",
                 h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        if (h != NULL)
            rc = sqlite3_extended_errcode(h);
        goto fail;
    }
    if ((rc = sq_setup(h, c, err, errlen)) != SQLITE_OK)
        goto fail;
    *out = h;
    return SQLITE_OK;
fail:
    sqlite3_close_v2(h);
    return rc;
}

/* 1 when a read-write open that failed with the extended code rc may work read-only: the
 * database file exists, but SQLite may not write there. */
static int
sq_ro_cause(const char *path, int rc)
{
    struct stat sb;

    if ((rc & 0xff) == SQLITE_NOMEM || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    return (rc & 0xff) == SQLITE_READONLY || !sq_writable(path);
}

/* With sh->mu held: when read-only handles are open but the database looks writable, waits
 * up to SQ_DRAIN_MS for them to close, so the handle about to be opened does not share
 * their read-only -shm mapping. */
static void
sq_drain(nt_db *db, struct sq_shared *sh)
{
    struct timespec until;
    int64_t now;

    if (sh->nro == 0)
        return;
    now = sq_mono_ms();
    if (db->drain_timed_out && now - db->drain_at_ms < 1000)
        return;
    if (!sq_writable(db->cfg->path) || clock_gettime(CLOCK_MONOTONIC, &until) != 0)
        return;
    until.tv_nsec += (long)SQ_DRAIN_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (sh->nro > 0 && pthread_cond_timedwait(&sh->drained, &sh->mu, &until) == 0)
        ;
    db->drain_timed_out = sh->nro > 0;
    db->drain_at_ms = now;
}

/* Opens the SQLite handle of db (db->db must be NULL): read-write, or read-only when that
 * fails because SQLite may not write the file or its directory. SQLITE_OK, or an extended
 * SQLite code with a message in err naming the file. */
int
sq_handle_open(nt_db *db, char *err, size_t errlen)
{
    const struct sq_cfg *c = db->cfg;
    struct sq_shared *sh = c->shared;
    char rw_err[SQ_ERRLEN] = "", ro_err[SQ_ERRLEN] = "", why[SQ_ERRLEN + 64] = "";
    int rc, fell_back = 0, ro = 0;

    pthread_mutex_lock(&sh->mu);
    sq_drain(db, sh);
    rc =
        sq_try_open(c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db->db, rw_err, sizeof(rw_err));
    if (rc != SQLITE_OK && sq_ro_cause(c->path, rc)) {
        fell_back = 1;
        rc = sq_try_open(c, SQLITE_OPEN_READONLY, &db->db, ro_err, sizeof(ro_err));
    }
    if (rc == SQLITE_OK) {
        if (fell_back)
            snprintf(why, sizeof(why), "opened read-only; read-write: %s", rw_err);
        else if (sqlite3_db_readonly(db->db, "main") == 1)
            snprintf(why, sizeof(why), "SQLite could only open the file read-only");
        else if (!sq_writable(c->path))
            snprintf(why, sizeof(why), "its file, -wal, -shm or directory is not writable");
        else if (sh->nro > 0)
            snprintf(why, sizeof(why), "other connections still have it open read-only");
        ro = why[0] != '\0';
        db->ro = ro;
        db->batching = 0; /* a new handle: cache_spill and its WAL file as SQLite sets them */
        sh->nro += ro;
    }
    pthread_mutex_unlock(&sh->mu);
    if (rc != SQLITE_OK) {
        sq_explain(c->path, rw_err, fell_back ? ro_err : NULL, err, errlen);
        return rc;
    }
    sq_note_state(db, ro, why);
    return SQLITE_OK;
}

/* Finalizes every statement of db and closes its handle (db->db becomes NULL). Only when
 * no statement is in use, or when the connection itself goes. */
void
sq_handle_close(nt_db *db)
{
    struct sq_shared *sh = db->cfg->shared;

    if (db->db == NULL)
        return;
    sq_cache_clear(db);
    sq_group_stmts_free(db);
    pthread_mutex_lock(&sh->mu);
    sqlite3_close_v2(db->db);
    db->db = NULL;
    if (db->ro) {
        db->ro = 0;
        if (--sh->nro == 0)
            pthread_cond_broadcast(&sh->drained);
    }
    pthread_mutex_unlock(&sh->mu);
}

/* Notes that the open handle of db cannot write (a write failed with SQLITE_READONLY): it
 * is closed when the connection is next idle. */
void
sq_mark_ro(nt_db *db)
{
    struct sq_shared *sh = db->cfg->shared;

    if (db->db == NULL || db->ro)
        return;
    pthread_mutex_lock(&sh->mu);
    db->ro = 1;
    sh->nro++;
    pthread_mutex_unlock(&sh->mu);
    sq_note_state(db, 1, "a write failed");
}

/* The safe point before a use of db (prepare, exec, begin): opens the handle when it was
 * closed. NT_OK, or the NT_E* code with the error recorded on db. */
int
sq_use(nt_db *db)
{
    char err[SQ_ERRLEN];
    int rc;

    if (db->db != NULL)
        return NT_OK;
    if ((rc = sq_handle_open(db, err, sizeof(err))) != SQLITE_OK)
        return sq_fail(db, rc, "reopen", err);
    return NT_OK;
}

/* Called whenever db may have become idle: closes a handle that cannot write when no
 * statement is in use and no transaction is open. */
void
sq_idle(nt_db *db)
{
    if (db->db != NULL && db->ro && db->nbusy == 0 && sqlite3_get_autocommit(db->db))
        sq_handle_close(db);
}

/* store_sqlite connections: opening (parent directory, WAL, synchronous, foreign keys, busy
 * timeout, page cache), closing, scripts and transactions. One connection per thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* sqlite3_exec callback that copies the first column of the first row into arg (char[16]). */
static int
sq_first_value(void *arg, int ncol, char **vals, char **names)
{
    char *out = arg;

    if (out[0] == '\0' && ncol > 0 && vals[0] != NULL)
        snprintf(out, 16, "%s", vals[0]);
    return 0;
}

/* Applies the connection settings. NT_OK, or NT_ERR with a message in err. */
static int
sq_setup(nt_db *db, char *err, size_t errlen)
{
    const struct sq_cfg *c = db->cfg;
    char sql[160], mode[16] = "";
    int rc;

    sqlite3_extended_result_codes(db->db, 1);
    if ((rc = sqlite3_busy_timeout(db->db, (int)c->busy_timeout_ms)) != SQLITE_OK)
        goto fail;
    /* WAL lets readers run beside the one writer; it is a property of the file, so a
     * read-only file keeps whatever mode it has (and every write answers 503). */
    rc = sqlite3_exec(db->db, "PRAGMA journal_mode=WAL", sq_first_value, mode, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    if (strcasecmp(mode, "wal") != 0 && !sqlite3_db_readonly(db->db, "main")) {
        snprintf(err, errlen, "%s: cannot switch the database to WAL mode (it is in %s mode)",
                 c->path, mode);
        return NT_ERR;
    }
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA cache_size=-%lld",
             c->synchronous, c->cache_kib);
    if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
        goto fail;
    return NT_OK;
fail:
    snprintf(err, errlen, "%s: cannot set up the connection: %s", c->path, sqlite3_errmsg(db->db));
    return NT_ERR;
}

/* Opens a connection for one thread on the configured database (state is the plugin's
 * struct sq_cfg). NULL on failure with a message in err. Close it with sq_conn_close. */
nt_db *
sq_conn_open(void *state, char *err, size_t errlen)
{
    const struct sq_cfg *c = state;
    nt_db *db = calloc(1, sizeof(*db));
    int rc;

    if (db == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    db->cfg = c;
    if (sq_mkdir_parent(c->path, err, errlen) != NT_OK)
        goto fail;
    rc = sqlite3_open_v2(c->path, &db->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open the database: %s", c->path,
                 db->db != NULL ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
        goto fail;
    }
    if (sq_setup(db, err, errlen) != NT_OK)
        goto fail;
    if (sqlite3_db_readonly(db->db, "main") == 1)
        c->api->log(c->plugin, NT_LOG_WARN, "%s is read-only: every write will fail with 503",
                    c->path);
    c->api->log(c->plugin, NT_LOG_DEBUG, "opened %s (WAL, synchronous=%s)", c->path,
                c->synchronous);
    return db;
fail:
    sq_conn_close(db);
    return NULL;
}

/* Finalizes every statement of db and closes it. NULL is fine. */
void
sq_conn_close(nt_db *db)
{
    if (db == NULL)
        return;
    sq_cache_clear(db);
    sqlite3_close_v2(db->db);
    free(db);
}

/* Runs a script of statements without parameters; rows are ignored. */
int
sq_exec(nt_db *db, const char *sql)
{
    char *msg = NULL;
    int rc;

    if (db == NULL || sql == NULL)
        return sq_fail(db, SQLITE_MISUSE, "exec", "no connection or no SQL text");
    if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg)) != SQLITE_OK)
        rc = sq_fail(db, sqlite3_extended_errcode(db->db), "exec",
                     msg != NULL ? msg : sqlite3_errmsg(db->db));
    else
        rc = NT_OK;
    sqlite3_free(msg);
    return rc;
}

/* Starts a write transaction: takes the write lock now (waiting up to busy_timeout_ms), so
 * the transaction cannot fail later on a lock upgrade. */
int
sq_begin(nt_db *db)
{
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "begin", NULL);
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail_db(db, "begin");
    return NT_OK;
}

/* Commits. When the commit fails the transaction is rolled back, so the connection is
 * never left inside a transaction. */
int
sq_commit(nt_db *db)
{
    int rc;

    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "commit", NULL);
    if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return NT_OK;
    rc = sq_fail_db(db, "commit");
    if (!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Rolls back the open transaction; NT_OK also when there is none. */
int
sq_rollback(nt_db *db)
{
    if (db == NULL)
        return sq_fail(db, SQLITE_MISUSE, "rollback", NULL);
    if (sqlite3_get_autocommit(db->db))
        return NT_OK;
    if (sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail_db(db, "rollback");
    return NT_OK;
}

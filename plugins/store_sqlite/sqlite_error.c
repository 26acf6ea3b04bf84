/* store_sqlite errors: the one table that maps SQLite result codes to NT_E* codes (the
 * store contract's C5, services.h) with a short cause for messages, and the last error of a
 * connection (code and message), kept until clear_error.
 */
#include <stdio.h>

#include "sqlite_int.h"

/* SQLite result codes and what they mean to plugins. An extended code is looked up first,
 * then its primary code (ext & 0xff); a code not in the table is NT_ERR "SQL error".
 *
 * Retryable (NT_ERETRY): the lock or snapshot could not be had within busy_timeout_ms (BUSY,
 * incl. BUSY_SNAPSHOT: a read transaction's snapshot went stale before it wrote), or a table
 * lock (LOCKED). The statement did nothing and its transaction was rolled back; running the
 * transaction again may succeed. */
static const struct {
    int code; /* extended or primary SQLite code */
    int nt;   /* NT_E* */
    const char *cause;
} sq_errors[] = {
    {SQLITE_CONSTRAINT_UNIQUE, NT_ECONFLICT, "unique constraint violated"},
    {SQLITE_CONSTRAINT_PRIMARYKEY, NT_ECONFLICT, "unique constraint violated"},
    {SQLITE_CONSTRAINT_FOREIGNKEY, NT_EINVAL, "foreign key constraint violated"},
    {SQLITE_CONSTRAINT_NOTNULL, NT_EINVAL, "not-null constraint violated"},
    {SQLITE_CONSTRAINT_CHECK, NT_EINVAL, "check constraint violated"},
    {SQLITE_CONSTRAINT, NT_EINVAL, "constraint violated"},
    {SQLITE_RANGE, NT_EINVAL, "no such parameter"},
    {SQLITE_BUSY, NT_ERETRY, "database is locked"},
    {SQLITE_LOCKED, NT_ERETRY, "database table is locked"},
    {SQLITE_READONLY, NT_EUNAVAIL, "database is read-only"},
    {SQLITE_FULL, NT_EUNAVAIL, "disk is full"},
    {SQLITE_IOERR, NT_EUNAVAIL, "disk I/O error"},
    {SQLITE_CANTOPEN, NT_EUNAVAIL, "cannot open the database file"},
    {SQLITE_CORRUPT, NT_ERR, "database file is corrupt"},
    {SQLITE_NOTADB, NT_ERR, "database file is corrupt"},
    {SQLITE_NOMEM, NT_ENOMEM, "out of memory"},
};

/* The table row of an extended SQLite code, or -1. */
static int
sq_error_row(int ext)
{
    size_t n = sizeof(sq_errors) / sizeof(sq_errors[0]), i;

    for (i = 0; i < n; i++)
        if (sq_errors[i].code == ext)
            return (int)i;
    for (i = 0; i < n; i++)
        if (sq_errors[i].code == (ext & 0xff))
            return (int)i;
    return -1;
}

/* The NT_E* code for an extended SQLite result code (NT_OK for OK, ROW and DONE). */
int
sq_code(int ext)
{
    int row, prim = ext & 0xff;

    if (prim == SQLITE_OK || prim == SQLITE_ROW || prim == SQLITE_DONE)
        return NT_OK;
    row = sq_error_row(ext);
    return row >= 0 ? sq_errors[row].nt : NT_ERR;
}

/* A short cause for an extended SQLite result code (static text). */
static const char *
sq_cause(int ext)
{
    int row = sq_error_row(ext);

    return row >= 0 ? sq_errors[row].cause : "SQL error";
}

/* Records a failure on db: "<what>: <cause> (<detail>)", detail may be NULL. Returns the
 * NT_E* code (NT_ERR for a code that is not an error). db NULL is fine. */
int
sq_fail(nt_db *db, int ext, const char *what, const char *detail)
{
    int code = sq_code(ext);

    if (code == NT_OK)
        code = NT_ERR;
    if (db == NULL)
        return code;
    db->errcode = code;
    if (detail != NULL && detail[0] != '\0')
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s (%s)", what, sq_cause(ext), detail);
    else
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", what, sq_cause(ext));
    return code;
}

/* Records the connection's current SQLite error (extended code and message). A read-only
 * error marks the handle to be reopened when the connection is idle (sqlite_handle.c). */
int
sq_fail_db(nt_db *db, const char *what)
{
    int ext = sqlite3_extended_errcode(db->db);
    int rc = sq_fail(db, ext, what, sqlite3_errmsg(db->db));

    if ((ext & 0xff) == SQLITE_READONLY)
        sq_mark_ro(db);
    return rc;
}

/* The last error message, "" when none; borrowed until the next call on db. */
const char *
sq_errmsg(nt_db *db)
{
    db = sq_at(db);
    if (db == NULL)
        return "no database connection";
    return db->errmsg;
}

/* The NT_E* code of the last failure, NT_OK when none since clear_error. */
int
sq_errcode(nt_db *db)
{
    db = sq_at(db);
    return db != NULL ? db->errcode : NT_ERR;
}

/* Forgets the last error, and with it a transaction ended by an error (the host calls this
 * at the start of every request). */
void
sq_clear_error(nt_db *db)
{
    db = sq_at(db);
    if (db == NULL)
        return;
    db->errcode = NT_OK;
    db->errmsg[0] = '\0';
    db->aborted = NT_OK;
}

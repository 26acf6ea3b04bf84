/* store_sqlite errors: maps SQLite result codes to NT_E* codes and keeps the last error of a
 * connection (code and message) until clear_error.
 */
#include <stdio.h>

#include "sqlite_int.h"

/* The NT_E* code for an extended SQLite result code. */
int
sq_code(int ext)
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

/* A short cause for an extended SQLite result code (static text). */
static const char *
sq_cause(int ext)
{
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return "unique constraint violated";
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return "foreign key constraint violated";
    case SQLITE_CONSTRAINT_NOTNULL:
        return "not-null constraint violated";
    case SQLITE_CONSTRAINT_CHECK:
        return "check constraint violated";
    default:
        break;
    }
    switch (ext & 0xff) {
    case SQLITE_CONSTRAINT:
        return "constraint violated";
    case SQLITE_RANGE:
        return "no such parameter";
    case SQLITE_BUSY:
        return "database is locked";
    case SQLITE_LOCKED:
        return "database table is locked";
    case SQLITE_READONLY:
        return "database is read-only";
    case SQLITE_FULL:
        return "disk is full";
    case SQLITE_IOERR:
        return "disk I/O error";
    case SQLITE_CANTOPEN:
        return "cannot open the database file";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return "database file is corrupt";
    case SQLITE_NOMEM:
        return "out of memory";
    default:
        return "SQL error";
    }
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
    if (db == NULL)
        return "no database connection";
    return db->errmsg;
}

/* The NT_E* code of the last failure, NT_OK when none since clear_error. */
int
sq_errcode(nt_db *db)
{
    return db != NULL ? db->errcode : NT_ERR;
}

/* Forgets the last error. */
void
sq_clear_error(nt_db *db)
{
    if (db == NULL)
        return;
    db->errcode = NT_OK;
    db->errmsg[0] = '\0';
}

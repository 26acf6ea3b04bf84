/* store_sqlite statements: binds $1..$n by name (SQLite sees `$1` as a named parameter, so
 * parameters may appear in any order and more than once), steps with error mapping and the
 * fault_file hook, and reads columns.
 */
#include <stdio.h>

#include "sqlite_int.h"

/* The SQLite index of parameter $i in s, or 0 (error recorded) when s has none. */
static int
sq_param(nt_stmt *s, int i)
{
    char name[16], detail[64];
    int idx = 0;

    if (i >= 1 && i < SQ_PMAP && s->pmap[i] != 0)
        return s->pmap[i];
    if (i >= 1) {
        snprintf(name, sizeof(name), "$%d", i);
        idx = sqlite3_bind_parameter_index(s->st, name);
    }
    if (idx == 0) {
        snprintf(detail, sizeof(detail), "$%d is not in the statement", i);
        sq_fail(s->db, SQLITE_RANGE, "bind", detail);
    }
    return idx;
}

/* Maps the result of an sqlite3_bind_* call. */
static int
sq_bound(nt_stmt *s, int rc)
{
    return rc == SQLITE_OK ? NT_OK : sq_fail_db(s->db, "bind");
}

/* Binds text to $i (copied); v NULL binds SQL NULL. NT_EINVAL when $i is not in the SQL. */
int
sq_bind_text(nt_stmt *s, int i, const char *v)
{
    int idx;

    if (s == NULL || !s->in_use)
        return NT_EINVAL;
    if ((idx = sq_param(s, i)) == 0)
        return NT_EINVAL;
    if (v == NULL)
        return sq_bound(s, sqlite3_bind_null(s->st, idx));
    return sq_bound(s, sqlite3_bind_text(s->st, idx, v, -1, SQLITE_TRANSIENT));
}

/* Binds a 64-bit integer to $i. */
int
sq_bind_int64(nt_stmt *s, int i, int64_t v)
{
    int idx;

    if (s == NULL || !s->in_use)
        return NT_EINVAL;
    if ((idx = sq_param(s, i)) == 0)
        return NT_EINVAL;
    return sq_bound(s, sqlite3_bind_int64(s->st, idx, (sqlite3_int64)v));
}

/* Binds SQL NULL to $i. */
int
sq_bind_null(nt_stmt *s, int i)
{
    int idx;

    if (s == NULL || !s->in_use)
        return NT_EINVAL;
    if ((idx = sq_param(s, i)) == 0)
        return NT_EINVAL;
    return sq_bound(s, sqlite3_bind_null(s->st, idx));
}

/* Steps s: 1 for a row, 0 when done (changes() then counts the rows it changed), or a
 * negative NT_E* with the error recorded on the connection. */
int
sq_step(nt_stmt *s)
{
    int rc, fault;

    if (s == NULL || !s->in_use)
        return NT_ERR;
    if ((rc = sq_refused(s->db)) != NT_OK)
        return rc;
    if (!sqlite3_stmt_readonly(s->st) && (fault = sq_fault(s->db)) != 0 &&
        (fault > 0 || sqlite3_get_autocommit(s->db->db))) /* `commit`: its own commit fails */
        return sq_stmt_failed(s->db, sq_fail(s->db, fault > 0 ? fault : SQLITE_FULL, "step",
                                             "injected by fault_file"));
    rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
#if SQLITE_VERSION_NUMBER >= 3037000
        s->changes = sqlite3_changes64(s->db->db);
#else
        s->changes = sqlite3_changes(s->db->db);
#endif
        return 0;
    }
    return sq_stmt_failed(s->db, sq_fail_db(s->db, "step"));
}

/* Column text, borrowed until the next step or finalize; NULL for SQL NULL (or when out of
 * memory, then recorded). */
const char *
sq_col_text(nt_stmt *s, int col)
{
    const unsigned char *t;

    if (s == NULL || sqlite3_column_type(s->st, col) == SQLITE_NULL)
        return NULL;
    t = sqlite3_column_text(s->st, col);
    if (t == NULL)
        sq_fail(s->db, SQLITE_NOMEM, "column", NULL);
    return (const char *)t;
}

/* Column as a 64-bit integer (0 for NULL). */
int64_t
sq_col_int64(nt_stmt *s, int col)
{
    return s != NULL ? (int64_t)sqlite3_column_int64(s->st, col) : 0;
}

/* 1 when the column is SQL NULL (or there is no such column), else 0. */
int
sq_col_is_null(nt_stmt *s, int col)
{
    return s == NULL || sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

/* Rows changed by the last step of s that finished the statement; 0 before that. */
int64_t
sq_changes(nt_stmt *s)
{
    return s != NULL ? s->changes : 0;
}

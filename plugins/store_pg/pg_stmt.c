/* store_pg statements: a per-connection cache of server-side prepared statements keyed by
 * SQL text (prepare hands out an idle one for the same text or prepares a new one; at most
 * PG_CACHE_MAX are kept, least recently used idle ones are deallocated first), binding as
 * text parameters (the server infers each $n's type from the SQL, store contract C2),
 * execution at the first step and rows read one by one from the result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define PG_BOOLOID 16     /* pg_type oid of boolean: read as 1/0 like SQLite */
#define PG_TEXTOID 25     /* pg_type oid of text */
#define PG_MAX_PARAMS 256 /* $n in one statement */

/* FNV-1a hash of a NUL-terminated string. */
static uint32_t
pg_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* The highest $n in sql outside quoted text, identifiers and comments (0 when none). When
 * present is not NULL (room for that many flags), present[n - 1] is set for each $n seen. */
int
pg_scan_params(const char *sql, char *present)
{
    int max = 0;
    const char *p = sql;

    while (*p != '\0') {
        if (*p == '\'' || *p == '"') {
            char q = *p++;

            while (*p != '\0' && *p != q)
                p++;
            if (*p != '\0')
                p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            p += 2;
            while (*p != '\0' && !(p[0] == '*' && p[1] == '/'))
                p++;
            if (*p != '\0')
                p += 2;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            long n = 0;

            for (p++; *p >= '0' && *p <= '9'; p++)
                if (n < 100000)
                    n = n * 10 + (*p - '0');
            if (present != NULL && n >= 1 && n <= 100000)
                present[n - 1] = 1;
            if (n > max)
                max = (int)n;
        } else {
            p++;
        }
    }
    return max;
}

/* Forgets the bound values and the result of s. */
static void
pg_stmt_reset(nt_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        free(s->vals[i]);
        s->vals[i] = NULL;
    }
    PQclear(s->res);
    s->res = NULL;
    s->executed = 0;
    s->row = -1;
}

/* Deallocates s on the server (when its session is the current one) and frees it. */
static void
pg_stmt_free(nt_stmt *s, int deallocate)
{
    nt_stmt **pp = &s->db->buckets[s->hash & (PG_BUCKETS - 1)];

    while (*pp != NULL && *pp != s)
        pp = &(*pp)->next;
    if (*pp == s)
        *pp = s->next;
    if (s->cached)
        s->db->ncached--;
    if (deallocate && s->db->conn != NULL && s->gen == s->db->gen) {
        char sql[48];

        snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
        PQclear(PQexec(s->db->conn, sql));
    }
    pg_stmt_reset(s);
    free(s->vals);
    free(s->present);
    free(s->sql);
    free(s);
}

/* Frees every statement of db (also those in use: the connection is closing); nothing is
 * sent to the server. */
void
pg_cache_clear(nt_db *db)
{
    for (size_t b = 0; b < PG_BUCKETS; b++) {
        while (db->buckets[b] != NULL)
            pg_stmt_free(db->buckets[b], 0);
    }
}

/* Drops the least recently used idle cached statement; 0 if there was one, -1 if not. */
static int
pg_evict(nt_db *db)
{
    nt_stmt *lru = NULL, *s;

    for (size_t b = 0; b < PG_BUCKETS; b++)
        for (s = db->buckets[b]; s != NULL; s = s->next)
            if (s->cached && !s->in_use && (lru == NULL || s->used < lru->used))
                lru = s;
    if (lru == NULL)
        return -1;
    pg_stmt_free(lru, 1);
    return 0;
}

/* Prepares s->sql on the current session as s->name. The server infers each $n's type from
 * the SQL; a $n below the highest that the SQL does not use (a plugin sharing one binder
 * between an INSERT and an UPDATE) is declared text, so the server accepts the gap (binding
 * it is refused, as SQLite does). NT_OK or the mapped failure. */
static int
pg_stmt_prepare(nt_stmt *s)
{
    nt_db *db = s->db;
    Oid types[PG_MAX_PARAMS];
    PGresult *res;
    int rc = NT_OK;

    for (int i = 0; i < s->nparams; i++)
        types[i] = s->present[i] ? 0 : PG_TEXTOID;
    res = PQprepare(db->conn, s->name, s->sql, s->nparams, s->nparams > 0 ? types : NULL);

    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail_res(db, res, "prepare");
    else
        s->gen = db->gen;
    PQclear(res);
    return rc;
}

/* A new, linked, in-use statement for sql, prepared on the server. NULL on error, recorded
 * on db. */
static nt_stmt *
pg_stmt_new(nt_db *db, const char *sql, uint32_t hash)
{
    nt_stmt *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL || (s->sql = strdup(sql)) == NULL) {
        pg_fail(db, NT_ENOMEM, "prepare", "out of memory");
        goto fail;
    }
    s->db = db;
    s->hash = hash;
    s->nparams = pg_scan_params(sql, NULL);
    if (s->nparams > PG_MAX_PARAMS) {
        pg_fail(db, NT_EINVAL, "prepare", "more than 256 parameters");
        goto fail;
    }
    if (s->nparams > 0 && ((s->vals = calloc((size_t)s->nparams, sizeof(*s->vals))) == NULL ||
                           (s->present = calloc((size_t)s->nparams, 1)) == NULL)) {
        pg_fail(db, NT_ENOMEM, "prepare", "out of memory");
        goto fail;
    }
    pg_scan_params(sql, s->present);
    snprintf(s->name, sizeof(s->name), "nt%" PRIu64, ++db->names);
    if ((rc = pg_stmt_prepare(s)) != NT_OK) {
        pg_stmt_failed(db, rc);
        goto fail;
    }
    if (db->ncached < PG_CACHE_MAX || pg_evict(db) == 0) {
        s->cached = 1;
        db->ncached++;
    }
    s->next = db->buckets[hash & (PG_BUCKETS - 1)];
    db->buckets[hash & (PG_BUCKETS - 1)] = s;
    return s;
fail:
    if (s != NULL) {
        free(s->vals);
        free(s->present);
        free(s->sql);
        free(s);
    }
    return NULL;
}

/* A statement for sql (one statement, $1..$n parameters), in use until pg_finalize. NULL on
 * failure, recorded on db; inside a transaction a failure ends it (C6). */
nt_stmt *
pg_prepare(nt_db *db, const char *sql)
{
    uint32_t hash;
    nt_stmt *s, *next;
    int rc;

    if (db == NULL || sql == NULL) {
        pg_fail(db, NT_ERR, "prepare", "no connection or no SQL text");
        return NULL;
    }
    if (pg_refused(db) != NT_OK)
        return NULL;
    if ((rc = pg_use(db)) != NT_OK) {
        pg_stmt_failed(db, rc);
        return NULL;
    }
    hash = pg_hash(sql);
    for (s = db->buckets[hash & (PG_BUCKETS - 1)]; s != NULL; s = next) {
        next = s->next;
        if (s->in_use || s->hash != hash || strcmp(s->sql, sql) != 0)
            continue;
        if (s->gen != db->gen) { /* prepared on a session that was lost */
            pg_stmt_free(s, 0);
            continue;
        }
        s->in_use = 1;
        s->used = ++db->tick;
        return s;
    }
    if ((s = pg_stmt_new(db, sql, hash)) == NULL)
        return NULL;
    s->in_use = 1;
    s->used = ++db->tick;
    return s;
}

/* Ends the use of s: a cached one stays prepared for the next prepare of its text, others
 * are deallocated. NULL is fine. */
void
pg_finalize(nt_stmt *s)
{
    if (s == NULL)
        return;
    s->in_use = 0;
    if (s->cached && s->gen == s->db->gen)
        pg_stmt_reset(s);
    else
        pg_stmt_free(s, 1);
}

/* Stores v (copied; NULL is SQL NULL) as the value of $i. */
static int
pg_bind(nt_stmt *s, int i, const char *v)
{
    char *copy = NULL, detail[64];

    if (s == NULL || !s->in_use)
        return NT_EINVAL;
    if (i < 1 || i > s->nparams || !s->present[i - 1]) {
        snprintf(detail, sizeof(detail), "no such parameter ($%d is not in the statement)", i);
        return pg_fail(s->db, NT_EINVAL, "bind", detail);
    }
    if (s->executed) { /* binding again after a run starts a new one */
        PQclear(s->res);
        s->res = NULL;
        s->executed = 0;
        s->row = -1;
    }
    if (v != NULL && (copy = strdup(v)) == NULL)
        return pg_fail(s->db, NT_ENOMEM, "bind", "out of memory");
    free(s->vals[i - 1]);
    s->vals[i - 1] = copy;
    return NT_OK;
}

/* Binds text to $i (copied); v NULL binds SQL NULL. NT_EINVAL when $i is not in the SQL. */
int
pg_bind_text(nt_stmt *s, int i, const char *v)
{
    return pg_bind(s, i, v);
}

/* Binds a 64-bit integer to $i (sent as its decimal text; the server converts it to the
 * parameter's type). */
int
pg_bind_int64(nt_stmt *s, int i, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return pg_bind(s, i, buf);
}

/* Binds SQL NULL to $i. */
int
pg_bind_null(nt_stmt *s, int i)
{
    return pg_bind(s, i, NULL);
}

/* Runs s on the server (preparing it again first when its session was lost since). */
static int
pg_run(nt_stmt *s)
{
    nt_db *db = s->db;
    ExecStatusType st;
    int rc;

    if ((rc = pg_use(db)) != NT_OK)
        return rc;
    if (s->gen != db->gen && (rc = pg_stmt_prepare(s)) != NT_OK)
        return rc;
    PQclear(s->res);
    s->res =
        PQexecPrepared(db->conn, s->name, s->nparams, (const char *const *)s->vals, NULL, NULL, 0);
    st = PQresultStatus(s->res);
    if (s->res == NULL || (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)) {
        rc = pg_fail_res(db, s->res, "step");
        PQclear(s->res);
        s->res = NULL;
        return rc;
    }
    s->executed = 1;
    s->row = -1;
    if (db->write_txn || db->read_txn)
        db->txn_used = 1;
    return NT_OK;
}

/* Steps s: 1 for a row, 0 when done (changes() then counts the rows it changed), or a
 * negative NT_E* with the error recorded (inside a transaction, it ends it: C6). The
 * statement runs at the first step; a step after 0 runs it again, like SQLite. */
int
pg_step(nt_stmt *s)
{
    int rc;

    if (s == NULL || !s->in_use)
        return NT_ERR;
    if ((rc = pg_refused(s->db)) != NT_OK)
        return rc;
    if (!s->executed && (rc = pg_run(s)) != NT_OK)
        return pg_stmt_failed(s->db, rc);
    if (++s->row < PQntuples(s->res))
        return 1;
    s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
    s->executed = 0;
    return 0;
}

/* 1 when s has a current row with column col. */
static int
pg_has_col(const nt_stmt *s, int col)
{
    return s != NULL && s->res != NULL && s->row >= 0 && s->row < PQntuples(s->res) && col >= 0 &&
           col < PQnfields(s->res);
}

/* Column text, borrowed until the next step or finalize; NULL for SQL NULL. Booleans read
 * as "1"/"0", as SQLite stores them. */
const char *
pg_col_text(nt_stmt *s, int col)
{
    const char *v;

    if (!pg_has_col(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == PG_BOOLOID)
        return v[0] == 't' ? "1" : "0";
    return v;
}

/* Column as a 64-bit integer (0 for NULL; booleans 1/0; a number's integer part). */
int64_t
pg_col_int64(nt_stmt *s, int col)
{
    const char *v = pg_col_text(s, col);

    return v != NULL ? (int64_t)strtoll(v, NULL, 10) : 0;
}

/* 1 when the column is SQL NULL (or there is no such column), else 0. */
int
pg_col_is_null(nt_stmt *s, int col)
{
    return !pg_has_col(s, col) || PQgetisnull(s->res, s->row, col);
}

/* Rows changed by the last step of s that finished the statement; 0 before that. */
int64_t
pg_changes(nt_stmt *s)
{
    return s != NULL ? s->changes : 0;
}

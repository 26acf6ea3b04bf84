/* store_sqlite statement cache: a small hash table per connection keyed by SQL text.
 * prepare() hands out an idle statement for the same text or prepares a new one; finalize()
 * resets it and makes it idle again. Nested use of one text gets extra statements; at most
 * SQ_CACHE_MAX are kept (least recently used idle ones are dropped first).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

/* Hash of a NUL-terminated SQL text for the cache's buckets: its length and at most about
 * 24 eight-byte words spread over it (FNV-1a over words), so a long statement is not read
 * byte by byte at every prepare. Texts that differ only where no word was read share a
 * bucket; the lookup compares the whole text anyway. */
static uint32_t
sq_hash(const char *s)
{
    size_t n = strlen(s), step = n > 192 ? n / 16 : 8, i;
    uint64_t h = 14695981039346656037ull ^ n, w = 0;

    for (i = 0; i + 8 <= n; i += step) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 1099511628211ull;
    }
    w = 0;
    memcpy(&w, s + (n >= 8 ? n - 8 : 0), n >= 8 ? 8 : n); /* the tail (or the whole text) */
    h = (h ^ w) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

/* Fills s->pmap: the SQLite index of each parameter $1..$(SQ_PMAP - 1) of s (0: absent). */
static void
sq_pmap_fill(nt_stmt *s)
{
    int n = sqlite3_bind_parameter_count(s->st);

    memset(s->pmap, 0, sizeof(s->pmap));
    for (int k = 1; k <= n; k++) {
        const char *name = sqlite3_bind_parameter_name(s->st, k);
        char *end = NULL;
        long v;
        if (name == NULL || name[0] != '$' || name[1] < '1' || name[1] > '9')
            continue;
        v = strtol(name + 1, &end, 10);
        if (*end == '\0' && v > 0 && v < SQ_PMAP && k <= 255)
            s->pmap[v] = (unsigned char)k;
    }
}

/* Unlinks s from its bucket and frees it with its SQLite statement. */
static void
sq_stmt_free(nt_stmt *s)
{
    nt_stmt **pp = &s->db->buckets[s->hash & (SQ_BUCKETS - 1)];

    while (*pp != NULL && *pp != s)
        pp = &(*pp)->next;
    if (*pp == s)
        *pp = s->next;
    if (s->cached)
        s->db->ncached--;
    sqlite3_finalize(s->st);
    free(s->sql);
    free(s);
}

/* Drops the least recently used idle cached statement; 0 if there was one, -1 if not. */
static int
sq_evict(nt_db *db)
{
    nt_stmt *lru = NULL, *s;
    size_t b;

    for (b = 0; b < SQ_BUCKETS; b++) {
        for (s = db->buckets[b]; s != NULL; s = s->next) {
            if (s->cached && !s->in_use && (lru == NULL || s->used < lru->used))
                lru = s;
        }
    }
    if (lru == NULL)
        return -1;
    sq_stmt_free(lru);
    return 0;
}

/* Compiles sql (exactly one statement) into a new, linked, in-use statement. NULL on error,
 * recorded on db. */
static nt_stmt *
sq_stmt_new(nt_db *db, const char *sql, uint32_t hash)
{
    nt_stmt *s = calloc(1, sizeof(*s));
    const char *tail = NULL;
    unsigned flags = 0;
    int rc;

    if (s == NULL || (s->sql = strdup(sql)) == NULL) {
        sq_fail(db, SQLITE_NOMEM, "prepare", NULL);
        goto fail;
    }
    if (db->ncached < SQ_CACHE_MAX || sq_evict(db) == 0) {
        s->cached = 1;
        flags = SQLITE_PREPARE_PERSISTENT;
    }
    rc = sqlite3_prepare_v3(db->db, sql, -1, flags, &s->st, &tail);
    if (rc != SQLITE_OK) {
        sq_fail_db(db, "prepare");
        goto fail;
    }
    if (s->st == NULL) {
        sq_fail(db, SQLITE_ERROR, "prepare", "no statement in the SQL text");
        goto fail;
    }
    tail += strspn(tail, " \t\r\n;");
    if (*tail != '\0') {
        sq_fail(db, SQLITE_ERROR, "prepare", "more than one statement; use exec");
        goto fail;
    }
    sq_pmap_fill(s);
    s->db = db;
    s->hash = hash;
    s->in_use = 1;
    s->next = db->buckets[hash & (SQ_BUCKETS - 1)];
    db->buckets[hash & (SQ_BUCKETS - 1)] = s;
    if (s->cached)
        db->ncached++;
    return s;
fail:
    if (s != NULL) {
        sqlite3_finalize(s->st);
        free(s->sql);
        free(s);
    }
    return NULL;
}

/* Returns an in-use statement for sql, from the cache or new; NULL on error (recorded on
 * db). The statement belongs to db; give it back with sq_finalize. */
nt_stmt *
sq_prepare(nt_db *db, const char *sql)
{
    uint32_t hash;
    nt_stmt *s;

    db = sq_at(db);
    if (db == NULL || sql == NULL) {
        sq_fail(db, SQLITE_MISUSE, "prepare", "no connection or no SQL text");
        return NULL;
    }
    if (sq_refused(db) != NT_OK || sq_use(db) != NT_OK)
        return NULL;
    hash = sq_hash(sql);
    for (s = db->buckets[hash & (SQ_BUCKETS - 1)]; s != NULL; s = s->next) {
        if (!s->in_use && s->cached && s->hash == hash && strcmp(s->sql, sql) == 0)
            break;
    }
    if (s == NULL && (s = sq_stmt_new(db, sql, hash)) == NULL) {
        sq_stmt_failed(db, db->errcode); /* a statement that cannot compile failed too */
        sq_idle(db);
        return NULL;
    }
    s->in_use = 1;
    db->nbusy++;
    s->used = ++db->tick;
    s->changes = 0;
    return s;
}

/* Resets s, clears its bindings and makes it idle in the cache (or frees it when it is not
 * cached). s must not be used afterwards. NULL is fine. The last statement in use going
 * idle may close a read-only handle (sq_idle). */
void
sq_finalize(nt_stmt *s)
{
    nt_db *db;

    if (s == NULL || !s->in_use)
        return;
    db = s->db;
    /* reset repeats the error of the last step, which is already recorded */
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    s->in_use = 0;
    s->changes = 0;
    db->nbusy--;
    if (!s->cached)
        sq_stmt_free(s);
    sq_idle(db);
}

/* Frees every statement of db, in use or not (for closing the handle). */
void
sq_cache_clear(nt_db *db)
{
    size_t b;

    for (b = 0; b < SQ_BUCKETS; b++) {
        while (db->buckets[b] != NULL)
            sq_stmt_free(db->buckets[b]);
    }
    db->nbusy = 0;
}

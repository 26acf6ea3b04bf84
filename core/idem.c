/* Idempotency-Key records (see idem.h). Portable SQL only (docs/plugins.md, C2): the same
 * statements run on any store that keeps the store contract. */
#include "idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hostapi.h"
#include "util.h"

static const char idem_v1_sql[] =
    "CREATE TABLE nettu_idempotency ("
    " account TEXT NOT NULL,"
    " principal TEXT NOT NULL,"
    " idem_key TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " token TEXT NOT NULL,"
    " state INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " content_type TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " body_len BIGINT NOT NULL,"
    " created BIGINT NOT NULL,"
    " expires BIGINT NOT NULL,"
    " PRIMARY KEY (account, principal, idem_key));"
    "CREATE INDEX nettu_idempotency_expires ON nettu_idempotency (expires);";

const idem_migration idem_migrations[] = {{1, idem_v1_sql}};
const size_t idem_nmigrations = sizeof(idem_migrations) / sizeof(idem_migrations[0]);

int
idem_key_check(const char *key, char *msg, size_t msglen)
{
    size_t n = key != NULL ? strlen(key) : 0;

    if (n == 0) {
        snprintf(msg, msglen,
                 "Idempotency-Key: expected 1 to %d printable ASCII characters, "
                 "got an empty value",
                 IDEM_KEY_MAX);
        return NT_EINVAL;
    }
    if (n > IDEM_KEY_MAX) {
        snprintf(msg, msglen,
                 "Idempotency-Key: expected 1 to %d printable ASCII characters, got %zu "
                 "characters",
                 IDEM_KEY_MAX, n);
        return NT_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x20 || ch > 0x7e) {
            snprintf(msg, msglen,
                     "Idempotency-Key: expected printable ASCII characters only; byte %zu is "
                     "0x%02x",
                     i + 1, ch);
            return NT_EINVAL;
        }
    }
    return NT_OK;
}

/* Feeds one length-prefixed part into the digest. 1 on success. */
static int
idem_part(EVP_MD_CTX *ctx, const char *data, size_t len)
{
    unsigned char pre[9];
    uint64_t n = len;

    pre[0] = data != NULL;
    for (int i = 0; i < 8; i++)
        pre[1 + i] = (unsigned char)(n >> (8 * (7 - i)));
    return EVP_DigestUpdate(ctx, pre, sizeof(pre)) == 1 &&
           (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1);
}

int
idem_fingerprint(const char *method, const char *path, const char *query, const char *body,
                 size_t body_len, char hex[IDEM_FP_HEX])
{
    static const char digits[] = "0123456789abcdef";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok;

    hex[0] = '\0';
    if (ctx == NULL)
        return NT_ERR;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         idem_part(ctx, method, method != NULL ? strlen(method) : 0) &&
         idem_part(ctx, path, path != NULL ? strlen(path) : 0) &&
         idem_part(ctx, query, query != NULL ? strlen(query) : 0) &&
         idem_part(ctx, body_len > 0 ? body : "", body_len) &&
         EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return NT_ERR;
    for (unsigned int i = 0; i < mdlen; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * mdlen] = '\0';
    return NT_OK;
}

idem_verdict
idem_decide(const idem_row *row, const char *fp, int64_t now)
{
    if (row == NULL || !row->found || row->expires <= now)
        return IDEM_RUN; /* never used, expired, or a dead server's claim */
    if (strcmp(row->fp, fp) != 0)
        return IDEM_MISMATCH;
    if (row->state == IDEM_STATE_RUNNING)
        return IDEM_INFLIGHT;
    return row->state == IDEM_STATE_UNKEPT ? IDEM_UNKEPT : IDEM_REPLAY;
}

void
idem_kept_free(idem_kept *k)
{
    if (k == NULL)
        return;
    free(k->body);
    k->body = NULL;
}

/* The error of a failed statement: a negative storage code. */
static int
idem_err(const nt_store_v1 *st, nt_db *db, int rc)
{
    if (rc < 0)
        return rc;
    return st->errcode(db) < 0 ? st->errcode(db) : NT_ERR;
}

/* Binds the scope and key of c to $1, $2, $3. */
static int
idem_bind_scope(const nt_store_v1 *st, nt_stmt *s, const idem_claim *c)
{
    int rc = st->bind_text(s, 1, c->account);

    if (rc == NT_OK)
        rc = st->bind_text(s, 2, c->user != NULL ? c->user : "");
    if (rc == NT_OK)
        rc = st->bind_text(s, 3, c->key);
    return rc;
}

/* Reads the key's record into row (and the kept reply into kept). NT_OK or a code. */
static int
idem_read(const nt_store_v1 *st, nt_db *db, const idem_claim *c, idem_row *row, idem_kept *kept)
{
    nt_stmt *s = st->prepare(db, "SELECT fingerprint, state, status, content_type, body, "
                                 "body_len, expires FROM nettu_idempotency WHERE account = $1 "
                                 "AND principal = $2 AND idem_key = $3");
    const char *t;
    int rc;

    memset(row, 0, sizeof(*row));
    if (s == NULL)
        return idem_err(st, db, NT_ERR);
    if ((rc = idem_bind_scope(st, s, c)) == NT_OK)
        rc = st->step(s);
    if (rc == 1) {
        row->found = 1;
        t = st->col_text(s, 0);
        snprintf(row->fp, sizeof(row->fp), "%s", t != NULL ? t : "");
        row->state = (int)st->col_int64(s, 1);
        row->expires = st->col_int64(s, 6);
        kept->status = (int)st->col_int64(s, 2);
        t = st->col_text(s, 3);
        snprintf(kept->type, sizeof(kept->type), "%s", t != NULL ? t : "");
        kept->len = (size_t)st->col_int64(s, 5);
        if (row->state == IDEM_STATE_DONE) {
            t = st->col_text(s, 4);
            kept->body = strdup(t != NULL ? t : "");
            if (kept->body == NULL)
                rc = NT_ENOMEM;
            else
                kept->len = strlen(kept->body);
        }
    }
    st->finalize(s);
    return rc < 0 ? idem_err(st, db, rc) : NT_OK;
}

/* Claims the key for c (a new token) until now + IDEM_LEASE_MS. NT_OK or a code. */
static int
idem_take(const nt_store_v1 *st, nt_db *db, idem_claim *c, int64_t now)
{
    nt_stmt *s;
    int rc;

    if (util_uuid_new(c->token) != NT_OK)
        return NT_ERR;
    s = st->prepare(db, "INSERT INTO nettu_idempotency (account, principal, idem_key, "
                        "fingerprint, token, state, status, content_type, body, body_len, "
                        "created, expires) VALUES ($1, $2, $3, $4, $5, 0, 0, '', '', 0, $6, $7) "
                        "ON CONFLICT (account, principal, idem_key) DO UPDATE SET "
                        "fingerprint = $4, token = $5, state = 0, status = 0, content_type = '', "
                        "body = '', body_len = 0, created = $6, expires = $7");
    if (s == NULL)
        return idem_err(st, db, NT_ERR);
    rc = idem_bind_scope(st, s, c);
    if (rc == NT_OK)
        rc = st->bind_text(s, 4, c->fp);
    if (rc == NT_OK)
        rc = st->bind_text(s, 5, c->token);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 6, now);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 7, now + IDEM_LEASE_MS);
    if (rc == NT_OK)
        rc = st->step(s);
    st->finalize(s);
    return rc < 0 ? idem_err(st, db, rc) : NT_OK;
}

int
idem_claim_key(const nt_store_v1 *st, nt_db *db, idem_claim *c, int64_t now, idem_verdict *v,
               idem_kept *kept)
{
    idem_row row;
    int rc;

    memset(kept, 0, sizeof(*kept));
    *v = IDEM_RUN;
    c->token[0] = '\0';
    if ((rc = st->begin(db)) != NT_OK)
        goto fail;
    if ((rc = idem_read(st, db, c, &row, kept)) != NT_OK)
        goto fail;
    *v = idem_decide(&row, c->fp, now);
    if (*v == IDEM_RUN && (rc = idem_take(st, db, c, now)) != NT_OK)
        goto fail;
    if ((rc = st->commit(db)) != NT_OK)
        goto fail;
    if (*v != IDEM_REPLAY && *v != IDEM_UNKEPT)
        idem_kept_free(kept);
    return NT_OK;
fail:
    st->rollback(db);
    idem_kept_free(kept);
    c->token[0] = '\0';
    return rc < 0 ? rc : NT_ERR;
}

int
idem_keep(const nt_store_v1 *st, nt_db *db, const idem_claim *c, int status, const char *type,
          const char *body, size_t len, int64_t now, int64_t ttl_ms, size_t max_reply)
{
    int keep = len <= max_reply && (len == 0 || memchr(body, '\0', len) == NULL);
    char *text = malloc(keep ? len + 1 : 1);
    nt_stmt *s = NULL;
    int rc = NT_ENOMEM;

    if (text == NULL)
        return NT_ENOMEM;
    if (keep && len > 0)
        memcpy(text, body, len);
    text[keep ? len : 0] = '\0';
    s = st->prepare(db, "UPDATE nettu_idempotency SET state = $4, status = $5, "
                        "content_type = $6, body = $7, body_len = $8, expires = $9 "
                        "WHERE account = $1 AND principal = $2 AND idem_key = $3 AND token = $10");
    if (s == NULL) {
        rc = idem_err(st, db, NT_ERR);
        goto done;
    }
    rc = idem_bind_scope(st, s, c);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 4, keep ? IDEM_STATE_DONE : IDEM_STATE_UNKEPT);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 5, status);
    if (rc == NT_OK)
        rc = st->bind_text(s, 6, type != NULL ? type : "");
    if (rc == NT_OK)
        rc = st->bind_text(s, 7, text);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 8, (int64_t)len);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 9, now + ttl_ms);
    if (rc == NT_OK)
        rc = st->bind_text(s, 10, c->token);
    if (rc == NT_OK)
        rc = st->step(s);
    rc = rc < 0 ? idem_err(st, db, rc) : NT_OK;
done:
    st->finalize(s);
    free(text);
    return rc;
}

int
idem_release(const nt_store_v1 *st, nt_db *db, const idem_claim *c)
{
    nt_stmt *s = st->prepare(db, "DELETE FROM nettu_idempotency WHERE account = $1 AND "
                                 "principal = $2 AND idem_key = $3 AND token = $4");
    int rc;

    if (s == NULL)
        return idem_err(st, db, NT_ERR);
    rc = idem_bind_scope(st, s, c);
    if (rc == NT_OK)
        rc = st->bind_text(s, 4, c->token);
    if (rc == NT_OK)
        rc = st->step(s);
    st->finalize(s);
    return rc < 0 ? idem_err(st, db, rc) : NT_OK;
}

/* The purge's DELETE: the expired rows of one batch, on PostgreSQL locked with SKIP LOCKED
 * in the subquery so that two servers purging at once take disjoint rows. */
#define IDEM_PURGE_SQL                                                                             \
    "DELETE FROM nettu_idempotency WHERE expires < $1 AND token IN "                               \
    "(SELECT token FROM nettu_idempotency WHERE expires < $1 ORDER BY expires LIMIT $2"

int
idem_purge(const nt_store_v1 *st, nt_db *db, int64_t now, int batch, int64_t *deleted)
{
    int claim = NT_HAS_MEMBER(st, nt_store_v1, begin_claim) && st->begin_claim != NULL;
    const char *dialect = NT_HAS_MEMBER(st, nt_store_v1, dialect) && st->dialect != NULL
                              ? st->dialect(hostapi_store_state())
                              : NULL;
    int skip = dialect != NULL && strcmp(dialect, "postgresql") == 0;
    nt_stmt *s = NULL;
    int rc;

    if (deleted != NULL)
        *deleted = 0;
    /* A claim transaction (READ COMMITTED on PostgreSQL): the outer `expires < $1` is the
     * guard that keeps a row renewed meanwhile. */
    if ((rc = claim ? st->begin_claim(db) : st->begin(db)) != NT_OK)
        return idem_err(st, db, rc);
    s = st->prepare(db, skip ? IDEM_PURGE_SQL " FOR UPDATE SKIP LOCKED)" : IDEM_PURGE_SQL ")");
    if (s == NULL)
        rc = NT_ERR;
    if (rc == NT_OK)
        rc = st->bind_int64(s, 1, now);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 2, batch);
    if (rc == NT_OK)
        rc = st->step(s);
    if (rc >= 0 && deleted != NULL)
        *deleted = st->changes(s);
    st->finalize(s);
    if (rc >= 0)
        rc = st->commit(db);
    if (rc < 0) {
        rc = idem_err(st, db, rc);
        st->rollback(db);
        if (deleted != NULL)
            *deleted = 0;
    }
    return rc;
}

/* Idempotency-Key: the key's syntax, the request fingerprint, and the records
 * of keyed requests in the core-owned table nettu_idempotency (created by a core migration,
 * reached through the store service, so kept replies survive restarts and are shared by
 * every instance on the same database). The pipeline claims a key before the handler runs,
 * keeps the reply after it (or releases the key for a 5xx), and a background thread purges
 * expired records in bounded batches.
 */
#ifndef NETTU_IDEM_H
#define NETTU_IDEM_H

#include <stddef.h>
#include <stdint.h>

#include <nettu/plugin.h>
#include <nettu/services.h>

#define IDEM_KEY_MAX 255 /* characters of a key */
#define IDEM_FP_HEX 65   /* a SHA-256 fingerprint in hex, with its NUL */
/* A claim whose request has not finished after this long belongs to a server that died: the
 * next request with the key may take it over. */
#define IDEM_LEASE_MS 60000
#define IDEM_TTL_DEFAULT_S 86400
#define IDEM_MAX_REPLY_DEFAULT (1024 * 1024)
#define IDEM_PURGE_DEFAULT_S 60
#define IDEM_PURGE_BATCH 500 /* records one purge statement deletes at most */

/* The core's migration steps for the table (versions 1..n, applied as plugin "core"). */
typedef struct idem_migration {
    int version;
    const char *sql;
} idem_migration;
extern const idem_migration idem_migrations[];
extern const size_t idem_nmigrations;

/* Checks an Idempotency-Key value: 1..IDEM_KEY_MAX printable ASCII characters (0x20..0x7e).
 * NT_OK, or NT_EINVAL with a message for the client in msg. */
int idem_key_check(const char *key, char *msg, size_t msglen);

/* The fingerprint of a request: lower-case hex SHA-256 of the method, the path, the raw query
 * (NULL = none) and the body bytes, each length-prefixed so no two requests share an input.
 * NT_OK or NT_ERR. */
int idem_fingerprint(const char *method, const char *path, const char *query, const char *body,
                     size_t body_len, char hex[IDEM_FP_HEX]);

/* What a stored record means for a new request with the same key. */
typedef enum idem_verdict {
    IDEM_RUN,      /* no live record: the request runs (and holds the key meanwhile) */
    IDEM_REPLAY,   /* finished with the same fingerprint: send the kept reply */
    IDEM_UNKEPT,   /* finished, same fingerprint, but its reply was too large to keep */
    IDEM_MISMATCH, /* the key was used for another request: 422 */
    IDEM_INFLIGHT  /* the first request with the key is still running: 409 */
} idem_verdict;

#define IDEM_STATE_RUNNING 0
#define IDEM_STATE_DONE 1
#define IDEM_STATE_UNKEPT 2

/* A stored record as far as the verdict needs it. */
typedef struct idem_row {
    int found;
    int state; /* IDEM_STATE_* */
    char fp[IDEM_FP_HEX];
    int64_t expires; /* ms; a record is live while now < expires */
} idem_row;

/* The verdict on a request with fingerprint fp at time now (ms), given the key's record. */
idem_verdict idem_decide(const idem_row *row, const char *fp, int64_t now);

/* One keyed request: its scope (account, and user or "" for an admin), key and fingerprint;
 * token identifies this request's claim (set by idem_claim). All strings borrowed but token. */
typedef struct idem_claim {
    const char *account;
    const char *user;
    const char *key;
    char fp[IDEM_FP_HEX];
    char token[NT_UUID_BUF];
} idem_claim;

/* A kept reply (IDEM_REPLAY) or what is known of an unkept one (IDEM_UNKEPT: status, and len
 * is the size that was over the limit). body is malloc'd (NUL-terminated); idem_kept_free. */
typedef struct idem_kept {
    int status;
    char type[128];
    char *body;
    size_t len;
} idem_kept;
void idem_kept_free(idem_kept *k); /* frees body; NULL is fine */

/* Looks the key up and, when it is free (absent, or expired, or a dead claim), claims it for
 * IDEM_LEASE_MS, all in one write transaction on db. On NT_OK *v is the verdict and, for
 * IDEM_REPLAY/IDEM_UNKEPT, *kept the kept reply (the caller frees it). Otherwise a storage
 * code (NT_ERETRY: nothing happened, try again) with the transaction rolled back. */
int idem_claim_key(const nt_store_v1 *st, nt_db *db, idem_claim *c, int64_t now, idem_verdict *v,
                   idem_kept *kept);

/* Keeps the reply of the request that holds claim c until now + ttl_ms: status, content type
 * and body (len bytes). A body over max_reply bytes, or one holding a NUL byte, is recorded
 * as unkept (state IDEM_STATE_UNKEPT, its size), so a retry is told and nothing runs twice.
 * One statement; only this request's claim (its token) is changed. NT_OK or a storage code. */
int idem_keep(const nt_store_v1 *st, nt_db *db, const idem_claim *c, int status, const char *type,
              const char *body, size_t len, int64_t now, int64_t ttl_ms, size_t max_reply);

/* Drops the claim c (the request failed with a 5xx, or its client left): a retry runs again.
 * NT_OK or a storage code. */
int idem_release(const nt_store_v1 *st, nt_db *db, const idem_claim *c);

/* Deletes at most `batch` records that expired before now, in one statement; *deleted (may
 * be NULL) is how many. NT_OK or a storage code. */
int idem_purge(const nt_store_v1 *st, nt_db *db, int64_t now, int batch, int64_t *deleted);

#endif

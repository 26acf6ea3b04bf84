/* The default account of the configuration (ACCOUNT_* of the original): created
 * at start when no account has default_api_key yet; an existing one is left as it is.
 *
 * Several servers may start at once on one database with the same configuration: the look
 * up and the insert share one write transaction (serializable, store contract C3), and a
 * transaction that fails retryably (NT_ERETRY) or finds the account created by the other
 * server in the meantime (NT_ECONFLICT on the unique key hash) is run again, so every
 * instance comes up and the account exists once.
 */
#include "account.h"

#include <openssl/crypto.h>
#include <string.h>
#include <time.h>

#define ACCT_DEFAULT_TRIES 5     /* runs of the transaction */
#define ACCT_DEFAULT_PAUSE_MS 50 /* first pause after NT_ERETRY; doubles each time */

/* One run: in a write transaction, finds the account of `hash` or inserts it with the id
 * default_account_id (or a new one). NT_OK with *created set, or the failing code (the
 * transaction is rolled back then). */
static int
acct_default_once(struct acct *a, nt_db *db, const char *hash, char id[NT_UUID_BUF], int *created)
{
    const nt_host_api *api = a->api;
    struct acct_row row = {0};
    int rc;

    *created = 0;
    if ((rc = api->db_begin(db)) != NT_OK)
        goto out;
    rc = acct_store_find_hash(api, db, hash, id);
    if (rc == NT_ENOTFOUND) {
        if (a->default_id[0] != '\0')
            memcpy(id, a->default_id, NT_UUID_BUF);
        else if ((rc = api->uuid_new(id)) != NT_OK)
            goto out;
        row.id = id;
        row.api_key_hash = hash;
        row.public_jwt_key = a->default_pem;
        row.webhook_url = a->default_webhook;
        row.webhook_key = ""; /* as in the original: the default webhook's key is empty */
        row.created = api->now_ms();
        rc = acct_store_insert(api, db, &row);
        *created = rc == NT_OK;
    }
    if (rc == NT_OK)
        rc = api->db_commit(db);
out:
    if (rc != NT_OK) {
        *created = 0;
        api->db_rollback(db);
    }
    return rc;
}

/* Sleeps ms milliseconds. */
static void
acct_pause(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

int
acct_default_ensure(struct acct *a)
{
    const nt_host_api *api = a->api;
    nt_db *db = NULL;
    char hash[ACCT_HASH_BUF], id[NT_UUID_BUF];
    int rc, created = 0, conflicts = 0;

    if (a->default_key == NULL)
        return NT_OK;
    db = api->host_db(a->self);
    if (db == NULL) {
        api->init_error(a->self, "default account: no storage connection");
        return NT_ERR;
    }
    rc = acct_hash_hex(a->default_key, hash);
    for (int t = 0, pause = ACCT_DEFAULT_PAUSE_MS; rc == NT_OK && t < ACCT_DEFAULT_TRIES; t++) {
        rc = acct_default_once(a, db, hash, id, &created);
        if (rc == NT_ERETRY && t + 1 < ACCT_DEFAULT_TRIES) {
            api->log(a->self, NT_LOG_INFO, "default account: %s; trying again", api->db_errmsg(db));
            acct_pause(pause);
            pause *= 2;
            rc = NT_OK;
        } else if (rc == NT_ECONFLICT && conflicts++ == 0) {
            rc = NT_OK; /* another server created it a moment ago: look again */
        } else {
            break;
        }
    }
    if (rc == NT_ECONFLICT)
        api->init_error(a->self,
                        "default_account_id: account %s already exists with another API key", id);
    else if (rc != NT_OK)
        api->init_error(a->self, "default account: cannot look it up or create it: %s",
                        api->db_errmsg(db));
    else if (created)
        api->log(a->self, NT_LOG_INFO, "created the default account %s", id);
    else
        api->log(a->self, NT_LOG_INFO, "default account %s already exists", id);
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

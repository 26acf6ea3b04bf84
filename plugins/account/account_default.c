/* The default account of the configuration (API.md A2, ACCOUNT_* of the original): created
 * at start when no account has default_api_key yet; an existing one is left as it is.
 */
#include "account.h"

#include <openssl/crypto.h>
#include <string.h>

int
acct_default_ensure(struct acct *a)
{
    const nt_host_api *api = a->api;
    nt_db *db = NULL;
    char hash[ACCT_HASH_BUF], id[NT_UUID_BUF];
    struct acct_row row = {0};
    int rc = NT_OK;

    if (a->default_key == NULL)
        return NT_OK;
    db = api->host_db(a->self);
    if (db == NULL) {
        api->init_error(a->self, "default account: no storage connection");
        return NT_ERR;
    }
    rc = acct_hash_hex(a->default_key, hash);
    if (rc == NT_OK)
        rc = acct_store_find_hash(api, db, hash, id);
    if (rc == NT_OK) {
        api->log(a->self, NT_LOG_INFO, "default account %s already exists", id);
        goto out;
    }
    if (rc != NT_ENOTFOUND) {
        api->init_error(a->self, "default account: cannot look it up: %s", api->db_errmsg(db));
        goto out;
    }
    if (a->default_id[0] != '\0') {
        memcpy(id, a->default_id, sizeof(id));
    } else if ((rc = api->uuid_new(id)) != NT_OK) {
        api->init_error(a->self, "default account: cannot make an id");
        goto out;
    }
    row.id = id;
    row.api_key_hash = hash;
    row.public_jwt_key = a->default_pem;
    row.webhook_url = a->default_webhook;
    row.webhook_key = ""; /* as in the original: the default webhook's key is empty */
    row.created = api->now_ms();
    rc = acct_store_insert(api, db, &row);
    if (rc == NT_ECONFLICT)
        api->init_error(a->self,
                        "default_account_id: account %s already exists with another API key", id);
    else if (rc != NT_OK)
        api->init_error(a->self, "default account: cannot create it: %s", api->db_errmsg(db));
    else
        api->log(a->self, NT_LOG_INFO, "created the default account %s", id);
out:
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

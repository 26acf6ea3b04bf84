/* The "accounts" service (services.h, NT_ACCOUNTS_V1) that authenticators use to resolve
 * API keys and read public keys. Stateless beyond the host table; reentrant.
 */
#include "account.h"

#include <nettu/services.h>
#include <openssl/crypto.h>

/* See nt_accounts_v1.find_by_api_key. */
static int
acct_svc_find_by_api_key(void *state, nt_db *db, const char *api_key, char account_id[NT_UUID_BUF])
{
    const struct acct *a = state;
    char hash[ACCT_HASH_BUF];
    int rc;

    if (api_key == NULL || *api_key == '\0')
        return NT_ENOTFOUND;
    rc = acct_hash_hex(api_key, hash);
    if (rc == NT_OK)
        rc = acct_store_find_hash(a->api, db, hash, account_id);
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

/* See nt_accounts_v1.key_version. */
static int
acct_svc_key_version(void *state, nt_db *db, const char *account_id, int64_t *version)
{
    const struct acct *a = state;

    return acct_store_pubkey(a->api, db, account_id, NULL, version);
}

/* See nt_accounts_v1.public_key: *pem is malloc'd for the caller. */
static int
acct_svc_public_key(void *state, nt_db *db, const char *account_id, char **pem, int64_t *version)
{
    const struct acct *a = state;

    return acct_store_pubkey(a->api, db, account_id, pem, version);
}

/* See nt_accounts_v1.webhook: *url and *key are malloc'd for the caller. */
static int
acct_svc_webhook(void *state, nt_db *db, const char *account_id, char **url, char **key)
{
    const struct acct *a = state;

    return acct_store_webhook(a->api, db, account_id, url, key);
}

static const nt_accounts_v1 acct_service_ops = {
    .size = sizeof(nt_accounts_v1),
    .find_by_api_key = acct_svc_find_by_api_key,
    .key_version = acct_svc_key_version,
    .public_key = acct_svc_public_key,
    .webhook = acct_svc_webhook,
};

int
acct_service_add(struct acct *a)
{
    return a->api->service_provide(a->self, NT_SERVICE_ACCOUNTS, "nettu", NT_ACCOUNTS_V1,
                                   &acct_service_ops, a);
}

/* SQL over account_accounts. Every function finalizes its statements on every path; errors
 * are the storage's NT_E* codes (the message stays on the connection).
 */
#include "account.h"

#include <stdlib.h>
#include <string.h>

int
acct_store_load(const nt_host_api *api, nt_db *db, const char *id, json_t **out)
{
    nt_stmt *st = api->db_prepare(db, "SELECT public_jwt_key, webhook_url, webhook_key "
                                      "FROM account_accounts WHERE id = $1");
    int rc = st != NULL ? NT_OK : NT_ERR;

    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 0) {
        rc = NT_ENOTFOUND;
    } else if (rc == 1) {
        *out = acct_json(id, api->db_col_text(st, 0), api->db_col_text(st, 1),
                         api->db_col_text(st, 2));
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    api->db_finalize(st);
    return rc;
}

int
acct_store_insert(const nt_host_api *api, nt_db *db, const struct acct_row *row)
{
    nt_stmt *st = api->db_prepare(
        db, "INSERT INTO account_accounts (id, api_key_hash, public_jwt_key, key_version, "
            "webhook_url, webhook_key, created) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    int rc = st != NULL ? NT_OK : NT_ERR;

    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, row->id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, row->api_key_hash);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, row->public_jwt_key);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 4, row->public_jwt_key != NULL ? 1 : 0);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 5, row->webhook_url);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 6, row->webhook_url != NULL ? row->webhook_key : NULL);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 7, row->created);
    if (rc == NT_OK)
        rc = api->db_step(st);
    api->db_finalize(st);
    return rc < 0 ? rc : NT_OK;
}

int
acct_store_find_hash(const nt_host_api *api, nt_db *db, const char *hash, char id[NT_UUID_BUF])
{
    nt_stmt *st = api->db_prepare(
        db, "SELECT id, api_key_hash FROM account_accounts WHERE api_key_hash = $1");
    int rc = st != NULL ? NT_OK : NT_ERR;
    const char *found;

    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, hash);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 0) {
        rc = NT_ENOTFOUND;
    } else if (rc == 1) {
        found = api->db_col_text(st, 0);
        rc = NT_ENOTFOUND;
        if (acct_hash_equal(api->db_col_text(st, 1), hash) && found != NULL &&
            strlen(found) == NT_UUID_LEN) {
            memcpy(id, found, NT_UUID_BUF);
            rc = NT_OK;
        }
    }
    api->db_finalize(st);
    return rc;
}

/* Runs an UPDATE whose last parameter ($n, n = nparams) is the account id and whose first
 * n - 1 parameters are the given texts. NT_ENOTFOUND when no row changed. */
static int
acct_store_update(const nt_host_api *api, nt_db *db, const char *sql, const char *id,
                  const char *const *texts, int ntexts)
{
    nt_stmt *st = api->db_prepare(db, sql);
    int rc = st != NULL ? NT_OK : NT_ERR;

    for (int i = 0; i < ntexts && rc == NT_OK; i++)
        rc = api->db_bind_text(st, i + 1, texts[i]);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, ntexts + 1, id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc >= 0)
        rc = api->db_changes(st) > 0 ? NT_OK : NT_ENOTFOUND;
    api->db_finalize(st);
    return rc;
}

int
acct_store_set_pubkey(const nt_host_api *api, nt_db *db, const char *id, const char *pem)
{
    const char *texts[1] = {pem};

    /* The counter only grows, so a version never names two different keys. */
    return acct_store_update(api, db,
                             "UPDATE account_accounts SET public_jwt_key = $1, "
                             "key_version = key_version + 1 WHERE id = $2",
                             id, texts, 1);
}

int
acct_store_set_webhook(const nt_host_api *api, nt_db *db, const char *id, const char *url,
                       const char *key)
{
    const char *texts[2] = {url, key};

    return acct_store_update(api, db,
                             "UPDATE account_accounts SET webhook_url = $1, "
                             "webhook_key = COALESCE(webhook_key, $2) WHERE id = $3",
                             id, texts, 2);
}

int
acct_store_clear_webhook(const nt_host_api *api, nt_db *db, const char *id)
{
    return acct_store_update(api, db,
                             "UPDATE account_accounts SET webhook_url = NULL, "
                             "webhook_key = NULL WHERE id = $1",
                             id, NULL, 0);
}

int
acct_store_pubkey(const nt_host_api *api, nt_db *db, const char *id, char **pem, int64_t *version)
{
    nt_stmt *st = api->db_prepare(
        db, "SELECT public_jwt_key, key_version FROM account_accounts WHERE id = $1");
    int rc = st != NULL ? NT_OK : NT_ERR;
    const char *text;

    if (pem != NULL)
        *pem = NULL;
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 0) {
        rc = NT_ENOTFOUND;
    } else if (rc == 1) {
        text = api->db_col_text(st, 0);
        /* A removed key reads as version 0, as the service contract says. */
        *version = text != NULL ? api->db_col_int64(st, 1) : 0;
        rc = NT_OK;
        if (pem != NULL && text != NULL && (*pem = strdup(text)) == NULL)
            rc = NT_ENOMEM;
    }
    api->db_finalize(st);
    return rc;
}

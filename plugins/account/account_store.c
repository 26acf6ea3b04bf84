/* SQL over account_accounts. Every function finalizes its statements on every path; errors
 * are the storage's NT_E* codes (the message stays on the connection).
 */
#include "account.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

int
acct_store_load(const nt_host_api *api, nt_db *db, const char *id, json_t **out)
{
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st,
                         "SELECT public_jwt_key, webhook_url, webhook_key "
                         "FROM account_accounts WHERE id = $1",
                         "t", id);

    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK) {
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
    return ntc_exec(api, db,
                    "INSERT INTO account_accounts (id, api_key_hash, public_jwt_key, key_version, "
                    "webhook_url, webhook_key, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    "tttdtti", row->id, row->api_key_hash, row->public_jwt_key,
                    row->public_jwt_key != NULL ? 1 : 0, row->webhook_url,
                    row->webhook_url != NULL ? row->webhook_key : NULL, row->created);
}

int
acct_store_find_hash(const nt_host_api *api, nt_db *db, const char *hash, char id[NT_UUID_BUF])
{
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st,
                         "SELECT id, api_key_hash FROM account_accounts WHERE api_key_hash = $1",
                         "t", hash);
    const char *found;

    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK) {
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

int
acct_store_set_pubkey(const nt_host_api *api, nt_db *db, const char *id, const char *pem)
{
    /* The counter only grows, so a version never names two different keys. */
    return ntc_exec_changed(api, db,
                            "UPDATE account_accounts SET public_jwt_key = $1, "
                            "key_version = key_version + 1 WHERE id = $2",
                            "tt", pem, id);
}

int
acct_store_set_webhook(const nt_host_api *api, nt_db *db, const char *id, const char *url,
                       const char *key)
{
    return ntc_exec_changed(api, db,
                            "UPDATE account_accounts SET webhook_url = $1, "
                            "webhook_key = COALESCE(webhook_key, $2) WHERE id = $3",
                            "ttt", url, key, id);
}

int
acct_store_clear_webhook(const nt_host_api *api, nt_db *db, const char *id)
{
    return ntc_exec_changed(api, db,
                            "UPDATE account_accounts SET webhook_url = NULL, "
                            "webhook_key = NULL WHERE id = $1",
                            "t", id);
}

int
acct_store_pubkey(const nt_host_api *api, nt_db *db, const char *id, char **pem, int64_t *version)
{
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st,
                         "SELECT public_jwt_key, key_version FROM account_accounts WHERE id = $1",
                         "t", id);
    const char *text;

    if (pem != NULL)
        *pem = NULL;
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK) {
        text = api->db_col_text(st, 0);
        /* A removed key reads as version 0, as the service contract says. */
        *version = text != NULL ? api->db_col_int64(st, 1) : 0;
        if (pem != NULL && text != NULL && (*pem = strdup(text)) == NULL)
            rc = NT_ENOMEM;
    }
    api->db_finalize(st);
    return rc;
}

int
acct_store_webhook(const nt_host_api *api, nt_db *db, const char *id, char **url, char **key)
{
    nt_stmt *st = NULL;
    int rc =
        ntc_prepare(api, db, &st,
                    "SELECT webhook_url, webhook_key FROM account_accounts WHERE id = $1", "t", id);
    const char *u, *k;

    *url = NULL;
    *key = NULL;
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK) {
        u = api->db_col_text(st, 0);
        k = api->db_col_text(st, 1);
        if (u != NULL && k != NULL && ((*url = strdup(u)) == NULL || (*key = strdup(k)) == NULL)) {
            free(*url);
            *url = NULL;
            rc = NT_ENOMEM;
        }
    }
    api->db_finalize(st);
    return rc;
}

/* The account routes: creation guarded by the configured secret, and the
 * admin's reads and updates of its own account. Handlers are reentrant; `a` is read-only.
 */
#include "account.h"
#include "acct_schemas.h"
#include "ntc_rsakey.h"

#include <openssl/crypto.h>
#include <string.h>

/* Attempts at a fresh id and key before giving up on unique-constraint conflicts. */
#define ACCT_CREATE_TRIES 3

/* Ends an admin handler: when rc is NT_OK wraps `account` (taken) as {"account": ...} into
 * *out and returns 200; otherwise rolls back the open transaction (if in_tx), names a
 * vanished account and returns rc. */
static int
acct_answer(const nt_host_api *api, nt_req *req, int in_tx, int rc, json_t *account, json_t **out)
{
    if (rc == NT_OK) {
        *out = json_object();
        if (*out == NULL || json_object_set_new(*out, "account", account) != 0) {
            json_decref(*out);
            *out = NULL;
            return NT_ENOMEM;
        }
        return 200;
    }
    if (in_tx)
        api->db_rollback(api->req_db(req));
    json_decref(account);
    if (rc == NT_ENOTFOUND)
        return api->fail(req, NT_ENOTFOUND, "account: the authenticated account does not exist");
    return rc;
}

/* Finishes an update made inside the open transaction: when rc is NT_OK reads the account
 * back into *account (new reference) and commits. Returns the first error. */
static int
acct_load_commit(const nt_host_api *api, nt_req *req, int rc, json_t **account)
{
    nt_db *db = api->req_db(req);

    if (rc == NT_OK)
        rc = acct_store_load(api, db, api->req_account(req), account);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    return rc;
}

/* POST /account: creates an account when `code` matches the creation secret; the new key
 * is answered once and only its hash is stored. */
static int
acct_route_create(nt_req *req, void *arg, json_t **out)
{
    const struct acct *a = arg;
    const nt_host_api *api = a->api;
    nt_db *db = api->req_db(req);
    char hash[ACCT_HASH_BUF], secret_hash[ACCT_HASH_BUF], id[NT_UUID_BUF], key[ACCT_KEY_BUF],
        key_hash[ACCT_HASH_BUF];
    struct acct_row row = {0};
    json_t *account = NULL;
    const char *code = NULL;
    int rc;

    memset(key, 0, sizeof(key));
    rc = api->json_get_str(req, api->req_body(req), "code", 1, &code, NULL);
    if (rc != NT_OK)
        goto out;
    /* Both sides hashed, so the comparison takes the same time whatever the lengths. */
    rc = acct_hash_hex(code, hash);
    if (rc == NT_OK)
        rc = acct_hash_hex(a->secret, secret_hash);
    if (rc != NT_OK)
        goto out;
    if (!acct_hash_equal(hash, secret_hash)) {
        rc = api->fail(req, NT_EUNAUTH, "code: does not match the account creation secret");
        goto out;
    }
    rc = NT_ECONFLICT;
    for (int i = 0; i < ACCT_CREATE_TRIES && rc == NT_ECONFLICT; i++) {
        rc = api->uuid_new(id);
        if (rc == NT_OK)
            rc = acct_key_new(api->random_bytes, key);
        if (rc == NT_OK)
            rc = acct_hash_hex(key, key_hash);
        if (rc != NT_OK)
            goto out;
        row.id = id;
        row.api_key_hash = key_hash;
        row.created = api->now_ms();
        rc = acct_store_insert(api, db, &row);
    }
    if (rc != NT_OK)
        goto out;
    account = acct_json(id, NULL, NULL, NULL);
    *out = json_object();
    if (account == NULL || *out == NULL ||
        json_object_set_new(*out, "secretApiKey", json_string(key)) != 0 ||
        json_object_set(*out, "account", account) != 0) {
        json_decref(*out);
        *out = NULL;
        rc = NT_ENOMEM;
        goto out;
    }
    rc = 201;
out:
    json_decref(account);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* GET /account: the admin's account. */
static int
acct_route_get(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct acct *)arg)->api;
    json_t *account = NULL;
    int rc = acct_store_load(api, api->req_db(req), api->req_account(req), &account);

    return acct_answer(api, req, 0, rc, account, out);
}

/* PUT /account/pubkey: sets (a valid RSA public key PEM, stored verbatim) or removes
 * (absent or null) the key that verifies end-user tokens. A refused key changes nothing. */
static int
acct_route_pubkey(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct acct *)arg)->api;
    nt_db *db = api->req_db(req);
    json_t *body = api->req_body(req), *account = NULL;
    const char *pem = NULL, *why = NULL;
    int present = 0, in_tx = 0, rc;

    rc = api->json_get_str(req, body, "publicJwtKey", 0, &pem, &present);
    if (rc != NT_OK)
        goto out;
    if (!present) {
        pem = NULL;
    } else {
        /* The JSON length, so that a NUL inside the string is seen and refused. */
        rc = acct_pem_rsa_public(pem, json_string_length(json_object_get(body, "publicJwtKey")),
                                 &why);
        if (rc == NT_EINVAL && strcmp(why, ACCT_PEM_FORM) == 0)
            rc = api->fail(req, NT_EINVAL, "publicJwtKey: %s", why);
        else if (rc == NT_EINVAL)
            rc = api->fail(req, NT_EINVAL, "publicJwtKey: %s; expected %s", why, NTC_RSA_RULE);
        if (rc != NT_OK)
            goto out;
    }
    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = acct_store_set_pubkey(api, db, api->req_account(req), pem);
    rc = acct_load_commit(api, req, rc, &account);
out:
    return acct_answer(api, req, in_tx, rc, account, out);
}

/* PUT /account/webhook: sets the webhook URL; a first webhook gets a fresh key, a later one
 * keeps its key. With the webhooks plugin loaded, a URL whose host is (or resolves to) a
 * non-public address outside [webhooks] allow_private, or does not resolve, is refused with
 * 400 (503 when the lookup took longer than its bound); a refused URL changes nothing. */
static int
acct_route_webhook_put(nt_req *req, void *arg, json_t **out)
{
    const struct acct *a = arg;
    const nt_host_api *api = a->api;
    nt_db *db = api->req_db(req);
    json_t *account = NULL;
    const char *url = NULL;
    char key[ACCT_KEY_BUF], why[512];
    int in_tx = 0, rc;

    memset(key, 0, sizeof(key));
    rc = api->json_get_str(req, api->req_body(req), "webhookUrl", 1, &url, NULL);
    if (rc != NT_OK)
        goto out;
    /* strlen against the JSON length: a NUL inside the string is refused too. */
    if (!acct_url_valid(url) ||
        strlen(url) != json_string_length(json_object_get(api->req_body(req), "webhookUrl"))) {
        rc = api->fail(req, NT_EINVAL,
                       "webhookUrl: expected an absolute http or https URL with a host, no "
                       "user name or password, at most %d bytes",
                       ACCT_URL_MAX);
        goto out;
    }
    if (a->webhooks != NULL) {
        /* may block this worker for the lookup's bound (about 2 s) */
        why[0] = '\0';
        rc = a->webhooks->check_url(a->webhooks_state, url, why, sizeof(why));
        /* every refusal or failure with a reason (e.g. libcurl cannot be loaded) says why */
        if (rc != NT_OK && why[0] != '\0')
            rc = api->fail(req, rc, "webhookUrl: %s", why);
        if (rc != NT_OK)
            goto out;
    }
    rc = acct_key_new(api->random_bytes, key);
    if (rc != NT_OK)
        goto out;
    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = acct_store_set_webhook(api, db, api->req_account(req), url, key);
    rc = acct_load_commit(api, req, rc, &account);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return acct_answer(api, req, in_tx, rc, account, out);
}

/* DELETE /account/webhook: removes the webhook; none is not an error. */
static int
acct_route_webhook_delete(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct acct *)arg)->api;
    nt_db *db = api->req_db(req);
    json_t *account = NULL;
    int in_tx = 0, rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = acct_store_clear_webhook(api, db, api->req_account(req));
    rc = acct_load_commit(api, req, rc, &account);
out:
    return acct_answer(api, req, in_tx, rc, account, out);
}

int
acct_routes_add(struct acct *a)
{
    const ntc_route routes[] = {
        {"POST", "/api/v1/account", NT_AUTH_PUBLIC, NULL, acct_route_create},
        {"GET", "/api/v1/account", NT_AUTH_ADMIN, NULL, acct_route_get},
        {"PUT", "/api/v1/account/pubkey", NT_AUTH_ADMIN, NULL, acct_route_pubkey},
        {"PUT", "/api/v1/account/webhook", NT_AUTH_ADMIN, NULL, acct_route_webhook_put},
        {"DELETE", "/api/v1/account/webhook", NT_AUTH_ADMIN, NULL, acct_route_webhook_delete},
    };

    return ntc_routes_add_doc(a->api, a->self, routes, sizeof(routes) / sizeof(routes[0]),
                              acct_route_docs, acct_route_docs_n, a);
}

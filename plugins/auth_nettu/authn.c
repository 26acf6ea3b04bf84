/* The request path of auth_nettu: admin API keys, end-user tokens and the
 * public-account header. Messages name what is wrong, never the key or token.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "auth.h"
#include "ntc_sha256.h"
#include "authn_account.h"
#include "bearer.h"
#include "jwt.h"
#include "jwt_key.h"

/* The principal found for an end user: owned by the caller until handed to the host. */
typedef struct authn_principal {
    char user_id[NT_UUID_BUF];
    json_t *policy; /* owned reference or NULL (default policy) */
} authn_principal;

/* Copies a validated UUID in lower case (ids are stored that way). */
static void
authn_uuid_lower(const char *in, char out[NT_UUID_BUF])
{
    for (int i = 0; i < NT_UUID_LEN; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[NT_UUID_LEN] = '\0';
}

/* The parsed public key of the account for `*version`, from the cache or else read and
 * parsed (then cached); *version becomes the version of the key returned. NT_OK with *out a
 * reference the caller frees; NT_EUNAUTH with a message; or a storage error. */
static int
authn_account_key(auth_state *st, nt_req *req, const char *account, int64_t *version,
                  EVP_PKEY **out)
{
    const nt_host_api *api = st->api;
    char *pem = NULL;
    const char *why = NULL;
    int rc;

    *out = keycache_get(st->keys, account, *version);
    if (*out != NULL)
        return NT_OK;
    rc = st->accounts->public_key(st->accounts_state, api->req_db(req), account, &pem, version);
    if (rc == NT_ENOTFOUND) {
        rc = api->fail(req, NT_EUNAUTH, "nettu-account: no such account");
        goto out;
    }
    if (rc != NT_OK)
        goto out;
    if (pem == NULL) {
        rc = api->fail(req, NT_EUNAUTH, "the account has no public key for tokens");
        goto out;
    }
    rc = jwt_key_parse(pem, strlen(pem), out, &why);
    if (rc == NT_ENOMEM)
        goto out;
    if (rc != NT_OK) {
        api->log(st->self, NT_LOG_WARN, "account %s: stored public key unusable: %s", account, why);
        rc = api->fail(req, NT_EUNAUTH, "the account's public key cannot verify tokens");
        goto out;
    }
    keycache_put(st->keys, account, *version, *out);
out:
    free(pem);
    return rc;
}

/* Verifies the end-user `token` for the account with key version `version` (or takes it from the
 * token cache) and fills *u. NT_EUNAUTH with a message, or another error code. */
static int
authn_token(auth_state *st, nt_req *req, const char *account, int64_t version, const char *token,
            size_t len, authn_principal *u)
{
    const nt_host_api *api = st->api;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    int64_t now_s = api->now_ms() / 1000;
    EVP_PKEY *key = NULL;
    jwt_claims claims;
    const char *why = NULL;
    int rc;

    memset(&claims, 0, sizeof(claims));
    if (len > JWT_MAX_LEN) {
        rc = api->fail(req, NT_EUNAUTH, "token: too long");
        goto out;
    }
    if (ntc_sha256(token, len, digest) != NT_OK) {
        rc = NT_ERR;
        goto out;
    }
    if (tokcache_get(st->tokens, digest, account, version, now_s, u->user_id, &u->policy) ==
        NT_OK) {
        rc = NT_OK;
        goto out;
    }
    rc = authn_account_key(st, req, account, &version, &key);
    if (rc != NT_OK)
        goto out;
    rc = jwt_verify(token, len, key, now_s, &claims, &why);
    if (rc == NT_EUNAUTH)
        rc = api->fail(req, NT_EUNAUTH, "%s", why);
    if (rc != NT_OK)
        goto out;
    if (st->policy->validate(st->policy_state, claims.policy) != NT_OK) {
        rc = api->fail(req, NT_EUNAUTH,
                       "token schedulerPolicy: allow and reject must be arrays of known "
                       "permissions");
        goto out;
    }
    tokcache_put(st->tokens, digest, account, version, claims.user_id, claims.policy,
                 claims.valid_from, claims.exp, now_s);
    memcpy(u->user_id, claims.user_id, NT_UUID_BUF);
    u->policy = claims.policy;
    claims.policy = NULL;
out:
    jwt_claims_fini(&claims);
    keycache_release(st->keys, account, key);
    return rc;
}

/* End users: nettu-account plus Authorization: Bearer <jwt>. */
static int
authn_user(auth_state *st, nt_req *req)
{
    const nt_host_api *api = st->api;
    const char *hdr = api->req_header(req, "nettu-account"), *token;
    char account[NT_UUID_BUF];
    authn_principal u = {.policy = NULL};
    int64_t version = 0;
    size_t len = 0;
    int rc;

    if (hdr == NULL)
        return api->fail(req, NT_EUNAUTH, "missing nettu-account header");
    if (!api->uuid_valid(hdr))
        return api->fail(req, NT_EUNAUTH, "nettu-account: expected an account id (UUID)");
    authn_uuid_lower(hdr, account);
    rc = st->accounts->key_version(st->accounts_state, api->req_db(req), account, &version);
    if (rc == NT_ENOTFOUND)
        return api->fail(req, NT_EUNAUTH, "nettu-account: no such account");
    if (rc != NT_OK)
        return rc;
    hdr = api->req_header(req, "authorization");
    if (hdr == NULL)
        return api->fail(req, NT_EUNAUTH, "missing Authorization header");
    token = bearer_token(hdr, &len);
    if (token == NULL)
        return api->fail(req, NT_EUNAUTH, "Authorization: expected 'Bearer <token>'");
    if (version == 0)
        return api->fail(req, NT_EUNAUTH, "the account has no public key for tokens");
    rc = authn_token(st, req, account, version, token, len, &u);
    if (rc != NT_OK)
        goto out;
    rc = st->users->in_account(st->users_state, api->req_db(req), account, u.user_id);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, NT_EUNAUTH, "token nettuSchedulerUserId: no such user in the account");
    if (rc != NT_OK)
        goto out;
    rc = api->req_set_principal(req, account, u.user_id, u.policy);
    u.policy = NULL; /* taken by the host */
out:
    json_decref(u.policy);
    return rc;
}

int
auth_authenticate(void *state, nt_req *req, nt_auth_kind need)
{
    auth_state *st = state;
    const nt_host_api *api = st->api;

    switch (need) {
    case NT_AUTH_PUBLIC:
        return NT_OK;
    case NT_AUTH_ADMIN:
        return authn_account_admin(&st->acct, req);
    case NT_AUTH_USER:
        return authn_user(st, req);
    case NT_AUTH_ADMIN_OR_USER:
        if (api->req_header(req, "x-api-key") != NULL)
            return authn_account_admin(&st->acct, req);
        return authn_user(st, req);
    case NT_AUTH_PUBLIC_ACCOUNT:
        return authn_account_public(&st->acct, req);
    }
    return api->fail(req, NT_ERR, "unknown authentication class %d", (int)need);
}

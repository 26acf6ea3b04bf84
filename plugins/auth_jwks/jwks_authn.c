/* The request path of auth_jwks: end users whose tokens verify against the JWKS file (users
 * of the configured account); admin API keys and the public-account header go to
 * authn_account.c (auth_nettu's). Messages never hold a key or a token.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "bearer.h"
#include "ntc_sha256.h"
#include "jwks_auth.h"
#include "jwks_jws.h"

/* Verifies `token` against the current key set (or finds it in the token cache, which only
 * counts for the same key set version) and fills *u. NT_EUNAUTH with a message, or another
 * error code. */
static int
authn_token(jwks_state *st, nt_req *req, const char *token, size_t len, jwks_principal *u)
{
    const nt_host_api *api = st->api;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    int64_t now_s = api->now_ms() / 1000, version = 0;
    jwks_set *set = jwks_ring_acquire(st->ring, &version);
    json_t *claims = NULL;
    const char *why = NULL;
    char msg[160];
    int rc;

    if (set == NULL) {
        rc = api->fail(req, NT_EUNAUTH, "no key set is loaded");
        goto out;
    }
    if (len > JWKS_TOKEN_MAX) {
        rc = api->fail(req, NT_EUNAUTH, "token: too long");
        goto out;
    }
    if (ntc_sha256(token, len, digest) != NT_OK) {
        rc = NT_ERR;
        goto out;
    }
    rc = tokcache_get(st->tokens, digest, st->account_id, version, now_s, u->user_id, &u->policy);
    if (rc == NT_OK)
        goto out;
    rc = jwks_jws_verify(token, len, set, &claims, &why);
    if (rc == NT_EUNAUTH)
        rc = api->fail(req, NT_EUNAUTH, "%s", why);
    if (rc != NT_OK)
        goto out;
    rc = jwks_claims_check(claims, &st->rules, now_s, u, msg, sizeof(msg));
    if (rc == NT_EUNAUTH)
        rc = api->fail(req, NT_EUNAUTH, "%s", msg);
    if (rc != NT_OK)
        goto out;
    if (st->policy->validate(st->policy_state, u->policy) != NT_OK) {
        rc = api->fail(req, NT_EUNAUTH,
                       "token %s: allow and reject must be arrays of known permissions",
                       st->rules.policy_claim);
        goto out;
    }
    tokcache_put(st->tokens, digest, st->account_id, version, u->user_id, u->policy, u->valid_from,
                 u->exp, now_s);
out:
    json_decref(claims);
    jwks_set_unref(set);
    return rc;
}

/* 1 when [auth_jwks] account_id names no account (then every token is refused); logs a
 * warning the first time, so the operator learns why. */
static int
authn_account_missing(jwks_state *st, nt_req *req)
{
    int64_t version = 0;

    if (st->acct.ops->key_version(st->acct.state, st->api->req_db(req), st->account_id, &version) !=
        NT_ENOTFOUND)
        return 0;
    if (atomic_exchange(&st->account_warned, 1) == 0)
        st->api->log(st->self, NT_LOG_WARN,
                     "[auth_jwks] account_id %s names no account: every token is refused until "
                     "it exists (create it with [account] default_account_id and "
                     "default_api_key, or correct account_id)",
                     st->account_id);
    return 1;
}

/* End users: nettu-account absent or the configured account, and a Bearer token. */
static int
authn_user(jwks_state *st, nt_req *req)
{
    const nt_host_api *api = st->api;
    const char *hdr = api->req_header(req, "nettu-account"), *token;
    jwks_principal u;
    size_t len = 0;
    int rc;

    memset(&u, 0, sizeof(u));
    if (hdr != NULL && !api->uuid_valid(hdr))
        return api->fail(req, NT_EUNAUTH, "nettu-account: expected an account id (UUID)");
    if (hdr != NULL && strcasecmp(hdr, st->account_id) != 0)
        return api->fail(req, NT_EUNAUTH,
                         "nettu-account: tokens are only accepted for the account configured "
                         "in [auth_jwks] account_id");
    hdr = api->req_header(req, "authorization");
    if (hdr == NULL)
        return api->fail(req, NT_EUNAUTH, "missing Authorization header");
    token = bearer_token(hdr, &len);
    if (token == NULL)
        return api->fail(req, NT_EUNAUTH, "Authorization: expected 'Bearer <token>'");
    rc = authn_token(st, req, token, len, &u);
    if (rc != NT_OK)
        goto out;
    rc = st->users->in_account(st->users_state, api->req_db(req), st->account_id, u.user_id);
    if (rc == NT_ENOTFOUND && authn_account_missing(st, req))
        rc = api->fail(req, NT_EUNAUTH,
                       "the account configured in [auth_jwks] account_id does not exist");
    else if (rc == NT_ENOTFOUND)
        rc = api->fail(req, NT_EUNAUTH, "token %s: no such user in the account",
                       st->rules.user_claim);
    if (rc != NT_OK)
        goto out;
    rc = api->req_set_principal(req, st->account_id, u.user_id, u.policy);
    u.policy = NULL; /* taken by the host */
out:
    jwks_principal_fini(&u);
    return rc;
}

int
jwks_authenticate(void *state, nt_req *req, nt_auth_kind need)
{
    jwks_state *st = state;
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

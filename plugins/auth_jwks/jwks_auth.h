/* auth_jwks internals shared by the plugin's lifecycle (auth_jwks.c) and the request path
 * (jwks_authn.c).
 */
#ifndef JWKS_AUTH_H
#define JWKS_AUTH_H

#include <stdatomic.h>

#include <nettu/services.h>

#include "authn_account.h"
#include "jwks_claims.h"
#include "jwks_ring.h"
#include "tokcache.h"

#define JWKS_TOKEN_CACHE_DEFAULT 16384
#define JWKS_USER_CLAIM_DEFAULT "nettuSchedulerUserId"
#define JWKS_POLICY_CLAIM_DEFAULT "schedulerPolicy"

/* The plugin's state: configured in init, services and keys added in start; while serving
 * only the ring and the token cache change, and both lock themselves. */
typedef struct jwks_state {
    nt_plugin *self;
    const nt_host_api *api;
    char account_id[NT_UUID_BUF]; /* every token user is a user of this account (lower case) */
    atomic_int account_warned;    /* the "account_id names no account" warning was logged */
    char *jwks_file;
    char *user_claim, *policy_claim, *issuer, *audience; /* malloc'd; issuer/audience NULL */
    jwks_claim_rules rules;                              /* points at the strings above */
    authn_accounts acct; /* the accounts service, for admin and public-account requests */
    const nt_users_v1 *users;
    void *users_state;
    const nt_policy_v1 *policy;
    void *policy_state;
    jwks_ring *ring;
    tokcache *tokens;
} jwks_state;

/* nt_authenticator_v1.authenticate: admin API keys and the public-account header as
 * auth_nettu does (authn_account.h), end users by JWKS-verified tokens of
 * the configured account. Sets the principal and returns NT_OK, or NT_EUNAUTH (NT_EINVAL for a
 * malformed nettu-account on NT_AUTH_PUBLIC_ACCOUNT) with a message set through fail(), or a
 * storage error code. Worker threads; reentrant. */
int jwks_authenticate(void *state, nt_req *req, nt_auth_kind need);

#endif /* JWKS_AUTH_H */

/* auth_nettu internals shared by the plugin's lifecycle (auth_nettu.c) and the request
 * path (authn.c).
 */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <nettu/services.h>

#include "authn_account.h"
#include "keycache.h"
#include "tokcache.h"

#define AUTH_TOKEN_CACHE_DEFAULT 16384
#define AUTH_KEY_CACHE_DEFAULT 1024

/* The plugin's state: set up in init and start, read-only while serving (the caches lock
 * themselves). */
typedef struct auth_state {
    nt_plugin *self;
    const nt_host_api *api;
    const nt_accounts_v1 *accounts;
    void *accounts_state;
    const nt_users_v1 *users;
    void *users_state;
    const nt_policy_v1 *policy;
    void *policy_state;
    keycache *keys;
    tokcache *tokens;
    authn_accounts acct; /* the accounts service, for admin and public-account requests */
} auth_state;

/* nt_authenticator_v1.authenticate: sets the request's principal and returns
 * NT_OK, or returns NT_EUNAUTH (NT_EINVAL for a malformed nettu-account on
 * NT_AUTH_PUBLIC_ACCOUNT) with a message set through fail(), or a storage error code.
 * Worker threads; reentrant. */
int auth_authenticate(void *state, nt_req *req, nt_auth_kind need);

#endif /* AUTH_AUTH_H */

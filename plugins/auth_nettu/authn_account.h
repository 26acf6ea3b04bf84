/* Account-level credentials: the admin API key and the public-account header.
 * Needs only the host table and the "accounts" service, so every authenticator
 * (auth_nettu, auth_jwks) compiles this one file.
 */
#ifndef AUTHN_ACCOUNT_H
#define AUTHN_ACCOUNT_H

#include <nettu/services.h>

/* What the account checks need; borrowed from the plugin's state. */
typedef struct authn_accounts {
    const nt_host_api *api;
    const nt_accounts_v1 *ops;
    void *state;
} authn_accounts;

/* Admins: x-api-key must be visible ASCII and the secret API key of an account; the request
 * then acts as that account's admin. NT_OK after req_set_principal(), NT_EUNAUTH with a
 * message set through fail(), or a storage error code. Worker threads; reentrant. */
int authn_account_admin(const authn_accounts *a, nt_req *req);

/* Public: with a nettu-account header, that account (NT_EINVAL when the header is not a UUID,
 * NT_EUNAUTH when no such account), without it authn_account_admin(). Same returns. */
int authn_account_public(const authn_accounts *a, nt_req *req);

#endif /* AUTHN_ACCOUNT_H */

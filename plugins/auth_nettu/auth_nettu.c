/* auth_nettu plugin: provides the "authenticator" service named "nettu": x-api-key for
 * account admins and RS256 JWTs for end users. Lifecycle and configuration
 * live here; the request path is in authn.c.
 *
 * [auth_nettu]
 * token_cache_size = 16384  ; verified tokens remembered (0 turns the cache off)
 * key_cache_size = 1024     ; parsed account public keys remembered (0 turns it off)
 */
#include <stdlib.h>

#include "auth.h"

static const nt_authenticator_v1 auth_ops = {
    .size = sizeof(nt_authenticator_v1),
    .authenticate = auth_authenticate,
};

/* Frees the state and both caches; NULL is fine. */
static void
auth_fini(void *state)
{
    auth_state *st = state;

    if (st == NULL)
        return;
    tokcache_free(st->tokens);
    keycache_free(st->keys);
    free(st);
}

/* Reads the section, makes the caches and provides the service; *state is a new
 * auth_state freed by auth_fini(). */
static int
auth_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {"token_cache_size", "key_cache_size", NULL};
    auth_state *st = NULL;
    long long tokens = 0, keys = 0;
    int rc;

    rc = api->cfg_check_keys(p, cfg, known);
    if (rc != NT_OK)
        goto out;
    rc = api->cfg_int(p, cfg, "token_cache_size", AUTH_TOKEN_CACHE_DEFAULT, 0, 1 << 24, &tokens);
    if (rc != NT_OK)
        goto out;
    rc = api->cfg_int(p, cfg, "key_cache_size", AUTH_KEY_CACHE_DEFAULT, 0, 1 << 20, &keys);
    if (rc != NT_OK)
        goto out;
    rc = NT_ENOMEM;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto out;
    st->self = p;
    st->api = api;
    st->tokens = tokcache_new((size_t)tokens);
    st->keys = keycache_new((size_t)keys);
    if (st->tokens == NULL || st->keys == NULL) {
        api->init_error(p, "out of memory for the token and key caches");
        goto out;
    }
    /* Declared, so --check-config reports a missing one (looked up in auth_start). */
    if ((rc = api->service_need(p, NT_SERVICE_ACCOUNTS, NT_ACCOUNTS_V1)) != NT_OK ||
        (rc = api->service_need(p, NT_SERVICE_USERS, NT_USERS_V1)) != NT_OK ||
        (rc = api->service_need(p, NT_SERVICE_POLICY, NT_POLICY_V1)) != NT_OK)
        goto out;
    rc = api->service_provide(p, NT_SERVICE_AUTHENTICATOR, "nettu", NT_AUTHENTICATOR_V1, &auth_ops,
                              st);
    if (rc != NT_OK) {
        api->init_error(p, "cannot provide service %s/nettu (code %d)", NT_SERVICE_AUTHENTICATOR,
                        rc);
        goto out;
    }
    *state = st;
    st = NULL;
out:
    auth_fini(st);
    return rc;
}

/* Looks up the services the request path needs: accounts, users and policy. */
static int
auth_start(void *state)
{
    auth_state *st = state;
    const nt_host_api *api = st->api;

    st->accounts = api->service_lookup(st->self, NT_SERVICE_ACCOUNTS, NULL, NT_ACCOUNTS_V1,
                                       &st->accounts_state);
    st->users =
        api->service_lookup(st->self, NT_SERVICE_USERS, NULL, NT_USERS_V1, &st->users_state);
    st->policy =
        api->service_lookup(st->self, NT_SERVICE_POLICY, NULL, NT_POLICY_V1, &st->policy_state);
    if (!NT_HAS_MEMBER(st->accounts, nt_accounts_v1, public_key) ||
        st->accounts->find_by_api_key == NULL || st->accounts->key_version == NULL ||
        st->accounts->public_key == NULL) {
        api->init_error(st->self, "needs service %s v%d (load the account plugin)",
                        NT_SERVICE_ACCOUNTS, NT_ACCOUNTS_V1);
        return NT_ERR;
    }
    st->acct.api = api;
    st->acct.ops = st->accounts;
    st->acct.state = st->accounts_state;
    if (!NT_HAS_MEMBER(st->users, nt_users_v1, in_account) || st->users->in_account == NULL) {
        api->init_error(st->self, "needs service %s v%d (load the user plugin)", NT_SERVICE_USERS,
                        NT_USERS_V1);
        return NT_ERR;
    }
    if (!NT_HAS_MEMBER(st->policy, nt_policy_v1, check) || st->policy->validate == NULL) {
        api->init_error(st->self, "needs service %s v%d (load the policy plugin)",
                        NT_SERVICE_POLICY, NT_POLICY_V1);
        return NT_ERR;
    }
    return NT_OK;
}

static const nt_plugin_desc auth_desc = {
    NT_PLUGIN_HEADER,  .name = "auth_nettu", .version = "1.0.0",
    .init = auth_init, .start = auth_start,  .fini = auth_fini,
};

NT_PLUGIN_DEFINE(auth_desc)

/* auth_jwks plugin: provides the "authenticator" service named "jwks" (end-user JWTs, RS256
 * or ES256, verified against the keys of a JWKS file; admin API keys and the public-account
 * header as auth_nettu) and the "reloadable" service named "auth_jwks" (SIGHUP re-reads the
 * file). Configuration and lifecycle live here; the request path is in jwks_authn.c.
 *
 * [auth_jwks]
 * jwks_file = /etc/nettu/jwks.json   ; required: {"keys": [...]}, read in init and on SIGHUP
 * account_id = <uuid>                ; required: token users are users of this account
 * user_claim = nettuSchedulerUserId  ; the claim holding the user id, e.g. sub
 * policy_claim = schedulerPolicy     ; the claim holding the policy; absent = default policy
 * issuer =                           ; when set, iss must equal it
 * audience =                         ; when set, aud must be it or hold it
 * token_cache_size = 16384           ; verified tokens remembered (0 turns the cache off)
 * leeway = 60s                       ; clock skew allowed for nbf and iat (0 to 10m)
 * exp_leeway = 0s                    ; clock skew allowed for exp (0 to 10m)
 */
#include <stdlib.h>
#include <string.h>

#include "jwks_auth.h"

static int jwks_reload(void *state);
static int jwks_load(jwks_state *st, const char *what, char *err, size_t errlen);

static const nt_authenticator_v1 jwks_auth_ops = {
    .size = sizeof(nt_authenticator_v1),
    .authenticate = jwks_authenticate,
};

static const nt_reloadable_v1 jwks_reload_ops = {
    .size = sizeof(nt_reloadable_v1),
    .reload = jwks_reload,
};

/* Frees the state, its strings, the key ring and the token cache; NULL is fine. */
static void
jwks_fini(void *state)
{
    jwks_state *st = state;

    if (st == NULL)
        return;
    tokcache_free(st->tokens);
    jwks_ring_free(st->ring);
    free(st->jwks_file);
    free(st->user_claim);
    free(st->policy_claim);
    free(st->issuer);
    free(st->audience);
    free(st);
}

/* Copies the string value of `key` into *out: the value, or `dflt` when the key is absent
 * (NULL dflt leaves *out NULL). An empty value is refused when `required` or a default exists;
 * for an optional key without default it means "not set". */
static int
jwks_cfg_str(jwks_state *st, const nt_config *cfg, const char *key, const char *dflt, int required,
             char **out)
{
    const nt_host_api *api = st->api;
    const char *v = api->cfg_get(cfg, key);

    *out = NULL;
    if ((v == NULL || *v == '\0') && required) {
        api->init_error(st->self, "[auth_jwks] %s: required", key);
        return NT_EINVAL;
    }
    if (v != NULL && *v == '\0' && dflt != NULL) {
        api->init_error(st->self, "[auth_jwks] %s: expected a claim name, not an empty value", key);
        return NT_EINVAL;
    }
    if (v == NULL || *v == '\0')
        v = dflt;
    if (v != NULL && (*out = strdup(v)) == NULL) {
        api->init_error(st->self, "out of memory");
        return NT_ENOMEM;
    }
    return NT_OK;
}

/* Reads and checks every key of the section into st. */
static int
jwks_configure(jwks_state *st, const nt_config *cfg, long long *tokens)
{
    static const char *const known[] = {
        "jwks_file", "account_id",       "user_claim", "policy_claim", "issuer",
        "audience",  "token_cache_size", "leeway",     "exp_leeway",   NULL};
    const nt_host_api *api = st->api;
    const char *file = NULL;
    long long leeway = 0, exp_leeway = 0;
    int rc;

    rc = api->cfg_check_keys(st->self, cfg, known);
    if (rc != NT_OK)
        return rc;
    if ((rc = api->cfg_uuid(st->self, cfg, "account_id", 1, st->account_id, NULL)) != NT_OK)
        return rc;
    rc = api->cfg_path(st->self, cfg, "jwks_file", NULL, NT_CFG_PATH_REQUIRED | NT_CFG_PATH_FILE,
                       &file);
    if (rc != NT_OK)
        return rc;
    if ((st->jwks_file = strdup(file)) == NULL) {
        api->init_error(st->self, "out of memory");
        return NT_ENOMEM;
    }
    if ((rc = jwks_cfg_str(st, cfg, "user_claim", JWKS_USER_CLAIM_DEFAULT, 0, &st->user_claim)) !=
            NT_OK ||
        (rc = jwks_cfg_str(st, cfg, "policy_claim", JWKS_POLICY_CLAIM_DEFAULT, 0,
                           &st->policy_claim)) != NT_OK ||
        (rc = jwks_cfg_str(st, cfg, "issuer", NULL, 0, &st->issuer)) != NT_OK ||
        (rc = jwks_cfg_str(st, cfg, "audience", NULL, 0, &st->audience)) != NT_OK)
        return rc;
    if (strcmp(st->user_claim, st->policy_claim) == 0) {
        api->init_error(st->self, "[auth_jwks] policy_claim: must differ from user_claim (%s)",
                        st->user_claim);
        return NT_EINVAL;
    }
    /* Clock skew between the identity provider and this server (durations, 0 to 10 min). */
    if ((rc = api->cfg_duration(st->self, cfg, "leeway", JWKS_LEEWAY_S * 1000, 0, 600000,
                                &leeway)) != NT_OK ||
        (rc = api->cfg_duration(st->self, cfg, "exp_leeway", 0, 0, 600000, &exp_leeway)) != NT_OK)
        return rc;
    st->rules.leeway_s = leeway / 1000;
    st->rules.exp_leeway_s = exp_leeway / 1000;
    return api->cfg_int(st->self, cfg, "token_cache_size", JWKS_TOKEN_CACHE_DEFAULT, 0, 1 << 24,
                        tokens);
}

/* Validates the section, makes the ring and the token cache and provides both services;
 * *state is a new jwks_state freed by jwks_fini(). The key file is read and validated here. */
static int
jwks_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    jwks_state *st = calloc(1, sizeof(*st));
    long long tokens = 0;
    char err[256];
    int rc = NT_ENOMEM;

    if (st == NULL)
        goto out;
    st->self = p;
    st->api = api;
    rc = jwks_configure(st, cfg, &tokens);
    if (rc != NT_OK)
        goto out;
    st->rules.user_claim = st->user_claim;
    st->rules.policy_claim = st->policy_claim;
    st->rules.issuer = st->issuer;
    st->rules.audience = st->audience;
    st->rules.uuid_valid = api->uuid_valid;
    rc = NT_ENOMEM;
    st->ring = jwks_ring_new();
    st->tokens = tokcache_new((size_t)tokens);
    if (st->ring == NULL || st->tokens == NULL) {
        api->init_error(p, "out of memory for the key ring and the token cache");
        goto out;
    }
    /* The key file is read and validated here, so --check-config reports a bad one. */
    rc = jwks_load(st, "loaded", err, sizeof(err));
    if (rc != NT_OK) {
        api->cfg_fail(p, cfg, "jwks_file",
                      "%s; expected a JWKS file {\"keys\": [...]} with at least one usable RS256 "
                      "or ES256 key (plugins/auth_jwks/README.md)",
                      err);
        goto out;
    }
    /* Looked up in jwks_start; declared so --check-config finds them missing. */
    if ((rc = api->service_need(p, NT_SERVICE_ACCOUNTS, NT_ACCOUNTS_V1)) != NT_OK ||
        (rc = api->service_need(p, NT_SERVICE_USERS, NT_USERS_V1)) != NT_OK ||
        (rc = api->service_need(p, NT_SERVICE_POLICY, NT_POLICY_V1)) != NT_OK)
        goto out;
    rc = api->service_provide(p, NT_SERVICE_AUTHENTICATOR, "jwks", NT_AUTHENTICATOR_V1,
                              &jwks_auth_ops, st);
    if (rc == NT_OK)
        rc = api->service_provide(p, NT_SERVICE_RELOADABLE, "auth_jwks", NT_RELOADABLE_V1,
                                  &jwks_reload_ops, st);
    if (rc != NT_OK) {
        api->init_error(p,
                        "cannot provide the services authenticator/jwks and "
                        "reloadable/auth_jwks (code %d)",
                        rc);
        goto out;
    }
    *state = st;
    st = NULL;
out:
    jwks_fini(st);
    return rc;
}

/* Looks up a service of `kind` v`version` and checks its size; NULL when missing. */
static const void *
jwks_need(jwks_state *st, const char *kind, uint32_t version, size_t size, const char *plugin,
          void **svc_state)
{
    const void *ops = st->api->service_lookup(st->self, kind, NULL, version, svc_state);

    if (ops == NULL || *(const uint32_t *)ops < size) {
        st->api->init_error(st->self, "needs service %s v%u (load the %s plugin)", kind,
                            (unsigned)version, plugin);
        return NULL;
    }
    return ops;
}

/* Reads the key file and, when all of it is valid, installs its keys as a new version
 * (tokens cached against older keys no longer count) and logs what was loaded; otherwise
 * the keys in use stay and err (errlen bytes) says why. Main thread. */
static int
jwks_load(jwks_state *st, const char *what, char *err, size_t errlen)
{
    jwks_set *set = NULL;
    char note[160];
    size_t count, skipped;
    int64_t version;
    int rc = jwks_set_load(st->jwks_file, &set, err, errlen);

    if (rc != NT_OK)
        return rc;
    count = jwks_set_count(set);
    skipped = jwks_set_skipped(set, note, sizeof(note));
    version = jwks_ring_install(st->ring, set);
    st->api->log(st->self, NT_LOG_INFO, "%s %s: %zu keys, key set version %lld%s%s%s", what,
                 st->jwks_file, count, (long long)version, skipped > 0 ? " (skipped " : "", note,
                 skipped > 0 ? ")" : "");
    return NT_OK;
}

/* Looks up the accounts, users and policy services (the key file was loaded in init). */
static int
jwks_start(void *state)
{
    jwks_state *st = state;
    const nt_host_api *api = st->api;

    st->acct.api = api;
    st->acct.ops = jwks_need(st, NT_SERVICE_ACCOUNTS, NT_ACCOUNTS_V1, sizeof(nt_accounts_v1),
                             "account", &st->acct.state);
    st->users =
        jwks_need(st, NT_SERVICE_USERS, NT_USERS_V1, sizeof(nt_users_v1), "user", &st->users_state);
    st->policy = jwks_need(st, NT_SERVICE_POLICY, NT_POLICY_V1, sizeof(nt_policy_v1), "policy",
                           &st->policy_state);
    if (st->acct.ops == NULL || st->users == NULL || st->policy == NULL)
        return NT_ERR;
    if (st->acct.ops->find_by_api_key == NULL || st->acct.ops->key_version == NULL ||
        st->users->in_account == NULL || st->policy->validate == NULL) {
        api->init_error(st->self, "a needed service lacks an operation");
        return NT_ERR;
    }
    return NT_OK;
}

/* reloadable.reload (SIGHUP): see jwks_load(); a bad file is logged and the old keys stay. */
static int
jwks_reload(void *state)
{
    jwks_state *st = state;
    char err[256];
    int rc = jwks_load(st, "reloaded", err, sizeof(err));

    if (rc != NT_OK)
        st->api->log(st->self, NT_LOG_WARN, "%s: reload failed, keeping the previous keys: %s",
                     st->jwks_file, err);
    return rc;
}

static const nt_plugin_desc jwks_desc = {
    NT_PLUGIN_HEADER,  .name = "auth_jwks", .version = "1.0.0",
    .init = jwks_init, .start = jwks_start, .fini = jwks_fini,
};

NT_PLUGIN_DEFINE(jwks_desc)

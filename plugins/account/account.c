/* account plugin: entry point, configuration ([account] section) and lifecycle. Owns the
 * account_accounts table, the /account routes and the "accounts" service.
 */
#include "account.h"
#include "ntc_rsakey.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static const char acct_schema_v1[] = "CREATE TABLE account_accounts ("
                                     " id TEXT PRIMARY KEY,"
                                     " api_key_hash TEXT NOT NULL UNIQUE,"
                                     " public_jwt_key TEXT NULL,"
                                     " key_version BIGINT NOT NULL DEFAULT 0,"
                                     " webhook_url TEXT NULL,"
                                     " webhook_key TEXT NULL,"
                                     " created BIGINT NOT NULL);";

static const char *const acct_cfg_keys[] = {"create_account_secret", "default_api_key",
                                            "default_account_id",    "default_webhook_url",
                                            "default_public_key",    NULL};

/* The value of `key`, or NULL when it is absent or empty (an empty value means unset). */
static const char *
acct_cfg(const struct acct *a, const nt_config *cfg, const char *key)
{
    const char *v = a->api->cfg_get(cfg, key);

    return v != NULL && *v != '\0' ? v : NULL;
}

/* Hashes the account-creation secret, generating (and logging once) a random one when the
 * configuration has none. */
static int
acct_cfg_secret(struct acct *a, const nt_config *cfg)
{
    const nt_host_api *api = a->api;
    const char *secret = acct_cfg(a, cfg, "create_account_secret");
    char gen[ACCT_SECRET_LEN + 1];
    int rc = NT_OK;

    memset(gen, 0, sizeof(gen));
    if (secret == NULL) {
        rc = acct_random_alnum(api->random_bytes, gen, ACCT_SECRET_LEN);
        if (rc != NT_OK) {
            api->init_error(a->self, "create_account_secret: cannot generate a random one");
            goto out;
        }
        /* Logged at start (acct_start), not here: --check-config runs init only and must
         * print nothing that suggests a server ran. */
        a->secret_generated = 1;
        secret = gen;
    }
    a->secret = strdup(secret);
    if (a->secret == NULL) {
        api->init_error(a->self, "create_account_secret: out of memory");
        rc = NT_ENOMEM;
    }
out:
    OPENSSL_cleanse(gen, sizeof(gen));
    return rc;
}

/* Reads the default_* keys that describe the default account. */
static int
acct_cfg_default(struct acct *a, const nt_config *cfg)
{
    const nt_host_api *api = a->api;
    const char *id = acct_cfg(a, cfg, "default_account_id");
    const char *pem = acct_cfg(a, cfg, "default_public_key"), *why = NULL;
    char *text = NULL;
    int rc = NT_OK;

    a->default_key = acct_cfg(a, cfg, "default_api_key");
    a->default_webhook = acct_cfg(a, cfg, "default_webhook_url");
    if (a->default_key == NULL) {
        if (id != NULL || pem != NULL || a->default_webhook != NULL)
            api->log(a->self, NT_LOG_WARN,
                     "default_account_id, default_webhook_url and default_public_key are "
                     "ignored without default_api_key");
        a->default_webhook = NULL;
        return NT_OK;
    }
    if (!acct_visible_ascii(a->default_key)) {
        api->init_error(a->self, "default_api_key: expected visible ASCII characters only");
        return NT_EINVAL;
    }
    if (strlen(a->default_key) < ACCT_DEFAULT_KEY_MIN) {
        /* A short key can be guessed by anyone who can reach the server. */
        api->init_error(a->self,
                        "default_api_key (ACCOUNT_API_KEY): must have at least %d characters "
                        "(it has %zu); generated keys have 33, e.g. sk_ and 30 random letters "
                        "and digits",
                        ACCT_DEFAULT_KEY_MIN, strlen(a->default_key));
        return NT_EINVAL;
    }
    if (a->default_webhook != NULL && !acct_url_valid(a->default_webhook)) {
        api->init_error(a->self,
                        "default_webhook_url: expected an absolute http or https URL with a "
                        "host");
        return NT_EINVAL;
    }
    if (id != NULL && !api->uuid_valid(id)) {
        api->log(a->self, NT_LOG_WARN,
                 "default_account_id: '%s' is not a UUID; the default account gets a random id",
                 id);
    } else if (id != NULL) {
        for (int i = 0; i < NT_UUID_LEN; i++)
            a->default_id[i] = (char)tolower((unsigned char)id[i]);
        a->default_id[NT_UUID_LEN] = '\0';
    }
    if (pem != NULL) {
        text = acct_pem_unescape(pem);
        if (text == NULL) {
            rc = NT_ENOMEM;
            api->init_error(a->self, "default_public_key: out of memory");
        } else if ((rc = acct_pem_rsa_public(text, strlen(text), &why)) == NT_ENOMEM) {
            api->init_error(a->self, "default_public_key: out of memory");
        } else if (rc != NT_OK && strcmp(why, ACCT_PEM_FORM) == 0) {
            /* As the original: a key that does not parse is only logged. */
            rc = NT_OK;
            api->log(a->self, NT_LOG_WARN,
                     "default_public_key: not an RSA public key in PEM form; ignored");
        } else if (rc != NT_OK) {
            /* An RSA key that parses but is weak would have been used: refuse to start. */
            api->init_error(a->self, "default_public_key (ACCOUNT_PUB_KEY): %s; expected %s", why,
                            NTC_RSA_RULE);
        } else {
            a->default_pem = text;
            text = NULL;
        }
    }
    free(text);
    return rc;
}

/* Frees the state; NULL is fine. */
static void
acct_fini(void *state)
{
    struct acct *a = state;

    if (a == NULL)
        return;
    if (a->secret != NULL)
        OPENSSL_cleanse(a->secret, strlen(a->secret));
    free(a->secret);
    free(a->default_pem);
    free(a);
}

/* Reads the configuration and registers the migration, the routes and the service. */
static int
acct_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    const nt_migration m1 = {sizeof(nt_migration), 1, acct_schema_v1};
    struct acct *a = calloc(1, sizeof(*a));
    int rc = NT_ENOMEM;

    if (a == NULL) {
        api->init_error(p, "out of memory");
        goto fail;
    }
    a->self = p;
    a->api = api;
    rc = api->cfg_check_keys(p, cfg, acct_cfg_keys);
    if (rc == NT_OK)
        rc = acct_cfg_secret(a, cfg);
    if (rc == NT_OK)
        rc = acct_cfg_default(a, cfg);
    if (rc == NT_OK)
        rc = api->migration_add(p, &m1);
    if (rc == NT_OK)
        rc = acct_routes_add(a);
    if (rc == NT_OK)
        rc = acct_service_add(a);
    if (rc != NT_OK)
        goto fail;
    *state = a;
    return NT_OK;
fail:
    acct_fini(a);
    return rc;
}

/* Finds the webhooks service and creates the default account once the migrations ran. */
static int
acct_start(void *state)
{
    struct acct *a = state;
    const nt_webhooks_v1 *wh;
    void *wh_state = NULL;

    /* Optional: with a webhooks plugin loaded, webhook URLs are checked where they are set
     * against where that plugin will deliver (its allow list); without one nothing is sent. */
    wh = a->api->service_lookup(a->self, NT_SERVICE_WEBHOOKS, NULL, NT_WEBHOOKS_V1, &wh_state);
    if (NT_HAS_MEMBER(wh, nt_webhooks_v1, check_url) && wh->check_url != NULL) {
        a->webhooks = wh;
        a->webhooks_state = wh_state;
    }
    /* Logged on purpose: it is the only way to learn a generated secret. */
    if (a->secret_generated)
        a->api->log(a->self, NT_LOG_INFO,
                    "create_account_secret is not set; the secret for POST /api/v1/account, "
                    "generated for this run: %s",
                    a->secret);
    return acct_default_ensure(state);
}

static const nt_plugin_desc acct_desc = {
    NT_PLUGIN_HEADER,  .name = "account",   .version = "1.0.0",
    .init = acct_init, .start = acct_start, .fini = acct_fini,
};

NT_PLUGIN_DEFINE(acct_desc)

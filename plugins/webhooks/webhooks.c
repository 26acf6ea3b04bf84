/* webhooks: the durable, signed, retried webhook deliveries (see wh.h). Needs
 * the `account` plugin (its account_accounts table, which deliveries reference, and the
 * "accounts" service for each account's webhook URL and key).
 */
#include "ntc.h"
#include "wh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char wh_migration_1[] =
    "CREATE TABLE webhooks_deliveries ("
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL REFERENCES account_accounts(id) ON DELETE CASCADE,"
    " type TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " last_status_code INTEGER NULL,"
    " last_error TEXT NULL,"
    " first_attempt_at BIGINT NULL,"
    " next_attempt_at BIGINT NOT NULL,"
    " lease_owner TEXT NULL,"
    " lease_until BIGINT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE INDEX webhooks_deliveries_due ON webhooks_deliveries(status, next_attempt_at);"
    "CREATE INDEX webhooks_deliveries_account ON webhooks_deliveries(account_id, created);";

/* See nt_webhooks_v1.enqueue: nothing is stored for an account without a webhook. */
static int
wh_svc_enqueue(void *state, nt_db *db, const char *account_id, const char *type,
               const struct json_t *payload, char delivery_id[NT_UUID_BUF])
{
    wh_plugin *w = state;
    char *text, *url = NULL, *key = NULL;
    int rc;

    delivery_id[0] = '\0';
    if (account_id == NULL || type == NULL || *type == '\0' || !json_is_object(payload))
        return NT_EINVAL;
    /* w->accounts is set in wh_start; a caller that runs before it stores the delivery and
     * its attempt records "the account has no webhook" as before. */
    if (w->accounts != NULL) {
        rc = w->accounts->webhook(w->accounts_state, db, account_id, &url, &key);
        free(key);
        free(url);
        if (rc == NT_ENOTFOUND || (rc == NT_OK && url == NULL))
            return NT_OK;
        if (rc != NT_OK)
            return rc;
    }
    if ((text = json_dumps(payload, JSON_COMPACT)) == NULL)
        return NT_ENOMEM;
    rc = strlen(text) > WH_PAYLOAD_MAX
             ? NT_EINVAL
             : wh_store_insert(w, db, account_id, type, text, delivery_id);
    free(text);
    return rc;
}

/* See nt_webhooks_v1.check_url. */
static int
wh_svc_check_url(void *state, const char *url, char *err, size_t errlen)
{
    const wh_plugin *w = state;

    if (url == NULL) {
        snprintf(err, errlen, "no webhook URL");
        return NT_EINVAL;
    }
    return wh_target_check(url, &w->allow, WH_SET_RESOLVE_MS, err, errlen);
}

static const nt_webhooks_v1 wh_service_ops = {
    .size = sizeof(nt_webhooks_v1),
    .enqueue = wh_svc_enqueue,
    .check_url = wh_svc_check_url,
};

/* Reads an integer key into *out. */
static int
wh_cfg_int(wh_plugin *w, const nt_config *cfg, const char *key, long long dflt, long long min,
           long long max, int64_t *out)
{
    long long v = 0;
    int rc = w->api->cfg_int(w->self, cfg, key, dflt, min, max, &v);

    *out = v;
    return rc;
}

/* Reads the [webhooks] section into w. */
static int
wh_read_config(wh_plugin *w, const nt_config *cfg)
{
    static const char *const known[] = {"allow_private", "backoff_unit_ms", "poll_ms", "lease_ms",
                                        "max_in_flight", "ca_file",         NULL};
    const char *allow = w->api->cfg_get(cfg, "allow_private");
    int64_t in_flight = 0;
    char err[160];
    int rc;

    if ((rc = w->api->cfg_check_keys(w->self, cfg, known)) != NT_OK ||
        (rc = wh_cfg_int(w, cfg, "backoff_unit_ms", 1000, 1, 60000, &w->unit_ms)) != NT_OK ||
        (rc = wh_cfg_int(w, cfg, "poll_ms", 1000, 10, 60000, &w->poll_ms)) != NT_OK ||
        (rc = wh_cfg_int(w, cfg, "lease_ms", 60000, WH_ATTEMPT_TIMEOUT_MS + 5000, 3600000,
                         &w->lease_ms)) != NT_OK ||
        (rc = wh_cfg_int(w, cfg, "max_in_flight", 16, 1, 256, &in_flight)) != NT_OK ||
        (rc = w->api->cfg_path(w->self, cfg, "ca_file", NULL, NT_CFG_PATH_FILE, &w->ca_file)) !=
            NT_OK)
        return rc;
    w->max_in_flight = (int)in_flight;
    if (cidr_list_parse(allow != NULL ? allow : "", &w->allow, err, sizeof(err)) != 0) {
        w->api->init_error(w->self,
                           "[webhooks] allow_private: %s (expected ranges such as 127.0.0.0/8, "
                           "10.0.0.0/8, ::1/128, separated by commas)",
                           err);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* Checks [webhooks], allocates the state and registers the migration, routes and service.
 * On success *state owns a calloc'd wh_plugin, freed by wh_fini. */
static int
wh_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const migrations[] = {wh_migration_1};
    wh_plugin *w = calloc(1, sizeof(*w));
    int rc = NT_ENOMEM;

    if (w == NULL)
        goto fail;
    w->self = self;
    w->api = api;
    if ((rc = wh_read_config(w, cfg)) != NT_OK)
        goto fail;
    /* looked up in wh_start; declared so --check-config finds it missing */
    if ((rc = api->service_need(self, NT_SERVICE_ACCOUNTS, NT_ACCOUNTS_V1)) != NT_OK)
        goto fail;
    if ((rc = ntc_register(api, self, migrations, 1, NULL, 0, w)) != NT_OK ||
        (rc = wh_routes_add(w)) != NT_OK)
        goto fail;
    rc = api->service_provide(self, NT_SERVICE_WEBHOOKS, "nettu", NT_WEBHOOKS_V1, &wh_service_ops,
                              w);
    if (rc != NT_OK) {
        api->init_error(self, "cannot provide the %s service", NT_SERVICE_WEBHOOKS);
        goto fail;
    }
    *state = w;
    return NT_OK;
fail:
    free(w);
    return rc;
}

/* Looks up the accounts service and starts the delivery thread. */
static int
wh_start(void *state)
{
    wh_plugin *w = state;
    const nt_host_api *api = w->api;
    int rc;

    w->accounts =
        api->service_lookup(w->self, NT_SERVICE_ACCOUNTS, NULL, NT_ACCOUNTS_V1, &w->accounts_state);
    if (!NT_HAS_MEMBER(w->accounts, nt_accounts_v1, webhook) || w->accounts->webhook == NULL) {
        api->init_error(w->self, "needs the accounts service with webhooks (load the account "
                                 "plugin of this build)");
        return NT_EINVAL;
    }
    if ((rc = api->uuid_new(w->instance)) != NT_OK)
        return rc;
    return wh_sender_start(w);
}

/* Stops the delivery thread. */
static void
wh_stop(void *state)
{
    wh_sender_stop(state);
}

static const nt_plugin_desc wh_desc = {
    NT_PLUGIN_HEADER,  .name = "webhooks", .version = "1.0.0", .init = wh_init,
    .start = wh_start, .stop = wh_stop,    .fini = free,
};
NT_PLUGIN_DEFINE(wh_desc)

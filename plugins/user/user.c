/* user plugin: entry point and lifecycle. Owns user_users and its metadata side table
 * user_metadata, the /user and /me routes, and the "users" service. No configuration.
 */
#include "user.h"

#include <nettu/services.h>
#include <stdlib.h>

static const char usr_schema_v1[] =
    "CREATE TABLE user_users ("
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL REFERENCES account_accounts(id) ON DELETE CASCADE,"
    " metadata TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE INDEX user_users_account_created ON user_users (account_id, created);"
    "CREATE TABLE user_metadata ("
    " entity_id TEXT NOT NULL REFERENCES user_users(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, key));"
    "CREATE INDEX user_metadata_account_key_value ON user_metadata (account_id, key, value);";

static const char *const usr_cfg_keys[] = {NULL};

/* See nt_users_v1.in_account. Reentrant. */
static int
usr_svc_in_account(void *state, nt_db *db, const char *account_id, const char *user_id)
{
    const struct usr *u = state;

    if (account_id == NULL || user_id == NULL)
        return NT_ENOTFOUND;
    return usr_store_exists(u->api, db, account_id, user_id);
}

/* See nt_users_v1.get. Reentrant. */
static int
usr_svc_get(void *state, nt_db *db, const char *account_id, const char *user_id, json_t **out)
{
    const struct usr *u = state;

    if (account_id == NULL || user_id == NULL)
        return NT_ENOTFOUND;
    return usr_store_get(u->api, db, account_id, user_id, out);
}

static const nt_users_v1 usr_service_ops = {
    .size = sizeof(nt_users_v1),
    .in_account = usr_svc_in_account,
    .get = usr_svc_get,
};

int
usr_service_add(struct usr *u)
{
    return ntc_provide(u->api, u->self, NT_SERVICE_USERS, NT_USERS_V1, &usr_service_ops, u);
}

/* Frees the state (one calloc'd block); NULL is fine. */
static void
usr_fini(void *state)
{
    free(state);
}

/* Registers the migration, the routes and the service; the section must be empty. */
static int
usr_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const migrations[] = {usr_schema_v1};
    struct usr *u = calloc(1, sizeof(*u));
    int rc = NT_ENOMEM;

    if (u == NULL) {
        api->init_error(p, "out of memory");
        goto fail;
    }
    u->self = p;
    u->api = api;
    rc = api->cfg_check_keys(p, cfg, usr_cfg_keys);
    if (rc == NT_OK)
        rc = ntc_register(api, p, migrations, 1, NULL, 0, u);
    if (rc == NT_OK)
        rc = usr_routes_add(u);
    if (rc == NT_OK)
        rc = usr_service_add(u);
    if (rc != NT_OK)
        goto fail;
    *state = u;
    return NT_OK;
fail:
    usr_fini(u);
    return rc;
}

static const nt_plugin_desc usr_desc = {
    NT_PLUGIN_HEADER, .name = "user", .version = "1.0.0", .init = usr_init, .fini = usr_fini,
};

NT_PLUGIN_DEFINE(usr_desc)

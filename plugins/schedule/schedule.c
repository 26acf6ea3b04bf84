/* schedule: users' weekly availability rules over the tables schedule_schedules
 * and schedule_metadata, the schedule routes, and the "schedules" service that computes a
 * schedule's free time for the booking plugins. Needs the `user` plugin (its
 * user_users table and "users" service): a user's schedules go with it (foreign key).
 */
#include "ntc.h"
#include "sch.h"
#include "sch_schemas.h"

#include <stdlib.h>

static const char sch_migration_1[] =
    "CREATE TABLE schedule_schedules ("
    " id TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES user_users(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " timezone TEXT NOT NULL,"
    " rules TEXT NOT NULL,"
    " metadata TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE INDEX schedule_schedules_user ON schedule_schedules(user_id);"
    "CREATE INDEX schedule_schedules_account ON schedule_schedules(account_id, created);"
    "CREATE TABLE schedule_metadata ("
    " entity_id TEXT NOT NULL REFERENCES schedule_schedules(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, key));"
    "CREATE INDEX schedule_metadata_query ON schedule_metadata(account_id, key, value);";

static const char *const sch_perm_create[] = {"CreateSchedule", NULL};
static const char *const sch_perm_update[] = {"UpdateSchedule", NULL};
static const char *const sch_perm_delete[] = {"DeleteSchedule", NULL};

/* Adds the migration, every route and the service, with p as their state. */
static int
sch_register(sch_plugin *p)
{
    const nt_host_api *api = p->api;
    const nt_migration mig = {.size = sizeof(nt_migration), .version = 1, .sql = sch_migration_1};
    const ntc_route routes[] = {
        {"POST", "/api/v1/schedule", NT_AUTH_USER, sch_perm_create, sch_create},
        {"POST", "/api/v1/user/{userId}/schedule", NT_AUTH_ADMIN, NULL, sch_create},
        {"GET", "/api/v1/schedule/meta", NT_AUTH_ADMIN, NULL, sch_meta},
        {"GET", "/api/v1/schedule/{scheduleId}", NT_AUTH_USER, NULL, sch_get},
        {"GET", "/api/v1/user/schedule/{scheduleId}", NT_AUTH_ADMIN, NULL, sch_get},
        {"PUT", "/api/v1/schedule/{scheduleId}", NT_AUTH_USER, sch_perm_update, sch_update},
        {"PUT", "/api/v1/user/schedule/{scheduleId}", NT_AUTH_ADMIN, NULL, sch_update},
        {"DELETE", "/api/v1/schedule/{scheduleId}", NT_AUTH_USER, sch_perm_delete, sch_delete},
        {"DELETE", "/api/v1/user/schedule/{scheduleId}", NT_AUTH_ADMIN, NULL, sch_delete},
    };
    int rc;

    rc = api->migration_add(p->self, &mig);
    if (rc != NT_OK) {
        api->init_error(p->self, "cannot add migration %d", mig.version);
        return rc;
    }
    rc = ntc_routes_add_doc(api, p->self, routes, sizeof(routes) / sizeof(routes[0]),
                            sch_route_docs, sch_route_docs_n, p);
    if (rc != NT_OK)
        return rc;
    rc = api->service_provide(p->self, NT_SERVICE_SCHEDULES, "nettu", NT_SCHEDULES_V1,
                              &sch_service_ops, p);
    if (rc != NT_OK)
        api->init_error(p->self, "cannot provide the %s service", NT_SERVICE_SCHEDULES);
    return rc;
}

/* Checks the (empty) [schedule] section, allocates the state and registers everything.
 * On success *state owns a calloc'd sch_plugin, freed by sch_fini. */
static int
sch_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {NULL};
    sch_plugin *p = NULL;
    int rc;

    rc = api->cfg_check_keys(self, cfg, known);
    if (rc == NT_OK) /* looked up in sch_start; declared so --check-config finds it missing */
        rc = api->service_need(self, NT_SERVICE_USERS, NT_USERS_V1);
    if (rc != NT_OK)
        goto fail;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        api->init_error(self, "out of memory");
        rc = NT_ENOMEM;
        goto fail;
    }
    p->self = self;
    p->api = api;
    rc = sch_register(p);
    if (rc != NT_OK)
        goto fail;
    *state = p;
    return NT_OK;
fail:
    free(p);
    return rc;
}

/* Looks up the users service (admin creates name a user of the account). */
static int
sch_start(void *state)
{
    sch_plugin *p = state;

    p->users =
        p->api->service_lookup(p->self, NT_SERVICE_USERS, NULL, NT_USERS_V1, &p->users_state);
    if (p->users == NULL || p->users->in_account == NULL) {
        p->api->init_error(p->self, "needs the %s service (load the user plugin before it)",
                           NT_SERVICE_USERS);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* Frees the state and the zones loaded while serving; NULL is fine. */
static void
sch_fini(void *state)
{
    ev_tz_cache_clear();
    free(state);
}

static const nt_plugin_desc sch_desc = {
    NT_PLUGIN_HEADER, .name = "schedule", .version = "1.0.0",
    .init = sch_init, .start = sch_start, .fini = sch_fini,
};

NT_PLUGIN_DEFINE(sch_desc)

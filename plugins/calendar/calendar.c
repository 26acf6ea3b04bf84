/* calendar: the calendar routes (except the events of a timespan, served by
 * the events plugin) over its own tables calendar_calendars and calendar_metadata, and the
 * "calendars" service. Users are known through the "users" service (user plugin).
 */
#include "cal.h"
#include "ntc.h"
#include "cal_schemas.h"

#include <stdlib.h>

static const char cal_migration_1[] =
    "CREATE TABLE calendar_calendars ("
    " id TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES user_users(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " timezone TEXT NOT NULL,"
    " week_start INTEGER NOT NULL,"
    " metadata TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE INDEX calendar_calendars_user ON calendar_calendars(user_id);"
    "CREATE INDEX calendar_calendars_account ON calendar_calendars(account_id, created);"
    "CREATE TABLE calendar_metadata ("
    " entity_id TEXT NOT NULL REFERENCES calendar_calendars(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, key));"
    "CREATE INDEX calendar_metadata_query ON calendar_metadata(account_id, key, value);";

/* The calendars of some users of an account (the "calendars" service's list_by_users, read for
 * every host at every booking) by both columns: with the user index alone SQLite chose the
 * account index and read every calendar of the account. */
static const char cal_migration_2[] =
    "CREATE INDEX calendar_calendars_user_account ON calendar_calendars(user_id, account_id);"
    "DROP INDEX calendar_calendars_user;";

static const char *const cal_perm_create[] = {"CreateCalendar", NULL};
static const char *const cal_perm_update[] = {"UpdateCalendar", NULL};
static const char *const cal_perm_delete[] = {"DeleteCalendar", NULL};

/* Adds the migration and every route, with `c` as their state. */
static int
cal_register(cal_plugin *c)
{
    static const char *const migrations[] = {cal_migration_1, cal_migration_2};
    const ntc_route routes[] = {
        {"POST", "/api/v1/calendar", NT_AUTH_USER, cal_perm_create, cal_create},
        {"POST", "/api/v1/user/{userId}/calendar", NT_AUTH_ADMIN, NULL, cal_create},
        {"GET", "/api/v1/calendar/meta", NT_AUTH_ADMIN, NULL, cal_meta},
        {"GET", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, NULL, cal_get},
        {"GET", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL, cal_get},
        {"PUT", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, cal_perm_update, cal_update},
        {"PUT", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL, cal_update},
        {"DELETE", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, cal_perm_delete, cal_delete},
        {"DELETE", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL, cal_delete},
    };
    int rc = ntc_register(c->api, c->self, migrations, sizeof(migrations) / sizeof(migrations[0]),
                          NULL, 0, c);

    if (rc == NT_OK)
        rc = ntc_routes_add_doc(c->api, c->self, routes, sizeof(routes) / sizeof(routes[0]),
                                cal_route_docs, cal_route_docs_n, c);
    if (rc == NT_OK)
        rc = cal_service_add(c);
    return rc;
}

/* Checks the (empty) [calendar] section, allocates the state and registers everything.
 * On success *state owns a calloc'd cal_plugin, freed by cal_fini. */
static int
cal_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {NULL};
    cal_plugin *c = NULL;
    int rc;

    rc = api->cfg_check_keys(self, cfg, known);
    if (rc == NT_OK) /* looked up in cal_start; declared so --check-config finds it missing */
        rc = api->service_need(self, NT_SERVICE_USERS, NT_USERS_V1);
    if (rc != NT_OK)
        goto fail;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        api->init_error(self, "out of memory");
        rc = NT_ENOMEM;
        goto fail;
    }
    c->self = self;
    c->api = api;
    rc = cal_register(c);
    if (rc != NT_OK)
        goto fail;
    *state = c;
    return NT_OK;
fail:
    free(c);
    return rc;
}

/* Looks up the "users" service the routes need. */
static int
cal_start(void *state)
{
    cal_plugin *c = state;

    c->users =
        c->api->service_lookup(c->self, NT_SERVICE_USERS, NULL, NT_USERS_V1, &c->users_state);
    if (c->users == NULL || c->users->size < sizeof(nt_users_v1) || c->users->in_account == NULL) {
        c->api->init_error(c->self, "needs service %s v%d (load the user plugin)", NT_SERVICE_USERS,
                           NT_USERS_V1);
        return NT_ERR;
    }
    return NT_OK;
}

/* Frees the state made by cal_init; NULL is fine. */
static void
cal_fini(void *state)
{
    free(state);
}

static const nt_plugin_desc cal_desc = {
    NT_PLUGIN_HEADER, .name = "calendar", .version = "1.0.0",
    .init = cal_init, .start = cal_start, .fini = cal_fini,
};

NT_PLUGIN_DEFINE(cal_desc)

/* service: bookable services of an account, their members (users with an availability plan,
 * buffers and booking-time limits, and internal busy calendars) and the public booking-slot
 * query and booking intend, bookings and holds. Tables service_services,
 * service_metadata, service_users, service_busy, service_reservations, service_bookings and
 * service_holds. The foreign keys carry the cascades: a
 * deleted user takes its memberships, a deleted calendar its busy registrations, and a deleted
 * calendar or schedule used as availability leaves the membership with Empty. Needs user, calendar,
 * events and schedule loaded before it.
 */
#include "ntc.h"
#include "svc.h"
#include "svc_schemas.h"

#include <stdlib.h>

static const char svc_migration_1[] =
    "CREATE TABLE service_services ("
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL,"
    " multi_person TEXT NOT NULL,"
    " metadata TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE INDEX service_services_account ON service_services(account_id, created);"
    "CREATE TABLE service_metadata ("
    " entity_id TEXT NOT NULL REFERENCES service_services(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, key));"
    "CREATE INDEX service_metadata_query ON service_metadata(account_id, key, value);"
    "CREATE TABLE service_users ("
    " service_id TEXT NOT NULL REFERENCES service_services(id) ON DELETE CASCADE,"
    " user_id TEXT NOT NULL REFERENCES user_users(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " avail_calendar_id TEXT NULL REFERENCES calendar_calendars(id) ON DELETE SET NULL,"
    " avail_schedule_id TEXT NULL REFERENCES schedule_schedules(id) ON DELETE SET NULL,"
    " buffer_before BIGINT NOT NULL,"
    " buffer_after BIGINT NOT NULL,"
    " closest BIGINT NOT NULL,"
    " furthest BIGINT NULL,"
    " created BIGINT NOT NULL,"
    " PRIMARY KEY (service_id, user_id));"
    "CREATE INDEX service_users_user ON service_users(user_id);"
    "CREATE INDEX service_users_calendar ON service_users(avail_calendar_id);"
    "CREATE INDEX service_users_schedule ON service_users(avail_schedule_id);"
    "CREATE TABLE service_busy ("
    " service_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " calendar_id TEXT NOT NULL REFERENCES calendar_calendars(id) ON DELETE CASCADE,"
    " PRIMARY KEY (service_id, user_id, calendar_id),"
    " FOREIGN KEY (service_id, user_id) REFERENCES service_users(service_id, user_id)"
    " ON DELETE CASCADE);"
    "CREATE INDEX service_busy_calendar ON service_busy(calendar_id);"
    "CREATE TABLE service_reservations ("
    " service_id TEXT NOT NULL REFERENCES service_services(id) ON DELETE CASCADE,"
    " ts BIGINT NOT NULL,"
    " count BIGINT NOT NULL,"
    " PRIMARY KEY (service_id, ts));";

/* Bookings and holds (hosts and event ids as JSON arrays of ids), and the order
 * in which busy calendars were registered (a host's booking calendar is its first one). */
static const char svc_migration_2[] =
    "CREATE TABLE service_bookings ("
    " id TEXT PRIMARY KEY,"
    " service_id TEXT NOT NULL REFERENCES service_services(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " start_ts BIGINT NOT NULL,"
    " duration BIGINT NOT NULL,"
    " created BIGINT NOT NULL,"
    " hosts TEXT NOT NULL,"
    " event_ids TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " metadata TEXT NOT NULL);"
    "CREATE INDEX service_bookings_start ON service_bookings(service_id, start_ts);"
    "CREATE TABLE service_holds ("
    " id TEXT PRIMARY KEY,"
    " service_id TEXT NOT NULL REFERENCES service_services(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " start_ts BIGINT NOT NULL,"
    " duration BIGINT NOT NULL,"
    " created BIGINT NOT NULL,"
    " hosts TEXT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " used INTEGER NOT NULL);"
    "CREATE INDEX service_holds_active ON service_holds(account_id, start_ts);"
    "CREATE INDEX service_holds_service ON service_holds(service_id, expires_at);"
    "ALTER TABLE service_busy ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;";

/* Bookings and holds (create, cancel, release) may share a commit with other such requests
 * and with event writes (NT_ROUTE_GROUP_COMMIT): each does its choice of hosts (within the
 * request's CPU budget) and its writes in one transaction, and nothing after it. */
static uint64_t
svc_route_flags(const ntc_route *r)
{
    return r->handler == svc_bk_create || r->handler == svc_bk_cancel ||
                   r->handler == svc_hold_create || r->handler == svc_hold_release
               ? NT_ROUTE_GROUP_COMMIT
               : 0;
}

/* Adds the migrations and every route, with p as their state. */
static int
svc_register(svc_plugin *p)
{
    static const char *const migrations[] = {svc_migration_1, svc_migration_2};
    const ntc_route routes[] = {
        {"POST", "/api/v1/service", NT_AUTH_ADMIN, NULL, svc_create},
        {"GET", "/api/v1/service/meta", NT_AUTH_ADMIN, NULL, svc_meta},
        {"GET", "/api/v1/service/{serviceId}", NT_AUTH_ADMIN, NULL, svc_get},
        {"PUT", "/api/v1/service/{serviceId}", NT_AUTH_ADMIN, NULL, svc_update},
        {"DELETE", "/api/v1/service/{serviceId}", NT_AUTH_ADMIN, NULL, svc_delete},
        {"POST", "/api/v1/service/{serviceId}/users", NT_AUTH_ADMIN, NULL, svc_user_add},
        {"PUT", "/api/v1/service/{serviceId}/users/{userId}", NT_AUTH_ADMIN, NULL, svc_user_update},
        {"DELETE", "/api/v1/service/{serviceId}/users/{userId}", NT_AUTH_ADMIN, NULL,
         svc_user_remove},
        {"PUT", "/api/v1/service/{serviceId}/users/{userId}/busy", NT_AUTH_ADMIN, NULL,
         svc_busy_add},
        {"DELETE", "/api/v1/service/{serviceId}/users/{userId}/busy", NT_AUTH_ADMIN, NULL,
         svc_busy_remove},
        {"GET", "/api/v1/service/{serviceId}/booking", NT_AUTH_PUBLIC, NULL, svc_booking},
        {"POST", "/api/v1/service/{serviceId}/booking-intend", NT_AUTH_ADMIN, NULL, svc_intend},
        {"DELETE", "/api/v1/service/{serviceId}/booking-intend", NT_AUTH_ADMIN, NULL,
         svc_intend_remove},
        {"POST", "/api/v1/service/{serviceId}/bookings", NT_AUTH_ADMIN, NULL, svc_bk_create},
        {"GET", "/api/v1/service/{serviceId}/bookings", NT_AUTH_ADMIN, NULL, svc_bk_list},
        {"GET", "/api/v1/service/{serviceId}/bookings/{bookingId}", NT_AUTH_ADMIN, NULL,
         svc_bk_get},
        {"DELETE", "/api/v1/service/{serviceId}/bookings/{bookingId}", NT_AUTH_ADMIN, NULL,
         svc_bk_cancel},
        {"POST", "/api/v1/service/{serviceId}/holds", NT_AUTH_ADMIN, NULL, svc_hold_create},
        {"DELETE", "/api/v1/service/{serviceId}/holds/{holdId}", NT_AUTH_ADMIN, NULL,
         svc_hold_release},
    };

    int rc = ntc_register(p->api, p->self, migrations, sizeof(migrations) / sizeof(migrations[0]),
                          NULL, 0, p);

    return rc != NT_OK
               ? rc
               : ntc_routes_add_flagged(p->api, p->self, routes, sizeof(routes) / sizeof(routes[0]),
                                        svc_route_docs, svc_route_docs_n, svc_route_flags, p);
}

/* Checks the (empty) [service] section, allocates the state and registers everything.
 * On success *state owns a calloc'd svc_plugin, freed by svc_fini. */
static int
svc_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {NULL};
    svc_plugin *p = NULL;
    int rc;

    rc = api->cfg_check_keys(self, cfg, known);
    /* Looked up in svc_start; declared so --check-config finds them missing. */
    if (rc == NT_OK)
        rc = api->service_need(self, NT_SERVICE_USERS, NT_USERS_V1);
    if (rc == NT_OK)
        rc = api->service_need(self, NT_SERVICE_CALENDARS, NT_CALENDARS_V1);
    if (rc == NT_OK)
        rc = api->service_need(self, NT_SERVICE_SCHEDULES, NT_SCHEDULES_V1);
    if (rc == NT_OK)
        rc = api->service_need(self, NT_SERVICE_EVENTS, NT_EVENTS_V1);
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
    rc = svc_register(p);
    if (rc != NT_OK)
        goto fail;
    *state = p;
    return NT_OK;
fail:
    free(p);
    return rc;
}

/* Looks up one service the plugin needs; reports it when missing. */
static const void *
svc_need(svc_plugin *p, const char *kind, uint32_t version, const char *plugin, void **state)
{
    const void *ops = p->api->service_lookup(p->self, kind, NULL, version, state);

    if (ops == NULL)
        p->api->init_error(p->self, "needs the %s service (load the %s plugin before it)", kind,
                           plugin);
    return ops;
}

/* Looks up the users, calendars, schedules and events services. */
static int
svc_start(void *state)
{
    svc_plugin *p = state;

    p->users = svc_need(p, NT_SERVICE_USERS, NT_USERS_V1, "user", &p->users_state);
    if (p->users == NULL)
        return NT_EINVAL;
    p->calendars =
        svc_need(p, NT_SERVICE_CALENDARS, NT_CALENDARS_V1, "calendar", &p->calendars_state);
    if (p->calendars == NULL)
        return NT_EINVAL;
    p->schedules =
        svc_need(p, NT_SERVICE_SCHEDULES, NT_SCHEDULES_V1, "schedule", &p->schedules_state);
    if (p->schedules == NULL)
        return NT_EINVAL;
    p->events = svc_need(p, NT_SERVICE_EVENTS, NT_EVENTS_V1, "events", &p->events_state);
    if (p->events == NULL)
        return NT_EINVAL;
    return NT_OK;
}

/* Frees the state and the zones loaded while serving; NULL is fine. */
static void
svc_fini(void *state)
{
    ev_tz_cache_clear();
    free(state);
}

static const nt_plugin_desc svc_desc = {
    NT_PLUGIN_HEADER, .name = "service",  .version = "1.0.0",
    .init = svc_init, .start = svc_start, .fini = svc_fini,
};

NT_PLUGIN_DEFINE(svc_desc)

/* events: calendar events, their recurrence and instances, and free/busy (and
 * the iCalendar export) over its own tables events_events and
 * events_metadata, and the "events" service. Calendars and users come from the "calendars" and
 * "users" services (the calendar and user plugins); events_events keeps its cascading foreign key
 * to calendar_calendars.
 *
 * [events] section:
 *   max_instances = 100000   most instances one expansion may produce; a query that would
 *                            produce more answers 400 instead of a silently cut list
 *   rule_cpu_ms = 20         CPU time the expansion of a new or changed rule (its endTs) may
 *                            take at create and update; a costlier rule answers 400. It bounds
 *                            what every later query pays for the event.
 *   reminder_tick_ms = 60000 the reminder thread's tick (a wall-clock minute); a test
 *                            knob, shortened only by tests
 *   reminder_followup_ms = 1800000  how often the follow-up jobs of recurring events run
 */
#include "ev.h"
#include "ntc.h"
#include "event_schemas.h"

#include <stdlib.h>
#include <string.h>

static const char ev_migration_1[] =
    "CREATE TABLE events_events ("
    " id TEXT PRIMARY KEY,"
    " calendar_id TEXT NOT NULL REFERENCES calendar_calendars(id) ON DELETE CASCADE,"
    " user_id TEXT NOT NULL,"
    " account_id TEXT NOT NULL,"
    " start_ts BIGINT NOT NULL,"
    " duration BIGINT NOT NULL,"
    " end_ts BIGINT NOT NULL,"
    " busy INTEGER NOT NULL,"
    " created BIGINT NOT NULL,"
    " updated BIGINT NOT NULL,"
    " recurrence TEXT NULL,"
    " exdates TEXT NOT NULL,"
    " reminders TEXT NOT NULL,"
    " service_id TEXT NULL,"
    " metadata TEXT NOT NULL);"
    "CREATE INDEX events_events_window ON events_events(calendar_id, start_ts, end_ts);"
    "CREATE INDEX events_events_user ON events_events(user_id);"
    "CREATE INDEX events_events_account ON events_events(account_id, created);"
    "CREATE TABLE events_metadata ("
    " entity_id TEXT NOT NULL REFERENCES events_events(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, key));"
    "CREATE INDEX events_metadata_query ON events_metadata(account_id, key, value);";

/* Pending reminders and, per event, their version and follow-up date. Both go with
 * their event (cascade), so deleting an event or its calendar drops its reminders. */
static const char ev_migration_2[] =
    "CREATE TABLE events_reminders ("
    " event_id TEXT NOT NULL REFERENCES events_events(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " remind_at BIGINT NOT NULL,"
    " identifier TEXT NOT NULL,"
    " version BIGINT NOT NULL);"
    "CREATE INDEX events_reminders_due ON events_reminders(remind_at);"
    "CREATE INDEX events_reminders_event ON events_reminders(event_id);"
    "CREATE TABLE events_reminder_jobs ("
    " event_id TEXT PRIMARY KEY REFERENCES events_events(id) ON DELETE CASCADE,"
    " account_id TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " next_at BIGINT NULL);"
    "CREATE INDEX events_reminder_jobs_due ON events_reminder_jobs(next_at);";

/* What booking asks per host, answered without reading every event of the host: the
 * service statistics of round robin (ev_svc_service_stats: the newest booking event, the
 * booking events ending from now on) and other services' free windows
 * (ev_svc_other_service_spans). Partial: only events of a service are in them, so plain
 * event writes do not pay for them. */
static const char ev_migration_3[] =
    "CREATE INDEX events_events_service_last ON events_events(user_id, account_id, service_id, "
    "created) WHERE service_id IS NOT NULL;"
    "CREATE INDEX events_events_service_end ON events_events(user_id, account_id, service_id, "
    "end_ts, start_ts) WHERE service_id IS NOT NULL;"
    "CREATE INDEX events_events_service_free ON events_events(user_id, end_ts, start_ts, "
    "service_id) WHERE service_id IS NOT NULL AND busy = 0;";

/* The span class of every event and the index that bounds window scans on both sides (see
 * EV_SPAN_B0 in ev.h); it replaces events_events_window, whose scans read every event that
 * started before the window. */
/* clang-format off */
static const char ev_migration_4[] =
    "ALTER TABLE events_events ADD COLUMN span_class INTEGER NOT NULL DEFAULT 5;"
    "UPDATE events_events SET span_class = CASE"
    " WHEN end_ts - start_ts <= " EV_STR(EV_SPAN_B0) " THEN 0"
    " WHEN end_ts - start_ts <= " EV_STR(EV_SPAN_B1) " THEN 1"
    " WHEN end_ts - start_ts <= " EV_STR(EV_SPAN_B2) " THEN 2"
    " WHEN end_ts - start_ts <= " EV_STR(EV_SPAN_B3) " THEN 3"
    " WHEN end_ts - start_ts <= " EV_STR(EV_SPAN_B4) " THEN 4 ELSE 5 END;"
    "CREATE INDEX events_events_span ON events_events(calendar_id, span_class, start_ts, end_ts);"
    "DROP INDEX events_events_window;";
/* clang-format on */

/* No query goes by events_events_user (user_id) alone: the user's service queries have their
 * partial indexes (migration 3), and a user's events go with their calendars. Every event
 * write paid for it (a booking's busy event: one of seven b-trees, about a ninth of the pages
 * a group of bookings changes). */
static const char ev_migration_5[] = "DROP INDEX events_events_user;";

static const char *const ev_perm_create[] = {"CreateCalendarEvent", NULL};
static const char *const ev_perm_update[] = {"UpdateCalendarEvent", NULL};
static const char *const ev_perm_delete[] = {"DeleteCalendarEvent", NULL};

/* Creating, updating and deleting events may share a commit with other such requests
 * (NT_ROUTE_GROUP_COMMIT): their handlers do their bounded work (rule checks within
 * rule_cpu_ms) and their writes, and nothing after the commit. */
static uint64_t
ev_route_flags(const ntc_route *r)
{
    return strcmp(r->method, "GET") != 0 && r->handler != ev_freebusy_multi ? NT_ROUTE_GROUP_COMMIT
                                                                            : 0;
}

/* Adds the migration and every route, with p as their state. */
static int
ev_register(ev_plugin *p)
{
    static const char *const migrations[] = {ev_migration_1, ev_migration_2, ev_migration_3,
                                             ev_migration_4, ev_migration_5};
    const ntc_route routes[] = {
        {"POST", "/api/v1/events", NT_AUTH_USER, ev_perm_create, ev_create},
        {"POST", "/api/v1/user/{userId}/events", NT_AUTH_ADMIN, NULL, ev_create},
        {"GET", "/api/v1/events/meta", NT_AUTH_ADMIN, NULL, ev_meta},
        {"GET", "/api/v1/events/{eventId}", NT_AUTH_USER, NULL, ev_get},
        {"GET", "/api/v1/user/events/{eventId}", NT_AUTH_ADMIN, NULL, ev_get},
        {"PUT", "/api/v1/events/{eventId}", NT_AUTH_USER, ev_perm_update, ev_update},
        {"PUT", "/api/v1/user/events/{eventId}", NT_AUTH_ADMIN, NULL, ev_update},
        {"DELETE", "/api/v1/events/{eventId}", NT_AUTH_USER, ev_perm_delete, ev_delete},
        {"DELETE", "/api/v1/user/events/{eventId}", NT_AUTH_ADMIN, NULL, ev_delete},
        {"GET", "/api/v1/events/{eventId}/instances", NT_AUTH_USER, NULL, ev_instances},
        {"GET", "/api/v1/user/events/{eventId}/instances", NT_AUTH_ADMIN, NULL, ev_instances},
        {"GET", "/api/v1/calendar/{calendarId}/events", NT_AUTH_USER, NULL, ev_cal_events},
        {"GET", "/api/v1/user/calendar/{calendarId}/events", NT_AUTH_ADMIN_OR_USER, NULL,
         ev_cal_events},
        {"GET", "/api/v1/calendar/{calendarId}/ical", NT_AUTH_USER, NULL, ev_ical},
        {"GET", "/api/v1/user/calendar/{calendarId}/ical", NT_AUTH_ADMIN, NULL, ev_ical},
        {"GET", "/api/v1/user/{userId}/freebusy", NT_AUTH_PUBLIC_ACCOUNT, NULL, ev_freebusy},
        {"POST", "/api/v1/user/freebusy", NT_AUTH_PUBLIC_ACCOUNT, NULL, ev_freebusy_multi},
    };
    int rc = ntc_register(p->api, p->self, migrations, sizeof(migrations) / sizeof(migrations[0]),
                          NULL, 0, p);

    if (rc == NT_OK)
        rc = ntc_routes_add_flagged(p->api, p->self, routes, sizeof(routes) / sizeof(routes[0]),
                                    ev_route_docs, ev_route_docs_n, ev_route_flags, p);
    if (rc == NT_OK)
        rc = ev_service_add(p);
    return rc;
}

/* Reads the [events] section, allocates the state and registers everything. On success
 * *state owns a calloc'd ev_plugin, freed by ev_fini. */
static int
ev_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {"max_instances",        "rule_cpu_ms",
                                        "ical_max_events",      "reminder_tick_ms",
                                        "reminder_followup_ms", NULL};
    ev_plugin *p = NULL;
    long long max_instances = 0, rule_cpu_ms = 0, ical_max_events = 0, tick = 0, followup = 0;
    int rc;

    rc = api->cfg_check_keys(self, cfg, known);
    if (rc == NT_OK)
        rc = api->cfg_int(self, cfg, "max_instances", EV_MAX_INSTANCES_DEFAULT, 1, 10000000,
                          &max_instances);
    if (rc == NT_OK)
        rc = api->cfg_int(self, cfg, "rule_cpu_ms", EV_RULE_CPU_MS_DEFAULT, 1, 60000, &rule_cpu_ms);
    if (rc == NT_OK)
        rc = api->cfg_int(self, cfg, "ical_max_events", EV_ICAL_MAX_EVENTS_DEFAULT, 1, 1000000,
                          &ical_max_events);
    if (rc == NT_OK)
        rc = api->cfg_int(self, cfg, "reminder_tick_ms", 60000, 100, 60000, &tick);
    if (rc == NT_OK)
        rc = api->cfg_int(self, cfg, "reminder_followup_ms", 1800000, 100, 86400000, &followup);
    /* Looked up in ev_start (event_peers.c); declared so --check-config finds them missing. */
    if (rc == NT_OK)
        rc = api->service_need(self, NT_SERVICE_USERS, NT_USERS_V1);
    if (rc == NT_OK)
        rc = api->service_need(self, NT_SERVICE_CALENDARS, NT_CALENDARS_V1);
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
    p->max_instances = (size_t)max_instances;
    p->rule_cpu_us = (int64_t)rule_cpu_ms * 1000;
    p->ical_max_events = ical_max_events;
    p->reminder_tick_ms = tick;
    p->reminder_followup_ms = followup;
    rc = ev_register(p);
    if (rc != NT_OK)
        goto fail;
    *state = p;
    return NT_OK;
fail:
    free(p);
    return rc;
}

/* Looks up the users and calendars services and starts the reminder thread. */
static int
ev_start(void *state)
{
    int rc = ev_peers_lookup(state);

    return rc == NT_OK ? ev_deliver_start(state) : rc;
}

/* Stops the reminder thread. */
static void
ev_stop(void *state)
{
    ev_deliver_stop(state);
}

/* Frees the state and the zones loaded while serving; NULL is fine. */
static void
ev_fini(void *state)
{
    ev_tz_cache_clear();
    free(state);
}

static const nt_plugin_desc ev_desc = {
    NT_PLUGIN_HEADER,  .name = "events", .version = "1.0.0", .init = ev_init,
    .start = ev_start, .stop = ev_stop,  .fini = ev_fini,
};

NT_PLUGIN_DEFINE(ev_desc)

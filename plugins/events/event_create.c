/* POST /events (an end user creates an event in one of its calendars) and
 * POST /user/{userId}/events (an admin does it for a user of the account).
 */
#include "ev.h"
#include "ntc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills the new event from the body, the calendar and the validated documents. */
static int
ev_create_fill(const nt_host_api *api, const ev_body *b, const ev_cal *cal, const char *account,
               ev_event *e)
{
    int64_t now = api->now_ms();

    if (api->uuid_new(e->id) != NT_OK)
        return NT_ERR;
    if (snprintf(e->account_id, sizeof(e->account_id), "%s", account) >= (int)sizeof(e->account_id))
        return NT_ERR;
    memcpy(e->calendar_id, cal->id, sizeof(e->calendar_id));
    memcpy(e->user_id, cal->user_id, sizeof(e->user_id));
    e->start_ts = b->start_ts;
    e->duration = b->duration;
    e->busy = b->has_busy ? b->busy : 0;
    e->created = e->updated = now;
    if (b->has_service && b->service_id != NULL) {
        e->has_service = 1;
        snprintf(e->service_id, sizeof(e->service_id), "%s", b->service_id);
    }
    e->metadata = b->metadata != NULL ? json_deep_copy(b->metadata) : json_object();
    return e->metadata != NULL ? NT_OK : NT_ENOMEM;
}

/* The checks that need storage, in the original's order: user (route 2) -> calendar (404) ->
 * recurrence (400) -> reminders (400). */
static int
ev_create_check(const ev_plugin *p, nt_req *req, nt_db *db, const ev_body *b, const char *path_user,
                const char *user, ev_cal *cal, ev_event *e)
{
    const nt_host_api *api = p->api;
    const char *account = api->req_account(req);
    int present, rc;
    char err[256];

    if (path_user != NULL) {
        rc = ev_user_in_account_memo(p, req, db, account, path_user);
        if (rc == NT_ENOTFOUND)
            return api->fail(req, rc, "userId: no user '%s' in this account", path_user);
        if (rc != NT_OK)
            return rc;
    }
    rc = ev_cal_load_memo(p, req, db, b->calendar_id, account, user, cal);
    if (rc == NT_ENOTFOUND)
        return api->fail(req, rc, "calendarId: no calendar '%s' of this user", b->calendar_id);
    if (rc != NT_OK)
        return rc;
    if (b->recurrence != NULL && !json_is_null(b->recurrence)) {
        e->rrule = malloc(sizeof(*e->rrule));
        if (e->rrule == NULL)
            return NT_ENOMEM;
        if (ev_rrule_parse(b->recurrence, b->start_ts, e->rrule, err, sizeof(err)) != 0)
            return api->fail(req, NT_EINVAL, "%s", err);
        if (e->rrule->has_until) {
            rc = ev_check_ts(api, req, "recurrence.until", e->rrule->until);
            if (rc != NT_OK)
                return rc;
        }
    }
    if (ev_reminders_read(api->req_body(req), &e->reminders, &present, err, sizeof(err)) != 0)
        return api->fail(req, NT_EINVAL, "%s", err);
    return NT_OK;
}

/* The write of a checked event: inside one short write transaction, re-reads the calendar
 * (its zone and week start shaped e->end_ts) and inserts. EV_CHANGED when the calendar changed
 * since it was read (the caller computes again); NT_ENOTFOUND when it is gone. */
static int
ev_create_write(const ev_plugin *p, nt_req *req, nt_db *db, const ev_cal *cal, const char *user,
                const ev_event *e, const ev_rem_plan *rem)
{
    const nt_host_api *api = p->api;
    const char *account = api->req_account(req);
    ev_cal now = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = ev_cal_load(p, db, cal->id, account, user, &now);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "calendarId: no calendar '%s' of this user", cal->id);
    else if (rc == NT_OK &&
             (strcmp(now.timezone, cal->timezone) != 0 || now.week_start != cal->week_start))
        rc = EV_CHANGED;
    if (rc == NT_OK)
        rc = ev_store_insert(api, db, e);
    if (rc == NT_OK)
        rc = ntc_meta_insert(api, db, "events_metadata", e->id, account, e->metadata);
    if (rc == NT_OK)
        rc = ev_rem_insert_new(api, db, e, rem);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    if (rc != NT_OK)
        api->db_rollback(db);
    else if (e->has_service)
        ev_memo_last_created(p, req, account, e->service_id, e->user_id, e->created);
    ev_cal_clear(&now);
    return rc;
}

/* How often create and update compute again when the data they read changed before their
 * write transaction began. */
#define EV_WRITE_ATTEMPTS 5

int
ev_create(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *account = api->req_account(req);
    const char *path_user = api->req_param(req, "userId");
    const char *user = path_user != NULL ? path_user : api->req_user(req);
    nt_db *db = api->req_db(req);
    ev_body b = {0};
    ev_event e = {0};
    ev_cal cal = {0};
    ev_rem_plan rem = {0};
    int rc;

    rc = ev_body_read(api, req, api->req_body(req), 1, &b);
    if (rc != NT_OK)
        goto out;
    if (user == NULL) {
        rc = api->fail(req, NT_EUNAUTH, "an end-user token is required");
        goto out;
    }
    /* Reads, validation and the expansion (endTs, capped by [events] rule_cpu_ms) run before
     * the write transaction: a costly rule never holds the database's write lock. */
    for (int attempt = 0; attempt < EV_WRITE_ATTEMPTS; attempt++) {
        ev_cal_clear(&cal);
        ev_event_clear(&e);
        rc = ev_create_check(p, req, db, &b, path_user, user, &cal, &e);
        if (rc == NT_OK)
            rc = ev_create_fill(api, &b, &cal, account, &e);
        if (rc == NT_OK)
            rc = ev_compute_end(p, req, &e, &cal, 1);
        if (rc == NT_OK)
            rc = ev_rem_plan_make(p, req, &e, &cal, &rem);
        if (rc == NT_OK)
            rc = ev_create_write(p, req, db, &cal, user, &e, &rem);
        if (rc != EV_CHANGED)
            break;
    }
    if (rc == EV_CHANGED)
        rc = api->fail(req, NT_ERETRY, "the calendar kept changing while the event was created");
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:o}", "event", ev_event_json(&e));
    rc = *out != NULL ? 201 : NT_ENOMEM;
out:
    ev_rem_plan_clear(&rem);
    ev_cal_clear(&cal);
    ev_event_clear(&e);
    ev_body_clear(&b);
    return rc;
}

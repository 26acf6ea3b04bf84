/* PUT /events/{eventId} (end user) and PUT /user/events/{eventId} (admin): the original's
 * update applied step by step; on any error nothing is saved.
 */
#include "ev.h"
#include "ntc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Steps 2 to 6: serviceId, exdates, metadata, reminders, startTs/duration, busy. Sets
 * *timing_changed when startTs or duration changed. */
static int
ev_update_fields(const nt_host_api *api, nt_req *req, ev_body *b, ev_event *e, int *timing_changed)
{
    json_t *reminders = NULL;
    int present;
    char err[256];

    if (b->has_service) {
        e->has_service = b->service_id != NULL;
        snprintf(e->service_id, sizeof(e->service_id), "%s",
                 b->service_id != NULL ? b->service_id : "");
    }
    if (b->has_exdates) {
        free(e->exdates);
        e->exdates = b->exdates;
        e->n_exdates = b->n_exdates;
        b->exdates = NULL;
        b->n_exdates = 0;
    }
    if (b->metadata != NULL) {
        json_t *m = json_deep_copy(b->metadata);
        if (m == NULL)
            return NT_ENOMEM;
        json_decref(e->metadata);
        e->metadata = m;
    }
    if (ev_reminders_read(api->req_body(req), &reminders, &present, err, sizeof(err)) != 0)
        return api->fail(req, NT_EINVAL, "%s", err);
    if (present) {
        json_decref(e->reminders);
        e->reminders = reminders;
    } else {
        json_decref(reminders);
    }
    *timing_changed = 0;
    if (b->has_start && b->start_ts != e->start_ts) {
        e->start_ts = b->start_ts;
        free(e->exdates);
        e->exdates = NULL;
        e->n_exdates = 0;
        *timing_changed = 1;
    }
    if (b->has_duration && b->duration != e->duration) {
        e->duration = b->duration;
        *timing_changed = 1;
    }
    if (b->has_busy)
        e->busy = b->busy;
    return NT_OK;
}

/* Step 7: an object sets the rule (validated against the possibly new startTs), null
 * removes it, absence keeps it (re-validated when startTs or duration changed). */
static int
ev_update_recurrence(const nt_host_api *api, nt_req *req, const ev_body *b, ev_event *e,
                     int timing_changed)
{
    ev_rrule *r = NULL;
    json_t *stored = NULL;
    char err[256];
    int rc = NT_OK;

    if (b->recurrence != NULL && json_is_null(b->recurrence)) {
        free(e->rrule);
        e->rrule = NULL;
        return NT_OK;
    }
    if (b->recurrence == NULL && (e->rrule == NULL || !timing_changed))
        return NT_OK;
    r = malloc(sizeof(*r));
    if (b->recurrence == NULL)
        stored = ev_rrule_json(e->rrule);
    if (r == NULL || (b->recurrence == NULL && stored == NULL)) {
        rc = NT_ENOMEM;
        goto out;
    }
    if (ev_rrule_parse(b->recurrence != NULL ? b->recurrence : stored, e->start_ts, r, err,
                       sizeof(err)) != 0) {
        rc = api->fail(req, NT_EINVAL, "%s", err);
        goto out;
    }
    if (r->has_until) {
        rc = ev_check_ts(api, req, "recurrence.until", r->until);
        if (rc != NT_OK)
            goto out;
    }
    free(e->rrule);
    e->rrule = r;
    r = NULL;
out:
    free(r);
    json_decref(stored);
    return rc;
}

/* How often an update computes again when the event or its calendar changed between its
 * reads and its write transaction. */
#define EV_UPDATE_ATTEMPTS 5

/* 1 when the stored events a and b are the same (every field the routes can change). */
static int
ev_same_event(const ev_event *a, const ev_event *b)
{
    json_t *ja = ev_event_json(a), *jb = ev_event_json(b);
    int same = ja != NULL && jb != NULL && json_equal(ja, jb) && a->end_ts == b->end_ts;

    json_decref(ja);
    json_decref(jb);
    return same;
}

/* The write of an update: inside one short write transaction, re-reads the event and its
 * calendar and writes `e` only when neither changed since `before` and `cal` were read (a
 * compare-and-write: a concurrent update is never overwritten with stale fields).
 * EV_CHANGED when something changed (the caller starts again from the reads). */
static int
ev_update_write(const ev_plugin *p, nt_req *req, nt_db *db, const ev_event *before,
                const ev_cal *cal, const ev_event *e, int meta, const ev_rem_plan *rem)
{
    const nt_host_api *api = p->api;
    const char *account = api->req_account(req);
    ev_event now = {0};
    ev_cal now_cal = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = ev_store_load(api, db, before->id, account, api->req_user(req), &now);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", before->id);
    if (rc == NT_OK)
        rc = ev_cal_load(p, db, now.calendar_id, account, NULL, &now_cal);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "the calendar of event '%s' no longer exists", before->id);
    if (rc == NT_OK &&
        (!ev_same_event(&now, before) || strcmp(now_cal.timezone, cal->timezone) != 0 ||
         now_cal.week_start != cal->week_start))
        rc = EV_CHANGED;
    if (rc == NT_OK) {
        ev_memo_events_changed(p, req);
        rc = ev_store_update(api, db, e);
    }
    if (rc == NT_OK && meta)
        rc = ntc_meta_store(api, db, "events_metadata", e->id, account, e->metadata);
    if (rc == NT_OK)
        rc = ev_rem_replace(api, db, e, rem, -1);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    if (rc != NT_OK)
        api->db_rollback(db);
    ev_event_clear(&now);
    ev_cal_clear(&now_cal);
    return rc;
}

/* One attempt of an update: reads the event and its calendar (no transaction), applies the
 * body (the original's steps, the expansion of endTs included) and hands the result to
 * ev_update_write. b is read again on every attempt, so it is not consumed. */
static int
ev_update_once(const ev_plugin *p, nt_req *req, nt_db *db, const ev_body *body, ev_event *e)
{
    const nt_host_api *api = p->api;
    const char *account = api->req_account(req);
    const char *id = api->req_param(req, "eventId");
    ev_event before = {0};
    ev_body b = *body;
    ev_cal cal = {0};
    ev_rem_plan rem = {0};
    int changed = 0, rc;

    /* ev_update_fields takes the exdates out of the body: give it a copy. */
    b.exdates = NULL;
    if (body->n_exdates > 0) {
        b.exdates = malloc(body->n_exdates * sizeof(*b.exdates));
        if (b.exdates == NULL)
            return NT_ENOMEM;
        memcpy(b.exdates, body->exdates, body->n_exdates * sizeof(*b.exdates));
    }
    rc = ev_store_load(api, db, id, account, api->req_user(req), &before);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", id);
    if (rc == NT_OK)
        rc = ev_store_load(api, db, id, account, api->req_user(req), e);
    if (rc == NT_OK)
        rc = ev_cal_load(p, db, e->calendar_id, account, NULL, &cal);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "the calendar of event '%s' no longer exists", id);
    if (rc == NT_OK)
        rc = ev_update_fields(api, req, &b, e, &changed);
    if (rc == NT_OK)
        rc = ev_update_recurrence(api, req, &b, e, changed);
    /* The rule's cost is capped only when the timing changed, so a stored rule stays
     * editable in its other fields; its expansion then only answers to the request budget. */
    if (rc == NT_OK)
        rc = ev_compute_end(p, req, e, &cal,
                            changed || body->recurrence != NULL || body->has_exdates);
    if (rc == NT_OK)
        rc = ev_rem_plan_make(p, req, e, &cal, &rem);
    if (rc == NT_OK) {
        e->updated = api->now_ms();
        rc = ev_update_write(p, req, db, &before, &cal, e, body->metadata != NULL, &rem);
    }
    ev_rem_plan_clear(&rem);
    ev_event_clear(&before);
    ev_cal_clear(&cal);
    free(b.exdates);
    return rc;
}

int
ev_update(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    nt_db *db = api->req_db(req);
    ev_body b = {0};
    ev_event e = {0};
    int rc;

    rc = ev_body_read(api, req, api->req_body(req), 0, &b);
    if (rc != NT_OK)
        goto out;
    /* Reads, validation and the expansion run outside the write transaction; the write
     * re-reads and compares (a serializable read-modify-write without holding the lock). */
    for (int attempt = 0; attempt < EV_UPDATE_ATTEMPTS; attempt++) {
        ev_event_clear(&e);
        rc = ev_update_once(p, req, db, &b, &e);
        if (rc != EV_CHANGED)
            break;
    }
    if (rc == EV_CHANGED)
        rc = api->fail(req, NT_ERETRY, "the event kept changing while it was updated");
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:o}", "event", ev_event_json(&e));
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    ev_event_clear(&e);
    ev_body_clear(&b);
    return rc;
}

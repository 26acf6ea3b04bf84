/* PUT /events/{eventId} (end user) and PUT /user/events/{eventId} (admin): API.md A13.4,
 * applied step by step; on any error nothing is saved.
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
    free(e->rrule);
    e->rrule = r;
    r = NULL;
out:
    free(r);
    json_decref(stored);
    return rc;
}

int
ev_update(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *account = api->req_account(req);
    const char *id = api->req_param(req, "eventId");
    nt_db *db = api->req_db(req);
    ev_body b = {0};
    ev_event e = {0};
    ev_cal cal = {0};
    int in_tx = 0, changed = 0, rc;

    rc = ev_body_read(api, req, api->req_body(req), 0, &b);
    if (rc != NT_OK)
        goto out;
    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = ev_store_load(api, db, id, account, api->req_user(req), &e);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", id);
    if (rc != NT_OK)
        goto out;
    rc = ev_event_cal(p, req, &e, &cal);
    if (rc == NT_OK)
        rc = ev_update_fields(api, req, &b, &e, &changed);
    if (rc == NT_OK)
        rc = ev_update_recurrence(api, req, &b, &e, changed);
    if (rc == NT_OK)
        rc = ev_compute_end(p, req, &e, &cal);
    if (rc != NT_OK)
        goto out;
    e.updated = api->now_ms();
    rc = ev_store_update(api, db, &e);
    if (rc == NT_OK && b.metadata != NULL)
        rc = ntc_meta_store(api, db, "events_metadata", e.id, account, e.metadata);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 0;
    *out = json_pack("{s:o}", "event", ev_event_json(&e));
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    if (in_tx)
        api->db_rollback(db);
    ev_cal_clear(&cal);
    ev_event_clear(&e);
    ev_body_clear(&b);
    return rc;
}

/* Instance queries: the instances of one event and the events of a calendar in
 * a timespan with their instances (including the published client's end-user access to the
 * admin path).
 */
#include "ev.h"
#include "ntc.h"

static const char ev_sql_window[] =
    EV_SPAN_WINDOW("SELECT " EV_COLS " FROM events_events e WHERE e.calendar_id = $1 AND ", "$2",
                   "$3") " ORDER BY start_ts, id";

int
ev_query_window(const nt_host_api *api, nt_req *req, int check_span, int64_t *ws, int64_t *we)
{
    int rc = ev_query_ts(api, req, "startTs", ws);

    if (rc == NT_OK)
        rc = ev_query_ts(api, req, "endTs", we);
    if (rc == NT_OK && check_span)
        rc = ev_check_span(api, req, *ws, *we);
    return rc;
}

int
ev_instances(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "eventId");
    const char *account = api->req_account(req);
    nt_db *db = api->req_db(req);
    ev_event e = {0};
    ev_cal cal = {0};
    ev_ilist l = {0};
    ev_work w;
    int64_t ws, we;
    int rc;

    ev_work_init(&w, p, req, 0);
    rc = ev_query_window(api, req, 0, &ws, &we);
    if (rc != NT_OK)
        goto out;
    rc = ev_store_load(api, db, id, account, api->req_user(req), &e);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", id);
    if (rc != NT_OK)
        goto out;
    rc = ev_event_cal(p, req, &e, &cal);
    if (rc == NT_OK)
        rc = ev_check_span(api, req, ws, we);
    if (rc == NT_OK)
        rc = ev_expand_event(p, req, &w, &e, cal.timezone, cal.week_start, ws, we, &l);
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:o,s:o}", "event", ev_event_json(&e), "instances", ev_ilist_json(&l));
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    ev_ilist_free(&l);
    ev_cal_clear(&cal);
    ev_event_clear(&e);
    return rc;
}

/* Appends {"event", "instances"} for each event of the executed window query that has at
 * least one instance. */
static int
ev_cal_collect(const ev_plugin *p, nt_req *req, nt_stmt *st, const ev_cal *cal, int64_t ws,
               int64_t we, json_t *list)
{
    const nt_host_api *api = p->api;
    ev_event e = {0};
    ev_ilist l = {0};
    ev_work w;
    int rc;

    ev_work_init(&w, p, req, 0);
    while ((rc = api->db_step(st)) == 1) {
        l.n = 0;
        rc = ev_row_read(api, st, 0, &e);
        if (rc == NT_OK)
            rc = ev_expand_event(p, req, &w, &e, cal->timezone, cal->week_start, ws, we, &l);
        if (rc != NT_OK)
            break;
        if (l.n == 0)
            continue;
        if (json_array_append_new(list, json_pack("{s:o,s:o}", "event", ev_event_json(&e),
                                                  "instances", ev_ilist_json(&l))) != 0) {
            rc = NT_ENOMEM;
            break;
        }
    }
    ev_ilist_free(&l);
    ev_event_clear(&e);
    return rc;
}

int
ev_cal_events(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "calendarId");
    nt_db *db = api->req_db(req);
    json_t *list = NULL, *cal_json = NULL;
    nt_stmt *st = NULL;
    ev_cal cal = {0};
    int64_t ws, we;
    int rc;

    rc = ev_query_window(api, req, 1, &ws, &we);
    if (rc != NT_OK)
        goto out;
    /* End users (also on the admin path, compat) only see their own calendars. */
    rc = ev_cal_load_json(p, db, id, api->req_account(req), api->req_user(req), &cal, &cal_json);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no calendar with id '%s'", id);
    if (rc != NT_OK)
        goto out;
    list = json_array();
    if (list == NULL) {
        rc = NT_ENOMEM;
        goto out;
    }
    rc = ntc_prepare(api, db, &st, ev_sql_window, "tii", cal.id, we, ws);
    if (rc == NT_OK)
        rc = ev_cal_collect(p, req, st, &cal, ws, we, list);
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:O,s:O}", "calendar", cal_json, "events", list);
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    api->db_finalize(st);
    json_decref(list);
    json_decref(cal_json);
    ev_cal_clear(&cal);
    return rc;
}

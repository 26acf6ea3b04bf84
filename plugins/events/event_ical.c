/* iCalendar export of a calendar: GET /calendar/{calendarId}/ical (the owner, an
 * end user) and GET /user/calendar/{calendarId}/ical (admin). The calendar comes from the
 * "calendars" service (404 outside the caller's account, or not the end user's own); its
 * events from this plugin's table, one VEVENT each (event_ical_vevent.c). The reply is
 * text/calendar, at most [events] ical_max_events events and EV_ICAL_MAX_BYTES bytes, and the work
 * is charged to the request's budget (req_check every EV_ICAL_CHECK_EVERY events). libical is
 * opened at the first export (event_ical_lib.h).
 */
#include "ev.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

#include "event_ical_lib.h"

#define EV_ICAL_CHECK_EVERY 32
#define EV_ICAL_CONTENT_TYPE "text/calendar; charset=utf-8"
#define EV_ICAL_TOOBIG 2 /* internal: the reply would exceed EV_ICAL_MAX_BYTES */

static const char ev_sql_ical_count[] = "SELECT count(*), count(e.recurrence) FROM events_events e "
                                        "WHERE e.calendar_id = $1 AND e.account_id = $2";
static const char ev_sql_ical_rows[] = "SELECT " EV_COLS " FROM events_events e "
                                       "WHERE e.calendar_id = $1 AND e.account_id = $2 "
                                       "ORDER BY e.start_ts, e.id";

/* The reply being built. */
typedef struct ev_ical_buf {
    char *data;
    size_t len, cap;
} ev_ical_buf;

/* Appends s (NUL-terminated; NULL is out of memory) to b. NT_OK, NT_ENOMEM, or
 * EV_ICAL_TOOBIG when the reply would exceed EV_ICAL_MAX_BYTES. */
static int
ev_ical_put(ev_ical_buf *b, const char *s)
{
    size_t n;

    if (s == NULL)
        return NT_ENOMEM;
    n = strlen(s);
    if (b->len + n > EV_ICAL_MAX_BYTES)
        return EV_ICAL_TOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *d;

        while (cap < b->len + n + 1)
            cap *= 2;
        d = realloc(b->data, cap);
        if (d == NULL)
            return NT_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
    return NT_OK;
}

/* Appends the serialised property p (taken) to b. */
static int
ev_ical_put_prop(ev_ical_buf *b, icalproperty *p)
{
    char *s;
    int rc;

    if (p == NULL)
        return NT_ENOMEM;
    s = icalproperty_as_ical_string_r(p);
    rc = ev_ical_put(b, s);
    free(s);
    icalproperty_free(p);
    return rc;
}

/* The calendar's header: VERSION, PRODID, CALSCALE and, when it has recurring events, the
 * VTIMEZONE of its zone (read from the system tz database by libical, TZID = the zone name). */
static int
ev_ical_head(const ev_plugin *p, nt_req *req, const ev_cal *cal, int recurring, ev_ical_buf *b)
{
    icalcomponent *vtz;
    icalproperty *tzid;
    char *s;
    int rc = ev_ical_put(b, "BEGIN:VCALENDAR\r\n");

    if (rc == NT_OK)
        rc = ev_ical_put_prop(b, icalproperty_new_version("2.0"));
    if (rc == NT_OK)
        rc = ev_ical_put_prop(b, icalproperty_new_prodid("-//nettu//calendar export//EN"));
    if (rc == NT_OK)
        rc = ev_ical_put_prop(b, icalproperty_new_calscale("GREGORIAN"));
    if (rc != NT_OK || !recurring)
        return rc;
    vtz = icaltzutil_fetch_timezone(cal->timezone);
    if (vtz == NULL) {
        p->api->log(p->self, NT_LOG_ERROR, "libical cannot read time zone '%s'", cal->timezone);
        return p->api->fail(req, NT_ERR, "the calendar's time zone '%s' cannot be exported",
                            cal->timezone);
    }
    tzid = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
    if (tzid != NULL)
        icalproperty_set_tzid(tzid, cal->timezone); /* libical prefixes its own path */
    s = icalcomponent_as_ical_string_r(vtz);
    rc = ev_ical_put(b, s);
    free(s);
    icalcomponent_free(vtz);
    return rc;
}

/* Appends the VEVENT of every event of the executed row query to b. */
static int
ev_ical_rows(const ev_plugin *p, nt_req *req, nt_stmt *st, const ev_cal *cal, const ev_tz *tz,
             ev_ical_buf *b)
{
    const nt_host_api *api = p->api;
    ev_event e = {0};
    ev_work w;
    ev_ical_ctx x = {.tzid = cal->timezone,
                     .tz = tz,
                     .wkst = cal->week_start,
                     .max_instances = p->max_instances,
                     .budget = &w.budget};
    char err[256] = "";
    size_t n = 0;
    int rc;

    ev_work_init(&w, p, req, 0);
    while ((rc = api->db_step(st)) == 1) {
        char *text = NULL;

        if (++n % EV_ICAL_CHECK_EVERY == 0 && (rc = api->req_check(req)) != NT_OK)
            break;
        rc = ev_row_read(api, st, 0, &e);
        if (rc != NT_OK)
            break;
        rc = ev_ical_vevent(&e, &x, &text, err, sizeof(err));
        if (rc == 0)
            rc = ev_ical_put(b, text);
        else if (rc == 1)
            rc = NT_OK; /* no instances: nothing to export */
        else if (rc == -1)
            rc = api->fail(req, NT_EBUDGET, "event '%s' cannot be exported: %s", e.id, err);
        else
            rc = ev_work_map(p, req, rc, err);
        free(text);
        if (rc != NT_OK)
            break;
    }
    ev_event_clear(&e);
    return rc;
}

int
ev_ical(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "calendarId");
    const char *account = api->req_account(req);
    nt_db *db = api->req_db(req);
    ev_ical_buf b = {0};
    nt_stmt *st = NULL;
    const ev_tz *tz = NULL;
    ev_cal cal = {0};
    int64_t n_events = 0, n_recurring = 0;
    int rc;

    (void)out;
    if (ev_ical_lib_load() != 0) {
        api->log(p->self, NT_LOG_ERROR,
                 "the iCalendar export needs libical, which cannot be "
                 "loaded");
        return api->fail(req, NT_ERR,
                         "the iCalendar export is unavailable (libical cannot be "
                         "loaded)");
    }
    /* End users only see their own calendars, admins those of their account. */
    rc = ev_cal_load(p, db, id, account, api->req_user(req), &cal);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no calendar with id '%s'", id);
    if (rc == NT_OK)
        rc = ntc_prepare(api, db, &st, ev_sql_ical_count, "tt", cal.id, account);
    if (rc == NT_OK && (rc = ntc_row(api, st)) == NT_OK) {
        n_events = api->db_col_int64(st, 0);
        n_recurring = api->db_col_int64(st, 1);
    }
    api->db_finalize(st);
    st = NULL;
    if (rc != NT_OK)
        goto out;
    if (n_events > p->ical_max_events) {
        rc = api->fail(req, NT_EBUDGET,
                       "the calendar has %lld events; an iCalendar export holds at most %lld "
                       "([events] ical_max_events)",
                       (long long)n_events, (long long)p->ical_max_events);
        goto out;
    }
    if (n_recurring > 0 && (tz = ev_tz_get(cal.timezone)) == NULL) {
        api->log(p->self, NT_LOG_ERROR, "cannot load time zone '%s'", cal.timezone);
        rc = api->fail(req, NT_ERR, "the calendar's time zone '%s' cannot be loaded", cal.timezone);
        goto out;
    }
    rc = ev_ical_head(p, req, &cal, n_recurring > 0, &b);
    if (rc == NT_OK)
        rc = ntc_prepare(api, db, &st, ev_sql_ical_rows, "tt", cal.id, account);
    if (rc == NT_OK)
        rc = ev_ical_rows(p, req, st, &cal, tz, &b);
    if (rc == NT_OK)
        rc = ev_ical_put(&b, "END:VCALENDAR\r\n");
    if (rc == EV_ICAL_TOOBIG)
        rc = api->fail(req, NT_EBUDGET, "the iCalendar export would exceed %d bytes",
                       EV_ICAL_MAX_BYTES);
    if (rc == NT_OK)
        rc = api->req_reply_text(req, EV_ICAL_CONTENT_TYPE, b.data, b.len);
    if (rc == NT_OK)
        rc = 200;
out:
    api->db_finalize(st);
    free(b.data);
    ev_cal_clear(&cal);
    return rc;
}

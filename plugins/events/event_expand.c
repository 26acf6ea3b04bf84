/* Glue between the routes and the pure expansion engine: zone lookup, error mapping, the
 * stored endTs (A13.7) and the 62-day span check (A2).
 */
#include "ev.h"

/* Maps an engine result to an NT_E* code (messages go through fail()). */
static int
ev_map(const ev_plugin *p, nt_req *req, int rc, const char *err)
{
    if (rc == 0)
        return NT_OK;
    if (rc == -2)
        return NT_ENOMEM;
    return p->api->fail(req, NT_EINVAL, "%s", err);
}

/* The zone of a calendar; logs and answers 500 when it cannot be loaded. */
static int
ev_zone(const ev_plugin *p, nt_req *req, const char *timezone, const ev_tz **tz)
{
    *tz = ev_tz_get(timezone);
    if (*tz != NULL)
        return NT_OK;
    p->api->log(p->self, NT_LOG_ERROR, "cannot load time zone '%s' from the tz database", timezone);
    return p->api->fail(req, NT_ERR, "the calendar's time zone '%s' cannot be loaded", timezone);
}

int
ev_expand_event(const ev_plugin *p, nt_req *req, const ev_event *e, const char *timezone,
                int week_start, int64_t ws, int64_t we, ev_ilist *out)
{
    ev_series s = ev_event_series(e);
    ev_expand_opts o = {
        .wkst = week_start, .windowed = 1, .ws = ws, .we = we, .max_instances = p->max_instances};
    char err[256] = "";
    int rc;

    if (e->rrule != NULL) {
        rc = ev_zone(p, req, timezone, &o.tz);
        if (rc != NT_OK)
            return rc;
    }
    rc = ev_expand(&s, &o, out, err, sizeof(err));
    return ev_map(p, req, rc, err);
}

int
ev_compute_end(const ev_plugin *p, nt_req *req, ev_event *e, const ev_cal *cal)
{
    ev_series s = ev_event_series(e);
    const ev_tz *tz = NULL;
    char err[256] = "";
    int rc;

    if (e->rrule != NULL) {
        rc = ev_zone(p, req, cal->timezone, &tz);
        if (rc != NT_OK)
            return rc;
    }
    rc = ev_end_ts(&s, tz, cal->week_start, p->max_instances, &e->end_ts, err, sizeof(err));
    return ev_map(p, req, rc, err);
}

int
ev_check_span(const nt_host_api *api, nt_req *req, int64_t ws, int64_t we)
{
    /* endTs - startTs > 62 days, without overflowing. */
    if (we > ev_sat_add(ws, EV_SPAN_MAX))
        return api->fail(req, NT_EINVAL,
                         "endTs: the timespan may be at most 62 days (%lld ms) long",
                         (long long)EV_SPAN_MAX);
    return NT_OK;
}

/* Glue between the routes and the pure expansion engine: the request's work budget (the time
 * engine's ev_budget wired to the host's req_check), zone lookup, error mapping, the stored
 * endTs with the affordability cap of a rule, and the query window checks.
 */
#include "ev.h"

/* The budget's hook: the host's verdict on the request (CPU budget, client gone). */
static int
ev_work_hook(void *arg)
{
    ev_work *w = arg;

    switch (w->api->req_check(w->req)) {
    case NT_OK:
        return EV_GO;
    case NT_EGONE:
        return EV_STOP_GONE;
    default:
        return EV_STOP_BUDGET;
    }
}

void
ev_work_init(ev_work *w, const ev_plugin *p, nt_req *req, int64_t max_cpu_us)
{
    w->api = p->api;
    w->req = req;
    ev_budget_init(&w->budget, 0, max_cpu_us, ev_work_hook, w);
}

int
ev_work_map(const ev_plugin *p, nt_req *req, int rc, const char *err)
{
    switch (rc) {
    case 0:
        return NT_OK;
    case -2:
        return NT_ENOMEM;
    case EV_EXPAND_ELIMIT:
        /* Only create and update cap a rule; their message names the setting. */
        return p->api->fail(req, NT_EINVAL,
                            "recurrence: the rule is too costly: computing its occurrences takes "
                            "more than %lld ms of CPU ([events] rule_cpu_ms); use a smaller count, "
                            "fewer by* values, or until instead of count",
                            (long long)(p->rule_cpu_us / 1000));
    case EV_EXPAND_EBUDGET:
        return NT_EBUDGET; /* req_check has set the message */
    case EV_EXPAND_EGONE:
        return p->api->fail(req, NT_EGONE, "the client closed the connection");
    default:
        return p->api->fail(req, NT_EINVAL, "%s", err);
    }
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
ev_expand_event(const ev_plugin *p, nt_req *req, ev_work *w, const ev_event *e,
                const char *timezone, int week_start, int64_t ws, int64_t we, ev_ilist *out)
{
    ev_series s = ev_event_series(e);
    ev_expand_opts o = {.wkst = week_start,
                        .windowed = 1,
                        .ws = ws,
                        .we = we,
                        .max_instances = p->max_instances,
                        .budget = &w->budget};
    char err[256] = "";
    int rc;

    if (e->rrule != NULL) {
        rc = ev_zone(p, req, timezone, &o.tz);
        if (rc != NT_OK)
            return rc;
    }
    rc = ev_expand(&s, &o, out, err, sizeof(err));
    return ev_work_map(p, req, rc, err);
}

int
ev_compute_end(const ev_plugin *p, nt_req *req, ev_event *e, const ev_cal *cal, int capped)
{
    ev_series s = ev_event_series(e);
    const ev_tz *tz = NULL;
    ev_work w;
    char err[256] = "";
    int rc;

    if (e->rrule != NULL) {
        rc = ev_zone(p, req, cal->timezone, &tz);
        if (rc != NT_OK)
            return rc;
    }
    ev_work_init(&w, p, req, capped ? p->rule_cpu_us : 0);
    rc = ev_end_ts(&s, tz, cal->week_start, p->max_instances, &w.budget, &e->end_ts, err,
                   sizeof(err));
    return ev_work_map(p, req, rc, err);
}

int
ev_check_span(const nt_host_api *api, nt_req *req, int64_t ws, int64_t we)
{
    int rc = ev_check_ts(api, req, "startTs", ws);

    if (rc == NT_OK)
        rc = ev_check_ts(api, req, "endTs", we);
    if (rc != NT_OK)
        return rc;
    /* endTs - startTs > 62 days (both are within years 1..9999: no overflow). */
    if (we - ws > EV_SPAN_MAX)
        return api->fail(req, NT_EINVAL,
                         "endTs: the timespan may be at most 62 days (%lld ms) long",
                         (long long)EV_SPAN_MAX);
    return NT_OK;
}

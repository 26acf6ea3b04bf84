/* GET /service/{serviceId}/booking: the public booking-slot query. Checks
 * in the original's order (interval, dates, service, group(0), span), then each considered
 * member's free time (svc_free.c) and the slot walk (svc_slots.c), inside the request's
 * work budget.
 */
#include "ntc.h"
#include "svc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SVC_INTERVAL_MIN 300000LL  /* 5 minutes */
#define SVC_INTERVAL_MAX 7200000LL /* 2 hours */
#define SVC_SPAN_MAX (101LL * 86400000LL)

int
svc_check_interval(const nt_host_api *api, nt_req *req, int64_t interval)
{
    if (interval < SVC_INTERVAL_MIN || interval > SVC_INTERVAL_MAX)
        return api->fail(req, NT_EINVAL, "interval: expected %lld to %lld ms, got %lld",
                         SVC_INTERVAL_MIN, SVC_INTERVAL_MAX, (long long)interval);
    return NT_OK;
}

/* Reads the required integer query parameter `name`. */
static int
svc_query_int(const nt_host_api *api, nt_req *req, const char *name, int64_t *out)
{
    const char *v = api->req_query(req, name);
    char *end = NULL;
    long long x;

    if (v == NULL)
        return api->fail(req, NT_EINVAL, "%s: required query parameter is missing", name);
    errno = 0;
    x = strtoll(v, &end, 10);
    if (*v == '\0' || (*v != '-' && (*v < '0' || *v > '9')) || errno != 0 || *end != '\0')
        return api->fail(req, NT_EINVAL, "%s: expected an integer, got '%.40s'", name, v);
    *out = x;
    return NT_OK;
}

/* Reads startDate or endDate. */
static int
svc_query_date(const nt_host_api *api, nt_req *req, const char *name, int64_t *days)
{
    const char *v = api->req_query(req, name);

    if (v == NULL)
        return api->fail(req, NT_EINVAL, "%s: required query parameter is missing", name);
    if (svc_date_parse(v, days) != NT_OK)
        return api->fail(req, NT_EINVAL,
                         "%s: expected a date Y-M-D with a year from 1970 to 2100, got '%.40s'",
                         name, v);
    return NT_OK;
}

/* The zone of `timezone`, else `ianaTz`, else UTC (NULL). */
static int
svc_query_tz(const nt_host_api *api, nt_req *req, const ev_tz **tz)
{
    const char *name = api->req_query(req, "timezone");
    const char *key = "timezone";

    if (name == NULL) {
        name = api->req_query(req, "ianaTz");
        key = "ianaTz";
    }
    *tz = NULL;
    if (name == NULL)
        return NT_OK;
    if (!ntc_tz_valid(name))
        return api->fail(req, NT_EINVAL, "%s: '%.64s' is not an IANA time zone", key, name);
    *tz = ev_tz_get(name);
    if (*tz == NULL)
        return api->fail(req, NT_ERR, "%s: cannot load the zone '%.64s'", key, name);
    return NT_OK;
}

/* 1 when member `user_id` is named in the comma-separated list `arg` (a filter). */
static int
svc_host_listed(const void *arg, const char *user_id)
{
    const char *list = arg;
    size_t n = strlen(user_id);

    for (const char *c = list; *c != '\0';) {
        const char *comma = strchr(c, ',');
        size_t len = comma != NULL ? (size_t)(comma - c) : strlen(c);
        if (len == n && strncmp(c, user_id, n) == 0)
            return 1;
        c += len + (comma != NULL);
    }
    return 0;
}

static int
svc_walk_check(void *ctx)
{
    void **b = ctx;
    const nt_host_api *api = b[0];

    return api->req_check(b[1]);
}

int
svc_compute_slots(const svc_plugin *p, nt_req *req, const svc_service *s, int64_t s0, int64_t e0,
                  int64_t interval, int64_t duration, svc_host_filter filter, const void *arg,
                  svc_slots *out, const char ***ids_out)
{
    const nt_host_api *api = p->api;
    int all = svc_multi_all(&s->multi);
    ev_ilist *free_l = calloc(s->n + 1, sizeof(*free_l));
    const char **ids = calloc(s->n + 1, sizeof(*ids));
    void *budget[2] = {(void *)api, req};
    size_t n = 0;
    int rc = free_l != NULL && ids != NULL ? NT_OK : NT_ENOMEM;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; rc == NT_OK && i < s->n; i++) {
        if (!all && filter != NULL && !filter(arg, s->members[i].user_id))
            continue;
        rc = api->req_check(req);
        if (rc == NT_OK)
            rc = svc_member_free(p, req, s, &s->members[i], s0, e0, NULL, NULL, &free_l[n]);
        ids[n++] = s->members[i].user_id;
    }
    if (rc == NT_OK) {
        rc =
            svc_slots_walk(free_l, n, s0, e0, interval, duration, all, svc_walk_check, budget, out);
        if (rc == -1)
            rc = NT_ENOMEM;
    }
    for (size_t i = 0; free_l != NULL && i < n; i++)
        ev_ilist_free(&free_l[i]);
    free(free_l);
    if (rc == NT_OK) {
        *ids_out = ids;
        return NT_OK;
    }
    free(ids);
    *ids_out = NULL;
    return rc;
}

/* The slots of the considered members of s in [s0, e0) as the answer object. */
static int
svc_slots_answer(const svc_plugin *p, nt_req *req, const svc_service *s, int64_t s0, int64_t e0,
                 int64_t interval, int64_t duration, const ev_tz *tz, json_t **out)
{
    const char *hosts = p->api->req_query(req, "hostUserIds");
    const char **ids = NULL;
    svc_slots sl;
    int rc;

    rc = svc_compute_slots(p, req, s, s0, e0, interval, duration,
                           hosts != NULL ? svc_host_listed : NULL, hosts, &sl, &ids);
    if (rc == NT_OK) {
        *out = svc_slots_json(&sl, ids, tz, duration);
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    free(ids);
    svc_slots_clear(&sl);
    return rc;
}

int
svc_booking(nt_req *req, void *state, json_t **out)
{
    const svc_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "serviceId");
    int64_t interval, duration, d0, d1, s0, e0;
    const ev_tz *tz = NULL;
    svc_service s = {0};
    int rc;

    rc = svc_query_int(api, req, "interval", &interval);
    if (rc == NT_OK)
        rc = svc_check_interval(api, req, interval);
    if (rc == NT_OK)
        rc = svc_query_int(api, req, "duration", &duration);
    if (rc == NT_OK)
        rc = svc_query_date(api, req, "startDate", &d0);
    if (rc == NT_OK)
        rc = svc_query_date(api, req, "endDate", &d1);
    if (rc == NT_OK)
        rc = svc_query_tz(api, req, &tz);
    if (rc != NT_OK)
        return rc;
    rc = svc_load(api, api->req_db(req), id, NULL, &s);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "serviceId: no service '%s'", id);
    if (rc != NT_OK)
        goto out;
    svc_span(tz, d0, d1, &s0, &e0);
    if ((s.multi.kind == SVC_GROUP && s.multi.group == 0) || d1 < d0) {
        *out = json_pack("{s:[]}", "dates");
        rc = *out != NULL ? 200 : NT_ENOMEM;
        goto out;
    }
    if (e0 - s0 > SVC_SPAN_MAX) {
        rc = api->fail(req, NT_EINVAL, "endDate: the span from startDate is over 101 days");
        goto out;
    }
    rc = svc_slots_answer(p, req, &s, s0, e0, interval, duration, tz, out);
    if (rc == NT_OK)
        rc = 200;
out:
    svc_clear(&s);
    return rc;
}

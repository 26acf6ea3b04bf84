/* The free time of one service member from the other plugins' services: the
 * availability (a schedule's free time from "schedules", a calendar's free time from
 * "events"), the busy time of its internal busy calendars (widened by the buffers of the
 * member's services) and the other services' spans, all through "events"; never another
 * plugin's tables.
 */
#include "ntc.h"
#include "svc.h"

#include <stdlib.h>
#include <string.h>

#define SVC_MINUTE_MS 60000LL

/* The buffers of one of the user's memberships. */
typedef struct svc_buf {
    char service_id[NT_UUID_BUF];
    int64_t before, after; /* minutes */
} svc_buf;

/* Appends the intervals of *in to out (marked busy), then frees in. 0 or -1 (out of memory). */
static int
svc_take(nt_intervals *in, ev_ilist *out, int busy)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < in->n; i++)
        rc = ev_ilist_push(out, in->v[i].start, in->v[i].end, busy);
    free(in->v);
    memset(in, 0, sizeof(*in));
    return rc;
}

/* The buffers of every membership of user_id in account_id (any service of the account): *out
 * malloc'd. */
static int
svc_user_buffers(const nt_host_api *api, nt_db *db, const char *account_id, const char *user_id,
                 svc_buf **out, size_t *n)
{
    nt_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = ntc_prepare(api, db, &st,
                     "SELECT service_id, buffer_before, buffer_after FROM service_users "
                     "WHERE user_id = $1 AND account_id = $2",
                     "tt", user_id, account_id);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        const char *id = api->db_col_text(st, 0);
        rc = NT_OK;
        if (id == NULL || strlen(id) > NT_UUID_LEN) {
            rc = NT_ERR;
            break;
        }
        if (*n == cap) {
            size_t grown = cap != 0 ? cap * 2 : 4;
            svc_buf *v = realloc(*out, grown * sizeof(*v));
            if (v == NULL) {
                rc = NT_ENOMEM;
                break;
            }
            *out = v;
            cap = grown;
        }
        strcpy((*out)[*n].service_id, id);
        (*out)[*n].before = api->db_col_int64(st, 1);
        (*out)[*n].after = api->db_col_int64(st, 2);
        (*n)++;
    }
    api->db_finalize(st);
    return rc;
}

/* svc_user_buffers through the memo of the request's group commit (svc_memo.c says why that
 * is exact): the bookings of one group read a member's buffers once. */
static int
svc_user_buffers_memo(const nt_host_api *api, nt_req *req, const char *account_id,
                      const char *user_id, svc_buf **out, size_t *n)
{
    char key[2 * NT_UUID_BUF + 24];
    int memo = ntc_memo_on(api, req) &&
               ntc_key(key, sizeof(key), 4,
                       (const char *const[]){"service", "buffers", account_id, user_id}),
        rc;

    if (memo && (rc = ntc_memo_get_array(api, req, key, sizeof(**out), (void **)out, n)) != 0)
        return rc > 0 ? NT_OK : NT_ENOMEM;
    rc = svc_user_buffers(api, api->req_db(req), account_id, user_id, out, n);
    if (rc == NT_OK && memo)
        ntc_memo_keep_array(api, req, key, *out, *n, sizeof(**out));
    return rc;
}

/* Free time step 2: the member's availability in [s, e] into avail. *taken (when not NULL) is
 * set to 1 when a busy event of an availability calendar overlaps (ws, we): that time is in the
 * availability, but taken. */
static int
svc_availability(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_member *m,
                 int64_t ws, int64_t we, ev_ilist *avail, int *taken)
{
    nt_intervals iv = {0}, busy = {0};
    int rc = NT_OK;

    if (m->plan.kind == SVC_PLAN_CALENDAR) {
        const char *ids[1] = {m->plan.id};
        rc = p->events->freebusy(p->events_state, req, s->account_id, m->user_id, ids, 1, ws, we,
                                 taken != NULL ? &busy : NULL, &iv);
        for (size_t i = 0; rc == NT_OK && i < busy.n; i++)
            if (busy.v[i].start < we && busy.v[i].end > ws)
                *taken = 1;
        free(busy.v);
    } else if (m->plan.kind == SVC_PLAN_SCHEDULE) {
        char owner[NT_UUID_BUF];
        nt_db *db = p->api->req_db(req);
        rc = p->schedules->owner(p->schedules_state, db, m->plan.id, owner, NULL);
        if (rc == NT_ENOTFOUND)
            return NT_OK;
        if (rc == NT_OK && strcmp(owner, m->user_id) != 0)
            return NT_OK;
        if (rc == NT_OK)
            rc = p->schedules->free_time(p->schedules_state, req, db, s->account_id, m->plan.id, ws,
                                         we, &iv);
        if (rc == NT_ENOTFOUND)
            rc = NT_OK;
    }
    if (rc == NT_OK && svc_take(&iv, avail, 0) != 0)
        rc = NT_ENOMEM;
    free(iv.v);
    return rc;
}

/* A hold lasts at most a day (svc_bk.c checks duration), so one that overlaps [ws, we] starts
 * at or after ws minus a day: the bound keeps the index range of the account's holds short. */
#define SVC_HOLD_MAX_DURATION_MS 86400000LL

/* The spans of the active holds (not expired, not used) of the account that name
 * m's user and overlap [ws, we], except skip_hold (NULL for none), appended to busy. */
static int
svc_holds_busy(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_member *m,
               int64_t ws, int64_t we, const char *skip_hold, ev_ilist *busy)
{
    const nt_host_api *api = p->api;
    nt_stmt *st = NULL;
    int rc;

    rc = ntc_prepare(api, api->req_db(req), &st,
                     "SELECT start_ts, duration, hosts FROM service_holds WHERE account_id = $1 "
                     "AND used = 0 AND expires_at > $2 AND start_ts <= $3 AND "
                     "start_ts + duration >= $4 AND id <> $5 AND start_ts >= $6 ORDER BY start_ts",
                     "tiiiti", s->account_id, api->now_ms(), we, ws,
                     skip_hold != NULL ? skip_hold : "", ws - SVC_HOLD_MAX_DURATION_MS);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        int64_t start = api->db_col_int64(st, 0), duration = api->db_col_int64(st, 1);
        json_t *hosts = svc_bk_hosts_parse(api->db_col_text(st, 2));
        rc = hosts != NULL ? NT_OK : NT_ENOMEM;
        if (rc == NT_OK && svc_bk_hosts_has(hosts, m->user_id) &&
            ev_ilist_push(busy, start, start + duration, 1) != 0)
            rc = NT_ENOMEM;
        json_decref(hosts);
    }
    api->db_finalize(st);
    return rc;
}

/* 1 when one interval of l covers [s, e]. */
static int
svc_covers(const ev_ilist *l, int64_t s, int64_t e)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].start <= s && e <= l->v[i].end)
            return 1;
    return 0;
}

/* Free time step 3: the busy instances of the member's busy calendars (widened by buffers) and
 * the other services' spans, in [ws, we], appended to busy. */
static int
svc_busy(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_member *m, int64_t ws,
         int64_t we, ev_ilist *busy)
{
    const char **ids = NULL;
    nt_service_busy *groups = NULL;
    nt_intervals spans = {0};
    svc_buf *bufs = NULL;
    size_t n_bufs = 0, n_groups = 0;
    int64_t widen = 0;
    int rc;

    rc = svc_user_buffers_memo(p->api, req, s->account_id, m->user_id, &bufs, &n_bufs);
    for (size_t i = 0; rc == NT_OK && i < n_bufs; i++) {
        int64_t w = (bufs[i].before > bufs[i].after ? bufs[i].before : bufs[i].after);
        if (w * SVC_MINUTE_MS > widen)
            widen = w * SVC_MINUTE_MS;
    }
    if (rc == NT_OK && m->n_busy > 0) {
        ids = malloc(m->n_busy * sizeof(*ids));
        if (ids == NULL)
            rc = NT_ENOMEM;
        for (size_t i = 0; rc == NT_OK && i < m->n_busy; i++)
            ids[i] = m->busy[i];
        /* A busy event just outside the span may reach into it once widened. */
        if (rc == NT_OK)
            rc = p->events->busy_by_service(p->events_state, req, s->account_id, m->user_id, ids,
                                            m->n_busy, ws - widen, we + widen, &groups, &n_groups);
    }
    for (size_t g = 0; rc == NT_OK && g < n_groups; g++) {
        int64_t before = 0, after = 0;
        for (size_t i = 0; groups[g].service_id[0] != '\0' && i < n_bufs; i++)
            if (strcmp(bufs[i].service_id, groups[g].service_id) == 0) {
                before = bufs[i].before;
                after = bufs[i].after;
            }
        if (svc_busy_widen(busy, groups[g].busy.v, groups[g].busy.n, before, after) != 0)
            rc = NT_ENOMEM;
    }
    if (rc == NT_OK)
        rc = p->events->other_service_spans(p->events_state, req, s->account_id, m->user_id, s->id,
                                            ws, we, &spans);
    if (rc == NT_OK && svc_take(&spans, busy, 1) != 0)
        rc = NT_ENOMEM;
    free(spans.v);
    if (groups != NULL)
        p->events->service_busy_free(groups, n_groups);
    free(ids);
    free(bufs);
    return rc;
}

int
svc_member_free(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_member *m,
                int64_t s0, int64_t e0, const char *skip_hold, int *in_avail, ev_ilist *out)
{
    ev_ilist busy = {0};
    int64_t ws = s0, we = e0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (in_avail != NULL)
        *in_avail = 0;
    if (!svc_adjust(p->api->now_ms(), m->closest, m->furthest, &ws, &we))
        return NT_OK;
    rc = svc_availability(p, req, s, m, ws, we, out, in_avail);
    if (rc == NT_OK && in_avail != NULL)
        *in_avail = ws == s0 && we == e0 && (*in_avail || svc_covers(out, s0, e0));
    if (rc == NT_OK && out->n > 0)
        rc = svc_busy(p, req, s, m, ws, we, &busy);
    if (rc == NT_OK && out->n > 0)
        rc = svc_holds_busy(p, req, s, m, ws, we, skip_hold, &busy);
    if (rc == NT_OK && svc_free_time(out, &busy, ws, we) != 0)
        rc = NT_ENOMEM;
    ev_ilist_free(&busy);
    if (rc != NT_OK)
        ev_ilist_free(out);
    return rc;
}

/* The "events" service (services.h, nt_events_v1): free/busy of a set of calendars, the busy
 * instances grouped by serviceId, and the spans of other services' events, for plugins
 * that compute with time (booking slots) without reading the events tables.
 */
#include "ev.h"
#include "ntc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* See nt_events_v1.freebusy. */
static int
ev_svc_freebusy(void *state, nt_req *req, const char *account_id, const char *user_id,
                const char *const *calendar_ids, size_t n_calendars, int64_t ws, int64_t we,
                nt_intervals *busy, nt_intervals *free_time)
{
    ev_ilist b = {0}, f = {0};
    int rc;

    rc = ev_set_freebusy(state, req, account_id, user_id, calendar_ids, n_calendars, ws, we,
                         busy != NULL ? &b : NULL, free_time != NULL ? &f : NULL);
    if (rc == NT_OK && busy != NULL && ev_ilist_export(&b, busy) != 0)
        rc = NT_ENOMEM;
    if (rc == NT_OK && free_time != NULL && ev_ilist_export(&f, free_time) != 0) {
        rc = NT_ENOMEM;
        if (busy != NULL) {
            free(busy->v);
            memset(busy, 0, sizeof(*busy));
        }
    }
    ev_ilist_free(&b);
    ev_ilist_free(&f);
    return rc;
}

/* The groups of busy_by_service while they are collected. */
typedef struct ev_groups {
    char (*ids)[NT_UUID_BUF]; /* serviceId per group, "" for none */
    ev_ilist *lists;
    size_t n, cap;
} ev_groups;

static void
ev_groups_free(ev_groups *g)
{
    for (size_t i = 0; i < g->n; i++)
        ev_ilist_free(&g->lists[i]);
    free(g->ids);
    free(g->lists);
    memset(g, 0, sizeof(*g));
}

/* The list of the event's serviceId, made on first use. */
static ev_ilist *
ev_groups_dest(void *arg, int busy, const char *service_id, int *rc)
{
    ev_groups *g = arg;
    const char *id = service_id != NULL ? service_id : "";

    (void)busy;
    if (strlen(id) >= NT_UUID_BUF) {
        *rc = NT_ERR;
        return NULL;
    }
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->ids[i], id) == 0)
            return &g->lists[i];
    if (g->n == g->cap) {
        size_t cap = g->cap != 0 ? g->cap * 2 : 4;
        char(*ids)[NT_UUID_BUF] = realloc(g->ids, cap * sizeof(*ids));
        ev_ilist *lists = ids != NULL ? realloc(g->lists, cap * sizeof(*lists)) : NULL;
        if (ids != NULL)
            g->ids = ids;
        if (lists == NULL) {
            *rc = NT_ENOMEM;
            return NULL;
        }
        g->lists = lists;
        g->cap = cap;
    }
    memcpy(g->ids[g->n], id, strlen(id) + 1);
    memset(&g->lists[g->n], 0, sizeof(g->lists[g->n]));
    return &g->lists[g->n++];
}

/* See nt_events_v1.service_busy_free. */
static void
ev_svc_service_busy_free(nt_service_busy *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].busy.v);
    free(v);
}

/* Moves the collected groups into a new nt_service_busy array. */
static int
ev_groups_export(ev_groups *g, nt_service_busy **out, size_t *n_out)
{
    nt_service_busy *v = g->n > 0 ? calloc(g->n, sizeof(*v)) : NULL;

    if (g->n > 0 && v == NULL)
        return NT_ENOMEM;
    for (size_t i = 0; i < g->n; i++) {
        memcpy(v[i].service_id, g->ids[i], sizeof(v[i].service_id));
        ev_ilist_sort(&g->lists[i]);
        if (ev_ilist_export(&g->lists[i], &v[i].busy) != 0) {
            ev_svc_service_busy_free(v, i);
            return NT_ENOMEM;
        }
    }
    *out = v;
    *n_out = g->n;
    return NT_OK;
}

/* See nt_events_v1.busy_by_service. */
static int
ev_svc_busy_by_service(void *state, nt_req *req, const char *account_id, const char *user_id,
                       const char *const *calendar_ids, size_t n_calendars, int64_t ws, int64_t we,
                       nt_service_busy **out, size_t *n_out)
{
    const ev_plugin *p = state;
    ev_groups groups = {0};
    ev_cal *cals = NULL;
    size_t n_cals = 0;
    ev_fb fb = {0};
    int rc;

    *out = NULL;
    *n_out = 0;
    if (we < ws)
        return NT_OK;
    rc = ev_set_resolve(p, req, p->api->req_db(req), account_id, user_id, calendar_ids, n_calendars,
                        &cals, &n_cals);
    if (rc == NT_OK && n_cals > 0)
        rc = ev_fb_init(&fb, p, req, ws, we);
    if (rc == NT_OK && n_cals > 0)
        rc = ev_set_collect(&fb, cals, n_cals, EV_SET_BUSY_ONLY, ev_groups_dest, &groups);
    if (rc == NT_OK)
        rc = ev_groups_export(&groups, out, n_out);
    ev_groups_free(&groups);
    ev_fb_clear(&fb);
    free(cals);
    return rc;
}

/* See nt_events_v1.other_service_spans. */
static int
ev_svc_other_service_spans(void *state, nt_req *req, const char *account_id, const char *user_id,
                           const char *service_id, int64_t ws, int64_t we, nt_intervals *out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    ev_ilist l = {0};
    nt_stmt *st = NULL;
    size_t rows = 0;
    int rc;

    /* The user must be the account's; the query then goes by the partial index of other
     * services' free windows (migration 3), from the events ending at ws on. */
    rc = ev_user_in_account_memo(p, req, api->req_db(req), account_id, user_id);
    if (rc == NT_ENOTFOUND)
        return NT_OK;
    /* service_id "" when none: every event with a serviceId counts. */
    if (rc == NT_OK)
        rc = ntc_prepare(api, api->req_db(req), &st,
                         "SELECT e.start_ts, e.end_ts FROM events_events e WHERE e.user_id = $1 "
                         "AND e.service_id IS NOT NULL AND e.busy = 0 AND e.end_ts >= $4 AND "
                         "e.start_ts <= $3 AND e.service_id <> $2 ORDER BY e.start_ts, e.end_ts",
                         "ttii", user_id, service_id != NULL ? service_id : "", we, ws);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        rc = NT_OK;
        if (rows++ % 64 == 0 && (rc = api->req_check(req)) != NT_OK)
            break;
        if (ev_ilist_push(&l, api->db_col_int64(st, 0), api->db_col_int64(st, 1), 1) != 0)
            rc = NT_ENOMEM;
    }
    api->db_finalize(st);
    if (rc == NT_OK && ev_ilist_export(&l, out) != 0)
        rc = NT_ENOMEM;
    ev_ilist_free(&l);
    return rc;
}

/* See nt_events_v1.delete_by_service. */
static int
ev_svc_delete_by_service(void *state, nt_req *req, const char *account_id, const char *service_id)
{
    const ev_plugin *p = state;

    if (account_id == NULL || service_id == NULL)
        return NT_ERR;
    ev_memo_events_changed(p, req);
    return ntc_exec(p->api, p->api->req_db(req),
                    "DELETE FROM events_events WHERE account_id = $1 AND service_id = $2", "tt",
                    account_id, service_id);
}

/* See nt_events_v1.service_stats. */
static int
ev_svc_service_stats(void *state, nt_req *req, const char *account_id, const char *service_id,
                     const char *const *user_ids, size_t n, int64_t ws, int64_t we,
                     int64_t *last_created, int64_t *count)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    int rc = NT_OK;

    /* Two queries, each answered from a partial index of migration 3 (one seek for the
     * newest; the events ending from ws on for the count), instead of reading every event
     * of the host: that made each booking slower as a service's bookings grew. */
    for (size_t i = 0; rc == NT_OK && i < n; i++) {
        nt_stmt *st = NULL;
        int kept = last_created != NULL &&
                   ev_memo_last_get(p, req, account_id, service_id, user_ids[i], &last_created[i]);
        if (last_created != NULL && !kept)
            rc = ntc_prepare(api, api->req_db(req), &st,
                             "SELECT MAX(created) FROM events_events "
                             "WHERE user_id = $1 AND account_id = $2 AND service_id = $3",
                             "ttt", user_ids[i], account_id, service_id);
        if (rc == NT_OK && last_created != NULL && !kept)
            rc = ntc_row(api, st);
        if (rc == NT_OK && last_created != NULL && !kept) {
            last_created[i] = api->db_col_is_null(st, 0) ? INT64_MIN : api->db_col_int64(st, 0);
            ev_memo_last_keep(p, req, account_id, service_id, user_ids[i], last_created[i]);
        }
        api->db_finalize(st);
        st = NULL;
        if (count == NULL)
            continue;
        if (rc == NT_OK)
            rc = ntc_prepare(api, api->req_db(req), &st,
                             "SELECT COUNT(*) FROM events_events WHERE user_id = $1 AND "
                             "account_id = $2 AND service_id = $3 AND end_ts >= $5 AND "
                             "start_ts <= $4",
                             "tttii", user_ids[i], account_id, service_id, we, ws);
        if (rc == NT_OK)
            rc = ntc_row(api, st);
        if (rc == NT_OK)
            count[i] = api->db_col_int64(st, 0);
        api->db_finalize(st);
    }
    return rc;
}

/* See nt_events_v1.create_busy. */
static int
ev_svc_create_busy(void *state, nt_req *req, const char *account_id, const char *calendar_id,
                   int64_t start_ts, int64_t duration, const char *service_id,
                   const json_t *metadata, char id_out[NT_UUID_BUF])
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    nt_db *db = api->req_db(req);
    ev_event e = {0};
    ev_cal cal = {0};
    int rc;

    if (account_id == NULL || calendar_id == NULL || service_id == NULL ||
        strlen(account_id) > NT_UUID_LEN || strlen(service_id) > NT_UUID_LEN || duration < 0)
        return NT_ERR;
    rc = ev_cal_load_memo(p, req, db, calendar_id, account_id, NULL, &cal);
    if (rc == NT_OK && api->uuid_new(e.id) != NT_OK)
        rc = NT_ERR;
    if (rc == NT_OK) {
        strcpy(e.account_id, account_id);
        memcpy(e.calendar_id, cal.id, sizeof(e.calendar_id));
        memcpy(e.user_id, cal.user_id, sizeof(e.user_id));
        e.start_ts = start_ts;
        e.duration = duration;
        e.end_ts = start_ts + duration; /* one-off: the end is the start plus the duration */
        e.busy = 1;
        e.created = e.updated = api->now_ms();
        e.has_service = 1;
        strcpy(e.service_id, service_id);
        /* a reference, not a copy: nothing here changes the caller's metadata */
        e.metadata = metadata != NULL ? json_incref((json_t *)metadata) : json_object();
        if (e.metadata == NULL)
            rc = NT_ENOMEM;
    }
    if (rc == NT_OK)
        rc = ev_store_insert(api, db, &e);
    if (rc == NT_OK) /* a new event: nothing to delete (see ntc_meta_insert) */
        rc = ntc_meta_insert(api, db, "events_metadata", e.id, account_id, e.metadata);
    if (rc == NT_OK)
        ev_memo_last_created(p, req, account_id, service_id, e.user_id, e.created);
    if (rc == NT_OK)
        memcpy(id_out, e.id, NT_UUID_BUF);
    ev_event_clear(&e);
    ev_cal_clear(&cal);
    return rc;
}

/* See nt_events_v1.delete_ids. */
static int
ev_svc_delete_ids(void *state, nt_req *req, const char *account_id, const char *const *ids,
                  size_t n)
{
    const ev_plugin *p = state;
    int rc = account_id != NULL ? NT_OK : NT_ERR;

    if (rc == NT_OK && n > 0)
        ev_memo_events_changed(p, req);
    for (size_t i = 0; rc == NT_OK && i < n; i++)
        rc = ntc_exec(p->api, p->api->req_db(req),
                      "DELETE FROM events_events WHERE id = $1 AND account_id = $2", "tt", ids[i],
                      account_id);
    return rc;
}

static const nt_events_v1 ev_service_ops = {
    .size = sizeof(nt_events_v1),
    .freebusy = ev_svc_freebusy,
    .busy_by_service = ev_svc_busy_by_service,
    .service_busy_free = ev_svc_service_busy_free,
    .other_service_spans = ev_svc_other_service_spans,
    .delete_by_service = ev_svc_delete_by_service,
    .service_stats = ev_svc_service_stats,
    .create_busy = ev_svc_create_busy,
    .delete_ids = ev_svc_delete_ids,
};

int
ev_service_add(ev_plugin *p)
{
    return ntc_provide(p->api, p->self, NT_SERVICE_EVENTS, NT_EVENTS_V1, &ev_service_ops, p);
}

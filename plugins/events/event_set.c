/* Calendar sets: the events of several calendars in one window, expanded into instance
 * lists. Free/busy (one user and many) and the "events" service build on this.
 */
#include "ev.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* The events of one calendar matching a window: all, or only the busy ones (their busy
 * column is the constant 1, and without EV_SET_NO_SERVICE their service_id NULL): the
 * same columns (EV_FB_COLS), fewer of them read from the row. */
#define EV_SET_WHERE " FROM events_events e WHERE e.calendar_id = $1 AND e.account_id = $2 AND "
static const char ev_sql_set_all[] = EV_SPAN_WINDOW("SELECT " EV_FB_COLS EV_SET_WHERE, "$3", "$4");
static const char ev_sql_set_busy[] =
    EV_SPAN_WINDOW("SELECT e.start_ts, e.duration, e.recurrence, e.exdates, 1, "
                   "e.service_id" EV_SET_WHERE "e.busy = 1 AND ",
                   "$3", "$4");
static const char ev_sql_set_busy_nosvc[] =
    EV_SPAN_WINDOW("SELECT e.start_ts, e.duration, e.recurrence, e.exdates, 1, NULL" EV_SET_WHERE
                   "e.busy = 1 AND ",
                   "$3", "$4");

/* How many rows pass between two looks at the request budget. */
#define EV_SET_CHECK_EVERY 64

static int
ev_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
ev_cal_cmp(const void *a, const void *b)
{
    return strcmp(((const ev_cal *)a)->id, ((const ev_cal *)b)->id);
}

/* Resolves through the user's calendars (one service call), keeping those named in the
 * sorted ids. */
static int
ev_set_resolve_user(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
                    const char *user_id, const char *const *sorted, size_t n, ev_cal **out,
                    size_t *n_out)
{
    ev_cal *all = NULL;
    size_t n_all = 0, k = 0;
    int rc;

    rc = ev_user_cals_memo(p, req, db, account_id, user_id, &all, &n_all);
    for (size_t i = 0; rc == NT_OK && i < n_all; i++) {
        const char *key = all[i].id;
        if (bsearch(&key, sorted, n, sizeof(*sorted), ev_str_cmp) != NULL)
            all[k++] = all[i];
    }
    if (rc != NT_OK || k == 0) {
        free(all);
        all = NULL;
        k = 0;
    }
    *out = all;
    *n_out = k;
    return rc;
}

/* Resolves id by id within the account. */
static int
ev_set_resolve_ids(const ev_plugin *p, nt_db *db, const char *account_id, const char *const *ids,
                   size_t n, ev_cal **out, size_t *n_out)
{
    ev_cal *v = n > 0 ? malloc(n * sizeof(*v)) : NULL;
    size_t k = 0;
    int rc = n == 0 || v != NULL ? NT_OK : NT_ENOMEM;

    for (size_t i = 0; rc == NT_OK && i < n; i++) {
        if (i > 0 && strcmp(ids[i - 1], ids[i]) == 0)
            continue; /* sorted: a repeated id */
        rc = ev_cal_load(p, db, ids[i], account_id, NULL, &v[k]);
        if (rc == NT_OK)
            k++;
        else if (rc == NT_ENOTFOUND)
            rc = NT_OK;
    }
    if (rc != NT_OK || k == 0) {
        free(v);
        v = NULL;
        k = 0;
    }
    *out = v;
    *n_out = k;
    return rc;
}

int
ev_set_resolve(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
               const char *user_id, const char *const *ids, size_t n, ev_cal **out, size_t *n_out)
{
    const char **sorted = NULL;
    int rc = NT_OK;

    *out = NULL;
    *n_out = 0;
    if (n == 0 || account_id == NULL)
        return NT_OK;
    sorted = malloc(n * sizeof(*sorted));
    if (sorted == NULL)
        return NT_ENOMEM;
    memcpy(sorted, ids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), ev_str_cmp);
    if (user_id != NULL)
        rc = ev_set_resolve_user(p, req, db, account_id, user_id, sorted, n, out, n_out);
    else
        rc = ev_set_resolve_ids(p, db, account_id, sorted, n, out, n_out);
    free(sorted);
    if (rc == NT_OK && *n_out > 1)
        qsort(*out, *n_out, sizeof(**out), ev_cal_cmp);
    return rc;
}

/* Expands the matching events of one calendar. `*rows` counts rows across calendars for the
 * budget checks. */
static int
ev_set_calendar(ev_fb *fb, const ev_cal *cal, int flags, ev_set_dest_fn dest, void *arg,
                size_t *rows)
{
    const nt_host_api *api = fb->p->api;
    const char *sql = ev_sql_set_all;
    nt_stmt *st = NULL;
    int rc;

    if (flags & EV_SET_BUSY_ONLY)
        sql = flags & EV_SET_NO_SERVICE ? ev_sql_set_busy_nosvc : ev_sql_set_busy;
    rc = ntc_prepare(api, api->req_db(fb->req), &st, sql, "ttii", cal->id, cal->account_id, fb->we,
                     fb->ws);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        ev_ilist *l;
        rc = NT_OK;
        if ((*rows)++ % EV_SET_CHECK_EVERY == 0 && (rc = api->req_check(fb->req)) != NT_OK)
            break;
        l = dest(arg, (flags & EV_SET_BUSY_ONLY) || api->db_col_int64(st, 4) != 0,
                 flags & EV_SET_NO_SERVICE ? NULL : api->db_col_text(st, 5), &rc);
        if (rc == NT_OK && l != NULL)
            rc = ev_fb_row(fb, st, 0, cal->timezone, cal->week_start, l);
    }
    api->db_finalize(st);
    return rc;
}

int
ev_set_collect(ev_fb *fb, const ev_cal *cals, size_t n, int flags, ev_set_dest_fn dest, void *arg)
{
    size_t rows = 0;
    int rc = NT_OK;

    for (size_t i = 0; rc == NT_OK && i < n; i++)
        rc = ev_set_calendar(fb, &cals[i], flags, dest, arg, &rows);
    return rc;
}

/* The two lists of ev_set_freebusy: busy events to `busy`, the others to `free_l` (NULL:
 * skipped). */
typedef struct ev_fb_lists {
    ev_ilist *busy, *free_l;
} ev_fb_lists;

static ev_ilist *
ev_fb_dest(void *arg, int busy, const char *service_id, int *rc)
{
    const ev_fb_lists *l = arg;

    (void)service_id;
    (void)rc;
    return busy ? l->busy : l->free_l;
}

int
ev_set_freebusy(const ev_plugin *p, nt_req *req, const char *account_id, const char *user_id,
                const char *const *ids, size_t n, int64_t ws, int64_t we, ev_ilist *busy,
                ev_ilist *free_l)
{
    ev_ilist own_busy = {0};
    ev_fb_lists lists = {busy != NULL ? busy : &own_busy, free_l};
    ev_cal *cals = NULL;
    size_t n_cals = 0;
    ev_fb fb = {0};
    int rc = NT_OK;

    /* An empty window has nothing in it. */
    if (we < ws || (busy == NULL && free_l == NULL))
        return NT_OK;
    rc = ev_set_resolve(p, req, p->api->req_db(req), account_id, user_id, ids, n, &cals, &n_cals);
    if (rc == NT_OK && n_cals > 0)
        rc = ev_fb_init(&fb, p, req, ws, we);
    if (rc == NT_OK && n_cals > 0)
        rc = ev_set_collect(&fb, cals, n_cals,
                            free_l == NULL ? EV_SET_BUSY_ONLY | EV_SET_NO_SERVICE : 0, ev_fb_dest,
                            &lists);
    if (rc == NT_OK && busy != NULL && ev_ilist_merge(busy) != 0)
        rc = NT_ENOMEM;
    if (rc == NT_OK && free_l != NULL && ev_ilist_merge(free_l) != 0)
        rc = NT_ENOMEM;
    if (rc == NT_OK && free_l != NULL && ev_ilist_merge(lists.busy) != 0)
        rc = NT_ENOMEM;
    if (rc == NT_OK && free_l != NULL && ev_ilist_subtract(free_l, lists.busy) != 0)
        rc = NT_ENOMEM;
    ev_ilist_free(&own_busy);
    ev_fb_clear(&fb);
    free(cals);
    return rc;
}

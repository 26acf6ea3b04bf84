/* POST /user/freebusy: the busy time of up to 100 users of the account at once (the later
 * fork's extension). Body {"userIds": [...], "startTs", "endTs", "calendarIds": [...]} or with
 * ISO-8601 UTC "startTime"/"endTime"; answer {"<userId>": [EventInstance...]}. Users are
 * checked through the users service, their calendars come from the calendars service in one
 * call, and one SQL query over events_events (per 100 calendars) finds the busy events of the
 * calendars that count, matching the window, through the window index.
 *
 * Which calendars count: those listed in calendarIds. Without the list, an admin (x-api-key)
 * gets every calendar of the users, while the public form (only the nettu-account header,
 * which anyone who knows the account id can send) gets nothing busy, as GET
 * /user/{userId}/freebusy does without calendarIds: public callers only see the
 * calendars they name.
 */
#include "ev.h"
#include "ntc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One requested user: its id (lower case), whether it exists, its busy instances. */
typedef struct ev_fbm_user {
    char id[NT_UUID_BUF];
    int found;
    ev_ilist busy;
} ev_fbm_user;

static int
ev_fbm_cmp(const void *a, const void *b)
{
    return strcmp(((const ev_fbm_user *)a)->id, ((const ev_fbm_user *)b)->id);
}

#define EV_FBM_CALENDARS_MAX 1000 /* calendarIds */

/* The calendars that count: all (all = 1), or the sorted ids (request memory). */
typedef struct ev_fbm_cals {
    int all;
    char (*ids)[NT_UUID_BUF];
    size_t n;
} ev_fbm_cals;

static int
ev_fbm_id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Reads calendarIds (0..EV_FBM_CALENDARS_MAX UUIDs; null or absent: none given). Without
 * it an admin gets every calendar, the public form none. */
static int
ev_fbm_calendars(const nt_host_api *api, nt_req *req, const json_t *body, ev_fbm_cals *c)
{
    const json_t *arr = json_object_get(body, "calendarIds"), *v;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (arr == NULL || json_is_null(arr)) {
        c->all = api->req_header(req, "nettu-account") == NULL;
        return NT_OK;
    }
    if (!json_is_array(arr) || json_array_size(arr) > EV_FBM_CALENDARS_MAX)
        return api->fail(req, NT_EINVAL,
                         "calendarIds: expected an array of at most %d calendar ids",
                         EV_FBM_CALENDARS_MAX);
    if (json_array_size(arr) == 0)
        return NT_OK;
    c->ids = api->req_alloc(req, json_array_size(arr) * sizeof(*c->ids));
    if (c->ids == NULL)
        return NT_ENOMEM;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || !api->uuid_valid(s))
            return api->fail(req, NT_EINVAL, "calendarIds[%zu]: expected a UUID", i);
        for (size_t j = 0; j <= NT_UUID_LEN; j++)
            c->ids[i][j] = (char)tolower((unsigned char)s[j]);
    }
    c->n = json_array_size(arr);
    qsort(c->ids, c->n, sizeof(*c->ids), ev_fbm_id_cmp);
    return NT_OK;
}

/* 1 when calendar `id` counts. */
static int
ev_fbm_counts(const ev_fbm_cals *c, const char *id)
{
    return c->all || (id != NULL && c->n > 0 &&
                      bsearch(id, c->ids, c->n, sizeof(*c->ids), ev_fbm_id_cmp) != NULL);
}

/* Reads userIds (1..100 UUIDs), sorted and without duplicates, into users (request memory). */
static int
ev_fbm_users(const nt_host_api *api, nt_req *req, const json_t *body, ev_fbm_user **users,
             size_t *n)
{
    const json_t *arr = json_object_get(body, "userIds"), *v;
    size_t i, k = 0;

    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > EV_FREEBUSY_USERS_MAX)
        return api->fail(req, NT_EINVAL, "userIds: expected an array of 1 to %d user ids",
                         EV_FREEBUSY_USERS_MAX);
    *users = api->req_alloc(req, json_array_size(arr) * sizeof(**users));
    if (*users == NULL)
        return NT_ENOMEM;
    memset(*users, 0, json_array_size(arr) * sizeof(**users));
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || !api->uuid_valid(s))
            return api->fail(req, NT_EINVAL, "userIds[%zu]: expected a UUID", i);
        for (size_t j = 0; j < NT_UUID_LEN; j++)
            (*users)[i].id[j] = (char)tolower((unsigned char)s[j]);
    }
    qsort(*users, json_array_size(arr), sizeof(**users), ev_fbm_cmp);
    for (i = 0; i < json_array_size(arr); i++)
        if (k == 0 || strcmp((*users)[k - 1].id, (*users)[i].id) != 0)
            memmove(&(*users)[k++], &(*users)[i], sizeof(**users));
    *n = k;
    return NT_OK;
}

/* Reads one end of the window: `ts_key` (ms) or else `iso_key` (ISO-8601 UTC). */
static int
ev_fbm_time(const nt_host_api *api, nt_req *req, const json_t *body, const char *ts_key,
            const char *iso_key, int64_t *out)
{
    const char *iso = NULL;
    int present = 0, rc;

    rc = api->json_get_int(req, body, ts_key, 0, out, &present);
    if (rc != NT_OK || present)
        return rc;
    rc = api->json_get_str(req, body, iso_key, 0, &iso, &present);
    if (rc != NT_OK)
        return rc;
    if (!present)
        return api->fail(req, NT_EINVAL, "%s: required (or %s)", ts_key, iso_key);
    if (ev_iso_parse(iso, out) != 0)
        return api->fail(req, NT_EINVAL,
                         "%s: expected an ISO-8601 UTC time such as 2030-01-01T00:00:00Z", iso_key);
    return ev_check_ts(api, req, iso_key, *out);
}

/* The events query for an IN list of `slots` calendar ids (padded by ntc_in_slots) into
 * buf: columns user_id, calendar_id, then EV_FB_COLS. The calendar ids come from the
 * calendars service in the request's account, so they scope the query; naming the account
 * too would lead SQLite to its account index instead of the window index. */
static int
ev_fbm_sql(char *buf, size_t cap, int slots)
{
    static const char fmt[] = EV_SPAN_WINDOW("SELECT e.user_id, e.calendar_id, " EV_FB_COLS
                                             " FROM events_events e WHERE e.busy = 1 AND "
                                             "e.calendar_id IN (%s) AND ",
                                             "$1", "$2");
    char in[NTC_IN_MAX * 6];
    int n;

    if (ntc_in_sql(in, sizeof(in), "", 3, slots, "") != NT_OK)
        return NT_ERR;
    n = snprintf(buf, cap, fmt, in, in, in, in, in, in);
    return n >= 0 && (size_t)n < cap ? NT_OK : NT_ERR;
}

/* Orders calendars by user id, then id (the calendars service's order). */
static int
ev_fbm_cal_cmp(const void *a, const void *b)
{
    const ev_cal *x = a, *y = b;
    int c = strcmp(x->user_id, y->user_id);

    return c != 0 ? c : strcmp(x->id, y->id);
}

/* Handles one result row: expands the busy event into its user's list with its calendar's
 * settings. A row whose calendar came after the calendar lookup is skipped. */
static int
ev_fbm_row(ev_fb *fb, nt_stmt *st, ev_fbm_user *users, size_t n, const ev_cal *cals, size_t n_cals)
{
    const nt_host_api *api = fb->p->api;
    const char *uid = api->db_col_text(st, 0), *cid = api->db_col_text(st, 1);
    const ev_cal *cal;
    ev_fbm_user key = {0}, *u;
    ev_cal ckey = {0};

    if (uid == NULL || cid == NULL || strlen(uid) >= sizeof(key.id) ||
        strlen(cid) >= sizeof(ckey.id))
        return NT_ERR;
    memcpy(key.id, uid, strlen(uid) + 1);
    u = bsearch(&key, users, n, sizeof(*users), ev_fbm_cmp);
    if (u == NULL)
        return NT_ERR;
    memcpy(ckey.user_id, uid, strlen(uid) + 1);
    memcpy(ckey.id, cid, strlen(cid) + 1);
    cal = bsearch(&ckey, cals, n_cals, sizeof(*cals), ev_fbm_cal_cmp);
    if (cal == NULL)
        return NT_OK;
    return ev_fb_row(fb, st, 2, cal->timezone, cal->week_start, &u->busy);
}

/* Runs the events query for the calendars cals[first .. first + n) (n <= NTC_IN_MAX). */
static int
ev_fbm_events(ev_fb *fb, ev_fbm_user *users, size_t n_users, const ev_cal *cals, size_t n_cals,
              size_t first, size_t n)
{
    const nt_host_api *api = fb->p->api;
    int slots = ntc_in_slots(n);
    nt_stmt *st = NULL;
    char sql[8192];
    int rc = ev_fbm_sql(sql, sizeof(sql), slots);

    if (rc == NT_OK && (st = api->db_prepare(api->req_db(fb->req), sql)) == NULL)
        rc = NT_ERR;
    if (rc == NT_OK)
        rc = ntc_bind(api, st, "ii", fb->we, fb->ws);
    for (int i = 0; rc == NT_OK && i < slots; i++)
        rc = api->db_bind_text(st, i + 3, cals[first + ((size_t)i < n ? (size_t)i : n - 1)].id);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1)
        rc = ev_fbm_row(fb, st, users, n_users, cals, n_cals);
    api->db_finalize(st);
    return rc;
}

/* Checks the users, loads their calendars (one service call), keeps those that count and
 * runs the events query, one statement per NTC_IN_MAX calendars. */
static int
ev_fbm_query(ev_fb *fb, ev_fbm_user *users, size_t n, const ev_fbm_cals *counts)
{
    const ev_plugin *p = fb->p;
    nt_db *db = p->api->req_db(fb->req);
    const char *account = p->api->req_account(fb->req);
    const char **ids = p->api->req_alloc(fb->req, n * sizeof(*ids));
    ev_cal *cals = NULL;
    size_t n_cals = 0;
    int missing = 0, rc = ids != NULL ? NT_OK : NT_ENOMEM;

    for (size_t i = 0; rc == NT_OK && i < n; i++) {
        ids[i] = users[i].id;
        rc = ev_user_in_account(p, db, account, users[i].id);
        users[i].found = rc == NT_OK;
        missing |= rc == NT_ENOTFOUND;
        if (rc == NT_ENOTFOUND)
            rc = NT_OK;
    }
    /* A missing user is answered 404 by the caller; an empty window has nothing busy. */
    if (rc != NT_OK || missing || fb->we < fb->ws)
        return rc;
    rc = p->calendars->list_by_users(p->calendars_state, db, account, ids, n, &cals, &n_cals);
    if (rc == NT_OK && !counts->all) {
        size_t kept = 0;
        for (size_t i = 0; i < n_cals; i++)
            if (ev_fbm_counts(counts, cals[i].id))
                cals[kept++] = cals[i];
        n_cals = kept;
    }
    for (size_t i = 0; rc == NT_OK && i < n_cals; i += NTC_IN_MAX)
        rc = ev_fbm_events(fb, users, n, cals, n_cals, i,
                           n_cals - i < NTC_IN_MAX ? n_cals - i : NTC_IN_MAX);
    free(cals);
    return rc;
}

int
ev_freebusy_multi(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const json_t *body = api->req_body(req);
    ev_fbm_user *users = NULL;
    ev_fbm_cals counts;
    json_t *res = NULL;
    ev_fb fb = {0};
    size_t n = 0;
    int64_t ws, we;
    int rc;

    rc = ev_fbm_users(api, req, body, &users, &n);
    if (rc == NT_OK)
        rc = ev_fbm_time(api, req, body, "startTs", "startTime", &ws);
    if (rc == NT_OK)
        rc = ev_fbm_time(api, req, body, "endTs", "endTime", &we);
    if (rc == NT_OK)
        rc = ev_check_span(api, req, ws, we);
    if (rc == NT_OK)
        rc = ev_fbm_calendars(api, req, body, &counts);
    if (rc == NT_OK)
        rc = ev_fb_init(&fb, p, req, ws, we);
    if (rc == NT_OK)
        rc = ev_fbm_query(&fb, users, n, &counts);
    if (rc != NT_OK)
        goto out;
    res = json_object();
    if (res == NULL) {
        rc = NT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!users[i].found) {
            rc = api->fail(req, NT_ENOTFOUND, "userIds: no user '%s' in this account", users[i].id);
            goto out;
        }
        if (ev_ilist_merge(&users[i].busy) != 0 ||
            json_object_set_new(res, users[i].id, ev_ilist_json(&users[i].busy)) != 0) {
            rc = NT_ENOMEM;
            goto out;
        }
    }
    *out = res;
    res = NULL;
    rc = 200;
out:
    for (size_t i = 0; users != NULL && i < n; i++)
        ev_ilist_free(&users[i].busy);
    json_decref(res);
    ev_fb_clear(&fb);
    return rc;
}

/* POST /user/freebusy: the busy time of up to 100 users of the account at once (the later
 * fork's extension). Body {"userIds": [...], "startTs", "endTs", "calendarIds": [...]} or with
 * ISO-8601 UTC "startTime"/"endTime"; answer {"<userId>": [EventInstance...]}. One SQL query
 * per request whatever the number of users: users, their calendars and the busy events
 * matching the window, joined.
 *
 * Which calendars count: those listed in calendarIds. Without the list, an admin (x-api-key)
 * gets every calendar of the users, while the public form (only the nettu-account header,
 * which anyone who knows the account id can send) gets nothing busy, as GET
 * /user/{userId}/freebusy does without calendarIds (A11.7): public callers only see the
 * calendars they name.
 */
#include "ev.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IN-list sizes: lists are padded (repeating the last id) to one of these, so at most eight
 * distinct statements are ever prepared. */
static const int ev_fbm_buckets[] = {1, 2, 4, 8, 16, 32, 64, EV_FREEBUSY_USERS_MAX};

#define EV_FBM_CALENDARS_MAX 1000 /* calendarIds */

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

/* The calendars that count: all (all = 1), or the sorted ids (request memory). */
typedef struct ev_fbm_cals {
    int all;
    char (*ids)[NT_UUID_BUF];
    size_t n;
} ev_fbm_cals;

static int
ev_fbm_cal_cmp(const void *a, const void *b)
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
    qsort(c->ids, c->n, sizeof(*c->ids), ev_fbm_cal_cmp);
    return NT_OK;
}

/* 1 when calendar `id` counts. */
static int
ev_fbm_counts(const ev_fbm_cals *c, const char *id)
{
    return c->all || (id != NULL && c->n > 0 &&
                      bsearch(id, c->ids, c->n, sizeof(*c->ids), ev_fbm_cal_cmp) != NULL);
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

/* The SQL text for an IN list of `slots` ids into buf. */
static void
ev_fbm_sql(char *buf, size_t cap, int slots)
{
    int off = snprintf(buf, cap,
                       "SELECT u.id, c.timezone, c.week_start, " EV_FB_COLS ", c.id "
                       "FROM user_users u "
                       "LEFT JOIN calendar_calendars c ON c.user_id = u.id "
                       "LEFT JOIN events_events e ON e.calendar_id = c.id AND e.busy = 1 AND "
                       "e.start_ts <= $2 AND e.end_ts >= $3 "
                       "WHERE u.account_id = $1 AND u.id IN (");

    for (int i = 0; i < slots && off > 0 && (size_t)off < cap; i++)
        off += snprintf(buf + off, cap - (size_t)off, i == 0 ? "$%d" : ", $%d", i + 4);
    if (off > 0 && (size_t)off < cap)
        snprintf(buf + off, cap - (size_t)off, ")");
}

/* Handles one result row: marks the user found and expands its event, if any, when its
 * calendar counts. */
static int
ev_fbm_row(ev_fb *fb, nt_stmt *st, ev_fbm_user *users, size_t n, const ev_fbm_cals *cals,
           int expand)
{
    const nt_host_api *api = fb->p->api;
    const char *uid = api->db_col_text(st, 0), *tz = api->db_col_text(st, 1);
    int64_t wkst = api->db_col_int64(st, 2);
    ev_fbm_user key, *u;

    if (uid == NULL || strlen(uid) >= sizeof(key.id))
        return NT_ERR;
    memcpy(key.id, uid, strlen(uid) + 1);
    u = bsearch(&key, users, n, sizeof(*users), ev_fbm_cmp);
    if (u == NULL)
        return NT_ERR;
    u->found = 1;
    if (!expand || api->db_col_is_null(st, 3) || !ev_fbm_counts(cals, api->db_col_text(st, 7)))
        return NT_OK;
    if (tz == NULL || wkst < 0 || wkst > 6)
        return NT_ERR;
    return ev_fb_row(fb, st, 3, tz, (int)wkst, &u->busy);
}

/* Runs the one query and fills users. */
static int
ev_fbm_query(ev_fb *fb, ev_fbm_user *users, size_t n, const ev_fbm_cals *cals)
{
    const nt_host_api *api = fb->p->api;
    nt_req *req = fb->req;
    nt_stmt *st = NULL;
    char sql[2048];
    int slots = EV_FREEBUSY_USERS_MAX, rc;

    for (size_t i = 0; i < sizeof(ev_fbm_buckets) / sizeof(ev_fbm_buckets[0]); i++) {
        if ((size_t)ev_fbm_buckets[i] >= n) {
            slots = ev_fbm_buckets[i];
            break;
        }
    }
    ev_fbm_sql(sql, sizeof(sql), slots);
    st = api->db_prepare(api->req_db(req), sql);
    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, api->req_account(req));
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 2, fb->we);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 3, fb->ws);
    for (int i = 0; rc == NT_OK && i < slots; i++)
        rc = api->db_bind_text(st, i + 4, users[(size_t)i < n ? (size_t)i : n - 1].id);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1)
        rc = ev_fbm_row(fb, st, users, n, cals, fb->we >= fb->ws);
    api->db_finalize(st);
    return rc;
}

int
ev_freebusy_multi(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const json_t *body = api->req_body(req);
    ev_fbm_user *users = NULL;
    ev_fbm_cals cals;
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
        rc = ev_fbm_calendars(api, req, body, &cals);
    if (rc == NT_OK)
        rc = ev_fb_init(&fb, p, req, ws, we);
    if (rc == NT_OK)
        rc = ev_fbm_query(&fb, users, n, &cals);
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

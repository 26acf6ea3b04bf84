/* The "calendars" service (services.h, nt_calendars_v1): a calendar's owner, account and
 * settings, and its wire object, for the plugins that compute with calendars (events), so
 * that no other plugin reads calendar_calendars.
 */
#include "cal.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* The columns cal_svc_read() expects, in order. */
#define CAL_SVC_COLUMNS "id, user_id, account_id, timezone, week_start"

/* Copies column col into dst[cap]; -1 when it is NULL or too long. */
static int
cal_svc_copy(const nt_host_api *api, nt_stmt *st, int col, char *dst, size_t cap)
{
    const char *v = api->db_col_text(st, col);
    size_t n = v != NULL ? strlen(v) : 0;

    if (v == NULL || n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

/* Reads the current row (CAL_SVC_COLUMNS) into *out. NT_OK, or NT_ERR for a row that breaks
 * the schema. */
static int
cal_svc_read(const nt_host_api *api, nt_stmt *st, nt_calendar *out)
{
    int64_t ws = api->db_col_int64(st, 4);

    memset(out, 0, sizeof(*out));
    if (cal_svc_copy(api, st, 0, out->id, sizeof(out->id)) != 0 ||
        cal_svc_copy(api, st, 1, out->user_id, sizeof(out->user_id)) != 0 ||
        cal_svc_copy(api, st, 2, out->account_id, sizeof(out->account_id)) != 0 ||
        cal_svc_copy(api, st, 3, out->timezone, sizeof(out->timezone)) != 0 || ws < 0 || ws > 6)
        return NT_ERR;
    out->week_start = (int)ws;
    return NT_OK;
}

/* See nt_calendars_v1.get. One query; the wire object comes from the same row. */
static int
cal_svc_get(void *state, nt_db *db, const char *account_id, const char *user_id, const char *id,
            nt_calendar *out, json_t **json)
{
    const nt_host_api *api = ((const cal_plugin *)state)->api;
    cal_row row = {0};
    int rc;

    if (account_id == NULL || id == NULL)
        return NT_ENOTFOUND;
    rc = cal_row_load(api, db, id, account_id, user_id, &row);
    if (rc == NT_OK) {
        memset(out, 0, sizeof(*out));
        if (strlen(row.id) >= sizeof(out->id) || strlen(row.user_id) >= sizeof(out->user_id) ||
            strlen(account_id) >= sizeof(out->account_id) ||
            strlen(row.timezone) >= sizeof(out->timezone))
            rc = NT_ERR;
    }
    if (rc == NT_OK) {
        memcpy(out->id, row.id, strlen(row.id) + 1);
        memcpy(out->user_id, row.user_id, strlen(row.user_id) + 1);
        memcpy(out->account_id, account_id, strlen(account_id) + 1);
        memcpy(out->timezone, row.timezone, strlen(row.timezone) + 1);
        out->week_start = row.week_start;
    }
    if (rc == NT_OK && json != NULL) {
        *json = cal_row_json(&row);
        rc = *json != NULL ? NT_OK : NT_ENOMEM;
    }
    cal_row_clear(&row);
    return rc;
}

/* Appends the calendars of users[0..n) (1 <= n <= NTC_IN_MAX) to *out (*n_out used, *cap
 * allocated). */
static int
cal_svc_list_chunk(const nt_host_api *api, nt_db *db, const char *account_id,
                   const char *const *users, size_t n, nt_calendar **out, size_t *n_out,
                   size_t *cap)
{
    int slots = ntc_in_slots(n);
    nt_stmt *st = NULL;
    char sql[1024];
    int rc;

    rc = ntc_in_sql(sql, sizeof(sql),
                    "SELECT " CAL_SVC_COLUMNS " FROM calendar_calendars WHERE account_id = $1 "
                    "AND user_id IN (",
                    2, slots, ") ORDER BY user_id, id");
    if (rc == NT_OK && (st = api->db_prepare(db, sql)) == NULL)
        rc = NT_ERR;
    if (rc == NT_OK)
        rc = ntc_bind(api, st, "t", account_id);
    for (int i = 0; rc == NT_OK && i < slots; i++)
        rc = api->db_bind_text(st, i + 2, users[(size_t)i < n ? (size_t)i : n - 1]);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        if (*n_out == *cap) {
            size_t grown = *cap != 0 ? *cap * 2 : 8;
            nt_calendar *v = realloc(*out, grown * sizeof(*v));
            if (v == NULL) {
                rc = NT_ENOMEM;
                break;
            }
            *out = v;
            *cap = grown;
        }
        rc = cal_svc_read(api, st, &(*out)[*n_out]);
        if (rc == NT_OK)
            (*n_out)++;
    }
    api->db_finalize(st);
    return rc;
}

/* Orders calendars by user id, then id. */
static int
cal_svc_cmp(const void *a, const void *b)
{
    const nt_calendar *x = a, *y = b;
    int c = strcmp(x->user_id, y->user_id);

    return c != 0 ? c : strcmp(x->id, y->id);
}

/* See nt_calendars_v1.list_by_users: the users in chunks of at most NTC_IN_MAX. */
static int
cal_svc_list_by_users(void *state, nt_db *db, const char *account_id, const char *const *user_ids,
                      size_t n_users, nt_calendar **out, size_t *n_out)
{
    const nt_host_api *api = ((const cal_plugin *)state)->api;
    size_t cap = 0;
    int rc = NT_OK;

    *out = NULL;
    *n_out = 0;
    if (account_id == NULL)
        return NT_OK;
    for (size_t i = 0; rc == NT_OK && i < n_users; i += NTC_IN_MAX) {
        size_t n = n_users - i < NTC_IN_MAX ? n_users - i : NTC_IN_MAX;
        rc = cal_svc_list_chunk(api, db, account_id, user_ids + i, n, out, n_out, &cap);
    }
    if (rc != NT_OK || *n_out == 0) {
        free(*out);
        *out = NULL;
        *n_out = 0;
    } else if (n_users > NTC_IN_MAX) {
        qsort(*out, *n_out, sizeof(**out), cal_svc_cmp); /* each chunk came sorted */
    }
    return rc;
}

static const nt_calendars_v1 cal_service_ops = {
    .size = sizeof(nt_calendars_v1),
    .get = cal_svc_get,
    .list_by_users = cal_svc_list_by_users,
};

int
cal_service_add(cal_plugin *c)
{
    return ntc_provide(c->api, c->self, NT_SERVICE_CALENDARS, NT_CALENDARS_V1, &cal_service_ops, c);
}

/* Calendar rows: loading one calendar within the caller's scope (account, and user for end
 * users) and turning a row into the wire object.
 */
#include "cal.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

static const char cal_sql_by_account[] = "SELECT " CAL_ROW_COLUMNS " FROM calendar_calendars "
                                         "WHERE id = $1 AND account_id = $2";
static const char cal_sql_by_user[] = "SELECT " CAL_ROW_COLUMNS " FROM calendar_calendars "
                                      "WHERE id = $1 AND account_id = $2 AND user_id = $3";

void
cal_row_clear(cal_row *row)
{
    if (row == NULL)
        return;
    free(row->id);
    free(row->user_id);
    free(row->timezone);
    json_decref(row->metadata);
    memset(row, 0, sizeof(*row));
}

/* A copy of column `col` of the current row; NULL when the column is NULL or out of memory. */
static char *
cal_col_dup(const nt_host_api *api, nt_stmt *st, int col)
{
    const char *v = api->db_col_text(st, col);

    return v != NULL ? strdup(v) : NULL;
}

int
cal_row_read(const nt_host_api *api, nt_stmt *st, cal_row *row)
{
    int64_t week_start;

    cal_row_clear(row);
    if (api->db_col_is_null(st, 0) || api->db_col_is_null(st, 1) || api->db_col_is_null(st, 2) ||
        api->db_col_is_null(st, 3))
        return NT_ERR;
    week_start = api->db_col_int64(st, 3);
    if (week_start < 0 || week_start > 6)
        return NT_ERR;
    row->week_start = (int)week_start;
    row->id = cal_col_dup(api, st, 0);
    row->user_id = cal_col_dup(api, st, 1);
    row->timezone = cal_col_dup(api, st, 2);
    row->metadata = ntc_meta_parse(api->db_col_text(st, 4));
    if (row->id == NULL || row->user_id == NULL || row->timezone == NULL || row->metadata == NULL) {
        cal_row_clear(row);
        return NT_ENOMEM;
    }
    return NT_OK;
}

int
cal_row_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
             const char *user_id, cal_row *row)
{
    nt_stmt *st = NULL;
    int rc;

    cal_row_clear(row);
    if (user_id != NULL)
        rc = ntc_prepare(api, db, &st, cal_sql_by_user, "ttt", id, account_id, user_id);
    else
        rc = ntc_prepare(api, db, &st, cal_sql_by_account, "tt", id, account_id);
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK)
        rc = cal_row_read(api, st, row);
    api->db_finalize(st);
    return rc;
}

int
cal_row_load_req(const nt_host_api *api, nt_req *req, nt_db *db, cal_row *row)
{
    const char *id = api->req_param(req, "calendarId");
    /* req_user() is NULL for admins: the account scope alone then applies. */
    int rc = cal_row_load(api, db, id, api->req_account(req), api->req_user(req), row);

    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "calendarId: no calendar '%s'", id);
    return rc;
}

json_t *
cal_row_json(const cal_row *row)
{
    const char *week_start = ntc_weekday_name(row->week_start);
    json_t *settings = NULL, *cal = NULL;
    int rc = 0;

    if (week_start == NULL || row->id == NULL || row->user_id == NULL || row->timezone == NULL)
        return NULL;
    settings = json_object();
    cal = json_object();
    if (settings == NULL || cal == NULL)
        goto fail;
    /* json_object_set_new() takes the value, also when it fails. */
    rc |= json_object_set_new(settings, "weekStart", json_string(week_start));
    rc |= json_object_set_new(settings, "timezone", json_string(row->timezone));
    rc |= json_object_set_new(cal, "id", json_string(row->id));
    rc |= json_object_set_new(cal, "userId", json_string(row->user_id));
    rc |= json_object_set_new(cal, "settings", settings);
    settings = NULL;
    rc |= json_object_set_new(
        cal, "metadata", row->metadata != NULL ? json_deep_copy(row->metadata) : json_object());
    if (rc != 0)
        goto fail;
    return cal;
fail:
    json_decref(settings);
    json_decref(cal);
    return NULL;
}

int
cal_row_reply(const cal_row *row, int status, json_t **out)
{
    json_t *reply = json_object();

    if (reply == NULL || json_object_set_new(reply, "calendar", cal_row_json(row)) != 0) {
        json_decref(reply);
        return NT_ENOMEM;
    }
    *out = reply;
    return status;
}

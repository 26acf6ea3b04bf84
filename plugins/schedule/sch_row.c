/* Schedule rows: loading one schedule within the caller's scope (account, and user for end
 * users), writing one back with its metadata side-table rows, and the wire object of
 * a schedule.
 */
#include "ntc.h"
#include "sch.h"

#include <stdlib.h>
#include <string.h>

static const char sch_sql_by_id[] = "SELECT " SCH_ROW_COLUMNS " FROM schedule_schedules "
                                    "WHERE id = $1";
static const char sch_sql_by_account[] = "SELECT " SCH_ROW_COLUMNS " FROM schedule_schedules "
                                         "WHERE id = $1 AND account_id = $2";
static const char sch_sql_by_user[] = "SELECT " SCH_ROW_COLUMNS " FROM schedule_schedules "
                                      "WHERE id = $1 AND account_id = $2 AND user_id = $3";
static const char sch_sql_insert[] =
    "INSERT INTO schedule_schedules (id, user_id, account_id, timezone, rules, metadata, "
    "created) VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char sch_sql_update[] = "UPDATE schedule_schedules SET timezone = $4, rules = $5, "
                                     "metadata = $6 WHERE id = $1";

void
sch_row_clear(sch_row *row)
{
    if (row == NULL)
        return;
    free(row->id);
    free(row->user_id);
    free(row->account_id);
    free(row->timezone);
    json_decref(row->rules);
    json_decref(row->metadata);
    memset(row, 0, sizeof(*row));
}

/* A copy of column `col` of the current row; NULL when the column is NULL or out of memory. */
static char *
sch_col_dup(const nt_host_api *api, nt_stmt *st, int col)
{
    const char *v = api->db_col_text(st, col);

    return v != NULL ? strdup(v) : NULL;
}

int
sch_row_read(const nt_host_api *api, nt_stmt *st, sch_row *row)
{
    const char *rules;

    sch_row_clear(row);
    for (int col = 0; col < 6; col++)
        if (api->db_col_is_null(st, col))
            return NT_ERR;
    rules = api->db_col_text(st, 4);
    row->rules = rules != NULL ? json_loads(rules, 0, NULL) : NULL;
    if (row->rules != NULL && !json_is_array(row->rules)) {
        sch_row_clear(row);
        return NT_ERR;
    }
    row->id = sch_col_dup(api, st, 0);
    row->user_id = sch_col_dup(api, st, 1);
    row->account_id = sch_col_dup(api, st, 2);
    row->timezone = sch_col_dup(api, st, 3);
    row->metadata = ntc_meta_parse(api->db_col_text(st, 5));
    if (row->id == NULL || row->user_id == NULL || row->account_id == NULL ||
        row->timezone == NULL || row->rules == NULL || row->metadata == NULL) {
        sch_row_clear(row);
        return NT_ENOMEM;
    }
    return NT_OK;
}

int
sch_row_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
             const char *user_id, sch_row *row)
{
    const char *sql = account_id == NULL ? sch_sql_by_id
                      : user_id == NULL  ? sch_sql_by_account
                                         : sch_sql_by_user;
    nt_stmt *st;
    int rc;

    sch_row_clear(row);
    st = api->db_prepare(db, sql);
    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK && account_id != NULL)
        rc = api->db_bind_text(st, 2, account_id);
    if (rc == NT_OK && account_id != NULL && user_id != NULL)
        rc = api->db_bind_text(st, 3, user_id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 1)
        rc = sch_row_read(api, st, row);
    else if (rc == 0)
        rc = NT_ENOTFOUND;
    api->db_finalize(st);
    return rc;
}

int
sch_row_store(const nt_host_api *api, nt_db *db, const sch_row *row, int insert)
{
    char *rules = json_dumps(row->rules, JSON_COMPACT);
    char *metadata = ntc_meta_dump(row->metadata);
    nt_stmt *st = NULL;
    int rc = NT_ENOMEM;

    if (rules == NULL || metadata == NULL)
        goto out;
    st = api->db_prepare(db, insert ? sch_sql_insert : sch_sql_update);
    if (st == NULL) {
        rc = NT_ERR;
        goto out;
    }
    rc = api->db_bind_text(st, 1, row->id);
    if (rc == NT_OK && insert)
        rc = api->db_bind_text(st, 2, row->user_id);
    if (rc == NT_OK && insert)
        rc = api->db_bind_text(st, 3, row->account_id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 4, row->timezone);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 5, rules);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 6, metadata);
    if (rc == NT_OK && insert)
        rc = api->db_bind_int64(st, 7, api->now_ms());
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc > 0)
        rc = NT_OK;
    if (rc == NT_OK)
        rc = ntc_meta_store(api, db, "schedule_metadata", row->id, row->account_id, row->metadata);
out:
    api->db_finalize(st);
    free(rules);
    free(metadata);
    return rc;
}

json_t *
sch_row_json(const sch_row *row)
{
    if (row->id == NULL || row->user_id == NULL || row->timezone == NULL || row->rules == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:O, s:o}", "id", row->id, "userId", row->user_id, "timezone",
                     row->timezone, "rules", row->rules, "metadata",
                     row->metadata != NULL ? json_deep_copy(row->metadata) : json_object());
}

int
sch_row_reply(const sch_row *row, int status, json_t **out)
{
    json_t *reply = json_pack("{s:o}", "schedule", sch_row_json(row));

    if (reply == NULL)
        return NT_ENOMEM;
    *out = reply;
    return status;
}

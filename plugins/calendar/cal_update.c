/* PUT /calendar/{calendarId} and PUT /user/calendar/{calendarId}. The whole
 * body is validated before anything is read or written.
 */
#include "cal.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* Applies the given settings and metadata (NULL = unchanged; borrowed) to the row. */
static int
cal_apply(cal_row *row, const cal_settings *s, const json_t *metadata)
{
    if (s->timezone != NULL) {
        char *tz = strdup(s->timezone);
        if (tz == NULL)
            return NT_ENOMEM;
        free(row->timezone);
        row->timezone = tz;
    }
    if (s->week_start >= 0)
        row->week_start = s->week_start;
    if (metadata != NULL) {
        json_t *m = json_deep_copy(metadata);
        if (m == NULL)
            return NT_ENOMEM;
        json_decref(row->metadata);
        row->metadata = m;
    }
    return NT_OK;
}

/* Writes the row's settings and metadata text back. Run inside a write transaction. */
static int
cal_store(const nt_host_api *api, nt_db *db, const cal_row *row)
{
    char *metadata = ntc_meta_dump(row->metadata);
    int rc = NT_ENOMEM;

    if (metadata != NULL)
        rc = ntc_exec(api, db,
                      "UPDATE calendar_calendars SET timezone = $1, week_start = $2, "
                      "metadata = $3 WHERE id = $4",
                      "tdtt", row->timezone, row->week_start, metadata, row->id);
    free(metadata);
    return rc;
}

int
cal_update(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const cal_plugin *)state)->api;
    const char *account_id = api->req_account(req);
    nt_db *db = api->req_db(req);
    json_t *metadata = NULL;
    cal_row row = {0};
    cal_settings s;
    int rc;

    rc = cal_body_read(api, req, 0, &s, &metadata);
    if (rc == NT_OK)
        rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = cal_row_load_req(api, req, db, &row);
    if (rc == NT_OK)
        rc = cal_apply(&row, &s, metadata);
    if (rc == NT_OK)
        rc = cal_store(api, db, &row);
    if (rc == NT_OK && metadata != NULL)
        rc = ntc_meta_store(api, db, "calendar_metadata", row.id, account_id, row.metadata);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = cal_row_reply(&row, 200, out);
    cal_row_clear(&row);
    return rc;
}

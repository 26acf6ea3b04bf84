/* DELETE /calendar/{calendarId} and DELETE /user/calendar/{calendarId}. The
 * answer is the deleted calendar; its events go with it through the foreign keys.
 */
#include "cal.h"
#include "ntc.h"

/* Deletes calendar `id` and its metadata rows. Run inside a write transaction. */
static int
cal_remove(const nt_host_api *api, nt_db *db, const char *id, const char *account_id)
{
    /* The side table cascades too; clearing it here keeps it right without foreign keys. */
    int rc = ntc_meta_store(api, db, "calendar_metadata", id, account_id, NULL);

    if (rc == NT_OK)
        rc = ntc_exec(api, db, "DELETE FROM calendar_calendars WHERE id = $1", "t", id);
    return rc;
}

int
cal_delete(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const cal_plugin *)state)->api;
    const char *id = api->req_param(req, "calendarId");
    const char *account_id = api->req_account(req);
    nt_db *db = api->req_db(req);
    cal_row row = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = cal_row_load_req(api, req, db, &row);
    if (rc == NT_OK)
        rc = cal_remove(api, db, id, account_id);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = cal_row_reply(&row, 200, out);
    cal_row_clear(&row);
    return rc;
}

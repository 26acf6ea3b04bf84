/* DELETE /schedule/{scheduleId} and DELETE /user/schedule/{scheduleId}.
 * The answer is the deleted schedule. (Service memberships that use it fall back to
 * Empty: that is the service plugin's part of the cascade.)
 */
#include "ntc.h"
#include "sch.h"

/* Deletes schedule `id` and its metadata rows. Run inside a write transaction. */
static int
sch_remove(const nt_host_api *api, nt_db *db, const char *id, const char *account_id)
{
    nt_stmt *st;
    int rc;

    /* The side table cascades too; clearing it here keeps it right without foreign keys. */
    rc = ntc_meta_store(api, db, "schedule_metadata", id, account_id, NULL);
    if (rc != NT_OK)
        return rc;
    st = api->db_prepare(db, "DELETE FROM schedule_schedules WHERE id = $1");
    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    api->db_finalize(st);
    return rc > 0 ? NT_OK : rc;
}

int
sch_delete(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const sch_plugin *)state)->api;
    const char *id = api->req_param(req, "scheduleId");
    const char *account_id = api->req_account(req);
    nt_db *db = api->req_db(req);
    sch_row row = {0};
    int in_tx = 0, rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = sch_row_load(api, db, id, account_id, api->req_user(req), &row);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "scheduleId: no schedule '%s'", id);
    if (rc == NT_OK)
        rc = sch_remove(api, db, id, account_id);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 0;
    rc = sch_row_reply(&row, 200, out);
out:
    if (in_tx)
        api->db_rollback(db);
    sch_row_clear(&row);
    return rc;
}

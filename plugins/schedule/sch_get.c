/* GET /schedule/{scheduleId} (the end user's own schedule) and GET /user/schedule/{scheduleId}
 * (any schedule of the admin's account). Unlike the original,
 * the end-user route requires ownership: another user's schedule is 404.
 */
#include "sch.h"

int
sch_get(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const sch_plugin *)state)->api;
    const char *id = api->req_param(req, "scheduleId");
    sch_row row = {0};
    int rc;

    /* req_user() is NULL for admins: the account scope alone then applies. */
    rc = sch_row_load(api, api->req_db(req), id, api->req_account(req), api->req_user(req), &row);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "scheduleId: no schedule '%s'", id);
    if (rc == NT_OK)
        rc = sch_row_reply(&row, 200, out);
    sch_row_clear(&row);
    return rc;
}

/* GET /calendar/{calendarId} (the end user's own calendar) and GET /user/calendar/{calendarId}
 * (any calendar of the admin's account): API.md A12.2.
 */
#include "cal.h"

int
cal_get(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const cal_plugin *)state)->api;
    const char *id = api->req_param(req, "calendarId");
    cal_row row = {0};
    int rc;

    /* req_user() is NULL for admins: the account scope alone then applies. */
    rc = cal_row_load(api, api->req_db(req), id, api->req_account(req), api->req_user(req), &row);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "calendarId: no calendar '%s'", id);
    if (rc == NT_OK)
        rc = cal_row_reply(&row, 200, out);
    cal_row_clear(&row);
    return rc;
}

/* GET /calendar/{calendarId} (the end user's own calendar) and GET /user/calendar/{calendarId}
 * (any calendar of the admin's account).
 */
#include "cal.h"

int
cal_get(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const cal_plugin *)state)->api;
    cal_row row = {0};
    int rc = cal_row_load_req(api, req, api->req_db(req), &row);

    if (rc == NT_OK)
        rc = cal_row_reply(&row, 200, out);
    cal_row_clear(&row);
    return rc;
}

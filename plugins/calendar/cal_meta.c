/* GET /calendar/meta: the calendars of the admin's account whose metadata has key = value,
 * in creation order, paged by skip and limit, through the shared
 * metadata query (ntc_meta_route).
 */
#include "cal.h"
#include "ntc.h"

/* The row printer: a calendar row (CAL_ROW_COLUMNS) as its wire object. */
static int
cal_meta_row(const nt_host_api *api, nt_stmt *st, void *arg, json_t **out)
{
    cal_row row = {0};
    int rc = cal_row_read(api, st, &row);

    (void)arg;
    if (rc == NT_OK) {
        *out = cal_row_json(&row);
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    cal_row_clear(&row);
    return rc;
}

static const ntc_meta_table cal_meta_table = {
    .table = "calendar_calendars",
    .meta_table = "calendar_metadata",
    .alias = "c",
    .columns = "c.id, c.user_id, c.timezone, c.week_start, c.metadata",
    .reply_key = "calendars",
    .row_json = cal_meta_row,
};

int
cal_meta(nt_req *req, void *state, json_t **out)
{
    return ntc_meta_route(((const cal_plugin *)state)->api, req, &cal_meta_table, out);
}

/* The "schedules" service (include/nettu/services.h): who a schedule belongs to, and its
 * free time in a window for the booking plugins.
 */
#include "sch.h"

#include <stdio.h>
#include <string.h>

/* req_check of the request the work runs for. */
typedef struct svc_budget {
    const nt_host_api *api;
    nt_req *req;
} svc_budget;

static int
svc_check(void *ctx)
{
    const svc_budget *b = ctx;

    return b->api->req_check(b->req);
}

static int
svc_owner(void *state, nt_db *db, const char *schedule_id, char user_id[NT_UUID_BUF],
          char account_id[NT_UUID_BUF])
{
    const nt_host_api *api = ((const sch_plugin *)state)->api;
    nt_stmt *st;
    int rc;

    if (schedule_id == NULL || !api->uuid_valid(schedule_id))
        return NT_ENOTFOUND;
    st = api->db_prepare(db, "SELECT user_id, account_id FROM schedule_schedules WHERE id = $1");
    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, schedule_id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 1) {
        const char *u = api->db_col_text(st, 0), *a = api->db_col_text(st, 1);
        rc = NT_OK;
        if (u == NULL || a == NULL || strlen(u) > NT_UUID_LEN || strlen(a) > NT_UUID_LEN)
            rc = NT_ERR;
        if (rc == NT_OK && user_id != NULL)
            snprintf(user_id, NT_UUID_BUF, "%s", u);
        if (rc == NT_OK && account_id != NULL)
            snprintf(account_id, NT_UUID_BUF, "%s", a);
    } else if (rc == 0) {
        rc = NT_ENOTFOUND;
    }
    api->db_finalize(st);
    return rc;
}

static int
svc_free_time(void *state, nt_req *req, nt_db *db, const char *account_id, const char *schedule_id,
              int64_t ws, int64_t we, nt_intervals *out)
{
    const sch_plugin *p = state;
    const nt_host_api *api = p->api;
    svc_budget budget = {api, req};
    sch_rules rules = {0};
    sch_row row = {0};
    const ev_tz *tz;
    char err[256];
    int rc;

    memset(out, 0, sizeof(*out));
    if (account_id == NULL || schedule_id == NULL || !api->uuid_valid(schedule_id))
        return NT_ENOTFOUND;
    rc = sch_row_load(api, db, schedule_id, account_id, NULL, &row);
    if (rc != NT_OK)
        goto out;
    tz = ev_tz_get(row.timezone);
    rc = sch_rules_parse(row.rules, &rules, err, sizeof(err));
    if (tz == NULL || rc == NT_EINVAL) {
        api->log(p->self, NT_LOG_ERROR, "schedule %s: stored %s cannot be read (%s)", row.id,
                 tz == NULL ? "time zone" : "rules", tz == NULL ? row.timezone : err);
        rc = NT_ERR;
    }
    if (rc == NT_OK)
        rc = sch_avail(&rules, tz, ws, we, req != NULL ? svc_check : NULL, &budget, out);
out:
    sch_rules_clear(&rules);
    sch_row_clear(&row);
    return rc;
}

const nt_schedules_v1 sch_service_ops = {
    .size = sizeof(nt_schedules_v1),
    .owner = svc_owner,
    .free_time = svc_free_time,
};

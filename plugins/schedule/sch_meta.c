/* GET /schedule/meta: the schedules of the admin's account whose metadata has key = value,
 * in creation order, paged by skip and limit.
 */
#include "ntc.h"
#include "sch.h"

static const char sch_sql_meta[] =
    "SELECT s.id, s.user_id, s.account_id, s.timezone, s.rules, s.metadata "
    "FROM schedule_schedules s JOIN schedule_metadata m ON m.entity_id = s.id "
    "WHERE m.account_id = $1 AND m.key = $2 AND m.value = $3 "
    "ORDER BY s.created, s.id LIMIT $4 OFFSET $5";

/* Appends every schedule the executed statement returns to `list`. */
static int
sch_meta_collect(const nt_host_api *api, nt_stmt *st, json_t *list)
{
    sch_row row = {0};
    int rc;

    while ((rc = api->db_step(st)) == 1) {
        rc = sch_row_read(api, st, &row);
        if (rc != NT_OK)
            break;
        if (json_array_append_new(list, sch_row_json(&row)) != 0) {
            rc = NT_ENOMEM;
            break;
        }
    }
    sch_row_clear(&row);
    return rc;
}

int
sch_meta(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const sch_plugin *)state)->api;
    json_t *list = NULL;
    nt_stmt *st = NULL;
    ntc_meta_query q;
    int rc;

    rc = ntc_meta_query_parse(api, req, &q);
    if (rc != NT_OK)
        goto out;
    list = json_array();
    if (list == NULL) {
        rc = NT_ENOMEM;
        goto out;
    }
    st = api->db_prepare(api->req_db(req), sch_sql_meta);
    if (st == NULL) {
        rc = NT_ERR;
        goto out;
    }
    rc = api->db_bind_text(st, 1, api->req_account(req));
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, q.key);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, q.value);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 4, q.limit);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 5, q.skip);
    if (rc == NT_OK)
        rc = sch_meta_collect(api, st, list);
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:O}", "schedules", list);
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    api->db_finalize(st);
    json_decref(list);
    return rc;
}

/* GET and DELETE of one event (API.md A13.2, A13.3) and the metadata query over the events of
 * the account (A13.6).
 */
#include "ev.h"
#include "ntc.h"

static const char ev_sql_meta[] =
    "SELECT " EV_COLS " FROM events_events e JOIN events_metadata m ON m.entity_id = e.id "
    "WHERE m.account_id = $1 AND m.key = $2 AND m.value = $3 "
    "ORDER BY e.created, e.id LIMIT $4 OFFSET $5";

/* Sets *out to {"event": <e>} and returns status, or NT_ENOMEM. */
static int
ev_reply(const ev_event *e, int status, json_t **out)
{
    *out = json_pack("{s:o}", "event", ev_event_json(e));
    return *out != NULL ? status : NT_ENOMEM;
}

int
ev_get(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "eventId");
    ev_event e = {0};
    int rc;

    rc = ev_store_load(api, api->req_db(req), id, api->req_account(req), api->req_user(req), &e);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", id);
    if (rc == NT_OK)
        rc = ev_reply(&e, 200, out);
    ev_event_clear(&e);
    return rc;
}

int
ev_delete(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "eventId");
    nt_db *db = api->req_db(req);
    ev_event e = {0};
    int in_tx = 0, rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = ev_store_load(api, db, id, api->req_account(req), api->req_user(req), &e);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", id);
    if (rc == NT_OK)
        rc = ev_store_delete(api, db, id);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 0;
    rc = ev_reply(&e, 200, out);
out:
    if (in_tx)
        api->db_rollback(db);
    ev_event_clear(&e);
    return rc;
}

int
ev_meta(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    json_t *list = NULL;
    nt_stmt *st = NULL;
    ev_event e = {0};
    ntc_meta_query q;
    int rc;

    rc = ntc_meta_query_parse(api, req, &q);
    if (rc != NT_OK)
        goto out;
    list = json_array();
    st = api->db_prepare(api->req_db(req), ev_sql_meta);
    if (list == NULL || st == NULL) {
        rc = list == NULL ? NT_ENOMEM : NT_ERR;
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
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        rc = ev_row_read(api, st, 0, &e);
        if (rc == NT_OK && json_array_append_new(list, ev_event_json(&e)) != 0)
            rc = NT_ENOMEM;
    }
    if (rc != 0)
        goto out;
    *out = json_pack("{s:O}", "events", list);
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    api->db_finalize(st);
    ev_event_clear(&e);
    json_decref(list);
    return rc;
}

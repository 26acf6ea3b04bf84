/* GET and DELETE of one event and the metadata query over the events of
 * the account.
 */
#include "ev.h"
#include "ntc.h"

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
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = ev_store_load(api, db, id, api->req_account(req), api->req_user(req), &e);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "no event with id '%s'", id);
    if (rc == NT_OK) {
        ev_memo_events_changed(p, req);
        rc = ev_store_delete(api, db, id);
    }
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = ev_reply(&e, 200, out);
    ev_event_clear(&e);
    return rc;
}

/* The metadata query's row printer: an event row (EV_COLS) as its wire object. */
static int
ev_meta_row(const nt_host_api *api, nt_stmt *st, void *arg, json_t **out)
{
    ev_event e = {0};
    int rc = ev_row_read(api, st, 0, &e);

    (void)arg;
    if (rc == NT_OK) {
        *out = ev_event_json(&e);
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    ev_event_clear(&e);
    return rc;
}

static const ntc_meta_table ev_meta_table = {
    .table = "events_events",
    .meta_table = "events_metadata",
    .alias = "e",
    .columns = EV_COLS,
    .reply_key = "events",
    .row_json = ev_meta_row,
};

int
ev_meta(nt_req *req, void *state, json_t **out)
{
    return ntc_meta_route(((const ev_plugin *)state)->api, req, &ev_meta_table, out);
}

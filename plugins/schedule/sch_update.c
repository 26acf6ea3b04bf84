/* PUT /schedule/{scheduleId} and PUT /user/schedule/{scheduleId}.
 * The whole body is validated before anything is read or written; each field given
 * replaces, and rules given are normalised in the schedule's (new) zone.
 */
#include "sch.h"

#include <stdlib.h>
#include <string.h>

/* Applies the body's timezone and rules and the metadata (NULL = unchanged; borrowed). */
static int
sch_apply(const nt_host_api *api, nt_req *req, sch_row *row, sch_body *b, const json_t *metadata)
{
    if (b->timezone != NULL) {
        char *tz = strdup(b->timezone);
        if (tz == NULL)
            return NT_ENOMEM;
        free(row->timezone);
        row->timezone = tz;
    }
    if (b->has_rules) {
        const ev_tz *tz = ev_tz_get(row->timezone);
        json_t *rules;
        if (tz == NULL)
            return api->fail(req, NT_ERR, "timezone: cannot load the zone '%.100s'", row->timezone);
        sch_rules_normalise(&b->rules, tz, api->now_ms());
        rules = sch_rules_json(&b->rules);
        if (rules == NULL)
            return NT_ENOMEM;
        json_decref(row->rules);
        row->rules = rules;
    }
    if (metadata != NULL) {
        json_t *m = json_deep_copy(metadata);
        if (m == NULL)
            return NT_ENOMEM;
        json_decref(row->metadata);
        row->metadata = m;
    }
    return NT_OK;
}

int
sch_update(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const sch_plugin *)state)->api;
    const json_t *body = api->req_body(req);
    const char *id = api->req_param(req, "scheduleId");
    nt_db *db = api->req_db(req);
    json_t *metadata = NULL;
    sch_body b = {0};
    sch_row row = {0};
    char err[256];
    int in_tx = 0, rc;

    rc = sch_body_parse(body, 0, &b, err, sizeof(err));
    if (rc == NT_EINVAL)
        rc = api->fail(req, rc, "%s", err);
    if (rc == NT_OK)
        rc = api->json_get_metadata(req, body, "metadata", 0, &metadata, NULL);
    if (rc != NT_OK)
        goto out;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    rc = sch_row_load(api, db, id, api->req_account(req), api->req_user(req), &row);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "scheduleId: no schedule '%s'", id);
    if (rc == NT_OK)
        rc = sch_apply(api, req, &row, &b, metadata);
    if (rc == NT_OK)
        rc = sch_row_store(api, db, &row, 0);
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
    sch_body_clear(&b);
    return rc;
}

/* POST /schedule (an end user creates one of its own) and POST /user/{userId}/schedule (an
 * admin creates one for a user of the account). Rules given are
 * normalised as on update; without rules the schedule gets the default week.
 */
#include "sch.h"

#include <stdlib.h>
#include <string.h>

/* Fills a new row with a fresh id from the parsed body; takes nothing. */
static int
sch_row_new(const nt_host_api *api, const char *account_id, const char *user_id,
            const char *timezone, const sch_rules *rules, const json_t *metadata, sch_row *row)
{
    char id[NT_UUID_BUF];

    if (api->uuid_new(id) != NT_OK)
        return NT_ERR;
    row->id = strdup(id);
    row->user_id = strdup(user_id);
    row->account_id = strdup(account_id);
    row->timezone = strdup(timezone);
    row->rules = sch_rules_json(rules);
    row->metadata = metadata != NULL ? json_deep_copy(metadata) : json_object();
    if (row->id == NULL || row->user_id == NULL || row->account_id == NULL ||
        row->timezone == NULL || row->rules == NULL || row->metadata == NULL)
        return NT_ENOMEM;
    return NT_OK;
}

int
sch_create(nt_req *req, void *state, json_t **out)
{
    const sch_plugin *p = state;
    const nt_host_api *api = p->api;
    const json_t *body = api->req_body(req);
    const char *account_id = api->req_account(req);
    const char *path_user = api->req_param(req, "userId");
    const char *user_id = path_user != NULL ? path_user : api->req_user(req);
    nt_db *db = api->req_db(req);
    json_t *metadata = NULL;
    sch_body b = {0};
    sch_row row = {0};
    const ev_tz *tz;
    char err[256];
    int in_tx = 0, rc;

    rc = sch_body_parse(body, 1, &b, err, sizeof(err));
    if (rc == NT_EINVAL)
        rc = api->fail(req, rc, "%s", err);
    if (rc == NT_OK)
        rc = api->json_get_metadata(req, body, "metadata", 0, &metadata, NULL);
    if (rc != NT_OK)
        goto out;
    if (account_id == NULL || user_id == NULL) {
        rc = api->fail(req, NT_EUNAUTH, "an end-user token is required");
        goto out;
    }
    tz = ev_tz_get(b.timezone);
    if (tz == NULL) {
        rc = api->fail(req, NT_ERR, "timezone: cannot load the zone '%.100s'", b.timezone);
        goto out;
    }
    if (b.has_rules)
        sch_rules_normalise(&b.rules, tz, api->now_ms());
    else if ((rc = sch_rules_default(&b.rules)) != NT_OK)
        goto out;
    rc = sch_row_new(api, account_id, user_id, b.timezone, &b.rules, metadata, &row);
    if (rc != NT_OK)
        goto out;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 1;
    /* An end user is a user of the account by authentication; an admin names one. */
    if (path_user != NULL) {
        rc = p->users->in_account(p->users_state, db, account_id, user_id);
        if (rc == NT_ENOTFOUND)
            rc = api->fail(req, rc, "userId: no user '%s' in this account", user_id);
        if (rc != NT_OK)
            goto out;
    }
    rc = sch_row_store(api, db, &row, 1);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    if (rc != NT_OK)
        goto out;
    in_tx = 0;
    rc = sch_row_reply(&row, 201, out);
out:
    if (in_tx)
        api->db_rollback(db);
    sch_row_clear(&row);
    sch_body_clear(&b);
    return rc;
}

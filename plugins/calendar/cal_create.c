/* POST /calendar (an end user creates one of its own) and POST /user/{userId}/calendar (an
 * admin creates one for a user of the account).
 */
#include "cal.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* Inserts `row` (metadata included, as text) for account_id, created now. */
static int
cal_insert(const nt_host_api *api, nt_db *db, const char *account_id, const cal_row *row)
{
    char *metadata = ntc_meta_dump(row->metadata);
    int rc = NT_ENOMEM;

    if (metadata != NULL)
        rc = ntc_exec(api, db,
                      "INSERT INTO calendar_calendars (id, user_id, account_id, timezone, "
                      "week_start, metadata, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                      "ttttdti", row->id, row->user_id, account_id, row->timezone, row->week_start,
                      metadata, api->now_ms());
    free(metadata);
    return rc;
}

/* Fills a new row with a fresh id for user_id from the parsed body. */
static int
cal_row_new(const nt_host_api *api, const char *user_id, const cal_settings *s, json_t *metadata,
            cal_row *row)
{
    char id[NT_UUID_BUF];

    if (api->uuid_new(id) != NT_OK)
        return NT_ERR;
    row->id = strdup(id);
    row->user_id = strdup(user_id);
    row->timezone = strdup(s->timezone);
    row->week_start = s->week_start;
    row->metadata = metadata != NULL ? json_deep_copy(metadata) : json_object();
    if (row->id == NULL || row->user_id == NULL || row->timezone == NULL || row->metadata == NULL)
        return NT_ENOMEM;
    return NT_OK;
}

int
cal_create(nt_req *req, void *state, json_t **out)
{
    const cal_plugin *c = state;
    const nt_host_api *api = c->api;
    const char *account_id = api->req_account(req);
    const char *path_user = api->req_param(req, "userId");
    const char *user_id = path_user != NULL ? path_user : api->req_user(req);
    nt_db *db = api->req_db(req);
    json_t *metadata = NULL;
    cal_row row = {0};
    cal_settings s;
    int rc;

    rc = cal_body_read(api, req, 1, &s, &metadata);
    if (rc == NT_OK && user_id == NULL)
        rc = api->fail(req, NT_EUNAUTH, "an end-user token is required");
    if (rc == NT_OK)
        rc = cal_row_new(api, user_id, &s, metadata, &row);
    if (rc == NT_OK)
        rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    /* An end user is a user of the account by authentication; an admin names one. */
    if (path_user != NULL) {
        rc = c->users->in_account(c->users_state, db, account_id, user_id);
        if (rc == NT_ENOTFOUND)
            rc = api->fail(req, rc, "userId: no user '%s' in this account", user_id);
    }
    if (rc == NT_OK)
        rc = cal_insert(api, db, account_id, &row);
    if (rc == NT_OK)
        rc = ntc_meta_insert(api, db, "calendar_metadata", row.id, account_id, row.metadata);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = cal_row_reply(&row, 201, out);
out:
    cal_row_clear(&row);
    return rc;
}

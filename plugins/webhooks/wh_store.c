/* SQL over webhooks_deliveries. Every function finalizes its statements on every path; errors
 * are the storage's NT_E* codes (the message stays on the connection).
 */
#include "ntc.h"
#include "wh.h"

#include <stdlib.h>
#include <string.h>

int
wh_store_insert(const wh_plugin *w, nt_db *db, const char *account, const char *type,
                const char *payload, char id[NT_UUID_BUF])
{
    const nt_host_api *api = w->api;
    int64_t now = api->now_ms();
    int rc = api->uuid_new(id);

    if (rc != NT_OK)
        return rc;
    return ntc_exec(api, db,
                    "INSERT INTO webhooks_deliveries (id, account_id, type, payload, status, "
                    "attempts, next_attempt_at, lease_until, created) "
                    "VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5)",
                    "tttti", id, account, type, payload, now);
}

/* The columns wh_row_json reads, in order. */
#define WH_COLS "id, type, status, attempts, last_status_code, last_error, next_attempt_at, created"

/* Sets *out to the wire object of the current row of st (WH_COLS). NT_OK or NT_ENOMEM. */
static int
wh_row_json(const nt_host_api *api, nt_stmt *st, json_t **out)
{
    const char *status = api->db_col_text(st, 2);
    int pending = status != NULL && strcmp(status, "pending") == 0;
    json_t *o =
        json_pack("{s:s?, s:s?, s:s?, s:I, s:o, s:o, s:o, s:I}", "id", api->db_col_text(st, 0),
                  "type", api->db_col_text(st, 1), "status", status, "attempts",
                  (json_int_t)api->db_col_int64(st, 3), "lastStatusCode",
                  api->db_col_is_null(st, 4) ? json_null() : json_integer(api->db_col_int64(st, 4)),
                  "lastError",
                  api->db_col_is_null(st, 5) ? json_null() : json_string(api->db_col_text(st, 5)),
                  "nextAttemptAt", pending ? json_integer(api->db_col_int64(st, 6)) : json_null(),
                  "created", (json_int_t)api->db_col_int64(st, 7));

    *out = o;
    return o != NULL ? NT_OK : NT_ENOMEM;
}

int
wh_store_get(const wh_plugin *w, nt_db *db, const char *account, const char *id, json_t **out)
{
    const nt_host_api *api = w->api;
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st,
                         "SELECT " WH_COLS " FROM webhooks_deliveries "
                         "WHERE id = $1 AND account_id = $2",
                         "tt", id, account);

    *out = NULL;
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK)
        rc = wh_row_json(api, st, out);
    api->db_finalize(st);
    return rc;
}

int
wh_store_list(const wh_plugin *w, nt_db *db, const char *account, const char *status, int64_t skip,
              int64_t limit, json_t **out)
{
    const nt_host_api *api = w->api;
    nt_stmt *st = NULL;
    json_t *arr = json_array(), *o = NULL;
    int rc = arr != NULL ? NT_OK : NT_ENOMEM;

    if (rc == NT_OK && status != NULL)
        rc = ntc_prepare(api, db, &st,
                         "SELECT " WH_COLS " FROM webhooks_deliveries "
                         "WHERE account_id = $1 AND status = $2 "
                         "ORDER BY created DESC, id DESC LIMIT $3 OFFSET $4",
                         "ttii", account, status, limit, skip);
    else if (rc == NT_OK)
        rc = ntc_prepare(api, db, &st,
                         "SELECT " WH_COLS " FROM webhooks_deliveries WHERE account_id = $1 "
                         "ORDER BY created DESC, id DESC LIMIT $2 OFFSET $3",
                         "tii", account, limit, skip);
    while (rc == NT_OK) {
        int s = api->db_step(st);
        if (s <= 0) {
            rc = s;
            break;
        }
        if ((rc = wh_row_json(api, st, &o)) == NT_OK && json_array_append_new(arr, o) != 0)
            rc = NT_ENOMEM;
    }
    api->db_finalize(st);
    if (rc != NT_OK) {
        json_decref(arr);
        arr = NULL;
    }
    *out = arr;
    return rc;
}

void
wh_jobs_free(wh_job *jobs, int n)
{
    for (int i = 0; jobs != NULL && i < n; i++)
        free(jobs[i].payload);
    free(jobs);
}

/* The due rows, oldest first; on PostgreSQL with NTC_SKIP_LOCKED appended. */
#define WH_DUE_SQL                                                                                 \
    "SELECT id, account_id, payload, attempts, first_attempt_at "                                  \
    "FROM webhooks_deliveries WHERE status = 'pending' AND "                                       \
    "next_attempt_at <= $1 AND lease_until <= $1 "                                                 \
    "ORDER BY next_attempt_at, id LIMIT $2"

/* Reads up to max due rows into jobs (inside the claim transaction): on PostgreSQL locking
 * them and passing over the rows another instance's claim holds. */
static int
wh_store_due(const wh_plugin *w, nt_db *db, int64_t now, int max, wh_job *jobs, int *n)
{
    const nt_host_api *api = w->api;
    nt_stmt *st = NULL;
    int rc =
        ntc_prepare(api, db, &st, ntc_skip_locked(api) ? WH_DUE_SQL NTC_SKIP_LOCKED : WH_DUE_SQL,
                    "ii", now, (int64_t)max);

    while (rc == NT_OK && *n < max) {
        int s = api->db_step(st);
        wh_job *j = &jobs[*n];
        const char *id, *acc, *payload;
        if (s <= 0) {
            rc = s;
            break;
        }
        id = api->db_col_text(st, 0);
        acc = api->db_col_text(st, 1);
        payload = api->db_col_text(st, 2);
        if (id == NULL || acc == NULL || payload == NULL || strlen(id) >= NT_UUID_BUF ||
            strlen(acc) >= NT_UUID_BUF) {
            rc = NT_ERR;
            break;
        }
        memset(j, 0, sizeof(*j));
        strcpy(j->id, id);
        strcpy(j->account, acc);
        if ((j->payload = strdup(payload)) == NULL) {
            rc = NT_ENOMEM;
            break;
        }
        j->attempts = api->db_col_int64(st, 3);
        j->first = api->db_col_is_null(st, 4) ? 0 : api->db_col_int64(st, 4);
        (*n)++;
    }
    api->db_finalize(st);
    return rc;
}

int
wh_store_due_any(const wh_plugin *w, nt_db *db)
{
    const nt_host_api *api = w->api;
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st,
                         "SELECT id FROM webhooks_deliveries WHERE status = 'pending' AND "
                         "next_attempt_at <= $1 AND lease_until <= $1 LIMIT 1",
                         "i", api->now_ms());

    if (rc == NT_OK)
        rc = ntc_row(api, st);
    api->db_finalize(st);
    return rc == NT_OK ? 1 : rc == NT_ENOTFOUND ? 0 : rc;
}

int
wh_store_claim(const wh_plugin *w, nt_db *db, int max, wh_job **jobs, int *n)
{
    const nt_host_api *api = w->api;
    int64_t now = api->now_ms();
    int rc;

    *jobs = NULL;
    *n = 0;
    if (max <= 0)
        return NT_OK;
    /* A read first, so that an idle server does not take SQLite's write lock at every poll
     * (on PostgreSQL the claim's SELECT locks nothing but the rows it returns). */
    if (!ntc_skip_locked(api) && (rc = wh_store_due_any(w, db)) <= 0)
        return rc;
    if ((*jobs = calloc((size_t)max, sizeof(wh_job))) == NULL)
        return NT_ENOMEM;
    /* READ COMMITTED on PostgreSQL (the due rows locked, SKIP LOCKED), so concurrent claims
     * take disjoint rows; the lease guard in the UPDATE keeps a row another claim leased
     * meanwhile out of this one, whatever the isolation. */
    rc = ntc_begin_claim(api, db);
    if (rc == NT_OK)
        rc = wh_store_due(w, db, now, max, *jobs, n);
    for (int i = 0; rc == NT_OK && i < *n;) {
        rc = ntc_exec_changed(api, db,
                              "UPDATE webhooks_deliveries SET lease_owner = $1, lease_until = $2 "
                              "WHERE id = $3 AND status = 'pending' AND lease_until <= $4",
                              "titi", w->instance, now + w->lease_ms, (*jobs)[i].id, now);
        if (rc == NT_ENOTFOUND) { /* leased or finished by another instance: not ours */
            free((*jobs)[i].payload);
            memmove(&(*jobs)[i], &(*jobs)[i + 1], (size_t)(*n - i - 1) * sizeof(wh_job));
            (*n)--;
            rc = NT_OK;
        } else {
            i++;
        }
    }
    rc = ntc_tx_end(api, db, rc);
    if (rc != NT_OK) {
        wh_jobs_free(*jobs, *n);
        *jobs = NULL;
        *n = 0;
    }
    return rc;
}

int
wh_store_finish(const wh_plugin *w, nt_db *db, const wh_job *j, int64_t at, int delivered, int code,
                const char *error, int64_t next_at)
{
    const char *status = delivered ? "delivered" : next_at < 0 ? "failed" : "pending";
    int64_t first = j->first != 0 ? j->first : at;
    int rc;
    static const char sql[] =
        "UPDATE webhooks_deliveries SET status = $1, attempts = attempts + 1, "
        "last_status_code = $2, last_error = $3, first_attempt_at = $4, "
        "next_attempt_at = $5, lease_owner = NULL, lease_until = 0 "
        "WHERE id = $6 AND lease_owner = $7";

    next_at = next_at < 0 ? at : next_at;
    /* A claim transaction (READ COMMITTED on PostgreSQL): the lease_owner guard makes it safe,
     * and finishes of two instances never fail each other serializing. */
    if ((rc = ntc_begin_claim(w->api, db)) != NT_OK)
        return rc;
    if (code > 0)
        rc = ntc_exec_changed(w->api, db, sql, "titiitt", status, (int64_t)code, error, first,
                              next_at, j->id, w->instance);
    else
        rc = ntc_exec_changed(w->api, db, sql, "tntiitt", status, error, first, next_at, j->id,
                              w->instance);
    return ntc_tx_end(w->api, db, rc);
}

int
wh_store_release(const wh_plugin *w, nt_db *db)
{
    int rc = ntc_begin_claim(w->api, db); /* as wh_store_finish: guarded by lease_owner */

    if (rc == NT_OK)
        rc = ntc_exec(w->api, db,
                      "UPDATE webhooks_deliveries SET lease_owner = NULL, lease_until = 0 "
                      "WHERE lease_owner = $1",
                      "t", w->instance);
    return ntc_tx_end(w->api, db, rc);
}

/* Bookings and holds as stored (tables service_bookings and service_holds) and
 * their wire objects. Hosts and event ids are kept as JSON arrays of ids.
 */
#include "ntc.h"
#include "svc.h"

#include <stdlib.h>
#include <string.h>

void
svc_bk_clear(svc_bk *b)
{
    if (b == NULL)
        return;
    json_decref(b->hosts);
    json_decref(b->event_ids);
    json_decref(b->metadata);
    memset(b, 0, sizeof(*b));
}

json_t *
svc_bk_hosts_parse(const char *text)
{
    json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;

    if (json_is_array(v))
        return v;
    json_decref(v);
    return json_array();
}

int
svc_bk_hosts_has(const json_t *a, const char *id)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) return 1;
    return 0;
}

/* Copies text column col into dst (NT_UUID_BUF bytes); NT_ERR when it does not fit. */
static int
svc_bk_col_id(const nt_host_api *api, nt_stmt *st, int col, char *dst)
{
    const char *t = api->db_col_text(st, col);

    if (t == NULL || strlen(t) > NT_UUID_LEN)
        return NT_ERR;
    strcpy(dst, t);
    return NT_OK;
}

static const char svc_sql_booking[] =
    "SELECT id, service_id, account_id, start_ts, duration, created, hosts, event_ids, status, "
    "metadata FROM service_bookings WHERE id = $1 AND account_id = $2 "
    "AND ($3 = '' OR service_id = $3)";
static const char svc_sql_hold[] =
    "SELECT id, service_id, account_id, start_ts, duration, created, hosts, expires_at, used "
    "FROM service_holds WHERE id = $1 AND account_id = $2 AND ($3 = '' OR service_id = $3)";

/* Reads the current row of a booking (hold = 0) or hold query (the columns above). */
static int
svc_bk_read(const nt_host_api *api, nt_stmt *st, int hold, svc_bk *b)
{
    int rc = svc_bk_col_id(api, st, 0, b->id);

    if (rc == NT_OK)
        rc = svc_bk_col_id(api, st, 1, b->service_id);
    if (rc == NT_OK)
        rc = svc_bk_col_id(api, st, 2, b->account_id);
    if (rc != NT_OK)
        return rc;
    b->start_ts = api->db_col_int64(st, 3);
    b->duration = api->db_col_int64(st, 4);
    b->created = api->db_col_int64(st, 5);
    b->hosts = svc_bk_hosts_parse(api->db_col_text(st, 6));
    if (hold) {
        b->expires_at = api->db_col_int64(st, 7);
        b->used = api->db_col_int64(st, 8) != 0;
        return b->hosts != NULL ? NT_OK : NT_ENOMEM;
    }
    b->event_ids = svc_bk_hosts_parse(api->db_col_text(st, 7));
    b->cancelled =
        strcmp(api->db_col_text(st, 8) != NULL ? api->db_col_text(st, 8) : "", "cancelled") == 0;
    b->metadata = ntc_meta_parse(api->db_col_text(st, 9));
    return b->hosts != NULL && b->event_ids != NULL && b->metadata != NULL ? NT_OK : NT_ENOMEM;
}

int
svc_bk_load(const nt_host_api *api, nt_db *db, int hold, const char *id, const char *service_id,
            const char *account_id, svc_bk *out)
{
    nt_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = ntc_prepare(api, db, &st, hold ? svc_sql_hold : svc_sql_booking, "ttt", id, account_id,
                     service_id != NULL ? service_id : "");
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK)
        rc = svc_bk_read(api, st, hold, out);
    api->db_finalize(st);
    if (rc != NT_OK)
        svc_bk_clear(out);
    return rc;
}

int
svc_bk_list_rows(const nt_host_api *api, nt_req *req, const char *service_id,
                 const char *account_id, int64_t ws, int64_t we, json_t *list)
{
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, api->req_db(req), &st,
                         "SELECT id, service_id, account_id, start_ts, duration, created, hosts, "
                         "event_ids, status, metadata FROM service_bookings WHERE service_id = $1 "
                         "AND account_id = $2 AND start_ts >= $3 AND start_ts <= $4 "
                         "ORDER BY start_ts, created, id",
                         "ttii", service_id, account_id, ws, we);

    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        svc_bk b = {0};

        rc = api->req_check(req);
        if (rc == NT_OK)
            rc = svc_bk_read(api, st, 0, &b);
        if (rc == NT_OK && json_array_append_new(list, svc_bk_json(&b, 0)) != 0)
            rc = NT_ENOMEM;
        svc_bk_clear(&b);
    }
    api->db_finalize(st);
    return rc;
}

int
svc_bk_insert(const nt_host_api *api, nt_db *db, int hold, const svc_bk *b)
{
    char *hosts = ntc_json_dump(b->hosts, 0), *events = NULL, *meta = NULL;
    int rc = hosts != NULL ? NT_OK : NT_ENOMEM;

    if (rc == NT_OK && hold)
        rc = ntc_exec(api, db,
                      "INSERT INTO service_holds (id, service_id, account_id, start_ts, duration, "
                      "created, hosts, expires_at, used) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                      "0)",
                      "tttiiiti", b->id, b->service_id, b->account_id, b->start_ts, b->duration,
                      b->created, hosts, b->expires_at);
    if (rc == NT_OK && !hold) {
        events = ntc_json_dump(b->event_ids, 0);
        meta = ntc_meta_dump(b->metadata);
        rc = events != NULL && meta != NULL ? NT_OK : NT_ENOMEM;
    }
    if (rc == NT_OK && !hold)
        rc = ntc_exec(api, db,
                      "INSERT INTO service_bookings (id, service_id, account_id, start_ts, "
                      "duration, created, hosts, event_ids, status, metadata) VALUES ($1, $2, $3, "
                      "$4, $5, $6, $7, $8, 'confirmed', $9)",
                      "tttiiittt", b->id, b->service_id, b->account_id, b->start_ts, b->duration,
                      b->created, hosts, events, meta);
    free(hosts);
    free(events);
    free(meta);
    return rc;
}

/* Sets o[key] = v (taken; NULL counts as out of memory); keys are ASCII literals and the
 * strings ids, so the UTF-8 checks of json_pack are skipped. Returns err | failure. */
static int
svc_bk_set(json_t *o, const char *key, json_t *v, int err)
{
    return err | (v == NULL) | json_object_set_new_nocheck(o, key, v);
}

json_t *
svc_bk_json(const svc_bk *b, int hold)
{
    json_t *o = json_object();
    int err = o == NULL;

    if (err)
        return NULL;
    err = svc_bk_set(o, "id", json_string_nocheck(b->id), err);
    err = svc_bk_set(o, "serviceId", json_string_nocheck(b->service_id), err);
    err = svc_bk_set(o, "startTs", json_integer(b->start_ts), err);
    err = svc_bk_set(o, "duration", json_integer(b->duration), err);
    err = svc_bk_set(o, "hostUserIds", json_incref(b->hosts), err);
    if (hold) {
        err = svc_bk_set(o, "expiresAt", json_integer(b->expires_at), err);
    } else {
        err = svc_bk_set(o, "eventIds", json_incref(b->event_ids), err);
        err = svc_bk_set(o, "status", json_string_nocheck(b->cancelled ? "cancelled" : "confirmed"),
                         err);
        err = svc_bk_set(o, "metadata", json_incref(b->metadata), err);
        err = svc_bk_set(o, "created", json_integer(b->created), err);
    }
    if (err) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int
svc_bk_reply(const svc_bk *b, int hold, int status, json_t **out)
{
    json_t *v = svc_bk_json(b, hold);

    if (v == NULL)
        return NT_ENOMEM;
    *out = json_object();
    if (*out == NULL || json_object_set_new_nocheck(*out, hold ? "hold" : "booking", v) != 0) {
        json_decref(*out);
        *out = NULL;
        return NT_ENOMEM;
    }
    return status;
}

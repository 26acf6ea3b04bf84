/* Bookings and holds: POST/GET /service/{serviceId}/bookings, GET/DELETE
 * .../bookings/{bookingId}, POST .../holds and DELETE .../holds/{holdId}. Admin only. A
 * booking or hold re-checks its hosts' free time and writes in one write transaction (the
 * store's are serializable); NT_ERETRY from the store goes back to the pipeline, which runs
 * the request again.
 */
#include "ntc.h"
#include "svc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SVC_BK_DAY_MS 86400000LL
#define SVC_BK_MAX_TS 4102444800000LL /* 2100-01-01 */
#define SVC_BK_LIST_DAYS 101
#define SVC_HOLD_TTL_MIN 10
#define SVC_HOLD_TTL_MAX 3600
#define SVC_HOLD_TTL_DEFAULT 300

/* A create body (booking: hold = 0; hold: hold = 1). */
typedef struct svc_bk_body {
    int64_t start_ts, duration, ttl;
    const json_t *hosts; /* borrowed; NULL when not given */
    const char *hold_id; /* borrowed; NULL when not given */
    json_t *metadata;    /* borrowed; NULL when not given */
} svc_bk_body;

/* Reads and checks the types and ranges of a create body (without the lookups). */
static int
svc_bk_body_read(const nt_host_api *api, nt_req *req, int hold, svc_bk_body *b)
{
    const json_t *body = api->req_body(req);
    int given = 0, rc;
    size_t i;
    json_t *v;

    memset(b, 0, sizeof(*b));
    b->ttl = SVC_HOLD_TTL_DEFAULT;
    if (!json_is_object(body))
        return api->fail(req, NT_EINVAL, "body: expected a JSON object");
    rc = api->json_get_int(req, body, "startTs", 1, &b->start_ts, NULL);
    if (rc == NT_OK && (b->start_ts < 0 || b->start_ts > SVC_BK_MAX_TS))
        rc = api->fail(req, NT_EINVAL, "startTs: expected a time from 1970 to 2100");
    if (rc == NT_OK)
        rc = api->json_get_int(req, body, "duration", 1, &b->duration, NULL);
    if (rc == NT_OK && (b->duration < 1 || b->duration > SVC_BK_DAY_MS))
        rc = api->fail(req, NT_EINVAL, "duration: expected 1 .. 86400000 ms");
    if (rc == NT_OK && hold)
        rc = api->json_get_int(req, body, "ttlSeconds", 0, &b->ttl, &given);
    if (rc == NT_OK && hold && (b->ttl < SVC_HOLD_TTL_MIN || b->ttl > SVC_HOLD_TTL_MAX))
        rc = api->fail(req, NT_EINVAL, "ttlSeconds: expected %d .. %d", SVC_HOLD_TTL_MIN,
                       SVC_HOLD_TTL_MAX);
    if (rc == NT_OK && !hold)
        rc = api->json_get_str(req, body, "holdId", 0, &b->hold_id, NULL);
    if (rc == NT_OK && b->hold_id != NULL && !api->uuid_valid(b->hold_id))
        rc = api->fail(req, NT_EINVAL, "holdId: expected a uuid");
    if (rc == NT_OK && !hold)
        rc = api->json_get_metadata(req, body, "metadata", 0, &b->metadata, NULL);
    if (rc != NT_OK)
        return rc;
    b->hosts = json_object_get(body, "hostUserIds");
    if (json_is_null(b->hosts))
        b->hosts = NULL;
    if (b->hosts == NULL)
        return NT_OK;
    if (!json_is_array(b->hosts) || json_array_size(b->hosts) == 0)
        return api->fail(req, NT_EINVAL, "hostUserIds: expected a non-empty array of user ids");
    json_array_foreach(b->hosts, i, v)
    {
        size_t k;
        if (!json_is_string(v))
            return api->fail(req, NT_EINVAL, "hostUserIds[%zu]: expected a user id", i);
        for (k = 0; k < i; k++)
            if (json_equal(v, json_array_get(b->hosts, k)))
                return api->fail(req, NT_EINVAL, "hostUserIds[%zu]: listed twice", i);
    }
    return NT_OK;
}

/* 400 for a listed host that is not a member of s. */
static int
svc_bk_members(const nt_host_api *api, nt_req *req, const svc_service *s, const json_t *hosts)
{
    size_t i;
    json_t *v;

    json_array_foreach(hosts, i, v) if (svc_find_member(s, json_string_value(v)) == NULL) return api
        ->fail(req, NT_EINVAL, "hostUserIds[%zu]: not a member of this service", i);
    return NT_OK;
}

/* The hold named by a booking body: 400 when it belongs to another service or span, 409 when
 * unknown, used or expired. */
static int
svc_bk_hold_use(const nt_host_api *api, nt_req *req, const svc_service *s, const svc_bk_body *b,
                svc_bk *hold)
{
    int rc = svc_bk_load(api, api->req_db(req), 1, b->hold_id, NULL, s->account_id, hold);

    if (rc == NT_ENOTFOUND)
        return api->fail(req, NT_ECONFLICT, "holdId: no hold '%s' (unknown or released)",
                         b->hold_id);
    if (rc != NT_OK)
        return rc;
    if (strcmp(hold->service_id, s->id) != 0)
        return api->fail(req, NT_EINVAL, "holdId: hold '%s' is of another service", b->hold_id);
    if (hold->start_ts != b->start_ts || hold->duration != b->duration)
        return api->fail(req, NT_EINVAL, "holdId: hold '%s' is for another startTs or duration",
                         b->hold_id);
    if (hold->used)
        return api->fail(req, NT_ECONFLICT, "holdId: hold '%s' was already used", b->hold_id);
    if (hold->expires_at <= api->now_ms())
        return api->fail(req, NT_ECONFLICT, "holdId: hold '%s' expired", b->hold_id);
    return NT_OK;
}

/* The booking calendar of member m: its first busy calendar, else its availability
 * calendar; 409 when it has neither. */
static int
svc_bk_calendar(const nt_host_api *api, nt_req *req, const svc_member *m, const char **out)
{
    if (m->n_busy > 0)
        *out = m->busy[0];
    else if (m->plan.kind == SVC_PLAN_CALENDAR)
        *out = m->plan.id;
    else
        return api->fail(req, NT_ECONFLICT,
                         "host '%s' has no booking calendar (no busy calendar and no "
                         "availability calendar)",
                         m->user_id);
    return NT_OK;
}

/* Creates the booking's busy event in each host's booking calendar. */
static int
svc_bk_events(const svc_plugin *p, nt_req *req, const svc_service *s, svc_bk *b)
{
    const nt_host_api *api = p->api;
    json_t *meta = json_deep_copy(b->metadata);
    size_t i;
    json_t *v;
    int rc = meta != NULL ? NT_OK : NT_ENOMEM;

    if (rc == NT_OK && json_object_set_new(meta, "bookingId", json_string(b->id)) != 0)
        rc = NT_ENOMEM;
    if (rc == NT_OK &&
        (!NT_HAS_MEMBER(p->events, nt_events_v1, create_busy) || p->events->create_busy == NULL))
        rc = api->fail(req, NT_ERR, "the events service cannot create a booking's events");
    json_array_foreach(b->hosts, i, v)
    {
        const svc_member *m = svc_find_member(s, json_string_value(v));
        const char *cal = NULL;
        char id[NT_UUID_BUF];
        if (rc != NT_OK)
            break;
        rc = m != NULL
                 ? svc_bk_calendar(api, req, m, &cal)
                 : api->fail(req, NT_ECONFLICT, "host '%s' is no longer a member of this service",
                             json_string_value(v));
        if (rc == NT_OK)
            rc = p->events->create_busy(p->events_state, req, s->account_id, cal, b->start_ts,
                                        b->duration, s->id, meta, id);
        if (rc == NT_ENOTFOUND)
            rc =
                api->fail(req, NT_ECONFLICT, "host '%s': its booking calendar is gone", m->user_id);
        if (rc == NT_OK && json_array_append_new(b->event_ids, json_string(id)) != 0)
            rc = NT_ENOMEM;
    }
    json_decref(meta);
    return rc;
}

/* The atomic step of a booking (hold = 0) or hold (hold = 1), inside one write transaction:
 * load, check, choose the hosts, write. */
static int
svc_bk_write(const svc_plugin *p, nt_req *req, const svc_bk_body *body, int hold, svc_bk *b)
{
    const nt_host_api *api = p->api;
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    svc_bk h = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_load_path_memo(api, req, &s);
    if (rc == NT_OK && body->hosts != NULL)
        rc = svc_bk_members(api, req, &s, body->hosts);
    if (rc == NT_OK && body->hold_id != NULL)
        rc = svc_bk_hold_use(api, req, &s, body, &h);
    if (rc == NT_OK) {
        memcpy(b->service_id, s.id, sizeof(b->service_id));
        memcpy(b->account_id, s.account_id, sizeof(b->account_id));
        rc = svc_bk_choose(p, req, &s, body->hold_id != NULL ? h.hosts : body->hosts,
                           body->hold_id != NULL ? h.id : NULL, b);
    }
    if (rc == NT_OK && !hold)
        rc = svc_bk_events(p, req, &s, b);
    if (rc == NT_OK && body->hold_id != NULL)
        rc =
            ntc_exec(api, db, "UPDATE service_holds SET used = 1 WHERE id = $1 AND account_id = $2",
                     "tt", h.id, s.account_id);
    /* Holds expired a day ago cannot be named in a 409 any more: they go. */
    if (rc == NT_OK && hold)
        rc = ntc_exec(api, db,
                      "DELETE FROM service_holds WHERE service_id = $1 AND account_id = $2 AND "
                      "expires_at < $3",
                      "tti", s.id, s.account_id, b->created - SVC_BK_DAY_MS);
    if (rc == NT_OK)
        rc = svc_bk_insert(api, db, hold, b);
    rc = ntc_tx_end(api, db, rc);
    svc_bk_clear(&h);
    svc_clear(&s);
    return rc;
}

/* POST .../bookings (hold = 0) and POST .../holds (hold = 1). */
static int
svc_bk_new(nt_req *req, void *state, int hold, json_t **out)
{
    const svc_plugin *p = state;
    const nt_host_api *api = p->api;
    svc_bk_body body;
    svc_bk b = {0};
    int rc;

    rc = svc_bk_body_read(api, req, hold, &body);
    if (rc != NT_OK)
        return rc;
    b.start_ts = body.start_ts;
    b.duration = body.duration;
    b.created = api->now_ms();
    b.expires_at = b.created + body.ttl * 1000;
    b.event_ids = json_array();
    /* a reference to the body's (which outlives b); nothing changes it */
    b.metadata = body.metadata != NULL ? json_incref(body.metadata) : json_object();
    if (b.event_ids == NULL || b.metadata == NULL || api->uuid_new(b.id) != NT_OK)
        rc = NT_ENOMEM;
    if (rc == NT_OK)
        rc = svc_bk_write(p, req, &body, hold, &b);
    if (rc == NT_OK)
        rc = svc_bk_reply(&b, hold, 201, out);
    svc_bk_clear(&b);
    return rc;
}

int
svc_bk_create(nt_req *req, void *state, json_t **out)
{
    return svc_bk_new(req, state, 0, out);
}

int
svc_hold_create(nt_req *req, void *state, json_t **out)
{
    return svc_bk_new(req, state, 1, out);
}

/* Reads the integer query parameter `name` (required). */
static int
svc_bk_query_ts(const nt_host_api *api, nt_req *req, const char *name, int64_t *out)
{
    const char *text = api->req_query(req, name);
    char *end = NULL;
    long long v;

    if (text == NULL)
        return api->fail(req, NT_EINVAL, "%s: required query parameter is missing", name);
    errno = 0;
    v = strtoll(text, &end, 10);
    if (*text == '\0' || errno != 0 || *end != '\0' || v < 0 || v > SVC_BK_MAX_TS)
        return api->fail(req, NT_EINVAL, "%s: expected a time in ms from 1970 to 2100, got '%.40s'",
                         name, text);
    *out = v;
    return NT_OK;
}

int
svc_bk_list(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    svc_service s = {0};
    json_t *list = NULL;
    int64_t ws = 0, we = 0;
    int rc;

    rc = svc_bk_query_ts(api, req, "startTs", &ws);
    if (rc == NT_OK)
        rc = svc_bk_query_ts(api, req, "endTs", &we);
    if (rc == NT_OK && we < ws)
        rc = api->fail(req, NT_EINVAL, "endTs: must not be before startTs");
    if (rc == NT_OK && we - ws > SVC_BK_LIST_DAYS * SVC_BK_DAY_MS)
        rc =
            api->fail(req, NT_EINVAL, "endTs: the window is longer than %d days", SVC_BK_LIST_DAYS);
    if (rc == NT_OK)
        rc = svc_load_path(api, req, &s);
    if (rc == NT_OK)
        rc = (list = json_array()) != NULL ? NT_OK : NT_ENOMEM;
    if (rc == NT_OK)
        rc = svc_bk_list_rows(api, req, s.id, s.account_id, ws, we, list);
    if (rc == NT_OK) {
        *out = json_pack("{s:O}", "bookings", list);
        rc = *out != NULL ? 200 : NT_ENOMEM;
    }
    json_decref(list);
    svc_clear(&s);
    return rc;
}

/* Loads the path's booking (hold = 0) or hold in the admin's account; 404 naming it. */
static int
svc_bk_load_path(const nt_host_api *api, nt_req *req, int hold, svc_bk *b)
{
    const char *service = api->req_param(req, "serviceId");
    const char *id = api->req_param(req, hold ? "holdId" : "bookingId");
    int rc = svc_bk_load(api, api->req_db(req), hold, id, service, api->req_account(req), b);

    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "%s: no %s '%s' of service '%s'", hold ? "holdId" : "bookingId",
                       hold ? "hold" : "booking", id, service);
    return rc;
}

int
svc_bk_get(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    svc_bk b = {0};
    int rc = svc_bk_load_path(api, req, 0, &b);

    if (rc == NT_OK)
        rc = svc_bk_reply(&b, 0, 200, out);
    svc_bk_clear(&b);
    return rc;
}

/* Deletes the booking's events through the events service. */
static int
svc_bk_drop_events(const svc_plugin *p, nt_req *req, const svc_bk *b)
{
    size_t n = json_array_size(b->event_ids), i;
    const char **ids = calloc(n + 1, sizeof(*ids));
    json_t *v;
    int rc = ids != NULL ? NT_OK : NT_ENOMEM;

    if (rc == NT_OK &&
        (!NT_HAS_MEMBER(p->events, nt_events_v1, delete_ids) || p->events->delete_ids == NULL))
        rc = p->api->fail(req, NT_ERR, "the events service cannot delete a booking's events");
    json_array_foreach(b->event_ids, i, v) if (ids != NULL) ids[i] =
        json_is_string(v) ? json_string_value(v) : "";
    if (rc == NT_OK)
        rc = p->events->delete_ids(p->events_state, req, b->account_id, ids, n);
    free(ids);
    return rc;
}

int
svc_bk_cancel(nt_req *req, void *state, json_t **out)
{
    const svc_plugin *p = state;
    const nt_host_api *api = p->api;
    nt_db *db = api->req_db(req);
    svc_bk b = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_bk_load_path(api, req, 0, &b);
    if (rc == NT_OK && !b.cancelled) {
        rc = svc_bk_drop_events(p, req, &b);
        if (rc == NT_OK)
            rc = ntc_exec(api, db,
                          "UPDATE service_bookings SET status = 'cancelled' WHERE id = $1 AND "
                          "account_id = $2",
                          "tt", b.id, b.account_id);
        b.cancelled = 1;
    }
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = svc_bk_reply(&b, 0, 200, out);
    svc_bk_clear(&b);
    return rc;
}

int
svc_hold_release(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    nt_db *db = api->req_db(req);
    svc_bk h = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_bk_load_path(api, req, 1, &h);
    if (rc == NT_OK)
        rc = ntc_exec(api, db, "DELETE FROM service_holds WHERE id = $1 AND account_id = $2", "tt",
                      h.id, h.account_id);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = svc_bk_reply(&h, 1, 200, out);
    svc_bk_clear(&h);
    return rc;
}

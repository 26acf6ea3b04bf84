/* Booking intend: POST /service/{serviceId}/booking-intend picks the hosts of a
 * booking at a slot (the listed ones; round robin by availability or by equal distribution;
 * every member for collective and group services, counting group reservations), and DELETE
 * .../booking-intend?timestamp=ts gives a group seat back. Admin only.
 */
#include "ntc.h"
#include "svc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SVC_DAY_MS 86400000LL
#define SVC_EQUAL_WINDOW_MS (61LL * SVC_DAY_MS)

/* A JSON array of user ids as a filter. */
static int
svc_in_array(const void *arg, const char *user_id)
{
    const json_t *a = arg;
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) if (json_is_string(v) &&
                                    strcmp(json_string_value(v), user_id) == 0) return 1;
    return 0;
}

/* The index of the slot starting at ts, or sl->n. */
static size_t
svc_slot_at(const svc_slots *sl, int64_t ts)
{
    for (size_t i = 0; i < sl->n; i++)
        if (sl->start[i] == ts)
            return i;
    return sl->n;
}

/* 1 when the slot i holds the host named user_id. */
static int
svc_slot_has(const svc_slots *sl, size_t i, const char *const *ids, const char *user_id)
{
    for (size_t k = sl->first[i]; k < sl->first[i + 1]; k++)
        if (strcmp(ids[sl->host[k]], user_id) == 0)
            return 1;
    return 0;
}

int
svc_rr_keys(const svc_plugin *p, nt_req *req, const svc_service *s, const char *const *users,
            size_t n, int64_t *keys)
{
    const nt_host_api *api = p->api;
    int64_t now = api->now_ms();
    int equal = s->multi.kind == SVC_RR_EQUAL;

    if (!NT_HAS_MEMBER(p->events, nt_events_v1, service_stats) || p->events->service_stats == NULL)
        return api->fail(req, NT_ERR, "the events service cannot count a service's events");
    return p->events->service_stats(p->events_state, req, s->account_id, s->id, users, n, now,
                                    now + SVC_EQUAL_WINDOW_MS, equal ? NULL : keys,
                                    equal ? keys : NULL);
}

int
svc_rr_pick(const nt_host_api *api, size_t k, size_t *ties, size_t *chosen)
{
    uint32_t r = 0;
    int rc = NT_OK;

    (*ties)++;
    if (*ties > 1)
        rc = api->random_bytes(&r, sizeof(r));
    if (rc == NT_OK && (*ties == 1 || r % *ties == 0))
        *chosen = k;
    return rc;
}

/* Round robin: among the hosts of slot i the one with the smallest key (svc_rr_keys), ties
 * at random. Writes the chosen user id. */
int
svc_round_robin(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_slots *sl,
                size_t i, const char *const *ids, const char **chosen)
{
    size_t n = sl->first[i + 1] - sl->first[i], ties = 0, pick = 0;
    const char **users = calloc(n, sizeof(*users));
    int64_t *keys = calloc(n, sizeof(*keys)), best = 0;
    int rc = users != NULL && keys != NULL ? NT_OK : NT_ENOMEM;

    for (size_t k = 0; rc == NT_OK && k < n; k++)
        users[k] = ids[sl->host[sl->first[i] + k]];
    if (rc == NT_OK)
        rc = svc_rr_keys(p, req, s, users, n, keys);
    /* Reservoir choice among the smallest keys: each tie wins with probability 1/ties. */
    for (size_t k = 0; rc == NT_OK && k < n; k++) {
        if (ties > 0 && keys[k] > best)
            continue;
        if (ties == 0 || keys[k] < best) {
            best = keys[k];
            ties = 0;
        }
        rc = svc_rr_pick(p->api, k, &ties, &pick);
    }
    if (rc == NT_OK && n > 0)
        *chosen = users[pick];
    free(users);
    free(keys);
    return rc;
}

/* Group services: reads and increments the reservation count of (service, ts)
 * in one write transaction; *create = (count + 1 >= n). */
static int
svc_reserve(const nt_host_api *api, nt_db *db, const svc_service *s, int64_t ts, int *create)
{
    nt_stmt *st = NULL;
    int64_t r = 0;
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = ntc_prepare(api, db, &st,
                     "SELECT count FROM service_reservations WHERE service_id = $1 AND ts = $2",
                     "ti", s->id, ts);
    if (rc == NT_OK) {
        rc = ntc_row(api, st);
        if (rc == NT_OK)
            r = api->db_col_int64(st, 0);
        else if (rc == NT_ENOTFOUND)
            rc = NT_OK;
    }
    api->db_finalize(st);
    if (rc == NT_OK)
        rc = ntc_exec(
            api, db,
            "INSERT INTO service_reservations (service_id, ts, count) VALUES ($1, $2, 1) "
            "ON CONFLICT (service_id, ts) DO UPDATE SET count = service_reservations.count + 1",
            "ti", s->id, ts);
    rc = ntc_tx_end(api, db, rc);
    *create = r + 1 >= s->multi.group;
    return rc;
}

/* Appends the User objects of the named users to a new array in *out. */
static int
svc_users_json(const svc_plugin *p, nt_req *req, const char *const *names, size_t n, json_t **out)
{
    const nt_host_api *api = p->api;
    int rc = NT_OK;

    *out = json_array();
    if (*out == NULL)
        return NT_ENOMEM;
    if (!NT_HAS_MEMBER(p->users, nt_users_v1, get) || p->users->get == NULL)
        return api->fail(req, NT_ERR, "the users service cannot print users");
    for (size_t i = 0; rc == NT_OK && i < n; i++) {
        json_t *u = NULL;
        rc = p->users->get(p->users_state, api->req_db(req), api->req_account(req), names[i], &u);
        if (rc == NT_OK && json_array_append_new(*out, u) != 0)
            rc = NT_ENOMEM;
    }
    return rc;
}

/* Reads and checks the body: timestamp, duration, interval, hostUserIds (members only). */
static int
svc_intend_body(const nt_host_api *api, nt_req *req, const svc_service *s, int64_t *ts,
                int64_t *duration, int64_t *interval, const json_t **hosts)
{
    const json_t *body = api->req_body(req);
    size_t i;
    json_t *v;
    int rc;

    rc = api->json_get_int(req, body, "timestamp", 1, ts, NULL);
    if (rc == NT_OK)
        rc = api->json_get_int(req, body, "duration", 1, duration, NULL);
    if (rc == NT_OK)
        rc = api->json_get_int(req, body, "interval", 1, interval, NULL);
    if (rc == NT_OK)
        rc = svc_check_interval(api, req, *interval);
    if (rc == NT_OK && (*ts < 0 || *ts > 4102444800000LL))
        rc = api->fail(req, NT_EINVAL, "timestamp: expected a time from 1970 to 2100");
    if (rc != NT_OK)
        return rc;
    *hosts = json_object_get(body, "hostUserIds");
    if (*hosts == NULL || json_is_null(*hosts)) {
        *hosts = NULL;
        return NT_OK;
    }
    if (!json_is_array(*hosts))
        return api->fail(req, NT_EINVAL, "hostUserIds: expected an array of user ids");
    json_array_foreach(*hosts, i,
                       v) if (!json_is_string(v) ||
                              svc_find_member(s, json_string_value(v)) == NULL) return api
        ->fail(req, NT_EINVAL, "hostUserIds[%zu]: not a member of this service", i);
    return NT_OK;
}

/* Picks the hosts of slot `at` (the original's booking-intend choice) into names (n_names). */
static int
svc_pick(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_slots *sl, size_t at,
         const char *const *ids, const json_t *hosts, const char **names, size_t *n_names,
         int64_t ts, int *create)
{
    const nt_host_api *api = p->api;
    size_t i;
    json_t *v;

    *n_names = 0;
    *create = 1;
    if (at == sl->n)
        return api->fail(req, NT_EINVAL, "timestamp: no host is available at %lld", (long long)ts);
    if (hosts != NULL) {
        json_array_foreach(hosts, i, v)
        {
            if (!svc_slot_has(sl, at, ids, json_string_value(v)))
                return api->fail(req, NT_EINVAL, "hostUserIds[%zu]: not available at %lld", i,
                                 (long long)ts);
            names[(*n_names)++] = json_string_value(v);
        }
        return NT_OK;
    }
    if (svc_multi_all(&s->multi)) {
        for (i = 0; i < s->n; i++)
            names[(*n_names)++] = s->members[i].user_id;
        return s->multi.kind == SVC_GROUP ? svc_reserve(api, api->req_db(req), s, ts, create)
                                          : NT_OK;
    }
    *n_names = 1;
    return svc_round_robin(p, req, s, sl, at, ids, &names[0]);
}

int
svc_intend(nt_req *req, void *state, json_t **out)
{
    const svc_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *id = api->req_param(req, "serviceId");
    const char **ids = NULL, **names = NULL;
    int64_t ts, duration, interval, s0;
    const json_t *hosts = NULL;
    json_t *users = NULL;
    svc_service s = {0};
    svc_slots sl = {0};
    size_t n_names = 0;
    int create = 1, rc;

    rc = svc_load(api, api->req_db(req), id, api->req_account(req), &s);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "serviceId: no service '%s'", id);
    if (rc == NT_OK)
        rc = svc_intend_body(api, req, &s, &ts, &duration, &interval, &hosts);
    if (rc != NT_OK)
        goto out;
    /* The UTC date of the timestamp and the next one. */
    s0 = ev_floor_div(ts, SVC_DAY_MS) * SVC_DAY_MS;
    if (!(s.multi.kind == SVC_GROUP && s.multi.group == 0))
        rc = svc_compute_slots(p, req, &s, s0, s0 + 2 * SVC_DAY_MS, interval, duration,
                               hosts != NULL ? svc_in_array : NULL, hosts, &sl, &ids);
    names = calloc(s.n + 1, sizeof(*names));
    if (rc == NT_OK && names == NULL)
        rc = NT_ENOMEM;
    if (rc == NT_OK)
        rc = svc_pick(p, req, &s, &sl, svc_slot_at(&sl, ts), ids, hosts, names, &n_names, ts,
                      &create);
    if (rc == NT_OK)
        rc = svc_users_json(p, req, names, n_names, &users);
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:O,s:b}", "selectedHosts", users, "createEventForHosts", create);
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    json_decref(users);
    free(names);
    free(ids);
    svc_slots_clear(&sl);
    svc_clear(&s);
    return rc;
}

int
svc_intend_remove(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    const char *id = api->req_param(req, "serviceId");
    const char *text = api->req_query(req, "timestamp");
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    char *end = NULL;
    long long ts;
    int rc;

    if (text == NULL)
        return api->fail(req, NT_EINVAL, "timestamp: required query parameter is missing");
    errno = 0;
    ts = strtoll(text, &end, 10);
    if (*text == '\0' || errno != 0 || *end != '\0')
        return api->fail(req, NT_EINVAL, "timestamp: expected an integer, got '%.40s'", text);
    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_load(api, db, id, api->req_account(req), &s);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "serviceId: no service '%s'", id);
    if (rc == NT_OK)
        rc = ntc_exec(api, db,
                      "UPDATE service_reservations SET count = count - 1 "
                      "WHERE service_id = $1 AND ts = $2 AND count > 0",
                      "ti", s.id, (int64_t)ts);
    rc = ntc_tx_end(api, db, rc);
    svc_clear(&s);
    if (rc != NT_OK)
        return rc;
    *out = json_pack("{s:s}", "message", "Booking intend removed");
    return *out != NULL ? 200 : NT_ENOMEM;
}

/* The host choice of a booking or a hold: each candidate host's free time
 * for the span comes from the free-time computation of the slot query (svc_member_free), with the
 * active holds of other requests as busy; the hosts follow the listed ones or multiPerson.
 * Runs inside the caller's write transaction, so nothing can interleave with the write that
 * follows.
 */
#include "ntc.h"
#include "svc.h"

#include <stdlib.h>
#include <string.h>

/* Why a host is not free: 0 free, 1 outside its availability or booking-time limits, 2 taken
 * (busy events, buffers or another hold). */
static int
svc_bk_host_state(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_member *m,
                  const svc_bk *b, const char *skip_hold, int *why)
{
    int64_t s0 = b->start_ts, e0 = b->start_ts + b->duration;
    ev_ilist l = {0};
    int in_avail = 0, rc;

    *why = 2;
    rc = p->api->req_check(req);
    if (rc == NT_OK)
        rc = svc_member_free(p, req, s, m, s0, e0, skip_hold, &in_avail, &l);
    if (rc != NT_OK)
        return rc;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].start <= s0 && e0 <= l.v[i].end)
            *why = 0;
    if (*why != 0 && !in_avail)
        *why = 1;
    ev_ilist_free(&l);
    return NT_OK;
}

/* The 409 of a host that is not free. */
static int
svc_bk_refuse(const nt_host_api *api, nt_req *req, const char *user_id, int why, int64_t ts)
{
    if (why == 1)
        return api->fail(req, NT_ECONFLICT,
                         "host '%s' is not available at %lld: outside its availability or "
                         "booking-time limits",
                         user_id, (long long)ts);
    return api->fail(req, NT_ECONFLICT,
                     "host '%s' is not free at %lld: the time is taken (an event, a buffer or "
                     "a hold)",
                     user_id, (long long)ts);
}

/* Group services: the confirmed bookings starting at b->start_ts (*n) and whether one of them
 * has b's duration (*same). */
static int
svc_bk_seats(const nt_host_api *api, nt_db *db, const svc_service *s, const svc_bk *b, int64_t *n,
             int *same)
{
    nt_stmt *st = NULL;
    int rc;

    rc = ntc_prepare(api, db, &st,
                     "SELECT COUNT(*), COALESCE(SUM(CASE WHEN duration = $3 THEN 1 ELSE 0 END), "
                     "0) FROM service_bookings WHERE service_id = $1 AND start_ts = $2 "
                     "AND status = 'confirmed' AND account_id = $4",
                     "tiit", s->id, b->start_ts, b->duration, s->account_id);
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK) {
        *n = api->db_col_int64(st, 0);
        *same = api->db_col_int64(st, 1) > 0;
    }
    api->db_finalize(st);
    return rc;
}

/* Every host in `names` must be free. */
static int
svc_bk_all_free(const svc_plugin *p, nt_req *req, const svc_service *s, const json_t *names,
                const char *skip_hold, const svc_bk *b)
{
    size_t i;
    json_t *v;

    json_array_foreach(names, i, v)
    {
        const svc_member *m = svc_find_member(s, json_string_value(v));
        int why = 0, rc;
        if (m == NULL)
            return p->api->fail(req, NT_EINVAL, "hostUserIds[%zu]: not a member of this service",
                                i);
        rc = svc_bk_host_state(p, req, s, m, b, skip_hold, &why);
        if (rc != NT_OK)
            return rc;
        if (why != 0)
            return svc_bk_refuse(p->api, req, m->user_id, why, b->start_ts);
    }
    return NT_OK;
}

/* Orders member indexes by their round-robin key, then by index. */
typedef struct svc_bk_rank {
    int64_t key;
    size_t i;
} svc_bk_rank;

static int
svc_bk_rank_cmp(const void *a, const void *b)
{
    const svc_bk_rank *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Round robin: one free member, chosen as booking intend does among the free ones (the
 * smallest round-robin key, ties at random). The members are ranked by key first and their
 * free time is computed one tie group at a time: the first group with a free member decides,
 * so usually one member's free time is read instead of every member's. */
static int
svc_bk_one(const svc_plugin *p, nt_req *req, const svc_service *s, const char *skip_hold, svc_bk *b)
{
    const char **ids = calloc(s->n + 1, sizeof(*ids));
    int64_t *keys = calloc(s->n + 1, sizeof(*keys));
    svc_bk_rank *rank = calloc(s->n + 1, sizeof(*rank));
    int64_t start = b->start_ts;
    size_t chosen = 0, ties = 0;
    int worst = 1, rc = ids != NULL && keys != NULL && rank != NULL ? NT_OK : NT_ENOMEM;

    for (size_t i = 0; rc == NT_OK && i < s->n; i++)
        ids[i] = s->members[i].user_id;
    if (rc == NT_OK && s->n > 0)
        rc = svc_rr_keys(p, req, s, ids, s->n, keys);
    for (size_t i = 0; rc == NT_OK && i < s->n; i++)
        rank[i] = (svc_bk_rank){keys[i], i};
    if (rc == NT_OK)
        qsort(rank, s->n, sizeof(*rank), svc_bk_rank_cmp);
    for (size_t g = 0; rc == NT_OK && g < s->n && ties == 0;) {
        size_t end = g;
        while (end < s->n && rank[end].key == rank[g].key)
            end++;
        for (; rc == NT_OK && g < end; g++) {
            int why = 0;
            rc = svc_bk_host_state(p, req, s, &s->members[rank[g].i], b, skip_hold, &why);
            if (rc == NT_OK && why == 0)
                rc = svc_rr_pick(p->api, rank[g].i, &ties, &chosen);
            else if (rc == NT_OK && why == 2)
                worst = 2;
        }
    }
    if (rc == NT_OK && ties == 0)
        rc = s->n == 0 ? p->api->fail(req, NT_ECONFLICT, "the service has no members")
             : worst == 2
                 ? p->api->fail(req, NT_ECONFLICT, "no host is free at %lld: the time is taken",
                                (long long)start)
                 : p->api->fail(req, NT_ECONFLICT,
                                "no host is available at %lld: outside every host's "
                                "availability or booking-time limits",
                                (long long)start);
    if (rc == NT_OK && json_array_append_new(b->hosts, json_string(ids[chosen])) != 0)
        rc = NT_ENOMEM;
    free(ids);
    free(keys);
    free(rank);
    return rc;
}

/* The hosts of the group session b joins (a confirmed booking with b's start and duration)
 * in *hosts (a new reference). */
static int
svc_bk_session_hosts(const nt_host_api *api, nt_db *db, const svc_service *s, const svc_bk *b,
                     json_t **hosts)
{
    nt_stmt *st = NULL;
    int rc;

    *hosts = NULL;
    rc = ntc_prepare(api, db, &st,
                     "SELECT hosts FROM service_bookings WHERE service_id = $1 AND start_ts = $2 "
                     "AND duration = $3 AND status = 'confirmed' AND account_id = $4 LIMIT 1",
                     "tiit", s->id, b->start_ts, b->duration, s->account_id);
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK && (*hosts = svc_bk_hosts_parse(api->db_col_text(st, 0))) == NULL)
        rc = NT_ENOMEM;
    api->db_finalize(st);
    return rc;
}

/* 1 when the arrays a and b name the same hosts (in any order). */
static int
svc_bk_same_hosts(const json_t *a, const json_t *b)
{
    size_t i;
    json_t *v;

    if (json_array_size(a) != json_array_size(b))
        return 0;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || !svc_bk_hosts_has(b, json_string_value(v)))
            return 0;
    }
    return 1;
}

/* A group seat at a session already booked joins it with the session's hosts: the time is the
 * group's, so they are not free any more by construction. Hosts listed in the request must be
 * the session's (other hosts were never checked to be free). */
static int
svc_bk_join(const svc_plugin *p, nt_req *req, const svc_service *s, const json_t *listed, svc_bk *b)
{
    const nt_host_api *api = p->api;
    json_t *hosts = NULL;
    int rc = svc_bk_session_hosts(api, api->req_db(req), s, b, &hosts);

    if (rc == NT_OK && listed != NULL && !svc_bk_same_hosts(listed, hosts))
        rc = api->fail(req, NT_ECONFLICT,
                       "hostUserIds: the session at %lld is already booked with other hosts; "
                       "leave hostUserIds out or list the session's hosts",
                       (long long)b->start_ts);
    if (rc == NT_OK) {
        json_decref(b->hosts);
        b->hosts = hosts;
        hosts = NULL;
    }
    json_decref(hosts);
    return rc;
}

int
svc_bk_choose(const svc_plugin *p, nt_req *req, const svc_service *s, const json_t *listed,
              const char *skip_hold, svc_bk *b)
{
    const nt_host_api *api = p->api;
    int64_t seats = 0;
    int same = 0, rc = NT_OK;

    json_decref(b->hosts);
    b->hosts = json_array();
    if (b->hosts == NULL)
        return NT_ENOMEM;
    if (s->multi.kind == SVC_GROUP) {
        rc = svc_bk_seats(api, api->req_db(req), s, b, &seats, &same);
        if (rc == NT_OK && seats >= s->multi.group)
            return api->fail(req, NT_ECONFLICT,
                             "the group is full: %lld of %lld seats at %lld are booked",
                             (long long)seats, (long long)s->multi.group, (long long)b->start_ts);
        if (rc != NT_OK)
            return rc;
    }
    if (listed != NULL) {
        if (json_array_extend(b->hosts, (json_t *)listed) != 0)
            return NT_ENOMEM;
    } else if (svc_multi_all(&s->multi)) {
        for (size_t i = 0; i < s->n; i++)
            if (json_array_append_new(b->hosts, json_string(s->members[i].user_id)) != 0)
                return NT_ENOMEM;
        if (s->n == 0)
            return api->fail(req, NT_ECONFLICT, "the service has no members");
    } else {
        return svc_bk_one(p, req, s, skip_hold, b);
    }
    if (s->multi.kind == SVC_GROUP && same)
        return svc_bk_join(p, req, s, listed, b);
    return svc_bk_all_free(p, req, s, b->hosts, skip_hold, b);
}

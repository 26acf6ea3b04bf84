/* Services and memberships as stored (tables service_services, service_users, service_busy):
 * loading one service with its members, writing rows back, and the wire objects
 * (both the original's and the published client's field names).
 */
#include "ntc.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char svc_sql_by_id[] =
    "SELECT id, account_id, multi_person, metadata FROM service_services WHERE id = $1";
static const char svc_sql_by_account[] = "SELECT id, account_id, multi_person, metadata "
                                         "FROM service_services WHERE id = $1 AND account_id = $2";
static const char svc_sql_members[] =
    "SELECT user_id, avail_calendar_id, avail_schedule_id, buffer_before, buffer_after, "
    "closest, furthest FROM service_users WHERE service_id = $1 ORDER BY created, user_id";
static const char svc_sql_busy[] = "SELECT user_id, calendar_id FROM service_busy "
                                   "WHERE service_id = $1 ORDER BY user_id, seq, calendar_id";

void
svc_clear(svc_service *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->members[i].busy);
    free(s->members);
    json_decref(s->metadata);
    memset(s, 0, sizeof(*s));
}

svc_member *
svc_find_member(const svc_service *s, const char *user_id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->members[i].user_id, user_id) == 0)
            return &s->members[i];
    return NULL;
}

/* Copies a UUID column into out; NT_ERR when it is NULL or too long. */
static int
svc_col_uuid(const nt_host_api *api, nt_stmt *st, int col, char out[NT_UUID_BUF])
{
    const char *v = api->db_col_text(st, col);

    if (v == NULL || strlen(v) > NT_UUID_LEN)
        return NT_ERR;
    snprintf(out, NT_UUID_BUF, "%s", v);
    return NT_OK;
}

/* Reads the service row of st. */
static int
svc_read_service(const nt_host_api *api, nt_stmt *st, svc_service *s)
{
    const char *mp = api->db_col_text(st, 2);
    json_t *mpj = mp != NULL ? json_loads(mp, 0, NULL) : NULL;
    char err[128];
    int rc;

    rc = svc_col_uuid(api, st, 0, s->id);
    if (rc == NT_OK)
        rc = svc_col_uuid(api, st, 1, s->account_id);
    if (rc == NT_OK && (mpj == NULL || svc_multi_parse(mpj, &s->multi, err, sizeof(err)) != NT_OK))
        rc = NT_ERR;
    json_decref(mpj);
    if (rc == NT_OK) {
        s->metadata = ntc_meta_parse(api->db_col_text(st, 3));
        if (s->metadata == NULL)
            rc = NT_ENOMEM;
    }
    return rc;
}

/* Appends the member of the current row of st. */
static int
svc_read_member(const nt_host_api *api, nt_stmt *st, svc_service *s, size_t *cap)
{
    svc_member *m;

    if (s->n == *cap) {
        size_t grown = *cap != 0 ? *cap * 2 : 4;
        svc_member *v = realloc(s->members, grown * sizeof(*v));
        if (v == NULL)
            return NT_ENOMEM;
        s->members = v;
        *cap = grown;
    }
    m = &s->members[s->n];
    memset(m, 0, sizeof(*m));
    if (svc_col_uuid(api, st, 0, m->user_id) != NT_OK)
        return NT_ERR;
    s->n++;
    if (!api->db_col_is_null(st, 1)) {
        m->plan.kind = SVC_PLAN_CALENDAR;
        if (svc_col_uuid(api, st, 1, m->plan.id) != NT_OK)
            return NT_ERR;
    } else if (!api->db_col_is_null(st, 2)) {
        m->plan.kind = SVC_PLAN_SCHEDULE;
        if (svc_col_uuid(api, st, 2, m->plan.id) != NT_OK)
            return NT_ERR;
    }
    m->before = api->db_col_int64(st, 3);
    m->after = api->db_col_int64(st, 4);
    m->closest = api->db_col_int64(st, 5);
    m->furthest = api->db_col_is_null(st, 6) ? -1 : api->db_col_int64(st, 6);
    return NT_OK;
}

/* Adds calendar `id` to the busy list of the member of `user_id` (rows of removed members are
 * ignored). */
static int
svc_attach_busy(svc_service *s, const char *user_id, const char *id)
{
    svc_member *m = svc_find_member(s, user_id);
    char(*v)[NT_UUID_BUF];

    if (m == NULL || strlen(id) > NT_UUID_LEN)
        return m == NULL ? NT_OK : NT_ERR;
    v = realloc(m->busy, (m->n_busy + 1) * sizeof(*v));
    if (v == NULL)
        return NT_ENOMEM;
    m->busy = v;
    snprintf(m->busy[m->n_busy++], NT_UUID_BUF, "%s", id);
    return NT_OK;
}

/* Loads the members and their busy calendars of s. */
static int
svc_load_members(const nt_host_api *api, nt_db *db, svc_service *s)
{
    nt_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    rc = ntc_prepare(api, db, &st, svc_sql_members, "t", s->id);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1)
        rc = svc_read_member(api, st, s, &cap);
    api->db_finalize(st);
    st = NULL;
    if (rc != 0)
        return rc;
    rc = ntc_prepare(api, db, &st, svc_sql_busy, "t", s->id);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        const char *u = api->db_col_text(st, 0), *c = api->db_col_text(st, 1);
        rc = u != NULL && c != NULL ? svc_attach_busy(s, u, c) : NT_ERR;
    }
    api->db_finalize(st);
    return rc;
}

int
svc_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
         svc_service *out)
{
    nt_stmt *st = NULL;
    int rc;

    svc_clear(out);
    if (id == NULL || !api->uuid_valid(id))
        return NT_ENOTFOUND;
    if (account_id != NULL)
        rc = ntc_prepare(api, db, &st, svc_sql_by_account, "tt", id, account_id);
    else
        rc = ntc_prepare(api, db, &st, svc_sql_by_id, "t", id);
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK)
        rc = svc_read_service(api, st, out);
    api->db_finalize(st);
    if (rc == NT_OK)
        rc = svc_load_members(api, db, out);
    if (rc != NT_OK)
        svc_clear(out);
    return rc;
}

json_t *
svc_member_json(const svc_service *s, const svc_member *m)
{
    json_t *o = json_object(), *busy = json_array();
    json_t *furthest = m->furthest >= 0 ? json_integer(m->furthest) : json_null();
    int rc = o == NULL || busy == NULL;

    for (size_t i = 0; rc == 0 && i < m->n_busy; i++)
        rc |= json_array_append_new(busy, json_string(m->busy[i]));
    if (rc == 0) {
        rc |= json_object_set_new(o, "userId", json_string(m->user_id));
        rc |= json_object_set_new(o, "serviceId", json_string(s->id));
        rc |= json_object_set_new(o, "availability", svc_plan_json(&m->plan));
        rc |= json_object_set_new(o, "bufferBefore", json_integer(m->before));
        rc |= json_object_set_new(o, "bufferAfter", json_integer(m->after));
        rc |= json_object_set_new(o, "closestBookingTime", json_integer(m->closest));
        rc |= json_object_set(o, "furthestBookingTime", furthest);
        rc |= json_object_set_new(o, "availibility", svc_plan_json(&m->plan));
        rc |= json_object_set_new(o, "buffer", json_integer(m->after));
        rc |= json_object_set(o, "busy", busy);
    }
    json_decref(furthest);
    json_decref(busy);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
svc_json(const svc_service *s)
{
    json_t *users = json_array(), *o = NULL;
    int rc = users == NULL;

    for (size_t i = 0; rc == 0 && i < s->n; i++)
        rc |= json_array_append_new(users, svc_member_json(s, &s->members[i]));
    if (rc == 0)
        o = json_pack("{s:s,s:s,s:O,s:o,s:O}", "id", s->id, "accountId", s->account_id, "metadata",
                      s->metadata, "multiPerson", svc_multi_json(&s->multi), "users", users);
    json_decref(users);
    return o;
}

int
svc_reply(const svc_service *s, int status, json_t **out)
{
    *out = json_pack("{s:o}", "service", svc_json(s));
    return *out != NULL ? status : NT_ENOMEM;
}

int
svc_store(const nt_host_api *api, nt_db *db, const svc_service *s, int insert)
{
    json_t *mp = svc_multi_json(&s->multi);
    char *mp_text = mp != NULL ? json_dumps(mp, JSON_COMPACT) : NULL;
    char *meta = ntc_meta_dump(s->metadata);
    int rc = NT_ENOMEM;

    if (mp_text != NULL && meta != NULL && insert)
        rc = ntc_exec(api, db,
                      "INSERT INTO service_services (id, account_id, multi_person, metadata, "
                      "created) VALUES ($1, $2, $3, $4, $5)",
                      "tttti", s->id, s->account_id, mp_text, meta, api->now_ms());
    else if (mp_text != NULL && meta != NULL)
        rc = ntc_exec(api, db,
                      "UPDATE service_services SET multi_person = $2, metadata = $3 WHERE id = $1",
                      "ttt", s->id, mp_text, meta);
    if (rc == NT_OK)
        rc = ntc_meta_store(api, db, "service_metadata", s->id, s->account_id, s->metadata);
    json_decref(mp);
    free(mp_text);
    free(meta);
    return rc;
}

int
svc_member_store(const nt_host_api *api, nt_db *db, const char *service_id, const char *account_id,
                 const svc_member *m, int insert)
{
    static const char ins[] =
        "INSERT INTO service_users (service_id, user_id, account_id, avail_calendar_id, "
        "avail_schedule_id, buffer_before, buffer_after, closest, furthest, created) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    static const char upd[] =
        "UPDATE service_users SET avail_calendar_id = $3, avail_schedule_id = $4, "
        "buffer_before = $5, buffer_after = $6, closest = $7, furthest = $8 "
        "WHERE service_id = $1 AND user_id = $2";
    const char *cal = m->plan.kind == SVC_PLAN_CALENDAR ? m->plan.id : NULL;
    const char *sch = m->plan.kind == SVC_PLAN_SCHEDULE ? m->plan.id : NULL;
    int64_t now = api->now_ms();

    if (insert && m->furthest >= 0)
        return ntc_exec(api, db, ins, "tttttiiiii", service_id, m->user_id, account_id, cal, sch,
                        m->before, m->after, m->closest, m->furthest, now);
    if (insert)
        return ntc_exec(api, db, ins, "tttttiiini", service_id, m->user_id, account_id, cal, sch,
                        m->before, m->after, m->closest, now);
    if (m->furthest >= 0)
        return ntc_exec(api, db, upd, "ttttiiii", service_id, m->user_id, cal, sch, m->before,
                        m->after, m->closest, m->furthest);
    return ntc_exec(api, db, upd, "ttttiiin", service_id, m->user_id, cal, sch, m->before, m->after,
                    m->closest);
}

int
svc_busy_store(const nt_host_api *api, nt_db *db, const char *service_id, const char *user_id,
               const char *calendar_id, int add)
{
    if (add)
        return ntc_exec(api, db,
                        "INSERT INTO service_busy (service_id, user_id, calendar_id, seq) "
                        "SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1 FROM service_busy "
                        "WHERE service_id = $1 AND user_id = $2",
                        "ttt", service_id, user_id, calendar_id);
    return ntc_exec_changed(api, db,
                            "DELETE FROM service_busy WHERE service_id = $1 AND user_id = $2 "
                            "AND calendar_id = $3",
                            "ttt", service_id, user_id, calendar_id);
}

/* Service members: add, update and remove a member, and register or
 * unregister a member's internal busy calendars. Admin only, inside the admin's account; the
 * plans and calendars named must be the member's own (through the calendars and schedules
 * services).
 */
#include "ntc.h"
#include "svc.h"

#include <stdio.h>
#include <string.h>

/* 404 naming the user unless user_id is a user of the request's account. */
static int
svc_check_user(const svc_plugin *p, nt_req *req, const char *user_id)
{
    const nt_host_api *api = p->api;
    int rc = NT_ENOTFOUND;

    if (api->uuid_valid(user_id))
        rc = p->users->in_account(p->users_state, api->req_db(req), api->req_account(req), user_id);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "userId: no user '%.40s' in this account", user_id);
    return rc;
}

/* 404 unless calendar `id` belongs to user_id of the request's account. `what` names the
 * field. */
static int
svc_check_calendar(const svc_plugin *p, nt_req *req, const char *user_id, const char *id,
                   const char *what)
{
    const nt_host_api *api = p->api;
    nt_calendar cal;
    int rc;

    rc = p->calendars->get(p->calendars_state, api->req_db(req), api->req_account(req), user_id, id,
                           &cal, NULL);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "%s: no calendar '%s' of user '%s'", what, id, user_id);
    return rc;
}

/* 404 unless the plan's calendar or schedule belongs to user_id of the request's account. */
static int
svc_check_plan(const svc_plugin *p, nt_req *req, const char *user_id, const svc_plan *plan)
{
    const nt_host_api *api = p->api;
    char owner[NT_UUID_BUF], account[NT_UUID_BUF];
    int rc;

    if (plan->kind == SVC_PLAN_CALENDAR)
        return svc_check_calendar(p, req, user_id, plan->id, "availability.id");
    if (plan->kind != SVC_PLAN_SCHEDULE)
        return NT_OK;
    rc = p->schedules->owner(p->schedules_state, api->req_db(req), plan->id, owner, account);
    if (rc == NT_OK && (strcmp(owner, user_id) != 0 || strcmp(account, api->req_account(req)) != 0))
        rc = NT_ENOTFOUND;
    if (rc == NT_ENOTFOUND)
        rc =
            api->fail(req, rc, "availability.id: no schedule '%s' of user '%s'", plan->id, user_id);
    return rc;
}

/* Parses the member fields of the body and checks what they name (400, then 404). */
static int
svc_read_member_body(const svc_plugin *p, nt_req *req, const char *user_id, svc_member_body *b)
{
    const nt_host_api *api = p->api;
    char err[200];
    int rc;

    rc = svc_member_body_parse(api->req_body(req), b, err, sizeof(err));
    if (rc == NT_EINVAL)
        return api->fail(req, rc, "%s", err);
    if (rc == NT_OK && b->has_plan)
        rc = svc_check_plan(p, req, user_id, &b->plan);
    for (size_t i = 0; rc == NT_OK && i < b->n_busy; i++)
        rc = svc_check_calendar(p, req, user_id, b->busy[i], "busy");
    return rc;
}

/* Copies the given fields of b onto m. */
static void
svc_apply(svc_member *m, const svc_member_body *b)
{
    if (b->has_plan)
        m->plan = b->plan;
    if (b->has_before)
        m->before = b->before;
    if (b->has_after)
        m->after = b->after;
    if (b->has_closest)
        m->closest = b->closest;
    if (b->has_furthest)
        m->furthest = b->furthest;
}

/* Replaces the busy calendars of (service, user) with b's when b gives them. */
static int
svc_store_busy(const nt_host_api *api, nt_db *db, const char *service_id, const char *user_id,
               const svc_member_body *b)
{
    int rc;

    if (!b->has_busy)
        return NT_OK;
    rc = ntc_exec(api, db, "DELETE FROM service_busy WHERE service_id = $1 AND user_id = $2", "tt",
                  service_id, user_id);
    for (size_t i = 0; rc == NT_OK && i < b->n_busy; i++)
        rc = svc_busy_store(api, db, service_id, user_id, b->busy[i], 1);
    return rc;
}

/* Answers the member's ServiceUser fields plus "service", reloading the
 * service so the answer shows what was stored. */
static int
svc_member_reply(const nt_host_api *api, nt_req *req, const char *service_id, const char *user_id,
                 json_t **out)
{
    svc_service s = {0};
    svc_member *m;
    int rc;

    rc = svc_load(api, api->req_db(req), service_id, api->req_account(req), &s);
    m = rc == NT_OK ? svc_find_member(&s, user_id) : NULL;
    if (rc == NT_OK && m == NULL)
        rc = NT_ERR;
    if (rc == NT_OK) {
        *out = svc_member_json(&s, m);
        if (*out == NULL || json_object_set_new(*out, "service", svc_json(&s)) != 0)
            rc = NT_ENOMEM;
    }
    svc_clear(&s);
    return rc == NT_OK ? 200 : rc;
}

/* Adds (add = 1) or updates the member `user_id` of the path's service from the body. */
static int
svc_member_write(const svc_plugin *p, nt_req *req, const char *user_id, int add, json_t **out)
{
    const nt_host_api *api = p->api;
    const char *service_id = api->req_param(req, "serviceId");
    nt_db *db = api->req_db(req);
    svc_member_body b = {0};
    svc_member m = {0}, *cur;
    svc_service s = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = add ? svc_check_user(p, req, user_id) : NT_OK;
    if (rc == NT_OK) {
        rc = svc_load(api, db, service_id, api->req_account(req), &s);
        if (rc == NT_ENOTFOUND)
            rc = api->fail(req, rc, "serviceId: no service '%s'", service_id);
    }
    cur = rc == NT_OK ? svc_find_member(&s, user_id) : NULL;
    if (rc == NT_OK && !add && cur == NULL)
        rc = api->fail(req, NT_ENOTFOUND, "userId: '%.40s' is not a member of this service",
                       user_id);
    if (rc == NT_OK)
        rc = svc_read_member_body(p, req, user_id, &b);
    if (rc == NT_OK && add && cur != NULL)
        rc = api->fail(req, NT_ECONFLICT, "userId: '%s' is already a member of this service",
                       user_id);
    if (rc == NT_OK) {
        if (cur != NULL)
            m = *cur;
        else
            m.furthest = -1;
        snprintf(m.user_id, sizeof(m.user_id), "%s", user_id);
        m.busy = NULL;
        m.n_busy = 0;
        svc_apply(&m, &b);
        rc = svc_member_store(api, db, s.id, s.account_id, &m, add);
    }
    if (rc == NT_OK)
        rc = svc_store_busy(api, db, s.id, user_id, &b);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = svc_member_reply(api, req, s.id, user_id, out);
    svc_member_body_clear(&b);
    svc_clear(&s);
    return rc;
}

int
svc_user_add(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    const char *user_id = NULL;
    int rc;

    rc = api->json_get_str(req, api->req_body(req), "userId", 1, &user_id, NULL);
    if (rc != NT_OK)
        return rc;
    return svc_member_write(state, req, user_id, 1, out);
}

int
svc_user_update(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;

    return svc_member_write(state, req, api->req_param(req, "userId"), 0, out);
}

/* Loads the path's service and checks the path's user is a member (404s naming which). */
static int
svc_load_membership(const nt_host_api *api, nt_req *req, svc_service *s)
{
    const char *service_id = api->req_param(req, "serviceId");
    const char *user_id = api->req_param(req, "userId");
    int rc = svc_load(api, api->req_db(req), service_id, api->req_account(req), s);

    if (rc == NT_ENOTFOUND)
        return api->fail(req, rc, "serviceId: no service '%s'", service_id);
    if (rc == NT_OK && svc_find_member(s, user_id) == NULL)
        return api->fail(req, NT_ENOTFOUND, "userId: '%s' is not a member of this service",
                         user_id);
    return rc;
}

int
svc_user_remove(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_load_membership(api, req, &s);
    /* Its busy registrations go with it (foreign key). */
    if (rc == NT_OK)
        rc = ntc_exec(api, db, "DELETE FROM service_users WHERE service_id = $1 AND user_id = $2",
                      "tt", s.id, api->req_param(req, "userId"));
    rc = ntc_tx_end(api, db, rc);
    svc_clear(&s);
    if (rc == NT_OK)
        rc = svc_load(api, db, api->req_param(req, "serviceId"), api->req_account(req), &s);
    if (rc == NT_OK)
        rc = svc_reply(&s, 200, out);
    svc_clear(&s);
    return rc;
}

/* Registers (add = 1) or unregisters the body's busy calendar (routes 9 and 10). */
static int
svc_busy_write(const svc_plugin *p, nt_req *req, int add)
{
    const nt_host_api *api = p->api;
    const json_t *busy = json_object_get(api->req_body(req), "busy");
    const char *provider = NULL, *id = NULL;
    const char *user_id = api->req_param(req, "userId");
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    const char *msg;
    int rc;

    if (!json_is_object(busy))
        return api->fail(req, NT_EINVAL, "busy: required, an object {provider, id}");
    rc = api->json_get_str(req, busy, "provider", 1, &provider, NULL);
    if (rc == NT_OK)
        rc = api->json_get_str(req, busy, "id", 1, &id, NULL);
    if (rc != NT_OK)
        return rc;
    if (strcmp(provider, "Google") == 0 || strcmp(provider, "Outlook") == 0)
        return api->fail(req, NT_EINVAL,
                         "busy.provider: %s calendars need an integration this server lacks",
                         provider);
    if (strcmp(provider, "Nettu") != 0)
        return api->fail(req, NT_EINVAL, "busy.provider: expected Nettu, Google or Outlook");
    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_check_user(p, req, user_id);
    if (rc == NT_OK)
        rc = svc_load_membership(api, req, &s);
    if (rc == NT_OK && !api->uuid_valid(id))
        rc = api->fail(req, NT_ENOTFOUND, "busy.id: no calendar '%.40s'", id);
    if (rc == NT_OK && add)
        rc = svc_check_calendar(p, req, user_id, id, "busy.id");
    if (rc == NT_OK) {
        rc = svc_busy_store(api, db, s.id, user_id, id, add);
        if (rc == NT_ECONFLICT)
            rc = api->fail(req, rc, "busy.id: calendar '%s' is already a busy calendar", id);
        else if (rc == NT_ENOTFOUND)
            rc = api->fail(req, rc, "busy.id: calendar '%s' is not a busy calendar", id);
    }
    rc = ntc_tx_end(api, db, rc);
    svc_clear(&s);
    if (rc != NT_OK)
        return rc;
    msg = add ? "\"Busy calendar added to service user\""
              : "\"Busy calendar removed from service user\"";
    rc = api->req_reply_text(req, "application/json", msg, strlen(msg));
    return rc == NT_OK ? 200 : rc;
}

int
svc_busy_add(nt_req *req, void *state, json_t **out)
{
    (void)out;
    return svc_busy_write(state, req, 1);
}

int
svc_busy_remove(nt_req *req, void *state, json_t **out)
{
    (void)out;
    return svc_busy_write(state, req, 0);
}

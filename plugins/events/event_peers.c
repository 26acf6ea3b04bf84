/* The events plugin's view of calendars and users: the "calendars" service (calendar plugin)
 * and the "users" service (user plugin), looked up at start. No SQL here: their tables are
 * their plugins' own.
 */
#include "ev.h"

#include <string.h>

int
ev_peers_lookup(ev_plugin *p)
{
    const nt_host_api *api = p->api;

    p->users = api->service_lookup(p->self, NT_SERVICE_USERS, NULL, NT_USERS_V1, &p->users_state);
    if (p->users == NULL || p->users->size < sizeof(nt_users_v1) || p->users->in_account == NULL) {
        api->init_error(p->self, "needs service %s v%d (load the user plugin)", NT_SERVICE_USERS,
                        NT_USERS_V1);
        return NT_ERR;
    }
    p->calendars = api->service_lookup(p->self, NT_SERVICE_CALENDARS, NULL, NT_CALENDARS_V1,
                                       &p->calendars_state);
    if (p->calendars == NULL || p->calendars->size < sizeof(nt_calendars_v1) ||
        p->calendars->get == NULL || p->calendars->list_by_users == NULL) {
        api->init_error(p->self, "needs service %s v%d (load the calendar plugin)",
                        NT_SERVICE_CALENDARS, NT_CALENDARS_V1);
        return NT_ERR;
    }
    return NT_OK;
}

int
ev_cal_load_json(const ev_plugin *p, nt_db *db, const char *id, const char *account_id,
                 const char *user_id, ev_cal *c, json_t **json)
{
    ev_cal_clear(c);
    return p->calendars->get(p->calendars_state, db, account_id, user_id, id, c, json);
}

int
ev_cal_load(const ev_plugin *p, nt_db *db, const char *id, const char *account_id,
            const char *user_id, ev_cal *c)
{
    return ev_cal_load_json(p, db, id, account_id, user_id, c, NULL);
}

int
ev_event_cal(const ev_plugin *p, nt_req *req, const ev_event *e, ev_cal *c)
{
    const nt_host_api *api = p->api;
    int rc = ev_cal_load(p, api->req_db(req), e->calendar_id, api->req_account(req), NULL, c);

    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "the calendar of event '%s' no longer exists", e->id);
    return rc;
}

void
ev_cal_clear(ev_cal *c)
{
    if (c != NULL)
        memset(c, 0, sizeof(*c));
}

int
ev_user_in_account(const ev_plugin *p, nt_db *db, const char *account_id, const char *user_id)
{
    if (account_id == NULL || user_id == NULL)
        return NT_ENOTFOUND;
    return p->users->in_account(p->users_state, db, account_id, user_id);
}

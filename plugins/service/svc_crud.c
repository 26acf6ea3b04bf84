/* The service routes: create, metadata query, get (the original's and the published client's
 * shapes), update and delete. Admin only; every service is looked up in the admin's account.
 */
#include "ntc.h"
#include "svc.h"

#include <string.h>

/* Reads `multiPerson` (when given) into *m; *given says whether it was. */
static int
svc_body_multi(const nt_host_api *api, nt_req *req, const json_t *body, svc_multi *m, int *given)
{
    const json_t *v = json_object_get(body, "multiPerson");
    char err[160];

    *given = 0;
    if (v == NULL || json_is_null(v))
        return NT_OK;
    if (svc_multi_parse(v, m, err, sizeof(err)) != NT_OK)
        return api->fail(req, NT_EINVAL, "%s", err);
    *given = 1;
    return NT_OK;
}

/* Deletes the events carrying s's serviceId, through the events service. */
static int
svc_delete_events(const svc_plugin *p, nt_req *req, const svc_service *s)
{
    if (!NT_HAS_MEMBER(p->events, nt_events_v1, delete_by_service) ||
        p->events->delete_by_service == NULL)
        return p->api->fail(req, NT_ERR, "the events service cannot delete a service's events");
    return p->events->delete_by_service(p->events_state, req, s->account_id, s->id);
}

int
svc_create(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    const json_t *body = api->req_body(req);
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    json_t *metadata = NULL;
    int given, rc;

    rc = svc_body_multi(api, req, body, &s.multi, &given);
    if (rc == NT_OK)
        rc = api->json_get_metadata(req, body, "metadata", 0, &metadata, NULL);
    if (rc != NT_OK)
        goto out;
    s.metadata = metadata != NULL ? json_deep_copy(metadata) : json_object();
    if (s.metadata == NULL || api->uuid_new(s.id) != NT_OK) {
        rc = NT_ENOMEM;
        goto out;
    }
    strcpy(s.account_id, api->req_account(req));
    rc = api->db_begin(db);
    if (rc != NT_OK)
        goto out;
    rc = ntc_tx_end(api, db, svc_store(api, db, &s, 1));
    if (rc == NT_OK)
        rc = svc_reply(&s, 201, out);
out:
    svc_clear(&s);
    return rc;
}

/* Turns the meta query's current row (a service id) into the service with its members. */
static int
svc_meta_row(const nt_host_api *api, nt_stmt *st, void *arg, json_t **out)
{
    svc_service s = {0};
    int rc = svc_load(api, arg, api->db_col_text(st, 0), NULL, &s);

    if (rc == NT_OK) {
        *out = svc_json(&s);
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    svc_clear(&s);
    return rc;
}

int
svc_meta(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    const ntc_meta_table t = {"service_services", "service_metadata", "s", "s.id", "services",
                              svc_meta_row,       api->req_db(req)};

    return ntc_meta_route(api, req, &t, out);
}

int
svc_load_path(const nt_host_api *api, nt_req *req, svc_service *s)
{
    const char *id = api->req_param(req, "serviceId");
    int rc = svc_load(api, api->req_db(req), id, api->req_account(req), s);

    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "serviceId: no service '%s'", id);
    return rc;
}

int
svc_get(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    svc_service s = {0};
    json_t *obj = NULL;
    int rc;

    rc = svc_load_path(api, req, &s);
    if (rc != NT_OK)
        goto out;
    /* The original's unwrapped object plus the published client's {service}. */
    obj = svc_json(&s);
    *out = obj != NULL ? json_deep_copy(obj) : NULL;
    if (*out == NULL || json_object_set(*out, "service", obj) != 0) {
        rc = NT_ENOMEM;
        goto out;
    }
    rc = 200;
out:
    json_decref(obj);
    svc_clear(&s);
    return rc;
}

int
svc_update(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    const json_t *body = api->req_body(req);
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    svc_multi m = {0};
    json_t *metadata = NULL;
    int given, has_meta = 0, rc;

    rc = svc_body_multi(api, req, body, &m, &given);
    if (rc == NT_OK)
        rc = api->json_get_metadata(req, body, "metadata", 0, &metadata, &has_meta);
    if (rc != NT_OK)
        return rc;
    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_load_path(api, req, &s);
    if (rc == NT_OK && has_meta) {
        json_t *copy = json_deep_copy(metadata);
        if (copy == NULL)
            rc = NT_ENOMEM;
        json_decref(s.metadata);
        s.metadata = copy;
    }
    if (rc == NT_OK && given) {
        /* A group growing from n to m > n seats frees the booked seats. */
        if (s.multi.kind == SVC_GROUP && m.kind == SVC_GROUP && m.group > s.multi.group)
            rc = svc_delete_events(state, req, &s);
        s.multi = m;
    }
    if (rc == NT_OK)
        rc = svc_store(api, db, &s, 0);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = svc_reply(&s, 200, out);
    svc_clear(&s);
    return rc;
}

int
svc_delete(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = ((const svc_plugin *)state)->api;
    nt_db *db = api->req_db(req);
    svc_service s = {0};
    int rc;

    rc = api->db_begin(db);
    if (rc != NT_OK)
        return rc;
    rc = svc_load_path(api, req, &s);
    /* The events carrying its id go through the events service; memberships, busy
     * registrations, reservations and metadata by foreign keys (the side table is cleared here
     * too so it stays right without them). */
    if (rc == NT_OK)
        rc = svc_delete_events(state, req, &s);
    if (rc == NT_OK)
        rc = ntc_meta_store(api, db, "service_metadata", s.id, s.account_id, NULL);
    if (rc == NT_OK)
        rc = ntc_exec(api, db, "DELETE FROM service_services WHERE id = $1", "t", s.id);
    rc = ntc_tx_end(api, db, rc);
    if (rc == NT_OK)
        rc = svc_reply(&s, 200, out);
    svc_clear(&s);
    return rc;
}

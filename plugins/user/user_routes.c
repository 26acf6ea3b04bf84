/* The user routes: admin CRUD of the account's users, the metadata
 * query, and /me for end users. Handlers are reentrant; the state is read-only.
 */
#include "user.h"
#include "user_schemas.h"

/* Ends a handler: when rc is NT_OK wraps `value` (taken) as {name: value} into *out and
 * returns `status`; otherwise rolls back the open transaction (if in_tx), releases value
 * and returns rc. */
static int
usr_answer(const nt_host_api *api, nt_req *req, int in_tx, int rc, const char *name, json_t *value,
           int status, json_t **out)
{
    if (rc == NT_OK) {
        *out = usr_wrap(name, value);
        return *out != NULL ? status : NT_ENOMEM;
    }
    if (in_tx)
        api->db_rollback(api->req_db(req));
    json_decref(value);
    return rc;
}

/* Turns NT_ENOTFOUND for the path's user into `code` with a message naming userId. */
static int
usr_missing(const nt_host_api *api, nt_req *req, int rc, int code, const char *id)
{
    if (rc != NT_ENOTFOUND)
        return rc;
    return api->fail(req, code, "userId: no user with id '%s' in this account", id);
}

/* POST /user: creates a user with optional metadata. */
static int
usr_route_create(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct usr *)arg)->api;
    nt_db *db = api->req_db(req);
    const char *account = api->req_account(req);
    json_t *meta = NULL, *user = NULL;
    char id[NT_UUID_BUF];
    int in_tx = 0, rc;

    rc = api->json_get_metadata(req, api->req_body(req), "metadata", 0, &meta, NULL);
    if (rc == NT_OK)
        rc = api->uuid_new(id);
    if (rc == NT_OK)
        rc = api->db_begin(db);
    if (rc == NT_OK) {
        in_tx = 1;
        rc = usr_store_insert(api, db, account, id, meta, api->now_ms());
    }
    if (rc == NT_OK)
        rc = usr_store_get(api, db, account, id, &user);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    return usr_answer(api, req, in_tx, rc, "user", user, 201, out);
}

/* GET /user/meta: the account's users whose metadata has key = value, in creation order. */
static int
usr_route_meta(nt_req *req, void *arg, json_t **out)
{
    return ntc_meta_route(((const struct usr *)arg)->api, req, &usr_meta_table, out);
}

/* GET /user/{userId}: one user of the account; 404 outside it. */
static int
usr_route_get(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct usr *)arg)->api;
    const char *id = api->req_param(req, "userId");
    json_t *user = NULL;
    int rc;

    rc = usr_store_get(api, api->req_db(req), api->req_account(req), id, &user);
    rc = usr_missing(api, req, rc, NT_ENOTFOUND, id);
    return usr_answer(api, req, 0, rc, "user", user, 200, out);
}

/* PUT /user/{userId}: replaces the metadata when the body has it. An unknown or foreign
 * user is 409, as in the original, and nothing changes. */
static int
usr_route_update(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct usr *)arg)->api;
    nt_db *db = api->req_db(req);
    const char *account = api->req_account(req), *id = api->req_param(req, "userId");
    json_t *meta = NULL, *user = NULL;
    int present = 0, in_tx = 0, rc;

    rc = api->json_get_metadata(req, api->req_body(req), "metadata", 0, &meta, &present);
    if (rc == NT_OK && present) {
        rc = api->db_begin(db);
        if (rc == NT_OK) {
            in_tx = 1;
            rc = usr_store_set_metadata(api, db, account, id, meta);
        }
    }
    if (rc == NT_OK)
        rc = usr_store_get(api, db, account, id, &user);
    if (rc == NT_OK && in_tx)
        rc = api->db_commit(db);
    rc = usr_missing(api, req, rc, NT_ECONFLICT, id);
    return usr_answer(api, req, in_tx, rc, "user", user, 200, out);
}

/* DELETE /user/{userId}: deletes the user (the foreign keys cascade to its calendars and
 * the rest) and answers it as it was. */
static int
usr_route_delete(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct usr *)arg)->api;
    nt_db *db = api->req_db(req);
    const char *account = api->req_account(req), *id = api->req_param(req, "userId");
    json_t *user = NULL;
    int in_tx = 0, rc;

    rc = api->db_begin(db);
    if (rc == NT_OK) {
        in_tx = 1;
        rc = usr_store_get(api, db, account, id, &user);
    }
    if (rc == NT_OK)
        rc = usr_store_delete(api, db, account, id);
    if (rc == NT_OK)
        rc = api->db_commit(db);
    rc = usr_missing(api, req, rc, NT_ENOTFOUND, id);
    return usr_answer(api, req, in_tx, rc, "user", user, 200, out);
}

/* GET /me: the authenticated end user. */
static int
usr_route_me(nt_req *req, void *arg, json_t **out)
{
    const nt_host_api *api = ((const struct usr *)arg)->api;
    json_t *user = NULL;
    int rc;

    rc = usr_store_get(api, api->req_db(req), api->req_account(req), api->req_user(req), &user);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, NT_ENOTFOUND, "user: the authenticated user does not exist");
    return usr_answer(api, req, 0, rc, "user", user, 200, out);
}

int
usr_routes_add(struct usr *u)
{
    static const ntc_route routes[] = {
        {"POST", "/api/v1/user", NT_AUTH_ADMIN, NULL, usr_route_create},
        {"GET", "/api/v1/user/meta", NT_AUTH_ADMIN, NULL, usr_route_meta},
        {"GET", "/api/v1/user/{userId}", NT_AUTH_ADMIN, NULL, usr_route_get},
        {"PUT", "/api/v1/user/{userId}", NT_AUTH_ADMIN, NULL, usr_route_update},
        {"DELETE", "/api/v1/user/{userId}", NT_AUTH_ADMIN, NULL, usr_route_delete},
        {"GET", "/api/v1/me", NT_AUTH_USER, NULL, usr_route_me},
    };

    return ntc_routes_add_doc(u->api, u->self, routes, sizeof(routes) / sizeof(routes[0]),
                              usr_route_docs, usr_route_docs_n, u);
}

/* The webhook routes (admin, scoped to the caller's account):
 *   POST /account/webhook/test        201 {delivery}: queues a ping
 *   GET  /account/webhook/deliveries  200 {deliveries}: newest first, ?status=&skip=&limit=
 */
#include "ntc.h"
#include "wh.h"
#include "wh_schemas.h"

#include <stdlib.h>
#include <string.h>

/* POST /account/webhook/test: stores a ping for the account's webhook (400 without one). */
static int
wh_route_test(nt_req *req, void *state, json_t **out)
{
    wh_plugin *w = state;
    const nt_host_api *api = w->api;
    nt_db *db = api->req_db(req);
    const char *account = api->req_account(req);
    char id[NT_UUID_BUF], *url = NULL, *key = NULL;
    json_t *d = NULL;
    int rc;

    rc = w->accounts->webhook(w->accounts_state, db, account, &url, &key);
    free(key);
    if (rc == NT_OK && url == NULL)
        return api->fail(req, NT_EINVAL,
                         "webhook: the account has no webhook (set one with PUT /account/webhook)");
    free(url);
    if (rc != NT_OK)
        return rc;
    if ((rc = api->db_begin(db)) != NT_OK)
        return rc;
    rc = wh_store_insert(w, db, account, "ping", "{\"type\":\"ping\"}", id);
    if (rc == NT_OK)
        rc = wh_store_get(w, db, account, id, &d);
    if ((rc = ntc_tx_end(api, db, rc)) != NT_OK) {
        json_decref(d);
        return rc;
    }
    *out = json_pack("{s:o}", "delivery", d);
    return *out != NULL ? 201 : NT_ENOMEM;
}

/* GET /account/webhook/deliveries: the account's deliveries with their attempts. */
static int
wh_route_list(nt_req *req, void *state, json_t **out)
{
    wh_plugin *w = state;
    const nt_host_api *api = w->api;
    const char *status = api->req_query(req, "status");
    const char *skip_s = api->req_query(req, "skip"), *limit_s = api->req_query(req, "limit");
    int64_t skip = 0, limit = WH_LIST_LIMIT_DEFAULT;
    json_t *arr = NULL;
    int rc;

    if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
        strcmp(status, "failed") != 0)
        return api->fail(req, NT_EINVAL, "status: expected pending, delivered or failed");
    if (skip_s != NULL && ntc_parse_count(skip_s, &skip) != NT_OK)
        return api->fail(req, NT_EINVAL, "skip: expected an integer >= 0");
    if (limit_s != NULL && ntc_parse_count(limit_s, &limit) != NT_OK)
        return api->fail(req, NT_EINVAL, "limit: expected an integer >= 0");
    if (limit > WH_LIST_LIMIT_MAX)
        return api->fail(req, NT_EINVAL, "limit: at most %d (got %lld)", WH_LIST_LIMIT_MAX,
                         (long long)limit);
    rc = wh_store_list(w, api->req_db(req), api->req_account(req), status, skip, limit, &arr);
    if (rc != NT_OK)
        return rc;
    *out = json_pack("{s:o}", "deliveries", arr);
    return *out != NULL ? 200 : NT_ENOMEM;
}

int
wh_routes_add(wh_plugin *w)
{
    const ntc_route routes[] = {
        {"POST", "/api/v1/account/webhook/test", NT_AUTH_ADMIN, NULL, wh_route_test},
        {"GET", "/api/v1/account/webhook/deliveries", NT_AUTH_ADMIN, NULL, wh_route_list},
    };

    return ntc_routes_add_doc(w->api, w->self, routes, sizeof(routes) / sizeof(routes[0]),
                              wh_route_docs, wh_route_docs_n, w);
}

/* Route descriptions of the built-in plugins (see ntc_schema.h). */
#include <string.h>

#include "ntc_schema.h"

const ntc_route_doc *
ntc_route_doc_find(const ntc_route_doc *docs, size_t n, const char *method, const char *path)
{
    for (size_t i = 0; docs != NULL && method != NULL && path != NULL && i < n; i++)
        if (strcmp(docs[i].method, method) == 0 && strcmp(docs[i].path, path) == 0)
            return &docs[i];
    return NULL;
}

void
ntc_route_doc_apply(nt_route *r, const ntc_route_doc *d)
{
    if (d == NULL || !NT_HAS_MEMBER(r, nt_route, response_status))
        return;
    r->summary = d->summary;
    r->query_schema = d->query;
    r->request_schema = d->request;
    r->response_schema = d->response;
    r->response_type = d->type;
    r->response_status = d->status;
}

int
ntc_routes_add_doc(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n,
                   const ntc_route_doc *docs, size_t n_docs, void *state)
{
    return ntc_routes_add_flagged(api, p, routes, n, docs, n_docs, NULL, state);
}

int
ntc_routes_add_flagged(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n,
                       const ntc_route_doc *docs, size_t n_docs,
                       uint64_t (*flags_of)(const ntc_route *route), void *state)
{
    for (size_t i = 0; i < n_docs; i++) {
        size_t j = 0;
        while (j < n && (strcmp(routes[j].method, docs[i].method) != 0 ||
                         strcmp(routes[j].path, docs[i].path) != 0))
            j++;
        if (j == n) {
            api->init_error(p, "the description of %s %s names no route of the plugin",
                            docs[i].method, docs[i].path);
            return NT_EINVAL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        nt_route r = {.size = sizeof(nt_route),
                      .method = routes[i].method,
                      .path = routes[i].path,
                      .auth = routes[i].auth,
                      .perms = routes[i].perms,
                      .handler = routes[i].handler,
                      .state = state,
                      .flags = flags_of != NULL ? flags_of(&routes[i]) : 0};
        ntc_route_doc_apply(&r, ntc_route_doc_find(docs, n_docs, r.method, r.path));
        int rc = api->route_add(p, &r);
        if (rc != NT_OK)
            return rc; /* the host's init_error names the route and what is wrong */
    }
    return NT_OK;
}

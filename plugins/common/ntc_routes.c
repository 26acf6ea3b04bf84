/* Registering a plugin's route table. */
#include "ntc.h"

int
ntc_routes_add(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n, void *state)
{
    for (size_t i = 0; i < n; i++) {
        const nt_route r = {.size = sizeof(nt_route),
                            .method = routes[i].method,
                            .path = routes[i].path,
                            .auth = routes[i].auth,
                            .perms = routes[i].perms,
                            .handler = routes[i].handler,
                            .state = state};
        int rc = api->route_add(p, &r);
        if (rc != NT_OK) {
            api->init_error(p, "cannot add route %s %s", r.method, r.path);
            return rc;
        }
    }
    return NT_OK;
}

/* Registering a plugin's migrations, route table and services. */
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

int
ntc_register(const nt_host_api *api, nt_plugin *p, const char *const *migrations,
             size_t n_migrations, const ntc_route *routes, size_t n_routes, void *state)
{
    for (size_t i = 0; i < n_migrations; i++) {
        const nt_migration m = {
            .size = sizeof(nt_migration), .version = (int)i + 1, .sql = migrations[i]};
        int rc = api->migration_add(p, &m);
        if (rc != NT_OK) {
            api->init_error(p, "cannot add migration %d", m.version);
            return rc;
        }
    }
    return ntc_routes_add(api, p, routes, n_routes, state);
}

int
ntc_provide(const nt_host_api *api, nt_plugin *p, const char *kind, uint32_t version,
            const void *ops, void *state)
{
    int rc = api->service_provide(p, kind, "nettu", version, ops, state);

    if (rc != NT_OK)
        api->init_error(p, "cannot provide the %s service", kind);
    return rc;
}

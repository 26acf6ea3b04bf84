/* Registering a plugin's migrations, route table and services. */
#include "ntc.h"
#include "ntc_schema.h"

int
ntc_routes_add(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n, void *state)
{
    return ntc_routes_add_doc(api, p, routes, n, NULL, 0, state);
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

/* metrics: Prometheus metrics and health probes. Provides the "observer" service named
 * "metrics" (every request: counters by route template, method and status, a latency
 * histogram, requests in flight, storage errors by cause) and the routes GET /metrics,
 * GET /api/v1/health/live and GET /api/v1/health/ready. [metrics] allow lists the client
 * addresses GET /metrics answers (others get 404).
 */
#include <stdlib.h>

#include <nettu/services.h>

#include "mx.h"

/* The probe row the readiness check updates inside a rolled-back transaction. */
static const char mx_migration_1[] = "CREATE TABLE metrics_probe (id INTEGER PRIMARY KEY,"
                                     " n BIGINT NOT NULL);"
                                     "INSERT INTO metrics_probe (id, n) VALUES (1, 0);";

/* nt_observer_v1.request_start. */
static void
mx_request_start(void *state)
{
    mx_table_begin(((mx_plugin *)state)->table);
}

/* nt_observer_v1.request_done: the storage message is only read for 500 and 503. */
static void
mx_request_done(void *state, nt_req *req, int status, int64_t micros)
{
    mx_plugin *m = state;
    const nt_host_api *api = m->api;
    const char *msg = NULL;

    if (status == 500 || status == 503) {
        nt_db *db = api->req_db(req);
        msg = db != NULL ? api->db_errmsg(db) : NULL;
    }
    mx_table_end(m->table, api->req_route(req), api->req_method(req), status, micros, msg);
}

static const nt_observer_v1 mx_observer_ops = {
    .size = sizeof(nt_observer_v1),
    .request_start = mx_request_start,
    .request_done = mx_request_done,
};

/* 1 when the host table has req_reply_text (appended after ABI 1.1's req_route). */
static int
mx_host_has_reply_text(const nt_host_api *api)
{
    return NT_HAS_MEMBER(api, nt_host_api, req_reply_text) && api->req_reply_text != NULL;
}

/* 1 when the host table has req_peer (ABI 1.2). */
static int
mx_host_has_peer(const nt_host_api *api)
{
    return api->size >= offsetof(nt_host_api, req_peer) + sizeof(api->req_peer) &&
           api->req_peer != NULL;
}

/* Reads [metrics] allow into m->allow. */
static int
mx_read_allow(mx_plugin *m, const nt_config *cfg)
{
    const char *text = m->api->cfg_get(cfg, "allow");
    char err[160];

    if (text == NULL)
        text = MX_ALLOW_DEFAULT;
    if (cidr_list_parse(text, &m->allow, err, sizeof(err)) != 0) {
        m->api->init_error(m->self,
                           "[metrics] allow: %s (expected addresses or ranges such as "
                           "127.0.0.0/8, 10.0.0.0/8, ::1/128, separated by commas)",
                           err);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* Adds the migration, the routes and the observer service. */
static int
mx_register(mx_plugin *m)
{
    const nt_host_api *api = m->api;
    const nt_migration mig = {.size = sizeof(nt_migration), .version = 1, .sql = mx_migration_1};
#define MX_STATUS_SCHEMA(v)                                                                        \
    "{\"type\": \"object\", \"required\": [\"status\"], \"properties\": {\"status\": "             \
    "{\"type\": \"string\", \"enum\": [\"" v "\"]}}}"
    const struct {
        const char *path;
        nt_handler_fn handler;
        const char *summary, *schema, *type;
    } routes[] = {
        {"/metrics", mx_route_metrics, "Prometheus metrics (text format 0.0.4)",
         "{\"type\": \"string\"}", MX_CONTENT_TYPE},
        {"/api/v1/health/live", mx_route_live, "Liveness: the process serves requests",
         MX_STATUS_SCHEMA("live"), NULL},
        {"/api/v1/health/ready", mx_route_ready,
         "Readiness: storage can be read and written (503 otherwise)", MX_STATUS_SCHEMA("ready"),
         NULL},
    };
#undef MX_STATUS_SCHEMA
    int rc;

    if ((rc = api->migration_add(m->self, &mig)) != NT_OK) {
        api->init_error(m->self, "cannot add migration %d (code %d)", mig.version, rc);
        return rc;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const nt_route r = {.size = sizeof(nt_route),
                            .method = "GET",
                            .path = routes[i].path,
                            .auth = NT_AUTH_PUBLIC,
                            .perms = NULL,
                            .handler = routes[i].handler,
                            .state = m,
                            .summary = routes[i].summary,
                            .response_schema = routes[i].schema,
                            .response_type = routes[i].type};
        if ((rc = api->route_add(m->self, &r)) != NT_OK) {
            api->init_error(m->self, "cannot add route GET %s (code %d)", r.path, rc);
            return rc;
        }
    }
    rc = api->service_provide(m->self, NT_SERVICE_OBSERVER, "metrics", NT_OBSERVER_V1,
                              &mx_observer_ops, m);
    if (rc != NT_OK)
        api->init_error(m->self, "cannot provide service %s/metrics (code %d)", NT_SERVICE_OBSERVER,
                        rc);
    return rc;
}

/* Checks the (empty) section and the host, allocates the state and registers everything.
 * On success *state owns a calloc'd mx_plugin, freed by mx_fini. */
static int
mx_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {"allow", NULL};
    mx_plugin *m = NULL;
    int rc;

    if ((rc = api->cfg_check_keys(self, cfg, known)) != NT_OK)
        goto fail;
    if (!mx_host_has_reply_text(api)) {
        api->init_error(self,
                        "the host cannot answer plain text (req_reply_text is missing; "
                        "ABI %u.%u): GET /metrics needs it",
                        (unsigned)api->abi_major, (unsigned)api->abi_minor);
        rc = NT_EINVAL;
        goto fail;
    }
    if (!mx_host_has_peer(api)) {
        api->init_error(self,
                        "the host cannot tell client addresses (req_peer is missing; ABI %u.%u): "
                        "[metrics] allow needs it",
                        (unsigned)api->abi_major, (unsigned)api->abi_minor);
        rc = NT_EINVAL;
        goto fail;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL) {
        api->init_error(self, "out of memory");
        rc = NT_ENOMEM;
        goto fail;
    }
    m->self = self;
    m->api = api;
    if ((rc = mx_read_allow(m, cfg)) != NT_OK)
        goto fail;
    if ((rc = mx_register(m)) != NT_OK)
        goto fail;
    *state = m;
    return NT_OK;
fail:
    free(m);
    return rc;
}

/* Builds the counter table from the registered routes and the loaded plugins. */
static int
mx_start(void *state)
{
    mx_plugin *m = state;
    const nt_host_api *api = m->api;
    size_t nroutes = api->route_count(), nplugins = api->plugin_count();
    mx_route_def *routes = calloc(nroutes != 0 ? nroutes : 1, sizeof(*routes));
    mx_plugin_def *plugins = calloc(nplugins != 0 ? nplugins : 1, sizeof(*plugins));
    int rc = NT_ENOMEM;

    if (routes == NULL || plugins == NULL)
        goto out;
    for (size_t i = 0; i < nroutes; i++) {
        nt_route_info ri = {.size = sizeof(nt_route_info)};
        if ((rc = api->route_get(i, &ri)) != NT_OK) {
            api->init_error(m->self, "cannot read route %zu of %zu (code %d)", i, nroutes, rc);
            goto out;
        }
        routes[i].method = ri.method;
        routes[i].path = ri.path;
    }
    for (size_t i = 0; i < nplugins; i++) {
        if ((rc = api->plugin_get(i, &plugins[i].name, &plugins[i].version)) != NT_OK) {
            api->init_error(m->self, "cannot read plugin %zu of %zu (code %d)", i, nplugins, rc);
            goto out;
        }
    }
    rc = NT_ENOMEM;
    if ((m->table = mx_table_new(routes, nroutes, plugins, nplugins)) == NULL)
        goto out;
    rc = NT_OK;
out:
    if (rc == NT_ENOMEM)
        api->init_error(m->self, "out of memory");
    free(routes);
    free(plugins);
    return rc;
}

/* Frees the state made by mx_init and the table made by mx_start; NULL is fine. */
static void
mx_fini(void *state)
{
    mx_plugin *m = state;

    if (m == NULL)
        return;
    mx_table_free(m->table);
    free(m);
}

static const nt_plugin_desc mx_desc = {
    NT_PLUGIN_HEADER, .name = "metrics", .version = "1.0.0",
    .init = mx_init,  .start = mx_start, .fini = mx_fini,
};

NT_PLUGIN_DEFINE(mx_desc)

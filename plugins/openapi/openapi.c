/* openapi: GET /api/v1/openapi.json (public), an OpenAPI 3.0.3 description of every route
 * the server has loaded, a custom plugin's routes included. The document is built once at
 * start (routes cannot change afterwards) and kept as text: workers copy bytes, never share
 * a jansson value. The [openapi] section has no keys.
 */
#include <stdlib.h>
#include <string.h>

#include "oa.h"

#ifndef NETTU_VERSION
#define NETTU_VERSION "0.0.0"
#endif

typedef struct oa_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    char *text; /* the document, compact JSON; from start on */
    size_t len;
    int has_reply_text; /* the host has req_reply_text */
} oa_plugin;

/* GET /api/v1/openapi.json: the cached text as is, or (on a host without req_reply_text) a
 * fresh parse of it that the host takes. */
static int
oa_route_get(nt_req *req, void *state, json_t **out)
{
    oa_plugin *o = state;
    const nt_host_api *api = o->api;
    json_error_t jerr;
    int rc;

    if (o->text == NULL) {
        rc = api->fail(req, NT_ERR, "openapi: the document was not built");
    } else if (o->has_reply_text) {
        rc = api->req_reply_text(req, "application/json", o->text, o->len);
        if (rc != NT_OK)
            rc = api->fail(req, rc, "openapi: cannot queue the reply (code %d)", rc);
        else
            rc = 200;
    } else {
        *out = json_loadb(o->text, o->len, 0, &jerr);
        if (*out == NULL)
            rc = api->fail(req, NT_ENOMEM, "openapi: cannot copy the document: %s", jerr.text);
        else
            rc = 200;
    }
    return rc;
}

/* Checks the (empty) section, allocates the state and adds the route. On success *state owns
 * a calloc'd oa_plugin, freed by oa_fini. */
static int
oa_init(nt_plugin *self, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {NULL};
    oa_plugin *o = NULL;
    nt_route r = {.size = sizeof(nt_route),
                  .method = "GET",
                  .path = "/api/v1/openapi.json",
                  .auth = NT_AUTH_PUBLIC,
                  .perms = NULL,
                  .handler = oa_route_get,
                  .summary = "This document: the OpenAPI 3.0.3 description of the loaded routes",
                  .response_schema = "{\"type\": \"object\", \"required\": [\"openapi\", "
                                     "\"info\", \"paths\"]}"};
    int rc;

    if ((rc = api->cfg_check_keys(self, cfg, known)) != NT_OK)
        goto fail;
    if ((o = calloc(1, sizeof(*o))) == NULL) {
        api->init_error(self, "out of memory");
        rc = NT_ENOMEM;
        goto fail;
    }
    o->self = self;
    o->api = api;
    o->has_reply_text =
        NT_HAS_MEMBER(api, nt_host_api, req_reply_text) && api->req_reply_text != NULL;
    r.state = o;
    if ((rc = api->route_add(self, &r)) != NT_OK) {
        api->init_error(self, "cannot add route GET %s (code %d)", r.path, rc);
        goto fail;
    }
    *state = o;
    return NT_OK;
fail:
    free(o);
    return rc;
}

/* Reads the route and plugin lists and renders the document into o->text. */
static int
oa_start(void *state)
{
    oa_plugin *o = state;
    const nt_host_api *api = o->api;
    size_t n = api->route_count(), np = api->plugin_count();
    nt_route_info *routes = calloc(n != 0 ? n : 1, sizeof(*routes));
    oa_plugin_def *plugins = calloc(np != 0 ? np : 1, sizeof(*plugins));
    json_t *doc = NULL;
    int rc = NT_ENOMEM;

    if (routes == NULL || plugins == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        routes[i].size = sizeof(nt_route_info);
        if ((rc = api->route_get(i, &routes[i])) != NT_OK) {
            api->init_error(o->self, "cannot read route %zu of %zu (code %d)", i, n, rc);
            goto out;
        }
    }
    for (size_t i = 0; i < np; i++) {
        if ((rc = api->plugin_get(i, &plugins[i].name, &plugins[i].version)) != NT_OK) {
            api->init_error(o->self, "cannot read plugin %zu of %zu (code %d)", i, np, rc);
            goto out;
        }
    }
    if ((doc = oa_doc_build(routes, n, plugins, np, NETTU_VERSION)) == NULL)
        goto nomem;
    if ((o->text = json_dumps(doc, JSON_COMPACT)) == NULL)
        goto nomem;
    o->len = strlen(o->text);
    api->log(o->self, NT_LOG_INFO, "described %zu routes (%zu bytes)", n, o->len);
    rc = NT_OK;
    goto out;
nomem:
    rc = NT_ENOMEM;
    api->init_error(o->self, "cannot build the document (out of memory or a malformed route)");
out:
    json_decref(doc);
    free(routes);
    free(plugins);
    return rc;
}

/* Frees the state and the document; NULL is fine. */
static void
oa_fini(void *state)
{
    oa_plugin *o = state;

    if (o == NULL)
        return;
    free(o->text);
    free(o);
}

static const nt_plugin_desc oa_desc = {
    NT_PLUGIN_HEADER, .name = "openapi", .version = "1.1.0",
    .init = oa_init,  .start = oa_start, .fini = oa_fini,
};

NT_PLUGIN_DEFINE(oa_desc)

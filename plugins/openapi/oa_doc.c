/* openapi: builds the OpenAPI 3.0.3 document of the registered routes. Each operation
 * carries its security requirement (from the route's auth kind), x-nettu-auth,
 * x-nettu-permissions (what an end user's policy must grant), x-nettu-plugin and a tag
 * naming the plugin that registered it. Bodies are described generically: the host knows
 * routes, not their schemas.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oa.h"

/* components: the three credentials and the JSON error body {error, message}. */
static json_t *
oa_components(void)
{
    return json_pack(
        "{s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}},"
        " s:{s:{s:s, s:[s,s], s:{s:{s:s, s:[s,s,s,s,s,s,s]}, s:{s:s}}}}}",
        "securitySchemes", "apiKey", "type", "apiKey", "in", "header", "name", "x-api-key",
        "description", "an account's secret API key (admin routes)", "nettuAccount", "type",
        "apiKey", "in", "header", "name", "nettu-account", "description",
        "the account id (end-user and public-account routes)", "bearerJwt", "type", "http",
        "scheme", "bearer", "bearerFormat", "JWT", "description",
        "an RS256 token signed with the account's key (end-user routes)", "schemas", "Error",
        "type", "object", "required", "error", "message", "properties", "error", "type", "string",
        "enum", "bad_request", "unauthorized", "not_found", "conflict", "payload_too_large",
        "internal", "unavailable", "message", "type", "string");
}

/* The security requirement list of an auth kind: alternatives, each naming the schemes
 * that must all be present. Public routes get [] (no credentials). */
static json_t *
oa_security(nt_auth_kind auth)
{
    switch (auth) {
    case NT_AUTH_PUBLIC:
        return json_array();
    case NT_AUTH_ADMIN:
        return json_pack("[{s:[]}]", "apiKey");
    case NT_AUTH_USER:
        return json_pack("[{s:[], s:[]}]", "nettuAccount", "bearerJwt");
    case NT_AUTH_ADMIN_OR_USER:
        return json_pack("[{s:[]}, {s:[], s:[]}]", "apiKey", "nettuAccount", "bearerJwt");
    case NT_AUTH_PUBLIC_ACCOUNT:
        return json_pack("[{s:[]}, {s:[]}]", "nettuAccount", "apiKey");
    default:
        return NULL;
    }
}

/* A response object whose body is the Error schema. */
static json_t *
oa_error_response(const char *description)
{
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description, "content",
                     "application/json", "schema", "$ref", "#/components/schemas/Error");
}

/* The responses of an operation: any 2xx, 401 when credentials are checked, 404 when the
 * path has parameters, and errors in general. */
static json_t *
oa_responses(nt_auth_kind auth, int has_params)
{
    json_t *r = json_pack("{s:{s:s}, s:o}", "2XX", "description", "success", "default",
                          oa_error_response("an error"));

    if (r == NULL)
        return NULL;
    if (auth != NT_AUTH_PUBLIC &&
        json_object_set_new(r, "401", oa_error_response("missing or invalid credentials")) != 0)
        goto fail;
    if (has_params &&
        json_object_set_new(r, "404", oa_error_response("no such entity, or a malformed id")) != 0)
        goto fail;
    return r;
fail:
    json_decref(r);
    return NULL;
}

/* An operation id not yet in `used` (adds it): the plain id, else id_2, id_3 ... */
static json_t *
oa_unique_id(json_t *used, const char *method, const char *path)
{
    char *base = oa_operation_id(method, path);
    json_t *id = NULL;

    if (base == NULL)
        return NULL;
    for (int i = 1; id == NULL && i < 1000; i++) {
        json_t *cand = i == 1 ? json_string(base) : json_sprintf("%s_%d", base, i);
        if (cand == NULL)
            break;
        if (json_object_get(used, json_string_value(cand)) == NULL &&
            json_object_set_new(used, json_string_value(cand), json_true()) == 0)
            id = cand;
        else
            json_decref(cand);
    }
    free(base);
    return id;
}

/* The operation object of one route. */
static json_t *
oa_operation(const nt_route_info *r, json_t *used_ids)
{
    json_t *op = NULL, *params = oa_path_params(r->path), *perms = json_array();
    json_t *security = oa_security(r->auth), *id = oa_unique_id(used_ids, r->method, r->path);
    const char *plugin = r->plugin != NULL ? r->plugin : "core";
    const char *auth = oa_auth_name(r->auth);
    int has_params;

    if (params == NULL || perms == NULL || security == NULL || id == NULL || auth == NULL)
        goto out;
    for (size_t i = 0; r->perms != NULL && r->perms[i] != NULL; i++)
        if (json_array_append_new(perms, json_string(r->perms[i])) != 0)
            goto out;
    has_params = json_array_size(params) > 0;
    op = json_pack("{s:O, s:s++, s:[s], s:O, s:O, s:s, s:s, s:o}", "operationId", id, "summary",
                   r->method, " ", r->path, "tags", plugin, "security", security,
                   "x-nettu-permissions", perms, "x-nettu-plugin", plugin, "x-nettu-auth", auth,
                   "responses", oa_responses(r->auth, has_params));
    if (op == NULL)
        goto out;
    if (has_params && json_object_set(op, "parameters", params) != 0)
        goto fail;
    if ((strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
         strcmp(r->method, "PATCH") == 0) &&
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 0, "content",
                                      "application/json", "schema", "type", "object")) != 0)
        goto fail;
    goto out;
fail:
    json_decref(op);
    op = NULL;
out:
    json_decref(params);
    json_decref(perms);
    json_decref(security);
    json_decref(id);
    return op;
}

/* 1 when some route was registered by `plugin`. */
static int
oa_has_routes(const nt_route_info *routes, size_t n, const char *plugin)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(routes[i].plugin != NULL ? routes[i].plugin : "core", plugin) == 0)
            return 1;
    return 0;
}

/* The tag list: "core", then every plugin with routes in load order. */
static json_t *
oa_tags(const nt_route_info *routes, size_t n, const oa_plugin_def *plugins, size_t nplugins)
{
    json_t *tags = json_array();

    if (tags == NULL)
        return NULL;
    if (oa_has_routes(routes, n, "core") &&
        json_array_append_new(tags, json_pack("{s:s, s:s}", "name", "core", "description",
                                              "routes of the server core")) != 0)
        goto fail;
    for (size_t i = 0; i < nplugins; i++) {
        if (plugins[i].name == NULL || strcmp(plugins[i].name, "core") == 0 ||
            !oa_has_routes(routes, n, plugins[i].name))
            continue;
        if (json_array_append_new(
                tags, json_pack("{s:s, s:s+++}", "name", plugins[i].name, "description",
                                "routes of the plugin ", plugins[i].name, " ",
                                plugins[i].version != NULL ? plugins[i].version : "")) != 0)
            goto fail;
    }
    return tags;
fail:
    json_decref(tags);
    return NULL;
}

/* Adds route r's operation to paths[r->path][lower-case method]. */
static int
oa_add_route(json_t *paths, json_t *used_ids, const nt_route_info *r)
{
    char method[16];
    json_t *item, *op;
    size_t i;

    if (r->method == NULL || r->path == NULL || strlen(r->method) >= sizeof(method))
        return NT_EINVAL;
    for (i = 0; r->method[i] != '\0'; i++)
        method[i] = (char)tolower((unsigned char)r->method[i]);
    method[i] = '\0';
    if ((item = json_object_get(paths, r->path)) == NULL) {
        if (json_object_set_new(paths, r->path, json_object()) != 0)
            return NT_ENOMEM;
        item = json_object_get(paths, r->path);
    }
    if ((op = oa_operation(r, used_ids)) == NULL)
        return NT_ENOMEM;
    return json_object_set_new(item, method, op) == 0 ? NT_OK : NT_ENOMEM;
}

/* See oa.h. paths keep registration order (jansson keeps insertion order). */
json_t *
oa_doc_build(const nt_route_info *routes, size_t n, const oa_plugin_def *plugins, size_t nplugins,
             const char *version)
{
    json_t *paths = json_object(), *used = json_object(), *doc = NULL;

    if (paths == NULL || used == NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (oa_add_route(paths, used, &routes[i]) != NT_OK)
            goto out;
    doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:O, s:o}", "openapi", "3.0.3",
                    "info", "title", "nettu scheduler", "version", version, "description",
                    "The routes this server has loaded, generated from its route table. "
                    "Bodies are JSON; see the nettu API contract for their fields.",
                    "servers", "url", "/", "tags", oa_tags(routes, n, plugins, nplugins), "paths",
                    paths, "components", oa_components());
out:
    json_decref(paths);
    json_decref(used);
    return doc;
}

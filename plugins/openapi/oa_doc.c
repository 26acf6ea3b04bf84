/* openapi: builds the OpenAPI 3.0.3 document of the registered routes. Each operation
 * carries its security requirement (from the route's auth kind), x-nettu-auth,
 * x-nettu-permissions (what an end user's policy must grant), x-nettu-plugin and a tag
 * naming the plugin that registered it. What a route accepts and answers comes from its
 * description (ABI 1.4 nt_route members: summary, query, request and reply schemas, the
 * reply's media type and status); a route without one is described generically.
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
        " s:{s:{s:s, s:[s,s], s:{s:{s:s, s:[s,s,s,s,s,s,s,s,s,s,s,s]}, s:{s:s, s:s}}}}}",
        "securitySchemes", "apiKey", "type", "apiKey", "in", "header", "name", "x-api-key",
        "description", "an account's secret API key (admin routes)", "nettuAccount", "type",
        "apiKey", "in", "header", "name", "nettu-account", "description",
        "the account id (end-user and public-account routes)", "bearerJwt", "type", "http",
        "scheme", "bearer", "bearerFormat", "JWT", "description",
        "an RS256 token signed with the account's key (end-user routes)", "schemas", "Error",
        "type", "object", "required", "error", "message", "properties", "error", "type", "string",
        "enum", "bad_request", "unauthorized", "not_found", "request_timeout", "conflict",
        "payload_too_large", "unprocessable", "too_many_requests", "headers_too_large", "internal",
        "not_implemented", "unavailable", "message", "type", "string", "description",
        "what is wrong, naming the field, parameter or header");
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

/* The route's description members (ABI 1.4), or NULL/0 when the host did not fill them. */
static const char *
oa_member(const nt_route_info *r, const char *const *field)
{
    return NT_HAS_MEMBER(r, nt_route_info, response_status) ? *field : NULL;
}

/* The schema of a route's description member: its JSON (the host checked it is an object),
 * or a new generic one ({"type": kind}) when the route has none or it does not parse. */
static json_t *
oa_schema(const char *text, const char *kind)
{
    json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;

    if (json_is_object(v))
        return v;
    json_decref(v);
    return json_pack("{s:s}", "type", kind);
}

/* 1 when the core honours an Idempotency-Key on the route: a POST with credentials. */
static int
oa_idempotent(const nt_route_info *r)
{
    return strcmp(r->method, "POST") == 0 && r->auth != NT_AUTH_PUBLIC &&
           r->auth != NT_AUTH_PUBLIC_ACCOUNT;
}

/* 1 when the route takes a request body. */
static int
oa_has_body(const nt_route_info *r)
{
    return strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
           strcmp(r->method, "PATCH") == 0 || oa_member(r, &r->request_schema) != NULL;
}

/* Appends the query parameters of the route's query schema (one per property; required as
 * its "required" list says) and the Idempotency-Key header where the core honours it. */
static int
oa_more_params(const nt_route_info *r, json_t *params)
{
    const char *text = oa_member(r, &r->query_schema);
    json_t *q = text != NULL ? json_loads(text, 0, NULL) : NULL, *props, *req, *v;
    const char *name;
    int rc = NT_OK;

    props = json_object_get(q, "properties");
    req = json_object_get(q, "required");
    json_object_foreach(props, name, v)
    {
        int required = 0;
        size_t i;
        json_t *s, *p;
        for (i = 0; i < json_array_size(req); i++)
            required |= json_is_string(json_array_get(req, i)) &&
                        strcmp(json_string_value(json_array_get(req, i)), name) == 0;
        s = json_deep_copy(v);
        p = json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in", "query", "required", required,
                      "schema", s);
        if (p != NULL && json_is_string(json_object_get(v, "description")))
            json_object_set(p, "description", json_object_get(v, "description"));
        if (p == NULL || json_array_append_new(params, p) != 0) {
            rc = NT_ENOMEM;
            break;
        }
    }
    json_decref(q);
    if (rc == NT_OK && oa_idempotent(r) &&
        json_array_append_new(
            params,
            json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}", "name", "Idempotency-Key", "in",
                      "header", "required", 0, "description",
                      "a retry with the same key and request within 24 h gets the first answer "
                      "again (Idempotent-Replayed: true); another request with the key is 422, "
                      "and 409 while the first still runs",
                      "schema", "type", "string", "minLength", 1, "maxLength", 255)) != 0)
        rc = NT_ENOMEM;
    return rc;
}

/* The success response: the route's status (200 by default) with its reply schema and media
 * type; "2XX" without a body description for a route that has no description. */
static int
oa_success(const nt_route_info *r, json_t *responses)
{
    const char *schema = oa_member(r, &r->response_schema);
    const char *type = oa_member(r, &r->response_type);
    int status = NT_HAS_MEMBER(r, nt_route_info, response_status) ? r->response_status : 0;
    char key[8];

    if (schema == NULL)
        return json_object_set_new(responses, "2XX", json_pack("{s:s}", "description", "success"));
    snprintf(key, sizeof(key), "%d", status >= 200 && status <= 299 ? status : 200);
    return json_object_set_new(responses, key,
                               json_pack("{s:s, s:{s:{s:o}}}", "description", "success", "content",
                                         type != NULL ? type : "application/json", "schema",
                                         oa_schema(schema, "object")));
}

/* The responses of an operation: the success response; 400 when the route reads a body or
 * query parameters; 401 when credentials are checked; 404 when the path has parameters; 409
 * where an Idempotency-Key may be in use; and errors in general. */
static json_t *
oa_responses(const nt_route_info *r, int has_params)
{
    json_t *res = json_pack("{s:o}", "default", oa_error_response("an error"));

    if (res == NULL)
        return NULL;
    if (oa_success(r, res) != 0)
        goto fail;
    if ((oa_has_body(r) || oa_member(r, &r->query_schema) != NULL) &&
        json_object_set_new(res, "400",
                            oa_error_response("a malformed body or query parameter, named in "
                                              "the message")) != 0)
        goto fail;
    if (r->auth != NT_AUTH_PUBLIC &&
        json_object_set_new(res, "401",
                            oa_error_response("missing or invalid credentials, or "
                                              "a permission the token lacks")) != 0)
        goto fail;
    if (has_params && json_object_set_new(
                          res, "404", oa_error_response("no such entity, or a malformed id")) != 0)
        goto fail;
    if (oa_idempotent(r) &&
        json_object_set_new(res, "409",
                            oa_error_response("a conflict, or the Idempotency-Key's "
                                              "first request still runs")) != 0)
        goto fail;
    return res;
fail:
    json_decref(res);
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
    const char *auth = oa_auth_name(r->auth), *summary = oa_member(r, &r->summary);
    const char *request = oa_member(r, &r->request_schema);
    int has_params;

    if (params == NULL || perms == NULL || security == NULL || id == NULL || auth == NULL)
        goto out;
    for (size_t i = 0; r->perms != NULL && r->perms[i] != NULL; i++)
        if (json_array_append_new(perms, json_string(r->perms[i])) != 0)
            goto out;
    has_params = json_array_size(params) > 0;
    op = summary != NULL
             ? json_pack("{s:O, s:s}", "operationId", id, "summary", summary)
             : json_pack("{s:O, s:s++}", "operationId", id, "summary", r->method, " ", r->path);
    if (op == NULL || json_object_set_new(op, "tags", json_pack("[s]", plugin)) != 0 ||
        json_object_set(op, "security", security) != 0 ||
        json_object_set(op, "x-nettu-permissions", perms) != 0 ||
        json_object_set_new(op, "x-nettu-plugin", json_string(plugin)) != 0 ||
        json_object_set_new(op, "x-nettu-auth", json_string(auth)) != 0 ||
        json_object_set_new(op, "responses", oa_responses(r, has_params)) != 0 ||
        oa_more_params(r, params) != NT_OK)
        goto fail;
    if (json_array_size(params) > 0 && json_object_set(op, "parameters", params) != 0)
        goto fail;
    if (oa_has_body(r) &&
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", request != NULL, "content",
                                      "application/json", "schema",
                                      oa_schema(request, "object"))) != 0)
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
                    "The routes this server has loaded, generated from its route table: each "
                    "route's summary, parameters, request and reply schemas as its plugin "
                    "describes them. Errors are JSON {error, message}.",
                    "servers", "url", "/", "tags", oa_tags(routes, n, plugins, nplugins), "paths",
                    paths, "components", oa_components());
out:
    json_decref(paths);
    json_decref(used);
    return doc;
}

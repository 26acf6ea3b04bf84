/* openapi plugin internals: path conversion (oa_path.c) and the OpenAPI 3.0.3 document built
 * from the host's route list (oa_doc.c). Both are pure functions of their arguments.
 */
#ifndef NETTU_OA_H
#define NETTU_OA_H

#include <jansson.h>

#include <nettu/plugin.h>

/* A loaded plugin as the host reports it; strings borrowed. */
typedef struct oa_plugin_def {
    const char *name, *version;
} oa_plugin_def;

/* The OpenAPI parameter objects of a route template's {param} segments, in order: path
 * parameters, required, strings; names ending in "Id" get format uuid (the core answers 404
 * for anything else). Returns a new array (empty without parameters), or NULL for a
 * malformed template or when out of memory. */
json_t *oa_path_params(const char *path);

/* A camelCase operation id for a route: lower-case method, then each literal segment
 * capitalised with non-alphanumerics dropped, and "By<Name>" for a {name} segment:
 * GET /api/v1/user/{userId} -> "getApiV1UserByUserId". Returns a malloc'd string or NULL. */
char *oa_operation_id(const char *method, const char *path);

/* The name of an auth kind as used in x-nettu-auth ("public", "admin", "user",
 * "admin_or_user", "public_account"); NULL for an unknown kind. */
const char *oa_auth_name(nt_auth_kind auth);

/* Builds the OpenAPI 3.0.3 document of `n` routes (in registration order) registered by the
 * plugins of `plugins` (load order; "core" needs no entry). `version` is info.version.
 * Returns a new JSON object or NULL (out of memory or a malformed route). */
json_t *oa_doc_build(const nt_route_info *routes, size_t n, const oa_plugin_def *plugins,
                     size_t nplugins, const char *version);

#endif /* NETTU_OA_H */

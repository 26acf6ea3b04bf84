/* Route descriptions of the built-in plugins (ABI 1.4: nt_route summary, query_schema,
 * request_schema, response_schema, response_type, response_status), and the JSON Schema
 * fragments several plugins share. A schema is written as C tokens inside NTC_J(...), which
 * expands the NTC_S_* fragments in it and makes it one string literal:
 *     NTC_J({"type": "object", "properties": {"id": NTC_S_UUID}})
 * Schemas are the OpenAPI 3.0 subset of JSON Schema (type, format, properties, required,
 * items, enum, nullable, additionalProperties, oneOf, minimum, maximum, description).
 */
#ifndef NETTU_NTC_SCHEMA_H
#define NETTU_NTC_SCHEMA_H

#include <stddef.h>

#include "ntc.h"

#define NTC_J(...) NTC_J_(__VA_ARGS__)
#define NTC_J_(...) #__VA_ARGS__

/* The fragments are laid out as JSON. */
/* clang-format off */
/* ---- fragments --------------------------------------------------------------------------- */

#define NTC_S_UUID {"type": "string", "format": "uuid"}
#define NTC_S_UUIDS {"type": "array", "items": NTC_S_UUID}
#define NTC_S_MS                                                                                   \
    {"type": "integer", "format": "int64", "description": "milliseconds since the epoch"}
#define NTC_S_STR {"type": "string"}
#define NTC_S_INT {"type": "integer", "format": "int64"}
#define NTC_S_BOOL {"type": "boolean"}
/* Metadata: string values only; at most 50 keys of at most 64 bytes, values of 512 bytes. */
#define NTC_S_METADATA                                                                             \
    {"type": "object", "additionalProperties": {"type": "string"},                                \
     "description": "string values only; at most 50 keys"}
/* The query of a metadata route: entities whose metadata has key = value, paged. */
#define NTC_S_META_QUERY                                                                           \
    {"type": "object", "required": ["key", "value"],                                               \
     "properties": {"key": NTC_S_STR, "value": NTC_S_STR,                                          \
                    "skip": {"type": "integer", "minimum": 0, "default": 0},                       \
                    "limit": {"type": "integer", "minimum": 0, "maximum": 100, "default": 20}}}
/* A time window in the query string: startTs and endTs, at most 62 days apart. */
#define NTC_S_WINDOW_QUERY                                                                         \
    {"type": "object", "required": ["startTs", "endTs"],                                           \
     "properties": {"startTs": NTC_S_MS, "endTs": NTC_S_MS}}
/* An event instance {startTs, endTs, busy}. */
#define NTC_S_INSTANCE                                                                             \
    {"type": "object", "required": ["startTs", "endTs", "busy"],                                   \
     "properties": {"startTs": NTC_S_MS, "endTs": NTC_S_MS, "busy": NTC_S_BOOL}}
/* A JSON string reply (some routes of the original answer a bare message). */
#define NTC_S_MESSAGE                                                                              \
    {"type": "object", "required": ["message"], "properties": {"message": NTC_S_STR}}

/* clang-format on */

/* ---- route descriptions ------------------------------------------------------------------ */

/* The description of one route: which one (method and path), and the ABI 1.4 nt_route
 * members to give it. NULL members stay undescribed. */
typedef struct ntc_route_doc {
    const char *method, *path;
    const char *summary;
    const char *query;    /* JSON Schema text of the query parameters, or NULL */
    const char *request;  /* JSON Schema text of the request body, or NULL (no body) */
    const char *response; /* JSON Schema text of the success reply body */
    int status;           /* the success status; 0 means 200 */
    const char *type;     /* the success reply's media type; NULL means application/json */
} ntc_route_doc;

/* The entry of docs[0 .. n) for method and path, or NULL. */
const ntc_route_doc *ntc_route_doc_find(const ntc_route_doc *docs, size_t n, const char *method,
                                        const char *path);

/* Copies d's members into r (the ABI 1.4 members; r->size must reach them). d NULL: none. */
void ntc_route_doc_apply(nt_route *r, const ntc_route_doc *d);

/* ntc_routes_add, each route described by its entry of docs[0 .. n_docs) (none when it has
 * no entry). An entry that names no route of the table is a mistake: reported through
 * init_error, NT_EINVAL. */
int ntc_routes_add_doc(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n,
                       const ntc_route_doc *docs, size_t n_docs, void *state);

/* ntc_routes_add_doc, and each route gets the NT_ROUTE_* flags flags_of(route) returns
 * (flags_of NULL: none), e.g. NT_ROUTE_GROUP_COMMIT for the routes that may share a commit. */
int ntc_routes_add_flagged(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n,
                           const ntc_route_doc *docs, size_t n_docs,
                           uint64_t (*flags_of)(const ntc_route *route), void *state);

#endif /* NETTU_NTC_SCHEMA_H */

/* The route table: routes registered by plugins at init, compiled once into a segment trie
 * before the workers start, then matched read-only by every worker. A literal segment wins
 * over a {param} segment; unknown paths and methods do not match.
 */
#ifndef NETTU_ROUTER_H
#define NETTU_ROUTER_H

#include <stddef.h>

#include <nettu/plugin.h>

#define ROUTER_MAX_PARAMS 8
#define ROUTER_MAX_SEGS 32

typedef struct route_entry {
    nt_plugin *owner;
    char *method, *path;
    nt_auth_kind auth;
    char **perms; /* NULL-terminated; NULL when the route needs none */
    nt_handler_fn handler;
    void *state;
    char *params[ROUTER_MAX_PARAMS]; /* {param} names in path order */
    int nparams;
    /* the route's description (ABI 1.4 nt_route members; NULL or 0 when not given) */
    char *summary, *query_schema, *request_schema, *response_schema, *response_type;
    int response_status;
    uint64_t flags; /* NT_ROUTE_* (ABI 1.5 nt_route member; 0 when not given) */
} route_entry;

typedef struct router router;

typedef struct router_result {
    const route_entry *route;
    const char *values[ROUTER_MAX_PARAMS]; /* decoded segments, borrowed from the scratch */
} router_result;

router *router_new(void);
void router_free(router *r); /* NULL is fine */

/* Copies a route (strings, perms and, when the route's size reaches them, the ABI 1.4
 * description members; their JSON is checked by the caller). NT_EINVAL for a bad method or path
 * (with a reason in err), NT_ECONFLICT when method and path shape are taken. Not after
 * router_compile. */
int router_add(router *r, nt_plugin *owner, const nt_route *route, char *err, size_t errlen);

/* Drops the routes of a plugin (failed init). */
void router_remove_plugin(router *r, nt_plugin *owner);

/* Builds the trie. NT_OK or NT_ENOMEM. */
int router_compile(router *r);

/* Matches a raw (percent-encoded) path. Segments are decoded into scratch (at least as long
 * as the path plus ROUTER_MAX_SEGS). NT_OK with m filled, or NT_ENOTFOUND. Thread-safe after
 * router_compile. */
int router_match(const router *r, const char *method, const char *path, char *scratch,
                 size_t scratchlen, router_result *m);

/* Number of routes, and the i-th one (for listings). */
size_t router_count(const router *r);
const route_entry *router_get(const router *r, size_t i);

#endif

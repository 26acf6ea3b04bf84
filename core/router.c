/* Router: a list of route entries and, after router_compile, a trie of path segments.
 * Matching walks the trie trying the literal child before the {param} child and backtracks,
 * so "/user/meta" beats "/user/{userId}" while "/user/{userId}/calendar" still matches.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RM_GET, RM_POST, RM_PUT, RM_DELETE, RM_PATCH, RM_COUNT };
static const char *const method_names[RM_COUNT] = {"GET", "POST", "PUT", "DELETE", "PATCH"};

typedef struct rnode {
    char *lit; /* literal segment text; NULL for the root and param nodes */
    struct rnode **kids;
    size_t nkids;
    struct rnode *param;
    const route_entry *routes[RM_COUNT];
} rnode;

struct router {
    route_entry **list;
    size_t n, cap;
    rnode *root;
};

static int
method_index(const char *m)
{
    for (int i = 0; i < RM_COUNT; i++)
        if (strcmp(m, method_names[i]) == 0)
            return i;
    return -1;
}

router *
router_new(void)
{
    return calloc(1, sizeof(router));
}

static void
rnode_free(rnode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        rnode_free(n->kids[i]);
    free(n->kids);
    rnode_free(n->param);
    free(n->lit);
    free(n);
}

static void
route_entry_free(route_entry *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; e->perms != NULL && e->perms[i] != NULL; i++)
        free(e->perms[i]);
    free(e->perms);
    for (int i = 0; i < e->nparams; i++)
        free(e->params[i]);
    free(e->method);
    free(e->path);
    free(e->summary);
    free(e->query_schema);
    free(e->request_schema);
    free(e->response_schema);
    free(e->response_type);
    free(e);
}

/* A malloc'd copy of s in *out (NULL stays NULL). NT_OK or NT_ENOMEM. */
static int
route_dup(const char *s, char **out)
{
    *out = s != NULL ? strdup(s) : NULL;
    return s != NULL && *out == NULL ? NT_ENOMEM : NT_OK;
}

/* Copies the ABI 1.4 description members of a route whose size reaches them. */
static int
route_copy_doc(route_entry *e, const nt_route *route)
{
    if (NT_HAS_MEMBER(route, nt_route, flags))
        e->flags = route->flags;
    if (!NT_HAS_MEMBER(route, nt_route, response_status))
        return NT_OK;
    e->response_status = route->response_status;
    if (route_dup(route->summary, &e->summary) != NT_OK ||
        route_dup(route->query_schema, &e->query_schema) != NT_OK ||
        route_dup(route->request_schema, &e->request_schema) != NT_OK ||
        route_dup(route->response_schema, &e->response_schema) != NT_OK ||
        route_dup(route->response_type, &e->response_type) != NT_OK)
        return NT_ENOMEM;
    return NT_OK;
}

void
router_free(router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_entry_free(r->list[i]);
    free(r->list);
    rnode_free(r->root);
    free(r);
}

/* The path's shape with every {param} as "{}", for duplicate detection. */
static void
route_shape(const char *path, char *out, size_t n)
{
    size_t o = 0;

    for (const char *p = path; *p != '\0' && o + 3 < n;) {
        if (*p == '{') {
            out[o++] = '{';
            out[o++] = '}';
            while (*p != '\0' && *p != '}')
                p++;
            if (*p == '}')
                p++;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* Checks the path and collects its {param} names. */
static int
route_parse_path(route_entry *e, char *err, size_t errlen)
{
    const char *p = e->path;
    int segs = 0;

    if (p[0] != '/') {
        snprintf(err, errlen, "path '%s' must start with '/'", e->path);
        return NT_EINVAL;
    }
    while (*p == '/') {
        const char *start = ++p, *end;
        while (*p != '\0' && *p != '/')
            p++;
        end = p;
        if (++segs > ROUTER_MAX_SEGS) {
            snprintf(err, errlen, "path '%s' has more than %d segments", e->path, ROUTER_MAX_SEGS);
            return NT_EINVAL;
        }
        if (end > start && *start == '{') {
            if (end[-1] != '}' || end - start < 3 || memchr(start + 1, '{', end - start - 1)) {
                snprintf(err, errlen, "path '%s': a {param} must be a whole segment", e->path);
                return NT_EINVAL;
            }
            if (e->nparams == ROUTER_MAX_PARAMS) {
                snprintf(err, errlen, "path '%s' has too many parameters", e->path);
                return NT_EINVAL;
            }
            e->params[e->nparams] = strndup(start + 1, (size_t)(end - start - 2));
            if (e->params[e->nparams] == NULL)
                return NT_ENOMEM;
            for (int i = 0; i < e->nparams; i++) {
                if (strcmp(e->params[i], e->params[e->nparams]) == 0) {
                    snprintf(err, errlen, "path '%s': parameter {%s} used twice", e->path,
                             e->params[i]);
                    e->nparams++;
                    return NT_EINVAL;
                }
            }
            e->nparams++;
        } else if (memchr(start, '{', (size_t)(end - start)) ||
                   memchr(start, '}', (size_t)(end - start)) ||
                   memchr(start, '%', (size_t)(end - start))) {
            snprintf(err, errlen, "path '%s': bad literal segment", e->path);
            return NT_EINVAL;
        } else if (end == start && *p != '\0') {
            snprintf(err, errlen, "path '%s' has an empty segment", e->path);
            return NT_EINVAL;
        }
    }
    return NT_OK;
}

int
router_add(router *r, nt_plugin *owner, const nt_route *route, char *err, size_t errlen)
{
    route_entry *e = NULL, **grown;
    char shape[1024], other[1024];
    size_t np = 0;
    int rc = NT_ENOMEM;

    err[0] = '\0';
    if (route->method == NULL || method_index(route->method) < 0) {
        snprintf(err, errlen, "unsupported method '%s'",
                 route->method != NULL ? route->method : "(null)");
        return NT_EINVAL;
    }
    if (route->path == NULL || route->handler == NULL || r->root != NULL) {
        snprintf(err, errlen, "route needs a path and a handler, during init");
        return NT_EINVAL;
    }
    if (route->auth > NT_AUTH_PUBLIC_ACCOUNT) {
        snprintf(err, errlen, "route %s %s: unknown auth kind %d", route->method, route->path,
                 (int)route->auth);
        return NT_EINVAL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        goto fail;
    e->owner = owner;
    e->auth = route->auth;
    e->handler = route->handler;
    e->state = route->state;
    e->method = strdup(route->method);
    e->path = strdup(route->path);
    if (e->method == NULL || e->path == NULL || route_copy_doc(e, route) != NT_OK)
        goto fail;
    if ((rc = route_parse_path(e, err, errlen)) != NT_OK)
        goto fail;
    rc = NT_ENOMEM;
    while (route->perms != NULL && route->perms[np] != NULL)
        np++;
    if (np > 0) {
        e->perms = calloc(np + 1, sizeof(char *));
        if (e->perms == NULL)
            goto fail;
        for (size_t i = 0; i < np; i++)
            if ((e->perms[i] = strdup(route->perms[i])) == NULL)
                goto fail;
    }
    route_shape(e->path, shape, sizeof(shape));
    for (size_t i = 0; i < r->n; i++) {
        route_shape(r->list[i]->path, other, sizeof(other));
        if (strcmp(shape, other) == 0 && strcmp(e->method, r->list[i]->method) == 0) {
            snprintf(err, errlen, "route %s %s is already registered", e->method, e->path);
            rc = NT_ECONFLICT;
            goto fail;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        grown = realloc(r->list, cap * sizeof(*grown));
        if (grown == NULL)
            goto fail;
        r->list = grown;
        r->cap = cap;
    }
    r->list[r->n++] = e;
    return NT_OK;
fail:
    route_entry_free(e);
    return rc;
}

void
router_remove_plugin(router *r, nt_plugin *owner)
{
    size_t j = 0;

    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->list[i]->owner == owner) {
            route_entry_free(r->list[i]);
            continue;
        }
        r->list[j++] = r->list[i];
    }
    r->n = j;
}

/* Finds or creates the child of n for one segment of a route path. */
static rnode *
rnode_child(rnode *n, const char *seg, size_t len)
{
    rnode **grown, *kid;

    if (len > 0 && seg[0] == '{') {
        if (n->param == NULL)
            n->param = calloc(1, sizeof(rnode));
        return n->param;
    }
    for (size_t i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->lit) == len && strncmp(n->kids[i]->lit, seg, len) == 0)
            return n->kids[i];
    kid = calloc(1, sizeof(*kid));
    if (kid == NULL)
        return NULL;
    kid->lit = strndup(seg, len);
    grown = realloc(n->kids, (n->nkids + 1) * sizeof(*grown));
    if (kid->lit == NULL || grown == NULL) {
        free(kid->lit);
        free(kid);
        if (grown != NULL)
            n->kids = grown;
        return NULL;
    }
    n->kids = grown;
    n->kids[n->nkids++] = kid;
    return kid;
}

int
router_compile(router *r)
{
    rnode_free(r->root);
    r->root = calloc(1, sizeof(rnode));
    if (r->root == NULL)
        return NT_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        const route_entry *e = r->list[i];
        rnode *n = r->root;
        const char *p = e->path;

        while (*p == '/' && n != NULL) {
            const char *start = ++p;
            while (*p != '\0' && *p != '/')
                p++;
            n = rnode_child(n, start, (size_t)(p - start));
        }
        if (n == NULL)
            return NT_ENOMEM;
        n->routes[method_index(e->method)] = e;
    }
    return NT_OK;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Splits and percent-decodes the path into scratch. Returns the segment count, or -1 for a
 * path that cannot match (no leading '/', bad escape, NUL, too many segments). */
static int
split_path(const char *path, char *scratch, size_t len, const char **segs)
{
    size_t o = 0;
    int n = 0;

    if (path == NULL || path[0] != '/')
        return -1;
    for (const char *p = path; *p == '/';) {
        p++;
        if (n == ROUTER_MAX_SEGS)
            return -1;
        segs[n++] = scratch + o;
        while (*p != '\0' && *p != '/') {
            char c = *p++;
            if (c == '%') {
                int hi = hexval(p[0]), lo = hi >= 0 ? hexval(p[1]) : -1;
                if (lo < 0)
                    return -1;
                c = (char)(hi * 16 + lo);
                p += 2;
                if (c == '\0')
                    return -1;
            }
            if (o + 1 >= len)
                return -1;
            scratch[o++] = c;
        }
        if (o + 1 >= len)
            return -1;
        scratch[o++] = '\0';
        if (*p != '\0' && *p != '/')
            return -1;
    }
    return n;
}

static const route_entry *
match_node(const rnode *n, const char **segs, int i, int nsegs, int m, const char **vals, int nvals)
{
    const route_entry *found;

    if (i == nsegs)
        return n->routes[m];
    for (size_t k = 0; k < n->nkids; k++) {
        if (strcmp(n->kids[k]->lit, segs[i]) == 0) {
            found = match_node(n->kids[k], segs, i + 1, nsegs, m, vals, nvals);
            if (found != NULL)
                return found;
            break;
        }
    }
    if (n->param != NULL && segs[i][0] != '\0' && nvals < ROUTER_MAX_PARAMS) {
        vals[nvals] = segs[i];
        return match_node(n->param, segs, i + 1, nsegs, m, vals, nvals + 1);
    }
    return NULL;
}

int
router_match(const router *r, const char *method, const char *path, char *scratch,
             size_t scratchlen, router_result *mt)
{
    const char *segs[ROUTER_MAX_SEGS];
    int m = method_index(method), n;

    mt->route = NULL;
    if (m < 0 || r->root == NULL)
        return NT_ENOTFOUND;
    n = split_path(path, scratch, scratchlen, segs);
    if (n < 0)
        return NT_ENOTFOUND;
    mt->route = match_node(r->root, segs, 0, n, m, mt->values, 0);
    return mt->route != NULL ? NT_OK : NT_ENOTFOUND;
}

size_t
router_count(const router *r)
{
    return r->n;
}

const route_entry *
router_get(const router *r, size_t i)
{
    return i < r->n ? r->list[i] : NULL;
}

/* The fake host's plugins: admission, init/start/stop/fini, migrations, and the registration
 * and configuration members of the table (routes, services, cfg_*, log, init_error).
 */
#include "fakehost_int.h"

#include "abi.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* FH_PLUGIN_DIR: the build's plugin folder, compiled into the copy the tests of the source
 * tree use; the installed copy has none (fh_set_plugin_dir or NETTU_FAKEHOST_PLUGIN_DIR). */
#ifndef FH_PLUGIN_DIR
#define FH_PLUGIN_DIR NULL
#endif

/* ---- log and configuration members ------------------------------------------------------- */

static void fh_api_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...) NT_PRINTF(3, 4);
static void
fh_api_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    va_list ap;

    if (p == NULL)
        return;
    va_start(ap, fmt);
    fh_logv(p->host, lvl >= NT_LOG_ERROR && lvl <= NT_LOG_DEBUG ? names[lvl] : "LOG", fmt, ap);
    va_end(ap);
}

static void fh_api_init_error(nt_plugin *p, const char *fmt, ...) NT_PRINTF(2, 3);
static void
fh_api_init_error(nt_plugin *p, const char *fmt, ...)
{
    va_list ap;

    if (p == NULL)
        return;
    va_start(ap, fmt);
    fh_logv(p->host, "INIT_ERROR", fmt, ap);
    va_end(ap);
}

/* The record of `key` in the plugin's section, or NULL. */
static fh_cfg_rec *
fh_cfg_find(const nt_config *c, const char *key)
{
    fh_host *h = c->p->host;

    for (int i = 0; i < h->ncfg; i++)
        if (strcmp(h->cfg[i].section, c->p->desc->name) == 0 && strcmp(h->cfg[i].key, key) == 0)
            return &h->cfg[i];
    return NULL;
}

static const char *
fh_api_cfg_get(const nt_config *c, const char *key)
{
    fh_cfg_rec *rec = c != NULL && key != NULL ? fh_cfg_find(c, key) : NULL;

    if (rec == NULL)
        return NULL;
    rec->used = 1;
    return rec->value;
}

static int
fh_api_cfg_int(nt_plugin *p, const nt_config *c, const char *key, long long dflt, long long min,
               long long max, long long *out)
{
    const char *v = fh_api_cfg_get(c, key);
    char *end = NULL;
    long long n;

    *out = dflt;
    if (v == NULL)
        return NT_OK;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        fh_api_init_error(p, "[%s] %s: expected an integer from %lld to %lld, got '%s'",
                          c->p->desc->name, key, min, max, v);
        return NT_EINVAL;
    }
    *out = n;
    return NT_OK;
}

static int
fh_api_cfg_bool(nt_plugin *p, const nt_config *c, const char *key, int dflt, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = fh_api_cfg_get(c, key);

    *out = dflt;
    if (v == NULL)
        return NT_OK;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return NT_OK;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return NT_OK;
        }
    }
    fh_api_init_error(p, "[%s] %s: expected on/off (true/false, yes/no, 1/0), got '%s'",
                      c->p->desc->name, key, v);
    return NT_EINVAL;
}

static int
fh_api_cfg_check_keys(nt_plugin *p, const nt_config *c, const char *const *known)
{
    fh_host *h = c->p->host;
    int unknown = 0;

    for (int i = 0; i < h->ncfg; i++) {
        fh_cfg_rec *rec = &h->cfg[i];
        int ok = rec->used;
        if (strcmp(rec->section, c->p->desc->name) != 0)
            continue;
        for (int k = 0; !ok && known != NULL && known[k] != NULL; k++)
            ok = strcmp(known[k], rec->key) == 0;
        if (!ok) {
            fh_api_init_error(p, "[%s] %s: unknown key", rec->section, rec->key);
            unknown++;
        }
        rec->used = 1;
    }
    return unknown > 0 ? NT_EINVAL : NT_OK;
}

/* ---- ABI 1.3 configuration helpers (reported through init_error, as cfg_int) ---------- */

static int
fh_api_cfg_enum(nt_plugin *p, const nt_config *c, const char *key, const char *const *names,
                int dflt, int *out)
{
    const char *v = fh_api_cfg_get(c, key);

    *out = dflt;
    if (v == NULL)
        return NT_OK;
    for (int i = 0; names[i] != NULL; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return NT_OK;
        }
    }
    fh_api_init_error(p, "[%s] %s: expected one of the names the plugin knows, got '%s'",
                      c->p->desc->name, key, v);
    return NT_EINVAL;
}

static int
fh_api_cfg_uuid(nt_plugin *p, const nt_config *c, const char *key, int required,
                char out[NT_UUID_BUF], int *present)
{
    const char *v = fh_api_cfg_get(c, key);
    size_t i;

    out[0] = '\0';
    if (present != NULL)
        *present = 0;
    if (v == NULL || *v == '\0') {
        if (!required)
            return NT_OK;
        fh_api_init_error(p, "[%s] %s: required (a UUID)", c->p->desc->name, key);
        return NT_EINVAL;
    }
    for (i = 0; v[i] != '\0' && i < NT_UUID_LEN; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? v[i] != '-'
                                                      : !isxdigit((unsigned char)v[i]))
            break;
    if (i != NT_UUID_LEN || v[i] != '\0') {
        fh_api_init_error(p, "[%s] %s: expected a UUID, got '%s'", c->p->desc->name, key, v);
        return NT_EINVAL;
    }
    for (i = 0; i < NT_UUID_LEN; i++)
        out[i] = (char)tolower((unsigned char)v[i]);
    out[NT_UUID_LEN] = '\0';
    if (present != NULL)
        *present = 1;
    return NT_OK;
}

/* Checks the existence flags only (the fake host has no notion of the server's user). */
static int
fh_api_cfg_path(nt_plugin *p, const nt_config *c, const char *key, const char *dflt, unsigned flags,
                const char **out)
{
    const char *v = fh_api_cfg_get(c, key);
    struct stat st;

    *out = v != NULL && *v != '\0' ? v : dflt;
    if (*out == NULL || **out == '\0') {
        *out = NULL;
        if (!(flags & NT_CFG_PATH_REQUIRED))
            return NT_OK;
        fh_api_init_error(p, "[%s] %s: required (a path)", c->p->desc->name, key);
        return NT_EINVAL;
    }
    if ((flags & (NT_CFG_PATH_FILE | NT_CFG_PATH_DIR)) &&
        (stat(*out, &st) != 0 || ((flags & NT_CFG_PATH_FILE) && !S_ISREG(st.st_mode)) ||
         ((flags & NT_CFG_PATH_DIR) && !S_ISDIR(st.st_mode)))) {
        fh_api_init_error(p, "[%s] %s: %s: no such %s", c->p->desc->name, key, *out,
                          (flags & NT_CFG_PATH_FILE) ? "file" : "directory");
        return NT_EINVAL;
    }
    return NT_OK;
}

static int
fh_api_cfg_duration(nt_plugin *p, const nt_config *c, const char *key, long long dflt_ms,
                    long long min_ms, long long max_ms, long long *out)
{
    static const struct {
        const char *unit;
        long long ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1}};
    const char *v = fh_api_cfg_get(c, key);
    char *end = NULL;
    long long n;

    *out = dflt_ms;
    if (v == NULL)
        return NT_OK;
    errno = 0;
    n = strtoll(v, &end, 10);
    for (size_t i = 0; errno == 0 && end != v && n >= 0 && i < sizeof(units) / sizeof(units[0]);
         i++) {
        if (strcmp(end, units[i].unit) == 0 && n <= max_ms / units[i].ms &&
            n * units[i].ms >= min_ms) {
            *out = n * units[i].ms;
            return NT_OK;
        }
    }
    fh_api_init_error(p, "[%s] %s: expected a duration from %lld ms to %lld ms, got '%s'",
                      c->p->desc->name, key, min_ms, max_ms, v);
    return NT_EINVAL;
}

static void fh_api_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
    NT_PRINTF(4, 5);
static void
fh_api_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fh_api_init_error(p, "[%s] %s: %s", c->p->desc->name, key, msg);
}

static int
fh_api_service_need(nt_plugin *p, const char *kind, uint32_t version)
{
    if (p == NULL || kind == NULL || strlen(kind) >= sizeof(p->needs[0].kind))
        return NT_EINVAL;
    if (p->nneeds == (int)(sizeof(p->needs) / sizeof(p->needs[0])))
        return NT_ENOMEM;
    snprintf(p->needs[p->nneeds].kind, sizeof(p->needs[0].kind), "%s", kind);
    p->needs[p->nneeds].version = version;
    p->nneeds++;
    return NT_OK;
}

/* ---- registration members ---------------------------------------------------------------- */

/* Writes the path with every {param} as "{}" (for duplicate detection). */
static void
fh_route_shape(const char *path, char *out, size_t n)
{
    size_t o = 0;

    for (const char *s = path; *s != '\0' && o + 3 < n;) {
        if (*s == '{') {
            out[o++] = '{';
            out[o++] = '}';
            while (*s != '\0' && *s != '}')
                s++;
            if (*s == '}')
                s++;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
}

static int
fh_api_route_add(nt_plugin *p, const nt_route *r)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    fh_host *h = p->host;
    fh_route_rec *rec;
    char shape[1024], other[1024];
    int ok = 0, np = 0;

    if (!p->in_init || r == NULL || r->size < NT_ROUTE_SIZE_1_0 || r->method == NULL ||
        r->path == NULL || r->path[0] != '/' || r->handler == NULL ||
        r->auth > NT_AUTH_PUBLIC_ACCOUNT) {
        fh_api_init_error(p, "route_add: a bad route (size, method, path, handler, auth) or "
                             "outside init");
        return NT_EINVAL;
    }
    for (int i = 0; i < 5; i++)
        ok |= strcmp(r->method, methods[i]) == 0;
    if (!ok) {
        fh_api_init_error(p, "route_add: unsupported method '%s'", r->method);
        return NT_EINVAL;
    }
    fh_route_shape(r->path, shape, sizeof(shape));
    for (int i = 0; i < h->nroutes; i++) {
        fh_route_shape(h->routes[i].path, other, sizeof(other));
        if (strcmp(shape, other) == 0 && strcmp(r->method, h->routes[i].method) == 0) {
            fh_api_init_error(p, "route_add: route %s %s is already registered", r->method,
                              r->path);
            return NT_ECONFLICT;
        }
    }
    if (h->nroutes == h->routecap) {
        int cap = h->routecap ? h->routecap * 2 : 32;
        fh_route_rec *grown = realloc(h->routes, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        h->routes = grown;
        h->routecap = cap;
    }
    rec = &h->routes[h->nroutes];
    memset(rec, 0, sizeof(*rec));
    rec->owner = p;
    rec->method = strdup(r->method);
    rec->path = strdup(r->path);
    while (r->perms != NULL && r->perms[np] != NULL)
        np++;
    if (r->perms != NULL && (rec->perms = calloc((size_t)np + 1, sizeof(char *))) == NULL)
        goto nomem;
    for (int i = 0; i < np; i++)
        if ((rec->perms[i] = strdup(r->perms[i])) == NULL)
            goto nomem;
    if (rec->method == NULL || rec->path == NULL)
        goto nomem;
    /* A route of an older minor is shorter: copy what it has, the rest reads as absent. */
    memcpy(&rec->r, r, r->size < sizeof(nt_route) ? r->size : sizeof(nt_route));
    rec->r.size = sizeof(nt_route);
    rec->r.method = rec->method;
    rec->r.path = rec->path;
    rec->r.perms = (const char *const *)rec->perms;
    h->nroutes++;
    return NT_OK;
nomem:
    for (int i = 0; rec->perms != NULL && i < np; i++)
        free(rec->perms[i]);
    free(rec->perms);
    free(rec->method);
    free(rec->path);
    return NT_ENOMEM;
}

static int
fh_api_migration_add(nt_plugin *p, const nt_migration *m)
{
    if (!p->in_init || m == NULL || m->size < NT_MIGRATION_SIZE_1_0 || m->sql == NULL ||
        m->version < 1) {
        fh_api_init_error(p, "migration_add: needs a version >= 1 and SQL, during init");
        return NT_EINVAL;
    }
    if (p->nmigs > 0 && m->version <= p->migs[p->nmigs - 1].version) {
        fh_api_init_error(p, "migration_add: version %d after %d; versions must increase",
                          m->version, p->migs[p->nmigs - 1].version);
        return NT_EINVAL;
    }
    if (p->nmigs == p->migcap) {
        int cap = p->migcap ? p->migcap * 2 : 4;
        fh_migration *grown = realloc(p->migs, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        p->migs = grown;
        p->migcap = cap;
    }
    if ((p->migs[p->nmigs].sql = strdup(m->sql)) == NULL)
        return NT_ENOMEM;
    p->migs[p->nmigs++].version = m->version;
    return NT_OK;
}

/* Adds a service record owned by `owner` (NULL for the test's own). */
static int
fh_service_put(fh_host *h, fh_plugin *owner, const char *kind, const char *name, uint32_t version,
               const void *ops, void *state)
{
    fh_svc_rec *rec;

    if (kind == NULL || name == NULL || ops == NULL || *(const uint32_t *)ops == 0)
        return NT_EINVAL;
    /* As the host: a known kind's table holds at least the members it was introduced with. */
    if (*(const uint32_t *)ops < abi_ops_min_size(kind)) {
        fh_logf(h, "ERROR", "fakehost: service %s '%s': ops table too short: %u bytes, needs %zu",
                kind, name, (unsigned)*(const uint32_t *)ops, abi_ops_min_size(kind));
        return NT_EINVAL;
    }
    if (fh_service_find(h, kind, name) != NULL)
        return NT_ECONFLICT;
    if (h->nsvcs == h->svccap) {
        int cap = h->svccap ? h->svccap * 2 : 8;
        fh_svc_rec *grown = realloc(h->svcs, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        h->svcs = grown;
        h->svccap = cap;
    }
    rec = &h->svcs[h->nsvcs];
    rec->kind = strdup(kind);
    rec->name = strdup(name);
    if (rec->kind == NULL || rec->name == NULL) {
        free(rec->kind);
        free(rec->name);
        return NT_ENOMEM;
    }
    rec->owner = owner;
    rec->s.kind = rec->kind;
    rec->s.name = rec->name;
    rec->s.version = version;
    rec->s.ops = ops;
    rec->s.state = state;
    rec->s.owner = owner;
    h->nsvcs++;
    return NT_OK;
}

static int
fh_api_service_provide(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                       const void *ops, void *state)
{
    int rc = p->in_init ? fh_service_put(p->host, p, kind, name, version, ops, state) : NT_EINVAL;

    if (rc == NT_ECONFLICT)
        fh_api_init_error(p, "service %s '%s' is already provided", kind, name);
    else if (rc != NT_OK)
        fh_api_init_error(p, "service_provide: a bad service, or outside init");
    return rc;
}

/* As the core: version >= the one asked for; without a name, ambiguity finds nothing. */
static const void *
fh_api_service_lookup(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                      void **state)
{
    fh_host *h = p->host;
    const fh_service *found = NULL;

    if (name != NULL)
        h->named_lookups++;
    for (int i = 0; kind != NULL && i < h->nsvcs; i++) {
        const fh_service *s = &h->svcs[i].s;
        if (strcmp(s->kind, kind) != 0 || s->version < version)
            continue;
        if (name != NULL && strcmp(s->name, name) != 0)
            continue;
        if (found != NULL)
            return NULL;
        found = s;
    }
    if (found == NULL)
        return NULL;
    if (state != NULL)
        *state = found->state;
    return found->ops;
}

static nt_db *
fh_api_host_db(nt_plugin *p)
{
    return &p->host->db;
}

/* ---- introspection members (ABI 1.1; they answer for fh_current) ------------------------- */

static size_t
fh_api_route_count(void)
{
    return fh_current != NULL ? (size_t)fh_current->nroutes : 0;
}

static int
fh_api_route_get(size_t i, nt_route_info *out)
{
    const fh_route_rec *rec;

    if (fh_current == NULL || i >= (size_t)fh_current->nroutes || out == NULL ||
        out->size < NT_ROUTE_INFO_SIZE_1_1)
        return NT_ENOTFOUND;
    rec = &fh_current->routes[i];
    out->method = rec->method;
    out->path = rec->path;
    out->auth = rec->r.auth;
    out->perms = (const char *const *)rec->perms;
    out->plugin = rec->owner != NULL ? rec->owner->desc->name : "core";
    if (NT_HAS_MEMBER(out, nt_route_info, response_status)) {
        /* rec->r reads as absent (zero) beyond an older plugin's route size */
        out->summary = rec->r.summary;
        out->query_schema = rec->r.query_schema;
        out->request_schema = rec->r.request_schema;
        out->response_schema = rec->r.response_schema;
        out->response_type = rec->r.response_type;
        out->response_status = rec->r.response_status;
    }
    return NT_OK;
}

static size_t
fh_api_plugin_count(void)
{
    return fh_current != NULL ? (size_t)fh_current->nplugins : 0;
}

static int
fh_api_plugin_get(size_t i, const char **name, const char **version)
{
    const nt_plugin_desc *d;

    if (fh_current == NULL || i >= (size_t)fh_current->nplugins)
        return NT_ENOTFOUND;
    d = fh_current->plugins[i]->desc;
    *name = d->name;
    *version = d->version != NULL ? d->version : "";
    return NT_OK;
}

void
fh_plugin_fill_api(nt_host_api *api)
{
    api->log = fh_api_log;
    api->init_error = fh_api_init_error;
    api->cfg_get = fh_api_cfg_get;
    api->cfg_int = fh_api_cfg_int;
    api->cfg_bool = fh_api_cfg_bool;
    api->cfg_check_keys = fh_api_cfg_check_keys;
    api->cfg_enum = fh_api_cfg_enum;
    api->cfg_uuid = fh_api_cfg_uuid;
    api->cfg_path = fh_api_cfg_path;
    api->cfg_duration = fh_api_cfg_duration;
    api->cfg_fail = fh_api_cfg_fail;
    api->service_need = fh_api_service_need;
    api->route_add = fh_api_route_add;
    api->migration_add = fh_api_migration_add;
    api->service_provide = fh_api_service_provide;
    api->service_lookup = fh_api_service_lookup;
    api->host_db = fh_api_host_db;
    api->route_count = fh_api_route_count;
    api->route_get = fh_api_route_get;
    api->plugin_count = fh_api_plugin_count;
    api->plugin_get = fh_api_plugin_get;
}

/* ---- registry queries -------------------------------------------------------------------- */

void
fh_registry_drop(fh_host *h, fh_plugin *p)
{
    int j = 0;

    for (int i = 0; i < h->nroutes; i++) {
        fh_route_rec *rec = &h->routes[i];
        if (rec->owner != p) {
            h->routes[j++] = *rec;
            continue;
        }
        for (int k = 0; rec->perms != NULL && rec->perms[k] != NULL; k++)
            free(rec->perms[k]);
        free(rec->perms);
        free(rec->method);
        free(rec->path);
    }
    h->nroutes = j;
    j = 0;
    for (int i = 0; i < h->nsvcs; i++) {
        if (h->svcs[i].owner != p) {
            h->svcs[j++] = h->svcs[i];
            continue;
        }
        free(h->svcs[i].kind);
        free(h->svcs[i].name);
    }
    h->nsvcs = j;
}

int
fh_route_count(const fh_host *h)
{
    return h->nroutes;
}

const nt_route *
fh_route_at(const fh_host *h, int i)
{
    return i >= 0 && i < h->nroutes ? &h->routes[i].r : NULL;
}

const nt_route *
fh_route(const fh_host *h, const char *method, const char *path)
{
    for (int i = 0; i < h->nroutes; i++)
        if (strcmp(h->routes[i].method, method) == 0 && strcmp(h->routes[i].path, path) == 0)
            return &h->routes[i].r;
    return NULL;
}

const fh_service *
fh_service_find(const fh_host *h, const char *kind, const char *name)
{
    for (int i = 0; i < h->nsvcs; i++)
        if (strcmp(h->svcs[i].kind, kind) == 0 &&
            (name == NULL || strcmp(h->svcs[i].name, name) == 0))
            return &h->svcs[i].s;
    return NULL;
}

int
fh_service_count(const fh_host *h)
{
    return h->nsvcs;
}

const fh_service *
fh_service_at(const fh_host *h, int i)
{
    return i >= 0 && i < h->nsvcs ? &h->svcs[i].s : NULL;
}

int
fh_service_add(fh_host *h, const char *kind, const char *name, uint32_t version, const void *ops,
               void *state)
{
    return fh_service_put(h, NULL, kind, name, version, ops, state);
}

/* ---- plugin lifecycle -------------------------------------------------------------------- */

/* Checks a descriptor as the loader does and adds the plugin to the host. */
static fh_plugin *
fh_admit(fh_host *h, void *dl, const nt_plugin_desc *d, const char *what)
{
    fh_plugin *p, **grown;

    if (d == NULL || d->magic != NT_ABI_MAGIC || d->abi_major != NT_ABI_MAJOR ||
        d->abi_minor > NT_ABI_MINOR || d->size < NT_PLUGIN_DESC_SIZE_1_0 || d->name == NULL ||
        d->init == NULL) {
        fh_logf(h, "ERROR", "fakehost: %s: not an admissible nettu plugin descriptor", what);
        return NULL;
    }
    if (h->nplugins == h->plugcap) {
        int cap = h->plugcap ? h->plugcap * 2 : 8;
        grown = realloc(h->plugins, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        h->plugins = grown;
        h->plugcap = cap;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->host = h;
    p->dl = dl;
    p->desc = d;
    p->cfg.p = p;
    h->plugins[h->nplugins++] = p;
    return p;
}

fh_plugin *
fh_open(fh_host *h, const char *name)
{
    const nt_plugin_desc *(*entry)(void);
    const char *dir;
    char path[1024];
    fh_plugin *p;
    void *dl;

    dir = h->plugin_dir != NULL ? h->plugin_dir : getenv("NETTU_FAKEHOST_PLUGIN_DIR");
    if (dir == NULL || dir[0] == '\0')
        dir = FH_PLUGIN_DIR;
    if (dir == NULL) {
        fh_logf(h, "ERROR",
                "fakehost: %s: no plugin folder: call fh_set_plugin_dir or set "
                "NETTU_FAKEHOST_PLUGIN_DIR (e.g. to `pkg-config --variable=plugindir "
                "nettu-fakehost`)",
                name);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s.so", dir, name);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fh_logf(h, "ERROR", "fakehost: dlopen %s: %s", path, dlerror());
        return NULL;
    }
    *(void **)&entry = dlsym(dl, NT_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) {
        fh_logf(h, "ERROR", "fakehost: %s has no %s", path, NT_PLUGIN_ENTRY_SYMBOL);
        dlclose(dl);
        return NULL;
    }
    p = fh_admit(h, dl, entry(), path);
    if (p != NULL && strcmp(p->desc->name, name) != 0) {
        fh_logf(h, "ERROR", "fakehost: %s calls itself '%s'", path, p->desc->name);
        fh_close(p);
        return NULL;
    }
    if (p == NULL)
        dlclose(dl);
    return p;
}

fh_plugin *
fh_adopt(fh_host *h, const nt_plugin_desc *desc)
{
    return fh_admit(h, NULL, desc, desc != NULL && desc->name != NULL ? desc->name : "(desc)");
}

/* Forgets the plugin's migrations. */
static void
fh_migrations_drop(fh_plugin *p)
{
    for (int i = 0; i < p->nmigs; i++)
        free(p->migs[i].sql);
    free(p->migs);
    p->migs = NULL;
    p->nmigs = p->migcap = 0;
}

int
fh_init(fh_plugin *p)
{
    int rc;

    if (p->inited)
        return NT_EINVAL;
    p->in_init = 1;
    for (int i = 0; i < p->host->ncfg; i++)
        if (strcmp(p->host->cfg[i].section, p->desc->name) == 0)
            p->host->cfg[i].used = 0;
    p->state = NULL;
    rc = p->desc->init(p, fh_api(), &p->cfg, &p->state);
    p->in_init = 0;
    if (rc != NT_OK) {
        fh_registry_drop(p->host, p);
        fh_migrations_drop(p);
        return rc;
    }
    p->inited = 1;
    return NT_OK;
}

/* Runs one statement on the raw handle; NT_OK or NT_ERR with a log line. */
static int
fh_sql(fh_host *h, const char *what, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(h->db.sq, sql, NULL, NULL, &err) == SQLITE_OK)
        return NT_OK;
    fh_logf(h, "ERROR", "fakehost: %s failed: %s", what, err != NULL ? err : "?");
    sqlite3_free(err);
    return NT_ERR;
}

/* Applies one migration step unless recorded; one transaction. */
static int
fh_migrate_step(fh_host *h, const fh_plugin *p, const fh_migration *m)
{
    sqlite3_stmt *st = NULL;
    char what[160];
    int rc, found;

    if (fh_sql(h, "BEGIN", "BEGIN IMMEDIATE") != NT_OK)
        return NT_ERR;
    rc = sqlite3_prepare_v2(h->db.sq,
                            "SELECT 1 FROM nettu_migrations WHERE plugin = ?1 AND version = ?2", -1,
                            &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, p->desc->name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 2, m->version);
    found = rc == SQLITE_OK ? sqlite3_step(st) : rc;
    sqlite3_finalize(st);
    st = NULL;
    snprintf(what, sizeof(what), "migration %d of %s", m->version, p->desc->name);
    if (found != SQLITE_ROW && found != SQLITE_DONE) {
        fh_logf(h, "ERROR", "fakehost: %s: %s", what, sqlite3_errmsg(h->db.sq));
        goto fail;
    }
    if (found == SQLITE_DONE) {
        if (fh_sql(h, what, m->sql) != NT_OK)
            goto fail;
        rc = sqlite3_prepare_v2(h->db.sq,
                                "INSERT INTO nettu_migrations (plugin, version, applied) "
                                "VALUES (?1, ?2, 0)",
                                -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_text(st, 1, p->desc->name, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int(st, 2, m->version);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
        if (rc != SQLITE_OK) {
            fh_logf(h, "ERROR", "fakehost: recording %s: %s", what, sqlite3_errmsg(h->db.sq));
            goto fail;
        }
    }
    if (fh_sql(h, "COMMIT", "COMMIT") != NT_OK)
        goto fail;
    return NT_OK;
fail:
    if (sqlite3_get_autocommit(h->db.sq) == 0)
        fh_sql(h, "ROLLBACK", "ROLLBACK");
    return NT_ERR;
}

int
fh_migrate(fh_host *h)
{
    if (fh_sql(h, "creating nettu_migrations",
               "CREATE TABLE IF NOT EXISTS nettu_migrations (plugin TEXT NOT NULL, "
               "version INTEGER NOT NULL, applied BIGINT NOT NULL, "
               "PRIMARY KEY (plugin, version))") != NT_OK)
        return NT_ERR;
    for (int i = 0; i < h->nplugins; i++) {
        const fh_plugin *p = h->plugins[i];
        for (int k = 0; p->inited && k < p->nmigs; k++)
            if (fh_migrate_step(h, p, &p->migs[k]) != NT_OK)
                return NT_ERR;
    }
    return NT_OK;
}

int
fh_start(fh_plugin *p)
{
    int rc;

    if (!p->inited || p->started)
        return NT_EINVAL;
    /* As the server: a declared need that no service meets stops the start. */
    for (int i = 0; i < p->nneeds; i++) {
        if (fh_api_service_lookup(p, p->needs[i].kind, NULL, p->needs[i].version, NULL) == NULL) {
            fh_api_init_error(p, "needs service %s v%u, which no plugin of the fake host provides",
                              p->needs[i].kind, (unsigned)p->needs[i].version);
            return NT_ERR;
        }
    }
    rc = p->desc->start != NULL ? p->desc->start(p->state) : NT_OK;
    p->started = rc == NT_OK;
    return rc;
}

void
fh_close(fh_plugin *p)
{
    fh_host *h;
    int j = 0, left;

    if (p == NULL)
        return;
    h = p->host;
    if (p->started && p->desc->stop != NULL)
        p->desc->stop(p->state);
    if ((left = fh_db_close_left(h, p)) > 0)
        fh_logf(h, "ERROR", "fakehost: %s left %d db_open connection(s) open after stop",
                p->desc->name, left);
    if (p->inited && p->desc->fini != NULL)
        p->desc->fini(p->state);
    fh_registry_drop(h, p);
    fh_migrations_drop(p);
    if (p->dl != NULL)
        dlclose(p->dl);
    for (int i = 0; i < h->nplugins; i++)
        if (h->plugins[i] != p)
            h->plugins[j++] = h->plugins[i];
    h->nplugins = j;
    free(p);
}

int
fh_load_all(fh_host *h, const char *const *names)
{
    int first = h->nplugins, rc;

    for (int i = 0; names[i] != NULL; i++) {
        fh_plugin *p = fh_open(h, names[i]);
        if (p == NULL)
            return NT_ERR;
        if ((rc = fh_init(p)) != NT_OK) {
            fh_logf(h, "ERROR", "fakehost: init of %s failed (%d)", names[i], rc);
            return rc;
        }
    }
    if ((rc = fh_migrate(h)) != NT_OK)
        return rc;
    for (int i = first; i < h->nplugins; i++) {
        if ((rc = fh_start(h->plugins[i])) != NT_OK) {
            fh_logf(h, "ERROR", "fakehost: start of %s failed (%d)", h->plugins[i]->desc->name, rc);
            return rc;
        }
    }
    return NT_OK;
}

const nt_plugin_desc *
fh_plugin_desc(const fh_plugin *p)
{
    return p->desc;
}

void *
fh_plugin_state(const fh_plugin *p)
{
    return p->state;
}

int
fh_migration_count(const fh_plugin *p)
{
    return p->nmigs;
}

int
fh_migration_version(const fh_plugin *p, int i)
{
    return i >= 0 && i < p->nmigs ? p->migs[i].version : -1;
}

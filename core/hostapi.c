/* The host function table. Every function a plugin can call is defined here (or forwarded
 * from here to the store backend); plugins never see core symbols.
 */
#include "hostapi.h"
#include "jsonfield.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <jansson.h>

#include "abi.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "query.h"
#include "request.h"
#include "service.h"
#include "settings.h"
#include "util.h"

static router *host_router;
static cfg *host_cfg;
static const loader *host_loader;
static const nt_store_v1 *host_store;
static void *host_store_state;
static nt_db *host_main_db;
static int64_t host_budget_us = 100000;

/* How often (in CPU time) req_check looks at the client's socket. */
#define HOST_PEEK_EVERY_US 5000

router *
hostapi_router(void)
{
    if (host_router == NULL)
        host_router = router_new();
    return host_router;
}

void
hostapi_set_loader(const loader *l)
{
    host_loader = l;
}

void
hostapi_set_config(cfg *c)
{
    host_cfg = c;
}

void
hostapi_set_store(const nt_store_v1 *ops, void *state, nt_db *main_db)
{
    host_store = ops;
    host_store_state = state;
    host_main_db = main_db;
}

const nt_store_v1 *
hostapi_store(void)
{
    return host_store;
}

void *
hostapi_store_state(void)
{
    return host_store_state;
}

void
hostapi_set_request_budget(int cpu_ms)
{
    host_budget_us = (int64_t)cpu_ms * 1000;
}

void
hostapi_shutdown(void)
{
    router_free(host_router);
    host_router = NULL;
    host_store = NULL;
    host_store_state = NULL;
    host_main_db = NULL;
}

/* ---- logging --------------------------------------------------------------------------- */

static void h_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...) NT_PRINTF(3, 4);
static void
h_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(lvl, p != NULL ? p->name : NULL, fmt, ap);
    va_end(ap);
}

static void h_init_error(nt_plugin *p, const char *fmt, ...) NT_PRINTF(2, 3);
static void
h_init_error(nt_plugin *p, const char *fmt, ...)
{
    va_list ap;

    if (p == NULL)
        return;
    va_start(ap, fmt);
    loader_set_error(p, fmt, ap);
    va_end(ap);
}

/* ---- configuration --------------------------------------------------------------------- */

static const char *
h_cfg_get(const nt_config *c, const char *key)
{
    cfg_value v;

    return cfg_lookup(c->cfg, c->section, key, &v) ? v.text : NULL;
}

static int
h_cfg_int(nt_plugin *p, const nt_config *c, const char *key, long long dflt, long long min,
          long long max, long long *out)
{
    (void)p;
    return cfg_read_int(c->cfg, c->section, key, dflt, min, max, out);
}

static int
h_cfg_bool(nt_plugin *p, const nt_config *c, const char *key, int dflt, int *out)
{
    (void)p;
    return cfg_read_bool(c->cfg, c->section, key, dflt, out);
}

static int
h_cfg_check_keys(nt_plugin *p, const nt_config *c, const char *const *known)
{
    (void)p;
    return cfg_report_unknown(c->cfg, c->section, known) > 0 ? NT_EINVAL : NT_OK;
}

/* ---- registration ---------------------------------------------------------------------- */

/* NT_OK when `text` (a route's `member`) is NULL or a JSON object; else NT_EINVAL with the
 * reason and position in err. */
static int
h_route_schema_check(const char *member, const char *text, char *err, size_t errlen)
{
    json_error_t je;
    json_t *v;
    int ok;

    if (text == NULL)
        return NT_OK;
    v = json_loads(text, JSON_DECODE_ANY, &je);
    ok = json_is_object(v);
    json_decref(v);
    if (ok)
        return NT_OK;
    if (v != NULL)
        snprintf(err, errlen, "%s: expected a JSON Schema object", member);
    else
        snprintf(err, errlen, "%s: not JSON: %s (line %d, column %d)", member, je.text, je.line,
                 je.column);
    return NT_EINVAL;
}

/* Checks the ABI 1.4 description members of a route whose size reaches them: every schema a
 * JSON object, the status a 2xx (or 0). NT_OK or NT_EINVAL with the reason in err. */
static int
h_route_doc_check(const nt_route *r, char *err, size_t errlen)
{
    if (NT_HAS_MEMBER(r, nt_route, flags) && (r->flags & ~NT_ROUTE_GROUP_COMMIT) != 0) {
        snprintf(err, errlen, "flags: unknown bits 0x%llx",
                 (unsigned long long)(r->flags & ~NT_ROUTE_GROUP_COMMIT));
        return NT_EINVAL;
    }
    if (!NT_HAS_MEMBER(r, nt_route, response_status))
        return NT_OK;
    if (r->response_status != 0 && (r->response_status < 200 || r->response_status > 299)) {
        snprintf(err, errlen, "response_status: expected 0 or 200..299, got %d",
                 r->response_status);
        return NT_EINVAL;
    }
    if (h_route_schema_check("query_schema", r->query_schema, err, errlen) != NT_OK ||
        h_route_schema_check("request_schema", r->request_schema, err, errlen) != NT_OK ||
        h_route_schema_check("response_schema", r->response_schema, err, errlen) != NT_OK)
        return NT_EINVAL;
    return NT_OK;
}

static int
h_route_add(nt_plugin *p, const nt_route *r)
{
    char err[512];
    int rc;

    if (r == NULL || r->size < NT_ROUTE_SIZE_1_0) {
        h_init_error(p, "route_add: route struct too short: %u bytes, ABI %d.0 needs %zu",
                     r != NULL ? (unsigned)r->size : 0u, NT_ABI_MAJOR, NT_ROUTE_SIZE_1_0);
        return NT_EINVAL;
    }
    if (h_route_doc_check(r, err, sizeof(err)) != NT_OK) {
        h_init_error(p, "route_add: %s %s: %s", r->method != NULL ? r->method : "(null)",
                     r->path != NULL ? r->path : "(null)", err);
        return NT_EINVAL;
    }
    rc = router_add(hostapi_router(), p, r, err, sizeof(err));
    if (rc != NT_OK)
        h_init_error(p, "route_add: %s", err);
    return rc;
}

static int
h_migration_add(nt_plugin *p, const nt_migration *m)
{
    loader_migration *grown;

    if (m == NULL || m->size < NT_MIGRATION_SIZE_1_0) {
        h_init_error(p, "migration_add: migration struct too short: %u bytes, ABI %d.0 needs %zu",
                     m != NULL ? (unsigned)m->size : 0u, NT_ABI_MAJOR, NT_MIGRATION_SIZE_1_0);
        return NT_EINVAL;
    }
    if (m->sql == NULL || m->version < 1) {
        h_init_error(p, "migration_add: needs a version >= 1 and SQL");
        return NT_EINVAL;
    }
    if (p->nmigs > 0 && m->version <= p->migs[p->nmigs - 1].version) {
        h_init_error(p, "migration_add: version %d after %d; versions must increase", m->version,
                     p->migs[p->nmigs - 1].version);
        return NT_EINVAL;
    }
    if (p->nmigs == p->migcap) {
        size_t cap = p->migcap ? p->migcap * 2 : 4;
        grown = realloc(p->migs, cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        p->migs = grown;
        p->migcap = cap;
    }
    p->migs[p->nmigs].sql = strdup(m->sql);
    if (p->migs[p->nmigs].sql == NULL)
        return NT_ENOMEM;
    p->migs[p->nmigs].version = m->version;
    p->nmigs++;
    return NT_OK;
}

/* Provides a service. An ops table of a kind the host knows must hold at least the members
 * the kind had when it was introduced (abi.c); later members are tested by size. */
static int
h_service_provide(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                  const void *ops, void *state)
{
    size_t min = abi_ops_min_size(kind);
    int rc;

    if (ops != NULL && *(const uint32_t *)ops < min) {
        h_init_error(p, "service %s '%s': ops table too short: %u bytes, ABI %d.%d needs %zu", kind,
                     name != NULL ? name : "(null)", (unsigned)*(const uint32_t *)ops, NT_ABI_MAJOR,
                     abi_ops_minor(kind), min);
        return NT_EINVAL;
    }
    rc = service_provide(p, kind, name, version, ops, state);
    if (rc == NT_ECONFLICT)
        h_init_error(p, "service %s '%s' is already provided by another plugin", kind, name);
    else if (rc != NT_OK)
        h_init_error(p, "service %s '%s': bad ops table", kind != NULL ? kind : "(null)",
                     name != NULL ? name : "(null)");
    return rc;
}

static const void *
h_service_lookup(nt_plugin *p, const char *kind, const char *name, uint32_t version, void **state)
{
    (void)p;
    if (name == NULL && host_cfg != NULL)
        name = settings_service_choice(host_cfg, kind);
    return service_lookup(kind, name, version, state);
}

/* ---- request --------------------------------------------------------------------------- */

static const char *
h_req_method(nt_req *r)
{
    return r->method;
}

static const char *
h_req_param(nt_req *r, const char *name)
{
    if (r->route == NULL)
        return NULL;
    for (int i = 0; i < r->route->nparams; i++)
        if (strcmp(r->route->params[i], name) == 0)
            return r->values[i];
    return NULL;
}

static const char *
h_req_query(nt_req *r, const char *name)
{
    if (r->query_parsed == 0)
        r->query_parsed =
            query_decode(r->query_raw, &r->scratch, &r->query, &r->nquery) == NT_OK ? 1 : -1;
    if (r->query_parsed < 0 || name == NULL)
        return NULL;
    return query_find(r->query, r->nquery, name); /* names are case-sensitive */
}

static const char *
h_req_header(nt_req *r, const char *name)
{
    if (r->http == NULL || name == NULL)
        return NULL;
    return http_head_field(r->http->head, r->http->base, name);
}

static json_t *
h_req_body(nt_req *r)
{
    if (r->body == NULL)
        r->body = json_object();
    return r->body;
}

static void *
h_req_alloc(nt_req *r, size_t n)
{
    return arena_alloc(&r->scratch, n);
}

static nt_db *
h_req_db(nt_req *r)
{
    return r->db;
}

static int
h_req_set_principal(nt_req *r, const char *account_id, const char *user_id, json_t *policy)
{
    int rc = NT_EINVAL;

    if (account_id == NULL || strlen(account_id) >= sizeof(r->account) ||
        (user_id != NULL && strlen(user_id) >= sizeof(r->user)))
        goto out;
    memcpy(r->account, account_id, strlen(account_id) + 1);
    r->has_account = 1;
    r->has_user = user_id != NULL;
    if (user_id != NULL)
        memcpy(r->user, user_id, strlen(user_id) + 1);
    json_decref(r->policy);
    r->policy = policy;
    policy = NULL;
    rc = NT_OK;
out:
    json_decref(policy);
    return rc;
}

static const char *
h_req_account(nt_req *r)
{
    return r->has_account ? r->account : NULL;
}

static const char *
h_req_user(nt_req *r)
{
    return r->has_user ? r->user : NULL;
}

static json_t *
h_req_policy(nt_req *r)
{
    return r->policy;
}

static int h_fail(nt_req *r, int code, const char *fmt, ...) NT_PRINTF(3, 4);
static int
h_fail(nt_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->has_msg = 1;
    return code;
}

/* ---- storage: forwarded to the chosen backend ------------------------------------------- */

static nt_db *
h_host_db(nt_plugin *p)
{
    (void)p;
    return host_main_db;
}

static nt_stmt *
h_db_prepare(nt_db *db, const char *sql)
{
    return db != NULL && sql != NULL ? host_store->prepare(db, sql) : NULL;
}

static int
h_db_bind_text(nt_stmt *s, int i, const char *v)
{
    if (s == NULL)
        return NT_EINVAL;
    return v != NULL ? host_store->bind_text(s, i, v) : host_store->bind_null(s, i);
}

static int
h_db_bind_int64(nt_stmt *s, int i, int64_t v)
{
    return s != NULL ? host_store->bind_int64(s, i, v) : NT_EINVAL;
}

static int
h_db_bind_null(nt_stmt *s, int i)
{
    return s != NULL ? host_store->bind_null(s, i) : NT_EINVAL;
}

static int
h_db_step(nt_stmt *s)
{
    return s != NULL ? host_store->step(s) : NT_EINVAL;
}

static const char *
h_db_col_text(nt_stmt *s, int col)
{
    return s != NULL ? host_store->col_text(s, col) : NULL;
}

static int64_t
h_db_col_int64(nt_stmt *s, int col)
{
    return s != NULL ? host_store->col_int64(s, col) : 0;
}

static int
h_db_col_is_null(nt_stmt *s, int col)
{
    return s != NULL ? host_store->col_is_null(s, col) : 1;
}

static int64_t
h_db_changes(nt_stmt *s)
{
    return s != NULL ? host_store->changes(s) : 0;
}

static void
h_db_finalize(nt_stmt *s)
{
    if (s != NULL)
        host_store->finalize(s);
}

static int
h_db_exec(nt_db *db, const char *sql)
{
    return db != NULL && sql != NULL ? host_store->exec(db, sql) : NT_EINVAL;
}

static int
h_db_begin(nt_db *db)
{
    return db != NULL ? host_store->begin(db) : NT_EINVAL;
}

static int
h_db_begin_claim(nt_db *db)
{
    if (db == NULL)
        return NT_EINVAL;
    if (NT_HAS_MEMBER(host_store, nt_store_v1, begin_claim) && host_store->begin_claim != NULL)
        return host_store->begin_claim(db);
    return host_store->begin(db);
}

static const char *
h_db_dialect(void)
{
    const char *d = NULL;

    if (host_store != NULL && NT_HAS_MEMBER(host_store, nt_store_v1, dialect) &&
        host_store->dialect != NULL)
        d = host_store->dialect(host_store_state);
    return d != NULL ? d : "";
}

static int
h_db_commit(nt_db *db)
{
    return db != NULL ? host_store->commit(db) : NT_EINVAL;
}

static int
h_db_rollback(nt_db *db)
{
    return db != NULL ? host_store->rollback(db) : NT_OK;
}

static const char *
h_db_errmsg(nt_db *db)
{
    return db != NULL ? host_store->errmsg(db) : "no storage connection";
}

/* ---- JSON field readers (core/jsonfield.c) ---------------------------------------------- */

static int
h_json_get_int(nt_req *r, const json_t *obj, const char *key, int required, int64_t *out,
               int *present)
{
    return jsonfield_int(h_fail, r, obj, key, required, out, present);
}

static int
h_json_get_str(nt_req *r, const json_t *obj, const char *key, int required, const char **out,
               int *present)
{
    return jsonfield_str(h_fail, r, obj, key, required, out, present);
}

static int
h_json_get_bool(nt_req *r, const json_t *obj, const char *key, int required, int *out, int *present)
{
    return jsonfield_bool(h_fail, r, obj, key, required, out, present);
}

static int
h_json_get_metadata(nt_req *r, const json_t *obj, const char *key, int required, json_t **out,
                    int *present)
{
    return jsonfield_metadata(h_fail, r, obj, key, required, out, present);
}

/* ---- request budget and background connections (ABI 1.2) ------------------------------- */

/* 1 when the peer of the request's connection has closed it (end of stream, or an error). */
static int
h_client_gone(nt_req *r)
{
    int fd = r->http != NULL ? r->http->fd : -1;
    char c;
    ssize_t n;

    if (fd < 0)
        return 0;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Checks the request's CPU budget, and every HOST_PEEK_EVERY_US of CPU whether its client is
 * still there. Reading a thread's CPU clock is a system call (about 1 us in a VM, 6 per
 * booking), the monotonic clock is not: a thread uses at most as much CPU time as passes on
 * the wall clock, so the CPU clock is read only once enough wall time has passed for a limit
 * to be reachable. */
static int
h_req_check(nt_req *r)
{
    int64_t wall = util_mono_us() - r->wall0_us, used, next;

    if (r->gone)
        return NT_EGONE;
    if (wall < r->look_us)
        return NT_OK;
    used = util_thread_cpu_us() - r->cpu0_us;
    if (used > host_budget_us)
        return h_fail(r, NT_EBUDGET,
                      "the request needs more work than its budget allows (%lld ms of CPU, "
                      "[server] request_cpu_ms); narrow the query or simplify the stored rules",
                      (long long)(host_budget_us / 1000));
    if (used >= r->next_peek_us) {
        r->next_peek_us = used + HOST_PEEK_EVERY_US;
        if (h_client_gone(r)) {
            r->gone = 1;
            return NT_EGONE;
        }
    }
    next = r->next_peek_us < host_budget_us ? r->next_peek_us : host_budget_us;
    r->look_us = wall + (next - used);
    return NT_OK;
}

static void *
h_memo_get(nt_req *r, const char *key)
{
    return memo_get(r->memo, key);
}

static int
h_memo_put(nt_req *r, const char *key, void *value, void (*free_fn)(void *value))
{
    if (r->memo == NULL)
        return value != NULL && key != NULL ? NT_EUNAVAIL : NT_ERR;
    return memo_put(r->memo, key, value, free_fn);
}

static const char *
h_req_peer(nt_req *r)
{
    return r->http != NULL && r->http->peer != NULL ? r->http->peer : "";
}

static nt_db *
h_db_open(nt_plugin *p, char *err, size_t errlen)
{
    (void)p;
    if (host_store == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "storage is not open yet (call db_open from start on)");
        return NULL;
    }
    return host_store->conn_open(host_store_state, err, errlen);
}

static void
h_db_close(nt_db *db)
{
    if (db != NULL && host_store != NULL)
        host_store->conn_close(db);
}

/* ---- introspection ------------------------------------------------------------------- */

static size_t
h_route_count(void)
{
    return host_router != NULL ? router_count(host_router) : 0;
}

static int
h_route_get(size_t i, nt_route_info *out)
{
    const route_entry *e = host_router != NULL ? router_get(host_router, i) : NULL;

    if (e == NULL || out == NULL || out->size < NT_ROUTE_INFO_SIZE_1_1)
        return NT_ENOTFOUND;
    out->method = e->method;
    out->path = e->path;
    out->auth = e->auth;
    out->perms = (const char *const *)e->perms;
    out->plugin = e->owner != NULL ? e->owner->name : "core";
    if (NT_HAS_MEMBER(out, nt_route_info, response_status)) {
        out->summary = e->summary;
        out->query_schema = e->query_schema;
        out->request_schema = e->request_schema;
        out->response_schema = e->response_schema;
        out->response_type = e->response_type;
        out->response_status = e->response_status;
    }
    return NT_OK;
}

static size_t
h_plugin_count(void)
{
    return host_loader != NULL ? (size_t)host_loader->n : 0;
}

static int
h_plugin_get(size_t i, const char **name, const char **version)
{
    const nt_plugin *p;

    if (host_loader == NULL || i >= (size_t)host_loader->n)
        return NT_ENOTFOUND;
    p = host_loader->plugins[i];
    *name = p->name;
    *version = p->desc->version != NULL ? p->desc->version : "";
    return NT_OK;
}

static const char *
h_req_route(nt_req *r)
{
    return r->route != NULL ? r->route->path : NULL;
}

static int
h_req_reply_text(nt_req *r, const char *content_type, const char *body, size_t len)
{
    size_t n = content_type != NULL ? strlen(content_type) : 0;
    char *copy;

    if (n == 0 || n >= sizeof(r->text_type) || body == NULL)
        return NT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)content_type[i] < 0x20 || content_type[i] == 0x7f)
            return NT_EINVAL;
    copy = realloc(r->text, len > 0 ? len : 1);
    if (copy == NULL)
        return NT_ENOMEM;
    memcpy(copy, body, len);
    r->text = copy;
    r->text_len = len;
    r->has_text = 1;
    memcpy(r->text_type, content_type, n + 1);
    return NT_OK;
}

/* ---- configuration helpers and declared needs (ABI 1.3) ------------------------------- */

static int
h_cfg_enum(nt_plugin *p, const nt_config *c, const char *key, const char *const *names, int dflt,
           int *out)
{
    (void)p;
    return cfg_read_enum(c->cfg, c->section, key, names, dflt, out);
}

static int
h_cfg_uuid(nt_plugin *p, const nt_config *c, const char *key, int required, char out[NT_UUID_BUF],
           int *present)
{
    (void)p;
    return cfg_read_uuid(c->cfg, c->section, key, required, out, present);
}

static int
h_cfg_path(nt_plugin *p, const nt_config *c, const char *key, const char *dflt, unsigned flags,
           const char **out)
{
    (void)p;
    return cfg_read_path(c->cfg, c->section, key, dflt, (int)flags, out);
}

static int
h_cfg_duration(nt_plugin *p, const nt_config *c, const char *key, long long dflt_ms,
               long long min_ms, long long max_ms, long long *out)
{
    (void)p;
    return cfg_read_duration(c->cfg, c->section, key, dflt_ms, min_ms, max_ms, out);
}

static void h_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
    NT_PRINTF(4, 5);
static void
h_cfg_fail(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
{
    va_list ap;

    (void)p;
    if (c == NULL || key == NULL || fmt == NULL)
        return;
    va_start(ap, fmt);
    cfg_key_verror(c->cfg, c->section, key, fmt, ap);
    va_end(ap);
}

static int
h_service_need(nt_plugin *p, const char *kind, uint32_t version)
{
    return service_need(p, kind, version);
}

static const nt_host_api host_table = {
    .size = sizeof(nt_host_api),
    .abi_major = NT_ABI_MAJOR,
    .abi_minor = NT_ABI_MINOR,
    .log = h_log,
    .init_error = h_init_error,
    .cfg_get = h_cfg_get,
    .cfg_int = h_cfg_int,
    .cfg_bool = h_cfg_bool,
    .cfg_check_keys = h_cfg_check_keys,
    .route_add = h_route_add,
    .migration_add = h_migration_add,
    .service_provide = h_service_provide,
    .service_lookup = h_service_lookup,
    .req_method = h_req_method,
    .req_param = h_req_param,
    .req_query = h_req_query,
    .req_header = h_req_header,
    .req_body = h_req_body,
    .req_alloc = h_req_alloc,
    .req_db = h_req_db,
    .req_set_principal = h_req_set_principal,
    .req_account = h_req_account,
    .req_user = h_req_user,
    .req_policy = h_req_policy,
    .fail = h_fail,
    .host_db = h_host_db,
    .db_prepare = h_db_prepare,
    .db_bind_text = h_db_bind_text,
    .db_bind_int64 = h_db_bind_int64,
    .db_bind_null = h_db_bind_null,
    .db_step = h_db_step,
    .db_col_text = h_db_col_text,
    .db_col_int64 = h_db_col_int64,
    .db_col_is_null = h_db_col_is_null,
    .db_changes = h_db_changes,
    .db_finalize = h_db_finalize,
    .db_exec = h_db_exec,
    .db_begin = h_db_begin,
    .db_commit = h_db_commit,
    .db_rollback = h_db_rollback,
    .db_errmsg = h_db_errmsg,
    .uuid_new = util_uuid_new,
    .uuid_valid = util_uuid_valid,
    .random_bytes = util_random_bytes,
    .now_ms = util_now_ms,
    .json_get_int = h_json_get_int,
    .json_get_str = h_json_get_str,
    .json_get_bool = h_json_get_bool,
    .json_get_metadata = h_json_get_metadata,
    .route_count = h_route_count,
    .route_get = h_route_get,
    .plugin_count = h_plugin_count,
    .plugin_get = h_plugin_get,
    .req_route = h_req_route,
    .req_reply_text = h_req_reply_text,
    .req_check = h_req_check,
    .db_open = h_db_open,
    .db_close = h_db_close,
    .req_peer = h_req_peer,
    .cfg_enum = h_cfg_enum,
    .cfg_uuid = h_cfg_uuid,
    .cfg_path = h_cfg_path,
    .cfg_duration = h_cfg_duration,
    .cfg_fail = h_cfg_fail,
    .service_need = h_service_need,
    .db_begin_claim = h_db_begin_claim,
    .db_dialect = h_db_dialect,
    .memo_get = h_memo_get,
    .memo_put = h_memo_put,
};

const nt_host_api *
hostapi_table(void)
{
    return &host_table;
}

void
request_init(nt_req *r, const http_request *http, nt_db *db)
{
    /* Only the small members: msg, account and user are written before they are read. */
    memset(r, 0, offsetof(nt_req, account));
    r->has_account = r->has_user = 0;
    r->account[0] = r->user[0] = '\0';
    r->policy = NULL;
    r->msg[0] = '\0';
    r->has_msg = 0;
    r->scratch.blocks = NULL;
    r->text = NULL;
    r->text_len = 0;
    r->has_text = 0;
    r->text_type[0] = '\0';
    r->gone = 0;
    r->memo = NULL;
    r->http = http;
    r->db = db;
    r->cpu0_us = util_thread_cpu_us();
    r->wall0_us = util_mono_us();
    r->next_peek_us = HOST_PEEK_EVERY_US;
    r->look_us = HOST_PEEK_EVERY_US < host_budget_us ? HOST_PEEK_EVERY_US : host_budget_us;
}

void
request_reset_attempt(nt_req *r)
{
    r->msg[0] = '\0';
    r->has_msg = 0;
    free(r->text);
    r->text = NULL;
    r->text_len = 0;
    r->has_text = 0;
    json_decref(r->body);
    r->body = NULL;
    arena_free(&r->scratch);
    r->query = NULL;
    r->nquery = 0;
    r->query_parsed = 0;
}

void
request_fini(nt_req *r)
{
    free(r->text);
    r->text = NULL;
    json_decref(r->body);
    json_decref(r->policy);
    arena_free(&r->scratch);
    r->body = NULL;
    r->policy = NULL;
}

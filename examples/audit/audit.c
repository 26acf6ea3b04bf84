/* audit: an example nettu plugin, built out of tree against the installed SDK (see README.md).
 * It records who changed what: an "observer" service writes one audit_log row for every
 * successful (2xx) POST, PUT, PATCH or DELETE made by an authenticated principal, and
 * GET /api/v1/audit lets an account admin read that account's log, newest first.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

/* Plugin state: set up by init, read-only afterwards, shared by every worker thread. */
struct aud {
    nt_plugin *self;
    const nt_host_api *api;
    long long default_limit, max_limit; /* GET /api/v1/audit ?limit= */
};

/* Migration 1. Portable SQL (SQLite and PostgreSQL); the table name starts with the plugin's
 * name. No foreign key to account_accounts: an audit trail outlives what it describes, and
 * the plugin does not depend on another plugin's schema. */
static const char aud_schema_v1[] =
    "CREATE TABLE audit_log ("
    " id TEXT PRIMARY KEY,"
    " ts BIGINT NOT NULL,"
    " account_id TEXT NOT NULL,"
    " user_id TEXT NULL,"
    " method TEXT NOT NULL,"
    " route TEXT NOT NULL,"
    " params TEXT NOT NULL,"
    " status INTEGER NOT NULL);"
    "CREATE INDEX audit_log_account_ts ON audit_log (account_id, ts);";

static const char aud_sql_insert[] =
    "INSERT INTO audit_log (id, ts, account_id, user_id, method, route, params, status)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/* One page, newest first; the id breaks ties between rows of the same millisecond. */
static const char aud_sql_page[] =
    "SELECT id, ts, account_id, user_id, method, route, params, status FROM audit_log"
    " WHERE account_id = $1 AND ts < $2 ORDER BY ts DESC, id DESC LIMIT $3";

/* The rest of the millisecond the page ended in, so that `before = <last ts>` continues
 * exactly where the page stopped. */
static const char aud_sql_tail[] =
    "SELECT id, ts, account_id, user_id, method, route, params, status FROM audit_log"
    " WHERE account_id = $1 AND ts = $2 AND id < $3 ORDER BY id DESC";

static const char *const aud_cfg_keys[] = {"default_limit", "max_limit", NULL};

/* ---- recording ------------------------------------------------------------------------ */

/* 1 for the methods that change something. */
static int
aud_is_write(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

/* Collects the request's path parameters as a JSON object ({"userId": "..."}), named by the
 * {param} segments of the route template. Returns a malloc'd compact JSON text (the caller
 * frees it) or NULL when out of memory. */
static char *
aud_params_dump(const nt_host_api *api, nt_req *req, const char *route)
{
    json_t *params = json_object();
    char name[64], *text = NULL;
    const char *p = route;

    if (params == NULL)
        return NULL;
    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}'), *value;
        size_t n = end != NULL ? (size_t)(end - p - 1) : 0;

        if (end == NULL)
            break;
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, p + 1, n);
            name[n] = '\0';
            value = api->req_param(req, name);
            if (value != NULL && json_object_set_new(params, name, json_string(value)) != 0)
                goto out;
        }
        p = end + 1;
    }
    text = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
out:
    json_decref(params);
    return text;
}

/* nt_observer_v1.request_done: runs on the worker thread after the reply was queued. The
 * handler's own transaction is already committed (or rolled back), so this INSERT is a
 * transaction of its own on the worker's connection; when it fails the reply stays what it
 * was and the failure is logged. Reentrant: the state is read-only. */
static void
aud_request_done(void *state, nt_req *req, int status, int64_t micros)
{
    const struct aud *a = state;
    const nt_host_api *api = a->api;
    const char *method = api->req_method(req), *route = api->req_route(req);
    const char *account = api->req_account(req), *why = "out of memory";
    nt_db *db = api->req_db(req);
    nt_stmt *st = NULL;
    char id[NT_UUID_BUF], *params = NULL;
    int rc = NT_ENOMEM;

    (void)micros;
    if (status < 200 || status > 299 || method == NULL || route == NULL || account == NULL ||
        db == NULL || !aud_is_write(method))
        return;
    params = aud_params_dump(api, req, route);
    if (params == NULL)
        goto out;
    why = "no random bytes for an id";
    if ((rc = api->uuid_new(id)) != NT_OK)
        goto out;
    why = NULL; /* from here on the storage message says why */
    st = api->db_prepare(db, aud_sql_insert);
    rc = st != NULL ? NT_OK : NT_ERR;
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 2, api->now_ms());
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, account);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 4, api->req_user(req)); /* NULL binds SQL NULL: an admin */
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 5, method);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 6, route);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 7, params);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 8, status);
    if (rc == NT_OK)
        rc = api->db_step(st); /* 0: done */
out:
    if (rc < 0)
        api->log(a->self, NT_LOG_WARN, "cannot record %s %s (%d): %s", method, route, rc,
                 why != NULL ? why : api->db_errmsg(db));
    api->db_finalize(st);
    free(params);
}

static const nt_observer_v1 aud_observer_ops = {
    .size = sizeof(nt_observer_v1),
    .request_start = NULL,
    .request_done = aud_request_done,
};

/* ---- reading: GET /api/v1/audit ---------------------------------------------------------- */

/* Reads the query parameter `name` as an integer in [min, max]; absent gives dflt. NT_OK, or
 * NT_EINVAL with a message naming the parameter. */
static int
aud_query_int(const nt_host_api *api, nt_req *req, const char *name, long long dflt, long long min,
              long long max, long long *out)
{
    const char *s = api->req_query(req, name);
    char *end = NULL;
    long long v;

    *out = dflt;
    if (s == NULL)
        return NT_OK;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return api->fail(req, NT_EINVAL, "%s: expected an integer from %lld to %lld, got '%.40s'",
                         name, min, max, s);
    *out = v;
    return NT_OK;
}

/* Appends the current row of st (the columns of aud_sql_page) to entries as an entry object.
 * NT_OK, NT_ENOMEM, or NT_ERR when the stored params are not JSON. */
static int
aud_row_append(const nt_host_api *api, nt_req *req, nt_stmt *st, json_t *entries)
{
    json_t *params = json_loads(api->db_col_text(st, 6), 0, NULL), *e;

    if (params == NULL)
        return api->fail(req, NT_ERR, "audit_log: entry %.40s has unreadable params",
                         api->db_col_text(st, 0));
    /* json_pack copies the strings (they are only valid until the next step) and takes
     * params ("o"). "s?" packs a NULL user_id as JSON null. */
    e = json_pack("{s:s, s:I, s:s, s:s?, s:s, s:s, s:o, s:I}", "id", api->db_col_text(st, 0), "ts",
                  (json_int_t)api->db_col_int64(st, 1), "accountId", api->db_col_text(st, 2),
                  "userId", api->db_col_text(st, 3), "method", api->db_col_text(st, 4), "route",
                  api->db_col_text(st, 5), "params", params, "status",
                  (json_int_t)api->db_col_int64(st, 7));
    if (e == NULL)
        return NT_ENOMEM;
    return json_array_append_new(entries, e) == 0 ? NT_OK : NT_ENOMEM;
}

/* Runs `sql` with $1 = account, $2 = ts, $3 = third (a limit or an id; NULL: not bound) and
 * appends every row to entries. Sets *last_ts / last_id (a NT_UUID_BUF buffer) to the last
 * row's and *count to the number of rows. NT_OK or a negative code (storage error on db). */
static int
aud_select(const nt_host_api *api, nt_req *req, const char *sql, const char *account, int64_t ts,
           int64_t limit, const char *after_id, json_t *entries, int64_t *last_ts, char *last_id,
           long long *count)
{
    nt_stmt *st = api->db_prepare(api->req_db(req), sql);
    int rc = st != NULL ? NT_OK : NT_ERR;

    *count = 0;
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, account);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 2, ts);
    if (rc == NT_OK)
        rc = after_id != NULL ? api->db_bind_text(st, 3, after_id)
                              : api->db_bind_int64(st, 3, limit);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        const char *id = api->db_col_text(st, 0);

        *last_ts = api->db_col_int64(st, 1);
        snprintf(last_id, NT_UUID_BUF, "%s", id != NULL ? id : "");
        (*count)++;
        rc = aud_row_append(api, req, st, entries);
    }
    api->db_finalize(st);
    return rc < 0 ? rc : NT_OK;
}

/* GET /api/v1/audit?limit=&before=: the admin's account's entries with ts < before (default:
 * all), newest first, `limit` of them (default 50, at most 500) plus the remaining entries
 * of the last entry's millisecond, so that `before = <last ts>` fetches the next page
 * without skipping any. {"entries": [...]} */
static int
aud_route_list(nt_req *req, void *arg, json_t **out)
{
    const struct aud *a = arg;
    const nt_host_api *api = a->api;
    const char *account = api->req_account(req);
    json_t *entries = json_array();
    long long limit, before, count = 0, more = 0;
    int64_t last_ts = 0;
    char last_id[NT_UUID_BUF] = "";
    int rc = entries != NULL ? NT_OK : NT_ENOMEM;

    if (rc == NT_OK)
        rc = aud_query_int(api, req, "limit", a->default_limit, 1, a->max_limit, &limit);
    if (rc == NT_OK)
        rc = aud_query_int(api, req, "before", INT64_MAX, 0, INT64_MAX, &before);
    if (rc == NT_OK)
        rc = aud_select(api, req, aud_sql_page, account, before, limit, NULL, entries, &last_ts,
                        last_id, &count);
    if (rc == NT_OK && count == limit)
        rc = aud_select(api, req, aud_sql_tail, account, last_ts, 0, last_id, entries, &last_ts,
                        last_id, &more);
    if (rc == NT_OK) {
        *out = json_pack("{s:o}", "entries", entries); /* takes entries */
        entries = NULL;
        rc = *out != NULL ? 200 : NT_ENOMEM;
    }
    json_decref(entries);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

/* Frees the state (one calloc'd block); NULL is fine. */
static void
aud_fini(void *state)
{
    free(state);
}

/* Reads [audit], registers the migration, the route and the observer. On failure frees the
 * state; the host drops what was registered. Main thread. */
static int
aud_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    const nt_migration m1 = {sizeof(nt_migration), 1, aud_schema_v1};
    /* The description members (ABI 1.4) put the route's summary and schemas into the
     * OpenAPI document; a plugin that leaves them out still loads. */
    nt_route route = {
        .size = sizeof(nt_route),
        .method = "GET",
        .path = "/api/v1/audit",
        .auth = NT_AUTH_ADMIN,
        .handler = aud_route_list,
        .summary = "The account's audit log, newest first",
        .query_schema = "{\"type\": \"object\", \"properties\": {"
                        "\"limit\": {\"type\": \"integer\", \"minimum\": 1}, "
                        "\"before\": {\"type\": \"integer\", \"minimum\": 0, "
                        "\"description\": \"entries older than this (ms)\"}}}",
        .response_schema =
            "{\"type\": \"object\", \"required\": [\"entries\"], \"properties\": "
            "{\"entries\": {\"type\": \"array\", \"items\": {\"type\": \"object\", "
            "\"properties\": {\"id\": {\"type\": \"string\"}, \"ts\": {\"type\": \"integer\"}, "
            "\"accountId\": {\"type\": \"string\"}, "
            "\"userId\": {\"type\": \"string\", \"nullable\": true}, "
            "\"method\": {\"type\": \"string\"}, \"route\": {\"type\": \"string\"}, "
            "\"params\": {\"type\": \"object\"}, \"status\": {\"type\": \"integer\"}}}}}}"};
    struct aud *a = calloc(1, sizeof(*a));
    int rc = NT_ENOMEM;

    if (a == NULL) {
        api->init_error(p, "out of memory");
        goto fail;
    }
    a->self = p;
    a->api = api;
    route.state = a;
    /* cfg_int reports a bad value with file and line itself. */
    rc = api->cfg_int(p, cfg, "max_limit", 500, 1, 10000, &a->max_limit);
    if (rc == NT_OK)
        rc = api->cfg_int(p, cfg, "default_limit", a->max_limit < 50 ? a->max_limit : 50, 1,
                          a->max_limit, &a->default_limit);
    if (rc == NT_OK)
        rc = api->cfg_check_keys(p, cfg, aud_cfg_keys);
    if (rc == NT_OK)
        rc = api->migration_add(p, &m1);
    if (rc == NT_OK)
        rc = api->route_add(p, &route);
    if (rc == NT_OK)
        rc = api->service_provide(p, NT_SERVICE_OBSERVER, "audit", NT_OBSERVER_V1,
                                  &aud_observer_ops, a);
    if (rc != NT_OK)
        goto fail;
    *state = a;
    return NT_OK;
fail:
    aud_fini(a);
    return rc;
}

static const nt_plugin_desc aud_desc = {
    NT_PLUGIN_HEADER, .name = "audit", .version = "1.0.0", .init = aud_init, .fini = aud_fini,
};

NT_PLUGIN_DEFINE(aud_desc)

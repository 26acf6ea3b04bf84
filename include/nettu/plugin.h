/* nettu plugin ABI: the only header a plugin includes.
 *
 * A plugin is a shared object exporting one function, nt_plugin_entry(), that returns a
 * static const descriptor. The host checks the descriptor (magic, ABI version, size) before
 * calling anything, then hands the plugin one const table of host functions. Plugins never
 * link against host symbols; everything they need is in nt_host_api.
 *
 * Versioning: NT_ABI_MAJOR changes when anything is removed or changes meaning;
 * NT_ABI_MINOR changes when something is appended at the end of a struct. A host admits a
 * plugin with the same major and a minor not newer than its own.
 *
 * Growth: every versioned struct carries its size as its builder compiled it. A struct a
 * plugin hands the host (descriptor, route, migration, service ops) is accepted at any size
 * from the one it had in the minor that introduced it (the NT_*_SIZE_1_x constants below,
 * frozen: they never change); a member appended later is read only when NT_HAS_MEMBER says
 * the plugin's struct reaches it, and is absent otherwise. The table the host hands plugins
 * (nt_host_api) is always the host's full current one; a plugin that also runs on older
 * hosts tests it before calling a member newer than the oldest minor it supports:
 *     if (NT_HAS_MEMBER(api, nt_host_api, req_check) && api->req_check(req) != NT_OK) ...
 *
 * Changelog (what each minor appended):
 *   1.0  nt_plugin_desc; nt_route; nt_migration; nt_host_api up to json_get_metadata;
 *        services.h: store (up to clear_error), authenticator, policy, accounts, users.
 *   1.1  nt_host_api: route_count, route_get, plugin_count, plugin_get, req_route, then
 *        req_reply_text; nt_route_info; services.h: observer, reloadable, store begin_read
 *        and end_read. (req_reply_text, reloadable and the store's read transactions came
 *        during 1.1 without a bump: test them with NT_HAS_MEMBER.)
 *   1.2  codes NT_ERETRY, NT_EBUDGET, NT_EGONE; nt_host_api: req_check, db_open, db_close,
 *        req_peer; services.h: the store contract, store lock_schema, nt_interval(s);
 *        users get, events delete_by_service and service_stats (test them with
 *        NT_HAS_MEMBER).
 *   1.3  nt_host_api: cfg_enum, cfg_uuid, cfg_path, cfg_duration, cfg_fail, service_need;
 *        the NT_CFG_PATH_* flags; services.h: store describe, accounts webhook, the
 *        webhooks service; events create_busy and delete_ids (test them with
 *        NT_HAS_MEMBER).
 *   1.4  nt_route: summary, query_schema, request_schema, response_schema, response_type,
 *        response_status (optional; the host reads them only when the route's size reaches
 *        them); nt_route_info: the same six (route_get fills them when out->size reaches
 *        them); nt_host_api: db_begin_claim, db_dialect; services.h: webhooks check_url,
 *        store begin_claim and dialect (test them with NT_HAS_MEMBER).
 *   1.5  nt_route: flags (NT_ROUTE_GROUP_COMMIT); services.h: store group_open,
 *        group_close and group_pending (group commit; test them with NT_HAS_MEMBER).
 *   1.6  nt_host_api: memo_get, memo_put (the memo of a group commit).
 *
 * Ownership words used below:
 *   borrowed  valid until the moment named; never free it.
 *   copied    the callee keeps its own copy; the caller may free its argument at once.
 *   taken     the callee now owns it (for JSON: a stolen reference).
 */
#ifndef NETTU_PLUGIN_H
#define NETTU_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NT_ABI_MAGIC 0x4e54504cu /* "NTPL": this file is a nettu plugin */
#define NT_ABI_MAJOR 1           /* bump when anything is removed or changes meaning */
#define NT_ABI_MINOR 6           /* bump when something is appended */

/* The size of `type` up to and including `member`: what a struct built when `member` was its
 * last one holds. */
#define NT_SIZE_UPTO(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* 1 when the struct at `ptr` (of `type`, whose uint32_t `size` member says how large its
 * builder compiled it) reaches `member`, so the member may be read; 0 when it is too short
 * (built before the member was appended) or ptr is NULL. */
#define NT_HAS_MEMBER(ptr, type, member)                                                           \
    ((ptr) != NULL && (size_t)((const type *)(ptr))->size >= NT_SIZE_UPTO(type, member))

#if defined(__GNUC__) || defined(__clang__)
#define NT_EXPORT __attribute__((visibility("default")))
#define NT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define NT_EXPORT
#define NT_PRINTF(fmt, args)
#endif

/* Result codes. 0 is success, failures are negative. The host maps them to HTTP. */
enum {
    NT_OK = 0,
    NT_ERR = -1,       /* internal error: 500 */
    NT_EINVAL = -2,    /* bad client data: 400 */
    NT_EUNAUTH = -3,   /* unauthorized: 401 */
    NT_ENOTFOUND = -4, /* not found: 404 */
    NT_ECONFLICT = -5, /* conflict, e.g. a unique constraint: 409 */
    NT_ETOOBIG = -6,   /* payload too large: 413 */
    NT_ENOMEM = -7,    /* out of memory: 500 */
    NT_EUNAVAIL = -8,  /* storage unavailable (read-only, full, locked): 503 */
    NT_ERETRY = -9,    /* (ABI 1.2) a retryable storage conflict (serialization failure,
                          deadlock, busy writer): the host rolls back and runs the handler
                          again a few times, then answers 503 with Retry-After */
    NT_EBUDGET = -10,  /* (ABI 1.2) the request used up its work budget: 422 */
    NT_EGONE = -11     /* (ABI 1.2) the client closed its connection: nothing is sent */
};

/* Text forms of a UUID need 36 characters plus the terminating NUL. */
#define NT_UUID_LEN 36
#define NT_UUID_BUF 37

/* Flags of cfg_path (ABI 1.3): what the path must name.
 *   REQUIRED  the key must be given.
 *   FILE      an existing regular file the server can read.
 *   DIR       an existing directory.
 *   CREATE    a file the server can use or make: it exists and is readable, or it does not
 *             exist and its nearest existing directory is writable (the missing ones can be
 *             made). */
#define NT_CFG_PATH_REQUIRED 1u
#define NT_CFG_PATH_FILE 2u
#define NT_CFG_PATH_DIR 4u
#define NT_CFG_PATH_CREATE 8u

typedef enum nt_log_level {
    NT_LOG_ERROR = 0, /* an operator must act */
    NT_LOG_WARN = 1,  /* degraded */
    NT_LOG_INFO = 2,  /* lifecycle */
    NT_LOG_DEBUG = 3  /* per request */
} nt_log_level;

/* Authentication classes of a route (README, "How a request is served"). */
typedef enum nt_auth_kind {
    NT_AUTH_PUBLIC = 0,        /* no credentials looked at */
    NT_AUTH_ADMIN = 1,         /* x-api-key of an account */
    NT_AUTH_USER = 2,          /* nettu-account + Authorization: Bearer <jwt> */
    NT_AUTH_ADMIN_OR_USER = 3, /* admin when x-api-key is present, else user */
    NT_AUTH_PUBLIC_ACCOUNT = 4 /* nettu-account alone, else admin (free/busy) */
} nt_auth_kind;

struct json_t; /* jansson */

typedef struct nt_plugin nt_plugin; /* a loaded plugin; host-owned, valid until fini returns */
typedef struct nt_req nt_req;       /* one request; valid until the handler returns */
typedef struct nt_config nt_config; /* this plugin's INI section; valid until fini returns */
typedef struct nt_db nt_db;         /* one storage connection (one per worker thread) */
typedef struct nt_stmt nt_stmt;     /* a prepared statement on one nt_db */

/* A route handler. Return a 2xx status and set *out to the reply body (taken by the host;
 * NULL means an empty JSON object), or a negative NT_E* code, usually through
 * `return api->fail(req, NT_EINVAL, "...")`. A negative code without a fail() message is
 * answered with the storage error of the request (if any) or a generic message.
 * Runs on a worker thread; must be reentrant. */
typedef int (*nt_handler_fn)(nt_req *req, void *state, struct json_t **out);

typedef struct nt_route {
    uint32_t size;            /* sizeof(nt_route) in the plugin's build */
    const char *method;       /* "GET", "POST", "PUT", "DELETE", "PATCH" */
    const char *path;         /* e.g. "/api/v1/calendar/{calendarId}" */
    nt_auth_kind auth;        /* checked by the host before the handler runs */
    const char *const *perms; /* NULL-terminated permissions a user needs; NULL for none */
    nt_handler_fn handler;    /* required */
    void *state;              /* owned by the plugin; passed to handler; shared by workers */
    /* ABI 1.4, optional: what the route does, for the OpenAPI document and other listings.
     * NULL (or 0) leaves a member undescribed. Copied by the host at route_add, which refuses
     * a schema that is not a JSON object. Schemas are JSON Schema text (the OpenAPI 3.0
     * subset: type, properties, required, items, enum, nullable, oneOf, ...). */
    const char *summary;         /* one line: what the route does */
    const char *query_schema;    /* {"type":"object","properties":{..},"required":[..]} of the
                                    query parameters, each property one parameter */
    const char *request_schema;  /* the request body (POST, PUT, PATCH) */
    const char *response_schema; /* the success reply's body */
    const char *response_type;   /* its media type; NULL: application/json */
    int response_status;         /* the success status (200, 201, ...); 0: 200 */
    /* ABI 1.5, optional: NT_ROUTE_* flags (0: none). 64 bits wide so that it starts past
     * the tail padding of a 1.4 nt_route (whose size already counted that padding). */
    uint64_t flags;
} nt_route;
#define NT_ROUTE_SIZE_1_0 NT_SIZE_UPTO(nt_route, state) /* the smallest the host accepts */
#define NT_ROUTE_SIZE_1_4 NT_SIZE_UPTO(nt_route, response_status)
#define NT_ROUTE_SIZE_1_5 NT_SIZE_UPTO(nt_route, flags)

/* nt_route flags (ABI 1.5).
 * NT_ROUTE_GROUP_COMMIT: the handler's writes may be committed together with those of other
 *   requests of the same worker (group commit, on stores that offer it: store group_open).
 *   Its db_commit then ends only its own part (a savepoint); the host commits the group soon
 *   after (within [server] group_commit_ms) and sends the replies of its requests only once
 *   that commit succeeded (503 for all of them when it failed). Set it only on a route whose
 *   handler does nothing slow (no network, no long computation beyond the request budgets),
 *   and nothing after its db_commit that assumes other connections or processes already see
 *   the data (such as waking a thread that reads it). */
#define NT_ROUTE_GROUP_COMMIT UINT64_C(0x1)

/* One migration step of a plugin: applied once, in ascending version order, inside a
 * transaction, before the plugin's start(). The SQL may hold several statements. */
typedef struct nt_migration {
    uint32_t size;   /* sizeof(nt_migration) in the plugin's build */
    int version;     /* >= 1, strictly increasing within a plugin */
    const char *sql; /* copied by the host */
} nt_migration;
#define NT_MIGRATION_SIZE_1_0 NT_SIZE_UPTO(nt_migration, sql) /* the smallest accepted */

/* A registered route as the host reports it (ABI 1.1). Strings are borrowed until the
 * plugins are unloaded. */
typedef struct nt_route_info {
    uint32_t size;             /* sizeof(nt_route_info) in the host's build */
    const char *method, *path; /* "GET", "/api/v1/calendar/{calendarId}" */
    nt_auth_kind auth;
    const char *const *perms; /* NULL-terminated; NULL for none */
    const char *plugin;       /* the registering plugin's name; "core" for the host's own */
    /* ABI 1.4: the route's description as registered (nt_route); NULL or 0 when the route
     * has none or the plugin was built before 1.4. Filled when out->size reaches them. */
    const char *summary, *query_schema, *request_schema, *response_schema, *response_type;
    int response_status;
} nt_route_info;
#define NT_ROUTE_INFO_SIZE_1_1 NT_SIZE_UPTO(nt_route_info, plugin) /* route_get fills this much */
#define NT_ROUTE_INFO_SIZE_1_4 NT_SIZE_UPTO(nt_route_info, response_status)

typedef struct nt_host_api {
    uint32_t size; /* sizeof(nt_host_api) in the host's build */
    uint16_t abi_major, abi_minor;

    /* --- logging (any thread) ------------------------------------------------------- */
    /* Writes one log line prefixed with the plugin's name. Never pass secrets. */
    void (*log)(nt_plugin *p, nt_log_level lvl, const char *fmt, ...) NT_PRINTF(3, 4);
    /* Records why init/start failed; the host prints it with the plugin's file. */
    void (*init_error)(nt_plugin *p, const char *fmt, ...) NT_PRINTF(2, 3);

    /* --- configuration (init and start only, main thread) ----------------------------- */
    /* The raw value of `key` in the plugin's section, after the NETTU_<SECTION>_<KEY>
     * environment override; NULL when absent. Borrowed until fini returns. */
    const char *(*cfg_get)(const nt_config *c, const char *key);
    /* Parses `key` as an integer in [min, max]; absent gives dflt. On a bad value it reports
     * "file:line: [section] key: expected ..." through init_error and returns NT_EINVAL. */
    int (*cfg_int)(nt_plugin *p, const nt_config *c, const char *key, long long dflt, long long min,
                   long long max, long long *out);
    /* Parses `key` as a boolean (true/false/yes/no/on/off/1/0); same error reporting. */
    int (*cfg_bool)(nt_plugin *p, const nt_config *c, const char *key, int dflt, int *out);
    /* Reports every key of the section that is not in the NULL-terminated `known` list,
     * naming file and line; returns NT_EINVAL if there was one, else NT_OK. */
    int (*cfg_check_keys)(nt_plugin *p, const nt_config *c, const char *const *known);

    /* --- registration (init only, main thread) --------------------------------------- */
    /* Adds a route; the route struct and its strings are copied (perms too), state is kept
     * by pointer. NT_ECONFLICT if the method and path are taken. */
    int (*route_add)(nt_plugin *p, const nt_route *r);
    /* Adds a migration of this plugin; copied. */
    int (*migration_add)(nt_plugin *p, const nt_migration *m);
    /* Provides a named service. `ops` is kept by pointer (make it static const) and must
     * start with a uint32_t size; state is kept by pointer. NT_ECONFLICT if taken. */
    int (*service_provide)(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                           const void *ops, void *state);
    /* Looks up a service (from start on). Returns its ops (borrowed until fini) and sets
     * *state, or NULL when no such service is provided. name NULL means the one chosen in
     * the [services] section for `kind`, or else the only one of that kind. */
    const void *(*service_lookup)(nt_plugin *p, const char *kind, const char *name,
                                  uint32_t version, void **state);

    /* --- request (handler and authenticator only; pointers borrowed until it returns) -- */
    const char *(*req_method)(nt_req *r);
    const char *(*req_param)(nt_req *r, const char *name); /* a {param} path segment */
    /* A decoded query parameter ("+" is a space), NULL if absent. */
    const char *(*req_query)(nt_req *r, const char *name);
    const char *(*req_header)(nt_req *r, const char *name); /* case-insensitive name */
    /* The parsed JSON body (an object or array; `{}` when the request had none), borrowed. */
    struct json_t *(*req_body)(nt_req *r);
    /* Scratch memory freed with the request; NULL when out of memory. */
    void *(*req_alloc)(nt_req *r, size_t n);
    /* The storage connection of the request's worker. */
    nt_db *(*req_db)(nt_req *r);
    /* Sets who the request acts for (authenticators only). Strings are copied; policy is
     * taken (may be NULL). user_id NULL means an account admin. */
    int (*req_set_principal)(nt_req *r, const char *account_id, const char *user_id,
                             struct json_t *policy);
    /* The principal set by the authenticator: account id, user id (NULL for admins) and
     * policy (NULL when none). Borrowed until the handler returns. */
    const char *(*req_account)(nt_req *r);
    const char *(*req_user)(nt_req *r);
    struct json_t *(*req_policy)(nt_req *r);
    /* Sets the error message for a failing reply and returns `code` unchanged. */
    int (*fail)(nt_req *r, int code, const char *fmt, ...) NT_PRINTF(3, 4);

    /* --- storage (SQL with $1..$n; a statement is used by one thread at a time) -------- */
    /* The main-thread connection, valid from start until stop returns. */
    nt_db *(*host_db)(nt_plugin *p);
    /* Prepares (or takes from the connection's cache) a statement. NULL on error; the
     * error is kept on the connection (db_errmsg). Finalize it before the request ends. */
    nt_stmt *(*db_prepare)(nt_db *db, const char *sql);
    int (*db_bind_text)(nt_stmt *s, int i, const char *v); /* 1-based; copied; NULL binds null */
    int (*db_bind_int64)(nt_stmt *s, int i, int64_t v);
    int (*db_bind_null)(nt_stmt *s, int i);
    int (*db_step)(nt_stmt *s); /* 1 row, 0 done, < 0 NT_E* */
    const char *(*db_col_text)(nt_stmt *s,
                               int col); /* borrowed until the next step; NULL if null */
    int64_t (*db_col_int64)(nt_stmt *s, int col);
    int (*db_col_is_null)(nt_stmt *s, int col);
    int64_t (*db_changes)(nt_stmt *s); /* rows changed by the last step of this statement */
    void (*db_finalize)(nt_stmt *s);   /* returns it to the cache; NULL is fine */
    int (*db_exec)(nt_db *db, const char *sql); /* statements without parameters or rows */
    int (*db_begin)(nt_db *db);                 /* a write transaction */
    int (*db_commit)(nt_db *db);
    int (*db_rollback)(nt_db *db);       /* NT_OK also when there was none */
    const char *(*db_errmsg)(nt_db *db); /* last storage error; borrowed until the next call */

    /* --- helpers ------------------------------------------------------------------------ */
    /* Writes a new version-4 UUID (lower case) into out[NT_UUID_BUF]: its first 48 bits are
     * the creation time in ms (ids made together sort together), the other 74 random. */
    int (*uuid_new)(char out[NT_UUID_BUF]);
    /* 1 when s is a UUID in 8-4-4-4-12 hex form (any case), else 0. */
    int (*uuid_valid)(const char *s);
    /* Fills buf with n cryptographically random bytes. */
    int (*random_bytes)(void *buf, size_t n);
    /* Milliseconds since the epoch, wall clock. */
    int64_t (*now_ms)(void);

    /* --- JSON field readers (request bodies; messages name the field) ------------------ */
    /* Each reads obj[key] (obj may be NULL, read as empty). Absent or JSON null: *present = 0
     * (present may be NULL) and NT_OK, or NT_EINVAL "key: required" when required. A value
     * of the wrong type: NT_EINVAL with "key: expected ..." set through fail(). Values are
     * borrowed from obj. */
    int (*json_get_int)(nt_req *r, const struct json_t *obj, const char *key, int required,
                        int64_t *out, int *present);
    int (*json_get_str)(nt_req *r, const struct json_t *obj, const char *key, int required,
                        const char **out, int *present);
    int (*json_get_bool)(nt_req *r, const struct json_t *obj, const char *key, int required,
                         int *out, int *present);
    /* A metadata object: every value a string; at most 50 keys, keys of at
     * most 64 bytes, values of at most 512 bytes (NT_EINVAL naming the limit beyond). */
    int (*json_get_metadata)(nt_req *r, const struct json_t *obj, const char *key, int required,
                             struct json_t **out, int *present);

    /* --- introspection (ABI 1.1; from start on, any thread) ----------------------------- */
    /* The number of registered routes, and the i-th (0-based) one in registration order.
     * route_get returns NT_ENOTFOUND past the end; out->size must be set by the caller. */
    size_t (*route_count)(void);
    int (*route_get)(size_t i, nt_route_info *out);
    /* The loaded plugins in load order: name and version, borrowed until unload. */
    size_t (*plugin_count)(void);
    int (*plugin_get)(size_t i, const char **name, const char **version);
    /* The matched route's path template ("/api/v1/user/{userId}"), NULL when none matched.
     * Borrowed until the request ends. */
    const char *(*req_route)(nt_req *r);
    /* Makes the reply a non-JSON body (e.g. Prometheus text): content_type and body are
     * copied; the handler then returns the 2xx status (its *out is ignored). NT_OK, or
     * NT_EINVAL for a content type with control characters. */
    int (*req_reply_text)(nt_req *r, const char *content_type, const char *body, size_t len);

    /* --- request budget and background connections (ABI 1.2) -------------------------- */
    /* Whether the request may go on working: NT_OK; NT_EBUDGET (with a fail() message naming
     * the limit) once it has used its CPU budget ([server] request_cpu_ms); NT_EGONE once
     * its client has closed the connection. Loops whose work depends on stored data
     * (recurrence expansion, slot computation) call it every few hundred steps and stop
     * with its code. Cheap (a clock read; the socket is looked at every few ms). */
    int (*req_check)(nt_req *r);
    /* A storage connection of the plugin's own, for a thread it started (background jobs);
     * from start until stop returns. NULL on failure with a message in err. The plugin
     * closes it with db_close (NULL is fine) before its stop returns. */
    nt_db *(*db_open)(nt_plugin *p, char *err, size_t errlen);
    void (*db_close)(nt_db *db);
    /* The client's address as text ("127.0.0.1", "::1"), without the port; "" when unknown.
     * Borrowed until the request ends. */
    const char *(*req_peer)(nt_req *r);

    /* --- configuration helpers and declared needs (ABI 1.3; init only, main thread) ----- */
    /* Each reports a bad value like cfg_int: "file:line: [section] key: expected ..., got
     * '...'" (or the environment variable that set it), recorded by the host, and returns
     * NT_EINVAL; the plugin returns that from init without an init_error of its own. */
    /* One of the NULL-terminated `names` (letter case ignored): *out is its index; absent
     * gives dflt. The error lists the names and suggests the closest one. */
    int (*cfg_enum)(nt_plugin *p, const nt_config *c, const char *key, const char *const *names,
                    int dflt, int *out);
    /* A UUID, written lower case into out; *present (may be NULL) says whether it was given.
     * Absent: NT_OK, or an error "required" when `required`. */
    int (*cfg_uuid)(nt_plugin *p, const nt_config *c, const char *key, int required,
                    char out[NT_UUID_BUF], int *present);
    /* A path checked against the NT_CFG_PATH_* flags (0 = any non-empty text): *out is the
     * value (borrowed until fini) or dflt when absent (NULL when both are). The error names
     * the absolute path that was looked at and why it cannot be used. */
    int (*cfg_path)(nt_plugin *p, const nt_config *c, const char *key, const char *dflt,
                    unsigned flags, const char **out);
    /* A duration in milliseconds in [min_ms, max_ms]: a number with the unit ms, s, m, h or d
     * ("250ms", "30s"); a bare number is milliseconds. */
    int (*cfg_duration)(nt_plugin *p, const nt_config *c, const char *key, long long dflt_ms,
                        long long min_ms, long long max_ms, long long *out);
    /* Reports a value the plugin found wrong itself (a key file that does not parse, two keys
     * that contradict each other), prefixed with the key's file and line (or variable) and
     * "[section] key: "; the message says what is wrong and how to fix it. */
    void (*cfg_fail)(nt_plugin *p, const nt_config *c, const char *key, const char *fmt, ...)
        NT_PRINTF(4, 5);
    /* Declares that the plugin needs a service of `kind` with at least `version` from start
     * on. The host checks every declaration after all plugins are inited (also in
     * --check-config): a missing or ambiguous service is a configuration error naming the
     * plugin, the candidates and the [services] line that chooses one. */
    int (*service_need)(nt_plugin *p, const char *kind, uint32_t version);

    /* --- claiming queued jobs (ABI 1.4) ------------------------------------------------- */
    /* A write transaction for claiming background jobs (store begin_claim): on PostgreSQL
     * READ COMMITTED, where the claim reads the due rows with `SELECT ... FOR UPDATE SKIP
     * LOCKED` so that N instances take disjoint rows; elsewhere the same as db_begin. Every
     * write inside keeps its own guard (`AND lease_until <= $now`, a checked row count):
     * such a transaction is not serializable. Ended by db_commit or db_rollback. */
    int (*db_begin_claim)(nt_db *db);
    /* The store's SQL dialect: "sqlite" or "postgresql"; "" when the store does not say.
     * Static. Append " FOR UPDATE SKIP LOCKED" to a claim's SELECT only for "postgresql". */
    const char *(*db_dialect)(void);

    /* --- the memo of a group commit (ABI 1.6) ------------------------------------------ */
    /* Requests of NT_ROUTE_GROUP_COMMIT routes may run together in one group commit, whose
     * store transaction holds the write lock from the group's first request to its commit
     * (services.h, store group_open; C3): meanwhile stored data changes only through the
     * group's own requests. The memo keeps what a handler read for the later requests of the
     * same group and frees it when the group ends. Keep in it only data that no
     * NT_ROUTE_GROUP_COMMIT route (of any plugin) writes, under keys that start with the
     * plugin's name ("service/..."); one thread at a time (the request's).
     * memo_get: the value kept under key in the request's group; NULL when there is none or
     * the request runs outside a group. Borrowed until the handler returns. Only the plugin
     * that kept it changes it: to keep it exact when its own writes change what it holds
     * (the events plugin raises a kept newest time when it writes a newer event). The host
     * empties the memo when a request of the group answers other than 2xx or runs again
     * (NT_ERETRY): that request's writes are undone, and so must be what it kept or changed.
     * memo_put: keeps value under key (copied) until the group ends, when free_fn (may be
     * NULL) frees it. NT_OK when the memo took value; otherwise the caller still owns it:
     * NT_EUNAVAIL when the request runs outside a group or the memo is full (64 values),
     * NT_ECONFLICT when key is kept already, NT_ENOMEM. */
    void *(*memo_get)(nt_req *r, const char *key);
    int (*memo_put)(nt_req *r, const char *key, void *value, void (*free_fn)(void *value));
} nt_host_api;
/* The host table's size at the end of each minor (the host always hands its full table). */
#define NT_HOST_API_SIZE_1_0 NT_SIZE_UPTO(nt_host_api, json_get_metadata)
#define NT_HOST_API_SIZE_1_1 NT_SIZE_UPTO(nt_host_api, req_reply_text)
#define NT_HOST_API_SIZE_1_2 NT_SIZE_UPTO(nt_host_api, req_peer)
#define NT_HOST_API_SIZE_1_3 NT_SIZE_UPTO(nt_host_api, service_need)
#define NT_HOST_API_SIZE_1_4 NT_SIZE_UPTO(nt_host_api, db_dialect)
#define NT_HOST_API_SIZE_1_6 NT_SIZE_UPTO(nt_host_api, memo_put)

typedef struct nt_plugin_desc {
    uint32_t magic;                /* NT_ABI_MAGIC */
    uint16_t abi_major, abi_minor; /* the header's values when the plugin was built */
    uint32_t size;                 /* sizeof(nt_plugin_desc) in the plugin's build */
    const char *name;              /* its entry in [plugins] load = */
    const char *version;           /* the plugin's own version, e.g. "1.0.0" */
    /* Reads the section, allocates state, adds routes, migrations and services. On failure
     * it frees what it made and returns a negative code; the host drops its registrations
     * and fini is not called. Main thread. */
    int (*init)(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state);
    int (*start)(void *state); /* optional; after every init and the migrations */
    void (*stop)(void *state); /* optional; only if start succeeded; reverse order */
    void (*fini)(void *state); /* optional; only if init succeeded; reverse order */
} nt_plugin_desc;
#define NT_PLUGIN_DESC_SIZE_1_0 NT_SIZE_UPTO(nt_plugin_desc, fini) /* the smallest admitted */

#define NT_PLUGIN_HEADER                                                                           \
    .magic = NT_ABI_MAGIC, .abi_major = NT_ABI_MAJOR, .abi_minor = NT_ABI_MINOR,                   \
    .size = sizeof(nt_plugin_desc)

#define NT_PLUGIN_ENTRY_SYMBOL "nt_plugin_entry"

#define NT_PLUGIN_DEFINE(desc)                                                                     \
    NT_EXPORT const nt_plugin_desc *nt_plugin_entry(void);                                         \
    NT_EXPORT const nt_plugin_desc *nt_plugin_entry(void)                                          \
    {                                                                                              \
        return &(desc);                                                                            \
    }

#ifdef __cplusplus
}
#endif

#endif /* NETTU_PLUGIN_H */

/* A fake nettu host for plugin tests and fuzz targets: a complete nt_host_api (every member
 * of ABI 1.2) whose storage is an in-memory SQLite database (foreign keys on, $n parameters
 * bound by name as store_sqlite does, transactions, the store contract of services.h),
 * plugin configuration from key/value pairs, captured routes, migrations and services, fake
 * requests (method, params, query, headers, JSON body, principal, fail message, scratch
 * memory, CPU budget) and plugins loaded with dlopen or linked in.
 *
 * Installed with the SDK as the static library libnettu-fakehost.a and this header; build
 * a test with `pkg-config --cflags --libs nettu-fakehost` (docs/plugins.md, "Testing a
 * plugin"). Plugins are opened from the folder of fh_set_plugin_dir, else of the environment
 * variable NETTU_FAKEHOST_PLUGIN_DIR, else (the copy used inside the source tree) the
 * build's plugin folder.
 *
 * Typical use:
 *     fh_host *h = fh_new();
 *     fh_config_set(h, "account", "create_account_secret", "s3cret");
 *     const char *const names[] = {"account", "user", NULL};
 *     fh_load_all(h, names);                  // open, init, migrate, start, as the host does
 *     fh_req *q = fh_req_new(h);
 *     fh_req_set_principal(q, account_id, NULL);
 *     fh_req_set_body_text(q, "{}", 2, 0);
 *     json_t *out;
 *     int rc = fh_call(h, q, "POST", "/api/v1/user", &out);
 *     const char *bad = fh_check_reply(h, q, rc, out); // NULL when the handler kept the ABI
 *     fh_req_free(q);
 *     fh_free(h);
 *
 * Ownership: a fh_host owns its plugins, routes, services, configuration and database;
 * fh_free releases all of it. A fh_req is owned by the caller. Strings passed in are copied
 * unless a comment says "taken"; pointers returned are borrowed until the object they come
 * from is freed (or the call named). Not thread-safe. The table members without a context
 * (route_count, route_get, plugin_count, plugin_get, now_ms) answer for the host made last
 * (and not yet freed) in the process: use one host at a time.
 *
 * The fake types are the opaque ABI types themselves (struct nt_plugin, nt_req, nt_db), so a
 * fh_plugin * is an nt_plugin *, a fh_req * an nt_req * and fh_db() an nt_db *.
 */
#ifndef NETTU_FAKEHOST_H
#define NETTU_FAKEHOST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include <nettu/plugin.h>
#include <nettu/services.h>

typedef struct fh_host fh_host;
typedef struct nt_plugin fh_plugin;
typedef struct nt_req fh_req;

/* The JSON flags the core parses request bodies with. */
#define FH_CORE_JSON_FLAGS JSON_REJECT_DUPLICATES

/* ---- the host ---------------------------------------------------------------------------- */

/* A new host with an empty in-memory database (PRAGMA foreign_keys = ON). NULL when SQLite
 * or memory fails. Free with fh_free. */
fh_host *fh_new(void);

/* Stops and finalizes every plugin (reverse load order), dlcloses them, closes the database
 * and frees everything. NULL is fine. */
void fh_free(fh_host *h);

/* The host table handed to plugins (static; the same for every host). */
const nt_host_api *fh_api(void);

/* The database as plugins see it, and the raw SQLite handle for test queries. Borrowed
 * until fh_free. */
nt_db *fh_db(fh_host *h);
sqlite3 *fh_sqlite(fh_host *h);

/* db_open (ABI 1.2) gives a plugin, from start on, another connection to this database (for
 * its own threads). While one connection is inside a write transaction the others wait for
 * it (up to 5 s, then NT_ERETRY), reads included. A plugin must db_close each before its
 * stop returns: fh_close logs an ERROR line for any left open. */

/* 1 while a transaction is open on the database, else 0. */
int fh_in_transaction(fh_host *h);

/* Every log, init_error and fake-host diagnostic line so far, "LEVEL message\n" each, with
 * LEVEL one of ERROR WARN INFO DEBUG INIT_ERROR. Borrowed until the next host call that
 * logs; never NULL. fh_log_clear empties it. */
const char *fh_log(const fh_host *h);
void fh_log_clear(fh_host *h);

/* Makes db_prepare fail (NULL, error recorded) for SQL containing `part` (copied); NULL
 * stops it. */
void fh_fail_prepare(fh_host *h, const char *part);

/* Makes the next `times` statements whose SQL contains `part` (copied) fail with `code` as
 * a storage failure when they run: db_step of such a statement (the first step of each),
 * db_begin for part "BEGIN", db_commit for "COMMIT". The failure is recorded on the
 * connection and ends an open transaction (store contract C6). For retry paths, e.g.
 * fh_fail_next(h, "BEGIN", NT_ERETRY, 2) or fh_fail_next(h, "INSERT INTO x", NT_ECONFLICT, 1).
 * times 0 (or part NULL) stops it. */
void fh_fail_next(fh_host *h, const char *part, int code, int times);

/* The number of service_lookup calls that named a service (name != NULL). */
int fh_named_lookups(const fh_host *h);

/* Sets the clock now_ms() reads, for the whole process (now_ms has no context): with
 * ms == 0 and step == 0 the real wall clock (the default); otherwise now_ms() returns ms
 * + step, ms + 2 * step, ... (step 0: always ms). */
void fh_clock_set(int64_t ms, int64_t step);

/* ---- configuration (the INI sections plugins read) --------------------------------------- */

/* Sets `key` of `section` (the plugin's name) to value; NULL value removes it. Read by the
 * next init of that plugin. NT_OK or NT_ENOMEM. */
int fh_config_set(fh_host *h, const char *section, const char *key, const char *value);

/* Removes every key of `section` (NULL: of every section). */
void fh_config_clear(fh_host *h, const char *section);

/* ---- plugins ----------------------------------------------------------------------------- */

/* The folder fh_open loads plugins from (copied; NULL: back to the default, see above),
 * e.g. `pkg-config --variable=plugindir nettu-fakehost`. NT_OK or NT_ENOMEM. */
int fh_set_plugin_dir(fh_host *h, const char *dir);

/* dlopens <plugin dir>/<name>.so (RTLD_NOW | RTLD_LOCAL) and admits its descriptor as the
 * host does (magic, same major, minor not newer, size from its 1.0 size on, name). NULL
 * with a line in the log when it cannot (also when no plugin folder is known). The plugin
 * belongs to h. */
fh_plugin *fh_open(fh_host *h, const char *name);

/* Admits a descriptor linked into the test itself (no dlopen). Same checks as fh_open. */
fh_plugin *fh_adopt(fh_host *h, const nt_plugin_desc *desc);

/* Runs init with the plugin's configuration section. On failure the plugin's routes,
 * migrations and services are dropped (as the host does) and its code is returned. */
int fh_init(fh_plugin *p);

/* Applies, in load order, every migration of the initialised plugins that is not yet in the
 * nettu_migrations table (the core's table), one transaction per step. NT_OK, or the
 * storage error with a line in the log. */
int fh_migrate(fh_host *h);

/* Runs start (if any) after fh_init. Returns its result. */
int fh_start(fh_plugin *p);

/* Stops (if started) and finalizes (if initialised) the plugin, drops its registrations and
 * dlcloses it; p is invalid afterwards. NULL is fine. The database keeps its tables. */
void fh_close(fh_plugin *p);

/* What the real loader does for a NULL-terminated list of plugin names: fh_open and fh_init
 * each in order, fh_migrate, then fh_start each. Returns NT_OK or the first failure (the
 * log says which). */
int fh_load_all(fh_host *h, const char *const *names);

/* The plugin's descriptor and the state its init returned (borrowed). */
const nt_plugin_desc *fh_plugin_desc(const fh_plugin *p);
void *fh_plugin_state(const fh_plugin *p);

/* The number of migrations the plugin added, and the version of the i-th (-1 if none). */
int fh_migration_count(const fh_plugin *p);
int fh_migration_version(const fh_plugin *p, int i);

/* ---- routes and services ----------------------------------------------------------------- */

/* The number of registered routes, the i-th one, and the one registered for `method` and
 * the exact pattern `path` (e.g. "/api/v1/user/{userId}"). Copies owned by the host
 * (strings and perms included); NULL when there is none. */
int fh_route_count(const fh_host *h);
const nt_route *fh_route_at(const fh_host *h, int i);
const nt_route *fh_route(const fh_host *h, const char *method, const char *path);

/* A registered service. */
typedef struct fh_service {
    const char *kind, *name; /* copies */
    uint32_t version;
    const void *ops;
    void *state;
    const fh_plugin *owner; /* NULL for services added with fh_service_add */
} fh_service;

/* The service of `kind` named `name` (NULL: the first of that kind); NULL when none. The
 * number of services, and the i-th in the order they were provided (NULL past the end).
 * Borrowed until the next registration or fh_close. */
const fh_service *fh_service_find(const fh_host *h, const char *kind, const char *name);
int fh_service_count(const fh_host *h);
const fh_service *fh_service_at(const fh_host *h, int i);

/* Provides a service from the test itself (ops and state kept by pointer), e.g. a fake
 * accounts service for an authenticator. NT_OK, NT_ECONFLICT or NT_ENOMEM. */
int fh_service_add(fh_host *h, const char *kind, const char *name, uint32_t version,
                   const void *ops, void *state);

/* ---- requests ---------------------------------------------------------------------------- */

/* An empty request on host h (its req_db is h's database): no params, query, headers or
 * principal; body {}. NULL when out of memory. Free with fh_req_free (NULL is fine) before
 * fh_free(h); everything req_alloc gave goes with it. */
fh_req *fh_req_new(fh_host *h);
void fh_req_free(fh_req *r);

/* The method req_method reports (fh_call sets it too). */
int fh_req_set_method(fh_req *r, const char *method);

/* Adds a {param} path value, a decoded query pair, or a header (case-insensitive name).
 * NT_OK or NT_ENOMEM. */
int fh_req_add_param(fh_req *r, const char *name, const char *value);
int fh_req_add_query(fh_req *r, const char *name, const char *value);
int fh_req_add_header(fh_req *r, const char *name, const char *value);

/* Decodes a raw query string ("a=1&b=x+y") with the core's decoder (core/query.c), as its
 * req_query does, and adds its pairs. NT_EINVAL when the query is malformed (the core then
 * answers every req_query with NULL), NT_ENOMEM. */
int fh_req_parse_query(fh_req *r, const char *raw);

/* The body: `body` is taken (NULL gives {}). */
void fh_req_set_body(fh_req *r, json_t *body);

/* Parses a body as the core does: len 0 is {}, otherwise json_loadb with `flags` (use
 * FH_CORE_JSON_FLAGS for the core's) must give an object. NT_EINVAL (the core's 400) when it
 * does not; the body is then {}. */
int fh_req_set_body_text(fh_req *r, const char *text, size_t len, size_t flags);

/* Sets the principal as an authenticator would (user NULL = an account admin). Copied. */
int fh_req_set_principal(fh_req *r, const char *account, const char *user);

/* What the request holds after a call: the principal (borrowed, NULL when unset), the
 * message and code of the last fail() ("" and 0 when none), and how many times
 * req_set_principal was called. */
const char *fh_req_account(const fh_req *r);
const char *fh_req_user(const fh_req *r);
json_t *fh_req_policy(const fh_req *r);
const char *fh_req_msg(const fh_req *r);
int fh_req_fail_code(const fh_req *r);
int fh_req_principal_calls(const fh_req *r);

/* req_check (ABI 1.2): answers NT_EBUDGET after `calls` calls (0: never), or NT_EGONE from
 * the next call on when gone is 1; fh_req_check_calls tells how often the handler asked. */
void fh_req_set_budget(fh_req *r, long calls, int gone);
long fh_req_check_calls(const fh_req *r);

/* Of those calls, how many came while a transaction was open: work that asks req_check is
 * costly work, which should not run inside a write transaction (it holds the lock). */
long fh_req_check_calls_in_txn(const fh_req *r);

/* The memo of a group commit (ABI 1.6 memo_get / memo_put): between fh_group_begin and
 * fh_group_end the host's requests share one memo, as the requests of one group commit do in
 * the server; fh_group_end frees what it kept, as the server does when a group ends (no
 * transaction is opened: the memo only), and so does a request of fh_call that answers
 * other than 2xx. Outside a group memo_get answers NULL and memo_put NT_EUNAVAIL.
 * fh_memo_count: the values kept now. */
void fh_group_begin(fh_host *h);
void fh_group_end(fh_host *h);
size_t fh_memo_count(const fh_host *h);

/* The non-JSON reply a handler set with req_reply_text: its body (borrowed, *len bytes) and
 * content type through *type; NULL when there is none. */
const char *fh_req_reply_text(const fh_req *r, const char **type, size_t *len);

/* Calls the handler of `method` + `path` (a registered pattern) on r, as the core does after
 * authentication: clears the storage error, runs the handler, then rolls back a transaction
 * the handler left open (noting it for fh_check_reply). Returns the handler's result and
 * sets *out to its reply (owned by the caller), or NT_ENOTFOUND with a message when no such
 * route exists. */
int fh_call(fh_host *h, fh_req *r, const char *method, const char *path, json_t **out);

/* Checks the ABI contract of the last fh_call on r: a 2xx status, or a negative NT_E* code
 * without a reply and with a message (fail() with that code, or a storage error recorded
 * on the database; NT_EGONE needs none: nothing is sent); no transaction left open; every statement
 * finalized. NULL when kept, else a static description of the first breach. */
const char *fh_check_reply(fh_host *h, const fh_req *r, int rc, const json_t *out);

#endif /* NETTU_FAKEHOST_H */

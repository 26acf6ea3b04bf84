/* Helpers shared by the domain plugins (user, calendar, events), linked statically into
 * each. They use only the host table, so they work under a fake host in tests too.
 */
#ifndef NTC_H
#define NTC_H

#include <jansson.h>
#include <nettu/plugin.h>

/* ---- statements ------------------------------------------------------------------------
 * `fmt` has one letter per parameter $1..$n, in order, each taking one argument:
 *   't'  const char *   text, copied (NULL binds SQL null)
 *   'i'  int64_t        an integer (cast narrower types: (int64_t)x)
 *   'd'  int            an integer
 *   'n'  (none)         SQL null
 * An unknown letter, or (for the functions given the SQL) a number of letters other than the
 * highest $n in the SQL, is a programming error: NT_ERR and nothing runs. Storage failures
 * are the host's NT_E* codes, with the message kept on the connection (db_errmsg). */

/* Binds fmt's parameters to st from $1 on. NT_OK, NT_ERR, or the host's bind error. */
int ntc_bind(const nt_host_api *api, nt_stmt *st, const char *fmt, ...);

/* Prepares `sql` on db and binds fmt's parameters. NT_OK with *out set (the caller
 * finalizes it), or an error with *out NULL. */
int ntc_prepare(const nt_host_api *api, nt_db *db, nt_stmt **out, const char *sql, const char *fmt,
                ...);

/* Steps st once expecting a row: NT_OK when there is one (read it, then finalize),
 * NT_ENOTFOUND when there is none, or the storage error. */
int ntc_row(const nt_host_api *api, nt_stmt *st);

/* Prepares, binds, runs and finalizes a statement without result rows (INSERT, UPDATE,
 * DELETE). NT_OK or the error. */
int ntc_exec(const nt_host_api *api, nt_db *db, const char *sql, const char *fmt, ...);

/* As ntc_exec, but NT_ENOTFOUND when the statement changed no row. */
int ntc_exec_changed(const nt_host_api *api, nt_db *db, const char *sql, const char *fmt, ...);

/* Ends the write transaction a handler began: with rc NT_OK commits it and returns the
 * commit's result; otherwise rolls it back and returns rc unchanged. */
int ntc_tx_end(const nt_host_api *api, nt_db *db, int rc);

/* Claiming queued jobs (host ABI 1.4): ntc_begin_claim begins the host's claim transaction
 * (db_begin_claim; db_begin on an older host). NTC_SKIP_LOCKED is what a claim's SELECT of
 * the due rows ends with when ntc_skip_locked(api) is 1 (the store is PostgreSQL): two SQL
 * texts, `SQL` and `SQL NTC_SKIP_LOCKED`, chosen at the call. */
#define NTC_SKIP_LOCKED " FOR UPDATE SKIP LOCKED"
int ntc_begin_claim(const nt_host_api *api, nt_db *db);
int ntc_skip_locked(const nt_host_api *api);

/* IN lists: a list of n values is padded to the next of a few sizes (1, 2, 4 ... 64,
 * NTC_IN_MAX) by repeating its last value, so that a handful of distinct statements serve
 * every length. Longer lists are split by the caller. */
#define NTC_IN_MAX 100

/* The padded size for n values: 1..NTC_IN_MAX (n = 0 gives 1, n > NTC_IN_MAX gives
 * NTC_IN_MAX). */
int ntc_in_slots(size_t n);

/* Writes `head`, then "$first, $first+1, ..." (`slots` parameters), then `tail` into buf.
 * NT_OK, or NT_ERR when it does not fit in cap bytes. */
int ntc_in_sql(char *buf, size_t cap, const char *head, int first, int slots, const char *tail);

/* ---- metadata --------------------------------------------------------------------------
 * Metadata is stored twice: as JSON text on the entity row (for output) and as rows of a side
 * table `<table>(entity_id TEXT, account_id TEXT, key TEXT, value TEXT)` for queries. The
 * size of metadata (keys, key and value length) is capped by the host's json_get_metadata. */

/* The default and the largest `limit` of a metadata query: more rows per page is refused
 * with 400 (20 is the original's default; 100 keeps one page at a few hundred KiB). */
#define NTC_META_LIMIT_DEFAULT 20
#define NTC_META_LIMIT_MAX 100

typedef struct ntc_meta_query {
    const char *key, *value; /* borrowed from the request */
    int64_t skip, limit;
} ntc_meta_query;

/* ---- libraries opened at first use ---------------------------------------------------- */

/* Looks function `name` up in the dlopen() handle h and stores it into *fn (fn points to a
 * function pointer). 0, or -1 when it is missing. */
int ntc_dlsym(void *h, const char *name, void *fn);

/* Parses a non-negative decimal integer with nothing around it (a query value such as skip
 * or limit) into *out. NT_OK, or NT_EINVAL (NULL, empty, signs, spaces, overflow). */
int ntc_parse_count(const char *s, int64_t *out);

/* Reads key, value (required), skip (default 0) and limit (default 20, at most
 * NTC_META_LIMIT_MAX) from the query string. NT_EINVAL with a message naming the parameter
 * set through fail() when one is missing, not an integer >= 0, or limit is over the cap. */
int ntc_meta_query_parse(const nt_host_api *api, nt_req *r, ntc_meta_query *q);

/* An entity table searchable by metadata: `table` has the columns id, account_id and created
 * plus what `columns` reads; `meta_table` is its side table. Strings are trusted literals. */
typedef struct ntc_meta_table {
    const char *table;      /* e.g. "user_users" */
    const char *meta_table; /* e.g. "user_metadata" */
    const char *alias;      /* the alias `columns` uses for table, e.g. "u" */
    const char *columns;    /* the SELECT list handed to row_json, e.g. "u.id, u.metadata" */
    const char *reply_key;  /* the answer's key, e.g. "users" */
    /* Turns the current row of st into a new JSON object in *out. NT_OK, NT_ENOMEM, or NT_ERR
     * for a row that breaks the schema. `arg` is the struct's arg. */
    int (*row_json)(const nt_host_api *api, nt_stmt *st, void *arg, json_t **out);
    void *arg;
} ntc_meta_table;

/* Sets *out to a new array of the rows of t in `account_id` whose metadata has q->key =
 * q->value, in creation order (created, id), paged by q->skip and q->limit. NT_OK, NT_ENOMEM,
 * or a storage or row_json error. */
int ntc_meta_find(const nt_host_api *api, nt_db *db, const char *account_id,
                  const ntc_meta_query *q, const ntc_meta_table *t, json_t **out);

/* A whole metadata query route (GET /<thing>/meta, admin): parses the query, runs
 * ntc_meta_find in the request's account and answers 200 {reply_key: [...]} through *out.
 * Returns 200 or a negative NT_E* (with a message for bad queries). */
int ntc_meta_route(const nt_host_api *api, nt_req *r, const ntc_meta_table *t, json_t **out);

/* Replaces the side-table rows of `entity_id` with the pairs of `metadata` (an object of
 * strings; NULL = none). `table` is a trusted literal. Run it inside the caller's write
 * transaction. Returns NT_OK or the storage error. */
int ntc_meta_store(const nt_host_api *api, nt_db *db, const char *table, const char *entity_id,
                   const char *account_id, const json_t *metadata);

/* ntc_meta_store for an entity created in this transaction: inserts only, reads nothing. On
 * PostgreSQL a serializable DELETE reads the index page where the new id would go, and
 * concurrent creations on a small table then fail serializing one another. */
int ntc_meta_insert(const nt_host_api *api, nt_db *db, const char *table, const char *entity_id,
                    const char *account_id, const json_t *metadata);

/* Parses metadata JSON text from storage; returns a new object ({} on NULL or bad text). */
json_t *ntc_meta_parse(const char *text);

/* Serialises metadata for storage (compact, sorted keys); malloc'd, caller frees; NULL on
 * out of memory. NULL metadata gives "{}". */
char *ntc_meta_dump(const json_t *metadata);

/* The compact JSON text of v, byte for byte what json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY,
 * with JSON_SORT_KEYS when sort_keys) writes, at a fraction of its cost (ntc_json.c).
 * malloc'd, caller frees; NULL for a NULL v or when out of memory. */
char *ntc_json_dump(const json_t *v, int sort_keys);

/* ---- the memo of a group commit (ntc_memo.c) ------------------------------------------- */

/* 1 when the host has the memo (ABI 1.6) and req may use it (not NULL). */
int ntc_memo_on(const nt_host_api *api, const nt_req *req);

/* The n strings of parts (a NULL one as "-") joined by '/' into out (cap bytes, always
 * NUL-terminated when cap > 0): a key of the group's memo without snprintf's cost. 1 when it
 * fits, else 0. */
int ntc_key(char *out, size_t cap, size_t n, const char *const *parts);

/* An array of n items of `size` bytes (no pointers in them) kept under key: 1 and a copy in
 * *out (malloc'd, the caller frees it; NULL when n is 0) and *n; 0 when none is kept; -1 when
 * out of memory. */
int ntc_memo_get_array(const nt_host_api *api, nt_req *req, const char *key, size_t size,
                       void **out, size_t *n);

/* Keeps a copy of the n items v under key; nothing when the memo refuses it. */
void ntc_memo_keep_array(const nt_host_api *api, nt_req *req, const char *key, const void *v,
                         size_t n, size_t size);

/* ---- weekdays -------------------------------------------------------------------------- */

/* Parses a weekday: an English name, short or long, any case ("Mon", "monday"), or an integer
 * 0..6 (0 = Monday). Writes 0..6 (0 = Monday). NT_EINVAL otherwise. */
int ntc_weekday_parse(const json_t *v, int *out);

/* The short English name of 0..6 (0 = Monday): "Mon".."Sun"; NULL when out of range. */
const char *ntc_weekday_name(int day);

/* ---- route tables ---------------------------------------------------------------------- */

/* One row of a plugin's route table (the rest of nt_route is filled by ntc_routes_add). */
typedef struct ntc_route {
    const char *method, *path;
    nt_auth_kind auth;
    const char *const *perms; /* NULL-terminated, NULL for none */
    nt_handler_fn handler;
} ntc_route;

/* Registers n routes with `state` as their handler state (init only). On failure reports
 * which route through init_error and returns the host's code. */
int ntc_routes_add(const nt_host_api *api, nt_plugin *p, const ntc_route *routes, size_t n,
                   void *state);

/* Registers a plugin's schema and routes (init only): migrations[i] is the SQL of version
 * i + 1, then the n_routes routes with `state`. On failure reports which through init_error
 * and returns the host's code. */
int ntc_register(const nt_host_api *api, nt_plugin *p, const char *const *migrations,
                 size_t n_migrations, const ntc_route *routes, size_t n_routes, void *state);

/* Provides service `kind` named "nettu" (init only); on failure reports it through
 * init_error. */
int ntc_provide(const nt_host_api *api, nt_plugin *p, const char *kind, uint32_t version,
                const void *ops, void *state);

/* ---- time zones ------------------------------------------------------------------------ */

/* 1 when `name` is an exact, case-sensitive IANA time-zone name known to the system tz
 * database (links such as "UTC", "GMT", "US/Eastern" included), else 0. Thread-safe. */
int ntc_tz_valid(const char *name);

#endif /* NTC_H */

/* Helpers shared by the domain plugins (user, calendar, events), linked statically into
 * each. They use only the host table, so they work under a fake host in tests too.
 */
#ifndef NTC_H
#define NTC_H

#include <jansson.h>
#include <nettu/plugin.h>

/* ---- metadata (API.md A9.8) ------------------------------------------------------------
 * Metadata is stored twice: as JSON text on the entity row (for output) and as rows of a side
 * table `<table>(entity_id TEXT, account_id TEXT, key TEXT, value TEXT)` for queries. */

typedef struct ntc_meta_query {
    const char *key, *value; /* borrowed from the request */
    int64_t skip, limit;
} ntc_meta_query;

/* Reads key, value (required), skip (default 0) and limit (default 20) from the query
 * string. NT_EINVAL with a message set through fail() when one is missing or not an
 * integer >= 0. */
int ntc_meta_query_parse(const nt_host_api *api, nt_req *r, ntc_meta_query *q);

/* Replaces the side-table rows of `entity_id` with the pairs of `metadata` (an object of
 * strings; NULL = none). `table` is a trusted literal. Run it inside the caller's write
 * transaction. Returns NT_OK or the storage error. */
int ntc_meta_store(const nt_host_api *api, nt_db *db, const char *table, const char *entity_id,
                   const char *account_id, const json_t *metadata);

/* Parses metadata JSON text from storage; returns a new object ({} on NULL or bad text). */
json_t *ntc_meta_parse(const char *text);

/* Serialises metadata for storage (compact, sorted keys); malloc'd, caller frees; NULL on
 * out of memory. NULL metadata gives "{}". */
char *ntc_meta_dump(const json_t *metadata);

/* ---- weekdays (API.md A9.3) ------------------------------------------------------------ */

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

/* ---- time zones ------------------------------------------------------------------------ */

/* 1 when `name` is an exact, case-sensitive IANA time-zone name known to the system tz
 * database (links such as "UTC", "GMT", "US/Eastern" included), else 0. Thread-safe. */
int ntc_tz_valid(const char *name);

#endif /* NTC_H */

/* schedule plugin internals: the plugin state, schedule rules (parsing, normalisation,
 * printing), availability, schedule rows and the route handlers.
 */
#ifndef SCH_H
#define SCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

#include "ev_time.h"

/* The plugin state: set up by init and start, read-only afterwards, shared by all workers. */
typedef struct sch_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    const nt_users_v1 *users; /* looked up in start */
    void *users_state;
} sch_plugin;

/* ---- rules (sch_rules.c; pure functions over JSON, no host needed) ------------------------ */

#define SCH_MAX_INTERVALS 10 /* a rule keeps its first 10 intervals */
#define SCH_DATE_TEXT 24     /* room for a date value as given, NUL included */

/* One interval of a day: minutes since local midnight, 0 .. 23 * 60 + 59. */
typedef struct sch_interval {
    int start, end;
} sch_interval;

typedef enum sch_kind { SCH_WDAY = 0, SCH_DATE = 1 } sch_kind;

/* One rule: a weekday or one date, and its intervals. */
typedef struct sch_rule {
    sch_kind kind;
    int weekday;              /* SCH_WDAY: 0 = Monday .. 6 = Sunday */
    int64_t day;              /* SCH_DATE: days since 1970-01-01 */
    char date[SCH_DATE_TEXT]; /* SCH_DATE: the value as given ("2030-1-5", "2030-01-05") */
    size_t n;                 /* intervals used */
    sch_interval iv[SCH_MAX_INTERVALS];
} sch_rule;

/* A list of rules; `v` is malloc'd and owned by the list. Zero-initialise it. */
typedef struct sch_rules {
    sch_rule *v;
    size_t n;
} sch_rules;

/* Frees the array and empties the list; NULL is fine. */
void sch_rules_clear(sch_rules *r);

/* Parses a rule array (the `rules` of a body, or the stored text read back) into *out
 * (cleared first). Each rule needs a `variant` {type: "WDay"|"Date", value} and an
 * `intervals` array of {start: {hours, minutes}, end: {hours, minutes}}; every interval is
 * checked, the first SCH_MAX_INTERVALS are kept. Weekdays 0-6 or names; dates Y-M-D with
 * years 1970..2100 and a real month and day. NT_OK, NT_ENOMEM, or NT_EINVAL with a message
 * naming the field ("rules[2].intervals[0].start.hours: expected 0..23") written to err. */
int sch_rules_parse(const json_t *rules, sch_rules *out, char *err, size_t errlen);

/* The default rules: Monday to Friday 09:00-17:30, Saturday and Sunday empty. NT_OK or
 * NT_ENOMEM. */
int sch_rules_default(sch_rules *out);

/* Normalises rules as the original does: drops Date rules not strictly between
 * (today - 2 days) and 1 January of that day's year + 5, `today` being the local date of
 * now_ms in zone tz; then in each rule sorts the intervals by start, drops those with
 * start > end and merges those that overlap or touch. In place. */
void sch_rules_normalise(sch_rules *r, const ev_tz *tz, int64_t now_ms);

/* The rules as the JSON array of the wire object; a new reference, NULL when out of memory. */
json_t *sch_rules_json(const sch_rules *r);

/* ---- availability (sch_avail.c; pure, no host needed) ------------------------------------ */

/* Asked every few steps whether to go on: NT_OK, or a negative code that stops the work. */
typedef int (*sch_check_fn)(void *ctx);

/* The free time of `rules` in zone tz in the window [ws, we] (ms): for each
 * local date the window touches, the Date rule of that date (the last one given), else the
 * WDay rule of its weekday (the last one given); each interval's local start and end made
 * instants (a start in a gap or overlap moves to the next whole local hour that exists
 * once; an end in a gap is the transition instant, an ambiguous end the earlier instant);
 * intervals with start > end dropped, one overlapping the previous dropped; clipped to the
 * window. Days are not joined. *out is replaced by a malloc'd list (busy = 0) the caller
 * frees with free(out->v). check (may be NULL) is called every few days and rules.
 * NT_OK, NT_EINVAL when we - ws > NT_SCHEDULES_MAX_WINDOW_MS or a bound is outside years 1..9999,
 * NT_ENOMEM, or check's code; on failure *out is empty. */
int sch_avail(const sch_rules *rules, const ev_tz *tz, int64_t ws, int64_t we, sch_check_fn check,
              void *ctx, nt_intervals *out);

/* ---- request bodies (sch_body.c; pure functions over JSON) ------------------------------- */

/* What a create or update body carries besides metadata. */
typedef struct sch_body {
    const char *timezone; /* borrowed from the body; NULL when not given */
    int has_rules;        /* 1 when `rules` was given (not absent or null) */
    sch_rules rules;      /* parsed, not yet normalised; owned (sch_body_clear) */
} sch_body;

/* Reads a create (create = 1: `timezone` required) or update body: `timezone` an IANA name,
 * `rules` an array of rules. NT_OK, NT_ENOMEM, or NT_EINVAL with a message naming the field
 * written to err. Metadata is not looked at. */
int sch_body_parse(const json_t *body, int create, sch_body *out, char *err, size_t errlen);

/* Frees what the body owns; NULL is fine. */
void sch_body_clear(sch_body *b);

/* ---- schedule rows (sch_row.c) ----------------------------------------------------------- */

/* One schedule as stored. Every pointer is owned by the row; release with sch_row_clear(). */
typedef struct sch_row {
    char *id;
    char *user_id;
    char *account_id;
    char *timezone;
    json_t *rules;    /* the stored rule array (normalised wire form) */
    json_t *metadata; /* an object of strings */
} sch_row;

/* The columns sch_row_read() expects, in order. */
#define SCH_ROW_COLUMNS "id, user_id, account_id, timezone, rules, metadata"

/* Loads schedule `id` of account `account_id`; when `user_id` is not NULL it must also be
 * that user's schedule; account_id NULL means any account (the service's owner lookup).
 * Fills *row (cleared first). NT_OK, NT_ENOTFOUND, NT_ENOMEM, or the storage error. */
int sch_row_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
                 const char *user_id, sch_row *row);

/* Reads the current result row of `st` (columns SCH_ROW_COLUMNS) into *row (cleared
 * first). NT_OK, NT_ENOMEM, or NT_ERR for a row that breaks the schema. */
int sch_row_read(const nt_host_api *api, nt_stmt *st, sch_row *row);

/* The wire object {id, userId, timezone, rules, metadata}; a new reference,
 * NULL when out of memory. */
json_t *sch_row_json(const sch_row *row);

/* Sets *out to {"schedule": <sch_row_json(row)>} (a new reference, taken by the host) and
 * returns `status`; NT_ENOMEM when out of memory. */
int sch_row_reply(const sch_row *row, int status, json_t **out);

/* Writes the row (insert when `insert`, else update of timezone, rules and metadata) with
 * its metadata side-table rows. Run inside a write transaction. */
int sch_row_store(const nt_host_api *api, nt_db *db, const sch_row *row, int insert);

/* Frees what the row owns and zeroes it; NULL is fine. */
void sch_row_clear(sch_row *row);

/* ---- the "schedules" service (sch_service.c) --------------------------------------------- */

extern const nt_schedules_v1 sch_service_ops;

/* ---- route handlers (one file each) ------------------------------------------------------ */

int sch_create(nt_req *req, void *state,
               json_t **out);                        /* POST /schedule, /user/{userId}/schedule */
int sch_get(nt_req *req, void *state, json_t **out); /* GET [/user]/schedule/{scheduleId} */
int sch_update(nt_req *req, void *state, json_t **out); /* PUT [/user]/schedule/{scheduleId} */
int sch_delete(nt_req *req, void *state, json_t **out); /* DELETE [/user]/schedule/{scheduleId} */
int sch_meta(nt_req *req, void *state, json_t **out);   /* GET /schedule/meta */

#endif /* SCH_H */

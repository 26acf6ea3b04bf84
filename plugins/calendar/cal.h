/* calendar plugin internals: the plugin state, the calendar row, body parsing and the route
 * handlers (not the events of a timespan, which the events plugin serves).
 */
#ifndef CAL_H
#define CAL_H

#include <stddef.h>

#include <jansson.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

/* The plugin state: set up by init and start, read-only afterwards, shared by all workers. */
typedef struct cal_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    const nt_users_v1 *users; /* the "users" service (user plugin), from start on */
    void *users_state;
} cal_plugin;

/* ---- calendar rows (cal_row.c) ----------------------------------------------------------- */

/* One calendar as stored. Every pointer is owned by the row; release with cal_row_clear(). */
typedef struct cal_row {
    char *id;
    char *user_id;
    char *timezone;
    int week_start;   /* 0 = Monday .. 6 = Sunday */
    json_t *metadata; /* an object of strings */
} cal_row;

/* Loads calendar `id` of account `account_id`; when `user_id` is not NULL it must also be that
 * user's calendar. Fills *row (cleared first). NT_OK, NT_ENOTFOUND when there is no such
 * calendar in that scope, or the storage error. Strings are copied. */
int cal_row_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
                 const char *user_id, cal_row *row);

/* Loads the calendar of the path's {calendarId} in the request's scope (account, and user
 * for end users) on db. NT_ENOTFOUND with a message naming calendarId. */
int cal_row_load_req(const nt_host_api *api, nt_req *req, nt_db *db, cal_row *row);

/* Reads the current result row of `st`, whose columns are, in order: id, user_id, timezone,
 * week_start, metadata (CAL_ROW_COLUMNS). Fills *row (cleared first). NT_OK, NT_ENOMEM, or
 * NT_ERR for a row that breaks the schema. */
int cal_row_read(const nt_host_api *api, nt_stmt *st, cal_row *row);

/* The columns cal_row_read() expects, for SELECT lists (prefix them with a table alias). */
#define CAL_ROW_COLUMNS "id, user_id, timezone, week_start, metadata"

/* The wire object: {id, userId, settings: {weekStart, timezone}, metadata}.
 * Returns a new reference, or NULL when out of memory or when week_start is out of range. */
json_t *cal_row_json(const cal_row *row);

/* Sets *out to {"calendar": <cal_row_json(row)>} (a new reference, taken by the host) and
 * returns `status`; NT_ENOMEM when out of memory. */
int cal_row_reply(const cal_row *row, int status, json_t **out);

/* Frees what the row owns and zeroes it; NULL is fine. */
void cal_row_clear(cal_row *row);

/* ---- request bodies (cal_body.c; pure functions over JSON, no host needed) ---------------- */

/* Calendar settings read from a body. */
typedef struct cal_settings {
    const char *timezone; /* borrowed from the body; NULL when not given */
    int week_start;       /* 0 = Monday .. 6 = Sunday; -1 when not given */
} cal_settings;

/* Reads a create body: `timezone` required, `weekStart` optional (default
 * Monday, 0). NT_OK, or NT_EINVAL with a message naming the field written to err. Metadata
 * is not looked at. */
int cal_body_create(const json_t *body, cal_settings *s, char *err, size_t errlen);

/* Reads an update body: `settings.timezone`/`settings.weekStart`, each falling
 * back to the flat top-level `timezone`/`weekStart` when settings lacks it. Fields not given
 * stay NULL / -1. NT_OK, or NT_EINVAL with a message naming the field written to err.
 * Metadata is not looked at. */
int cal_body_update(const json_t *body, cal_settings *s, char *err, size_t errlen);

/* Reads a create (create = 1) or update body of the request, settings and metadata (borrowed
 * from the body, NULL when absent). NT_OK, or NT_EINVAL with a message set through fail(). */
int cal_body_read(const nt_host_api *api, nt_req *req, int create, cal_settings *s,
                  json_t **metadata);

/* ---- services (cal_service.c) ------------------------------------------------------------ */

/* Provides the "calendars" service named "nettu" with state c (init only). */
int cal_service_add(cal_plugin *c);

/* ---- route handlers (one file each) ------------------------------------------------------ */

int cal_create(nt_req *req, void *state,
               json_t **out);                        /* POST /calendar, /user/{userId}/calendar */
int cal_get(nt_req *req, void *state, json_t **out); /* GET [/user]/calendar/{calendarId} */
int cal_update(nt_req *req, void *state, json_t **out); /* PUT [/user]/calendar/{calendarId} */
int cal_delete(nt_req *req, void *state, json_t **out); /* DELETE [/user]/calendar/{calendarId} */
int cal_meta(nt_req *req, void *state, json_t **out);   /* GET /calendar/meta */

#endif /* CAL_H */

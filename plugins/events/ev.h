/* events plugin internals: the plugin state, the stored event, body parsing, storage and the
 * route handlers (free/busy, calendar events, event routes, the multi-user free/busy extension).
 */
#ifndef EV_H
#define EV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

#include "intervals.h"
#include "rrule.h"

#define EV_SPAN_MAX 5356800000LL     /* 62 days: the longest instance query */
#define EV_REMINDER_DELTA_MAX 535680 /* minutes, a reminder's furthest delta */
#define EV_MINUTES_BEFORE_MAX 1440   /* compat reminder {minutesBefore} */
#define EV_FREEBUSY_USERS_MAX 100    /* POST /user/freebusy */
#define EV_MAX_INSTANCES_DEFAULT 100000
#define EV_RULE_CPU_MS_DEFAULT 20 /* [events] rule_cpu_ms */
/* Internal result of a write that found the data it had read before its transaction changed:
 * the caller computes again (a positive value, never returned to the host). A retryable
 * storage error (NT_ERETRY) is not this: the host runs the whole handler again for that. */
#define EV_CHANGED 1
/* Every time the routes take (startTs, until, exdates, query windows) lies in the years 1 to
 * 9999 (UTC), the range of the recurrence engine; durations are 0 to 10 years (3653 days).
 * The original accepts any 64-bit value (README "Limits"). */
#define EV_TS_MIN EV_RECUR_START_MIN
#define EV_TS_MAX EV_RECUR_START_MAX
#define EV_DURATION_MAX 315619200000LL

/* Window queries read only events that can reach into the window. Each stored event has a
 * span class: the smallest k with end_ts - start_ts <= EV_SPAN_Bk (5 above EV_SPAN_B4, a long
 * or endless series included). The index (calendar_id, span_class, start_ts, end_ts) then
 * bounds a window's scan on both sides: an event of class k that overlaps [ws, we] starts in
 * [ws - EV_SPAN_Bk, we], so events long past are not read (one range per class, joined by
 * UNION ALL). Plain integers (no suffix), since they are written into the SQL too. */
#define EV_SPAN_B0 14400000    /* 4 hours */
#define EV_SPAN_B1 172800000   /* 2 days */
#define EV_SPAN_B2 1382400000  /* 16 days */
#define EV_SPAN_B3 11059200000 /* 128 days */
#define EV_SPAN_B4 94694400000 /* 1096 days */
#define EV_STR_(x) #x
#define EV_STR(x) EV_STR_(x)
#define EV_SPAN_BRANCH(head, k, bound, we, ws)                                                     \
    head "e.span_class = " #k " AND e.start_ts >= CAST(" ws                                        \
         " AS BIGINT) - " EV_STR(bound) " AND e.start_ts <= " we " AND e.end_ts >= " ws            \
                                        " UNION ALL "
/* The events of `head` (a SELECT ending in "WHERE ... AND " or "WHERE ") overlapping the
 * window whose end and start are the SQL parameters `we` and `ws` (e.g. "$3", "$4"): six
 * index ranges joined by UNION ALL (order by result column names, e.g. "start_ts"). */
#define EV_SPAN_WINDOW(head, we, ws)                                                               \
    EV_SPAN_BRANCH(head, 0, EV_SPAN_B0, we, ws)                                                    \
    EV_SPAN_BRANCH(head, 1, EV_SPAN_B1, we, ws)                                                    \
    EV_SPAN_BRANCH(head, 2, EV_SPAN_B2, we, ws)                                                    \
    EV_SPAN_BRANCH(head, 3, EV_SPAN_B3, we, ws)                                                    \
    EV_SPAN_BRANCH(head, 4, EV_SPAN_B4, we, ws)                                                    \
    head "e.span_class = 5 AND e.start_ts <= " we " AND e.end_ts >= " ws

/* The span class of an event from start_ts to end_ts (see EV_SPAN_B0). */
int ev_span_class(int64_t start_ts, int64_t end_ts);

/* The plugin state: set up by init and start, read-only afterwards, shared by all workers. */
typedef struct ev_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    size_t max_instances;     /* [events] max_instances: cap per expansion (400 above) */
    int64_t rule_cpu_us;      /* [events] rule_cpu_ms: what computing a rule's endTs may cost */
    int64_t ical_max_events;  /* [events] ical_max_events: events of one iCalendar export */
    const nt_users_v1 *users; /* "users" (user plugin), from start on */
    void *users_state;
    const nt_calendars_v1 *calendars; /* "calendars" (calendar plugin), from start on */
    void *calendars_state;
    const nt_webhooks_v1 *webhooks; /* "webhooks" (optional), from start on */
    void *webhooks_state;
    int64_t reminder_tick_ms;     /* [events] reminder_tick_ms: 60000 (a test knob) */
    int64_t reminder_followup_ms; /* [events] reminder_followup_ms: 30 min */
    struct ev_deliver *deliver;   /* the reminder thread, from start until stop */
} ev_plugin;

/* A calendar's owner and settings, from the "calendars" service (the calendar plugin owns
 * the calendar tables). Holds no pointers. */
typedef nt_calendar ev_cal;

/* An event as stored. Owns rrule, exdates, reminders, metadata. */
typedef struct ev_event {
    char id[NT_UUID_BUF];
    char calendar_id[NT_UUID_BUF];
    char user_id[NT_UUID_BUF];
    char account_id[NT_UUID_BUF];
    int64_t start_ts, duration, end_ts, created, updated;
    int busy;
    ev_rrule *rrule; /* NULL when not recurring */
    int64_t *exdates;
    size_t n_exdates;
    json_t *reminders; /* array of {delta, identifier} */
    int has_service;
    char service_id[NT_UUID_BUF];
    json_t *metadata; /* object of strings */
} ev_event;

/* Frees what the event owns and zeroes it; NULL is fine. */
void ev_event_clear(ev_event *e);

/* The event's timing as an expansion input (borrows from e). */
ev_series ev_event_series(const ev_event *e);

/* ---- JSON (event_json.c) ----------------------------------------------------------------- */

/* The wire object of an event (every field, derived `reminder`). New reference or NULL (ENOMEM). */
json_t *ev_event_json(const ev_event *e);

/* exdates as JSON text ("[1,2]"); malloc'd, NULL when out of memory. */
char *ev_exdates_dump(const int64_t *v, size_t n);

/* Parses exdates JSON text into a malloc'd array (NULL when empty). 0, or -1 when the text is
 * not an array of integers or out of memory. */
int ev_exdates_parse(const char *text, int64_t **v, size_t *n);

/* ---- request bodies (event_parse.c) ------------------------------------------------------ */

/* The fields of a create or update body that are checked before any lookup (types). */
typedef struct ev_body {
    const char *calendar_id; /* create only */
    int has_start, has_duration, has_busy;
    int64_t start_ts, duration;
    int busy;
    const json_t *recurrence; /* the raw value; NULL when the key is absent */
    int has_exdates;
    int64_t *exdates; /* owned */
    size_t n_exdates;
    int has_service;        /* serviceId present (update: null clears it) */
    const char *service_id; /* NULL when null */
    json_t *metadata;       /* borrowed from the body; NULL when absent */
} ev_body;

/* Reads and type-checks a create (create = 1) or update body. NT_OK, or NT_EINVAL with a
 * message set through fail(). Free with ev_body_clear(). */
int ev_body_read(const nt_host_api *api, nt_req *req, const json_t *body, int create, ev_body *b);
void ev_body_clear(ev_body *b);

/* Reads `reminders` (array of {delta, identifier}; null = none) and the compat `reminder`
 * {minutesBefore} of a body into a new array in *out (the compat one appended as
 * {delta: -m, identifier: "reminder"}). *present is 1 when either key holds a value.
 * 0, or -1 with a message naming the field in err. */
int ev_reminders_read(const json_t *body, json_t **out, int *present, char *err, size_t errlen);

/* Checks that ts (the field `name`) lies in the years 1 to 9999: NT_OK or NT_EINVAL. */
int ev_check_ts(const nt_host_api *api, nt_req *req, const char *name, int64_t ts);

/* Parses an integer query parameter (required). NT_OK, or NT_EINVAL with a message. */
int ev_query_ts(const nt_host_api *api, nt_req *req, const char *name, int64_t *out);

/* Reads the required query parameters startTs and endTs; with check_span also checks the
 * 62-day limit (ev_check_span). NT_OK, or NT_EINVAL with a message. (event_query.c) */
int ev_query_window(const nt_host_api *api, nt_req *req, int check_span, int64_t *ws, int64_t *we);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction]Z" into ms. 0, or -1 when malformed. */
int ev_iso_parse(const char *s, int64_t *ms);

/* ---- storage (event_store.c; its own tables only) ----------------------------------------- */

/* The columns ev_row_read() expects, in order, for SELECT lists (use the alias `e`). */
#define EV_COLS                                                                                    \
    "e.id, e.calendar_id, e.user_id, e.account_id, e.start_ts, e.duration, e.end_ts, e.busy, "     \
    "e.created, e.updated, e.recurrence, e.exdates, e.reminders, e.service_id, e.metadata"
#define EV_NCOLS 15

/* Reads the event in columns col0.. of the current row (EV_COLS order) into *e (cleared
 * first). NT_OK, NT_ENOMEM, or NT_ERR for a row that breaks the schema. */
int ev_row_read(const nt_host_api *api, nt_stmt *st, int col0, ev_event *e);

/* Loads event `id` of the account (and of user_id when not NULL). NT_OK, NT_ENOTFOUND, or
 * the storage error. */
int ev_store_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
                  const char *user_id, ev_event *e);
int ev_store_insert(const nt_host_api *api, nt_db *db, const ev_event *e);
int ev_store_update(const nt_host_api *api, nt_db *db, const ev_event *e);
int ev_store_delete(const nt_host_api *api, nt_db *db, const char *id);

/* ---- calendars and users, through their services (event_peers.c) ------------------------ */

/* Loads calendar `id` of the account (and of user_id when not NULL) through the calendars
 * service; when json is not NULL *json gets its wire object (a new reference). NT_OK,
 * NT_ENOTFOUND, or the storage error. */
int ev_cal_load(const ev_plugin *p, nt_db *db, const char *id, const char *account_id,
                const char *user_id, ev_cal *c);
int ev_cal_load_json(const ev_plugin *p, nt_db *db, const char *id, const char *account_id,
                     const char *user_id, ev_cal *c, json_t **json);
/* Loads the calendar of event e (any user of the request's account); a missing one is
 * NT_ENOTFOUND with a message. */
int ev_event_cal(const ev_plugin *p, nt_req *req, const ev_event *e, ev_cal *c);

/* Zeroes c (an ev_cal owns nothing); NULL is fine. */
void ev_cal_clear(ev_cal *c);

/* NT_OK when user_id is a user of account_id (the users service), NT_ENOTFOUND when not, else
 * the storage error. */
int ev_user_in_account(const ev_plugin *p, nt_db *db, const char *account_id, const char *user_id);

/* The same three lookups through the memo of the request's group commit (event_memo.c):
 * the first request of a group that names a calendar, a user or a user's calendars reads them,
 * the later ones copy what the memo kept. req may be NULL (no memo). ev_user_cals_memo: the
 * calendars of user_id in account_id as the calendars service lists them (*out malloc'd,
 * free(); NULL and 0 when none). */
int ev_cal_load_memo(const ev_plugin *p, nt_req *req, nt_db *db, const char *id,
                     const char *account_id, const char *user_id, ev_cal *c);
int ev_user_in_account_memo(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
                            const char *user_id);
int ev_user_cals_memo(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
                      const char *user_id, ev_cal **out, size_t *n_out);

/* The round-robin statistic of service_stats (the newest creation time of the events of
 * `service` of `user`; INT64_MIN when none) through the memo of the request's group
 * (event_memo.c), kept exact by the group's own event writes: ev_memo_last_get answers 1 and
 * *last when a valid one is kept; ev_memo_last_keep keeps what a query found;
 * ev_memo_last_created raises it for a new event of the service (call it once the event is
 * written); ev_memo_events_changed invalidates every kept one (call it for every update or
 * deletion of events). All do nothing outside a group. */
int ev_memo_last_get(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                     const char *user, int64_t *last);
void ev_memo_last_keep(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                       const char *user, int64_t last);
void ev_memo_last_created(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                          const char *user, int64_t created);
void ev_memo_events_changed(const ev_plugin *p, nt_req *req);

/* Looks up the users and calendars services (start). NT_OK, or NT_ERR after init_error. */
int ev_peers_lookup(ev_plugin *p);

/* ---- expansion glue (event_expand.c) ----------------------------------------------------- */

/* The work budget of one request's expansions: the time engine's ev_budget (budget.h) whose
 * hook asks the host's req_check, so a loop stops once the request has used its CPU budget
 * ([server] request_cpu_ms) or its client has gone. Not movable once initialised (the
 * budget points at it). */
typedef struct ev_work {
    const nt_host_api *api;
    nt_req *req;
    ev_budget budget; /* hand &budget to ev_expand_opts.budget */
} ev_work;

/* Sets w up for req, with a CPU cap of its own (max_cpu_us; 0 = only the host's budget). */
void ev_work_init(ev_work *w, const ev_plugin *p, nt_req *req, int64_t max_cpu_us);

/* Maps an engine result (ev_expand, ev_end_ts) to an NT_E* code: NT_OK; NT_ENOMEM; NT_EINVAL
 * for a refused rule or query and for a rule over [events] rule_cpu_ms (EV_EXPAND_ELIMIT);
 * NT_EBUDGET (message set by req_check) or NT_EGONE when the request must stop. */
int ev_work_map(const ev_plugin *p, nt_req *req, int rc, const char *err);

/* Expands e in [ws, we] (windowed) with the calendar's zone and week start into out,
 * charging w. NT_OK; NT_EINVAL (fail() set) when the cap is exceeded; NT_EBUDGET or NT_EGONE
 * when the request must stop; NT_ERR when the zone cannot be loaded; NT_ENOMEM. */
int ev_expand_event(const ev_plugin *p, nt_req *req, ev_work *w, const ev_event *e,
                    const char *timezone, int week_start, int64_t ws, int64_t we, ev_ilist *out);

/* Computes e->end_ts with the calendar's settings. With capped = 1 (a new or changed
 * timing) a rule whose expansion needs more than [events] rule_cpu_ms of CPU is refused
 * (NT_EINVAL naming the setting): this is the affordability check that bounds every later
 * expansion of the event. Call it before the write transaction begins. NT_OK, NT_EINVAL,
 * NT_EBUDGET, NT_EGONE, NT_ERR, NT_ENOMEM. */
int ev_compute_end(const ev_plugin *p, nt_req *req, ev_event *e, const ev_cal *cal, int capped);

/* Checks a [startTs, endTs] query window: both ends in the years 1 to 9999, at most 62 days
 * long. NT_OK or NT_EINVAL. */
int ev_check_span(const nt_host_api *api, nt_req *req, int64_t ws, int64_t we);

/* ---- reminders (event_remind.c) ------------------------------------------------------- */

#define EV_REM_OCCURRENCES 100    /* future occurrences of a recurring event with reminders */
#define EV_REM_FOLLOWUP_AT 90     /* the follow-up job is dated at the 91st (index 90) */
#define EV_REM_MIN_AHEAD_MS 61000 /* a reminder is kept when remindAt > now + 61 s */

/* One pending reminder; identifier borrows from the event's reminders array. */
typedef struct ev_rem {
    int64_t at;
    const char *identifier;
} ev_rem;

/* The reminders of one event as computed from its occurrences. Owns v. */
typedef struct ev_rem_plan {
    ev_rem *v;
    size_t n, cap;
    int has_followup;    /* more occurrences remain after the first EV_REM_OCCURRENCES */
    int64_t followup_at; /* the start of the 91st future occurrence */
} ev_rem_plan;

/* Frees what pl owns and zeroes it; NULL is fine. */
void ev_rem_plan_clear(ev_rem_plan *pl);

/* Computes the pending reminders of e at now: one per occurrence o and reminder r,
 * remindAt = o + r.delta minutes, kept when remindAt > now + 61 s; a recurring event uses the
 * earlier occurrences whose reminders are still ahead and its next EV_REM_OCCURRENCES future
 * occurrences (expanded with the calendar's zone, charged to the request's budget), with a
 * follow-up when more remain. Call before the write transaction; pl borrows identifiers from
 * e->reminders (keep e alive). NT_OK, NT_EBUDGET, NT_EGONE, NT_ERR, NT_ENOMEM (fail() set). */
int ev_rem_plan_make(const ev_plugin *p, nt_req *req, const ev_event *e, const ev_cal *cal,
                     ev_rem_plan *pl);

/* As ev_rem_plan_make, for the follow-up jobs of the reminder thread (no request): at `now`,
 * capped by [events] rule_cpu_ms of CPU. NT_OK, NT_ENOMEM, or NT_ERR (zone or cap). */
int ev_rem_plan_bg(const ev_plugin *p, const ev_event *e, const ev_cal *cal, int64_t now,
                   ev_rem_plan *pl);

/* Replaces the pending reminders of e with pl and bumps the event's reminder version (every
 * row carries the version that wrote it), on db inside the caller's write transaction. The
 * routes pass expect_version -1: their replace commits with the event's compare-and-write
 * (ev_update_write). A follow-up job passes the version it read: when an update replaced the
 * reminders since, nothing is written (EV_CHANGED), so older reminders never come back.
 * NT_OK, EV_CHANGED, or the storage error. */
int ev_rem_replace(const nt_host_api *api, nt_db *db, const ev_event *e, const ev_rem_plan *pl,
                   int64_t expect_version);

/* ev_rem_replace for an event inserted in this transaction (version 1): inserts only, reads
 * nothing, so concurrent creations do not conflict on PostgreSQL (see ntc_meta_insert). */
int ev_rem_insert_new(const nt_host_api *api, nt_db *db, const ev_event *e, const ev_rem_plan *pl);

/* Looks up the optional webhooks service and starts the reminder delivery thread
 * (event_deliver.c) on a storage connection of its own. NT_OK, or NT_ERR after
 * init_error. */
int ev_deliver_start(ev_plugin *p);

/* Stops and joins the thread and closes its connection; fine when it never started. */
void ev_deliver_stop(ev_plugin *p);

/* ---- free/busy rows (freebusy.c) --------------------------------------------------------- */

/* Scratch space reused across the rows of one free/busy query. */
typedef struct ev_fb {
    const ev_plugin *p;
    nt_req *req;
    ev_work work; /* the request's budget, charged by every row */
    int64_t ws, we;
    ev_rrule *rrule; /* owned; one rule buffer for every row */
    const ev_tz *tz; /* the zone of the last row, to skip repeated cache lookups */
    char tz_name[72];
} ev_fb;

/* Prepares fb for [ws, we] (fb must not move afterwards). NT_OK or NT_ENOMEM; release with
 * ev_fb_clear(). */
int ev_fb_init(ev_fb *fb, const ev_plugin *p, nt_req *req, int64_t ws, int64_t we);
void ev_fb_clear(ev_fb *fb);

/* Expands the event in columns col0.. of the current row, which are, in order: start_ts,
 * duration, recurrence, exdates, busy, service_id (EV_FB_COLS), with the given calendar zone
 * and week start, appending to out (instances carry the event's busy flag). NT_OK,
 * NT_EINVAL (fail() set), NT_EBUDGET, NT_EGONE, NT_ERR, NT_ENOMEM. */
int ev_fb_row(ev_fb *fb, nt_stmt *st, int col0, const char *timezone, int week_start,
              ev_ilist *out);

#define EV_FB_COLS "e.start_ts, e.duration, e.recurrence, e.exdates, e.busy, e.service_id"
#define EV_FB_NCOLS 6

/* ---- calendar sets (event_set.c): what free/busy and the events service share --------- */

/* Resolves calendar ids (lower-case UUIDs, duplicates allowed) to the calendars of
 * account_id, and of user_id when not NULL, through the calendars service; other ids are
 * dropped. *out is malloc'd (free()) with *n_out entries, sorted by id. req (may be NULL) lets
 * a user's calendars come from the group's memo. NT_OK, NT_ENOMEM or a storage error. */
int ev_set_resolve(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
                   const char *user_id, const char *const *ids, size_t n, ev_cal **out,
                   size_t *n_out);

/* Picks the list the instances of one event go to, from its busy flag and serviceId (NULL
 * when none); NULL skips the event. May set *rc (NT_ENOMEM) to stop. */
typedef ev_ilist *(*ev_set_dest_fn)(void *arg, int busy, const char *service_id, int *rc);

/* Flags of ev_set_collect(): only busy events; `dest` is given NULL for the serviceId
 * (it does not look at it, and the column is then not read). */
#define EV_SET_BUSY_ONLY 1
#define EV_SET_NO_SERVICE 2

/* Expands every event of the calendars cals[0..n) that matches [fb->ws, fb->we], only the
 * busy ones with EV_SET_BUSY_ONLY in flags, into the lists `dest` picks. Checks the request
 * budget (req_check) as it goes. NT_OK or the first error. */
int ev_set_collect(ev_fb *fb, const ev_cal *cals, size_t n, int flags, ev_set_dest_fn dest,
                   void *arg);

/* Free/busy of the calendars `ids` (resolved as ev_set_resolve does) in [ws, we]: the
 * instances of busy events into `busy`, merged; with free_l not NULL, those of the other
 * events into free_l, merged, minus the busy ones. An empty window (we < ws) gives nothing.
 * NT_OK or the first error (the lists then hold partial results: free them). */
int ev_set_freebusy(const ev_plugin *p, nt_req *req, const char *account_id, const char *user_id,
                    const char *const *ids, size_t n, int64_t ws, int64_t we, ev_ilist *busy,
                    ev_ilist *free_l);

/* Moves the instances of l into a zero-initialised nt_intervals (services.h); l is emptied.
 * 0, or -1 when out of memory (both unchanged then). */
int ev_ilist_export(ev_ilist *l, nt_intervals *out);

/* ---- iCalendar export (event_ical.c, event_ical_vevent.c) ---------------------------- */

#define EV_ICAL_MAX_EVENTS_DEFAULT 5000      /* [events] ical_max_events: events of one export */
#define EV_ICAL_MAX_BYTES (16 * 1024 * 1024) /* size of one export; more answers 422 */

/* What the VEVENTs of one calendar are built with. */
typedef struct ev_ical_ctx {
    const char *tzid;     /* the calendar's zone name */
    const ev_tz *tz;      /* its data (needed when an event recurs) */
    int wkst;             /* the calendar's week start, 0 = Monday */
    size_t max_instances; /* [events] max_instances */
    ev_budget *budget;    /* the request's work budget (ev_work) */
} ev_ical_ctx;

/* The VEVENT of e as text (CRLF lines, folded, escaped) in *text, malloc'd
 * (free()). Returns 0; 1 when e has no instance (nothing written); -1 when its rule cannot be
 * written (err says why); -2 when out of memory; EV_EXPAND_ELIMIT, _EBUDGET or _EGONE when
 * the budget stopped the expansion that checks whether DTSTART is an occurrence. Needs
 * ev_ical_lib_load() to have succeeded. */
int ev_ical_vevent(const ev_event *e, const ev_ical_ctx *x, char **text, char *err, size_t errlen);

/* ---- the "events" service (event_service.c) --------------------------------------------- */

/* Provides the "events" service named "nettu" with state p (init only). */
int ev_service_add(ev_plugin *p);

/* ---- route handlers ---------------------------------------------------------------------- */

int ev_create(nt_req *req, void *state, json_t **out);     /* POST /events, /user/{userId}/events */
int ev_get(nt_req *req, void *state, json_t **out);        /* GET [/user]/events/{eventId} */
int ev_update(nt_req *req, void *state, json_t **out);     /* PUT [/user]/events/{eventId} */
int ev_delete(nt_req *req, void *state, json_t **out);     /* DELETE [/user]/events/{eventId} */
int ev_meta(nt_req *req, void *state, json_t **out);       /* GET /events/meta */
int ev_instances(nt_req *req, void *state, json_t **out);  /* GET .../{eventId}/instances */
int ev_cal_events(nt_req *req, void *state, json_t **out); /* GET .../{calendarId}/events */
int ev_freebusy(nt_req *req, void *state, json_t **out);   /* GET /user/{userId}/freebusy */
int ev_freebusy_multi(nt_req *req, void *state, json_t **out); /* POST /user/freebusy */
int ev_ical(nt_req *req, void *state, json_t **out); /* GET [/user]/calendar/{calendarId}/ical */

#endif /* EV_H */

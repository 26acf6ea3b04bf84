/* service plugin internals: the plugin state, services and their members (rows, bodies, wire
 * objects), the booking-slot computation and the route handlers.
 */
#ifndef SVC_H
#define SVC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

#include "ev_time.h"
#include "intervals.h"

/* The plugin state: set up by init and start, read-only afterwards, shared by all workers. */
typedef struct svc_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    const nt_users_v1 *users; /* the services below are looked up in start */
    void *users_state;
    const nt_calendars_v1 *calendars;
    void *calendars_state;
    const nt_schedules_v1 *schedules;
    void *schedules_state;
    const nt_events_v1 *events;
    void *events_state;
} svc_plugin;

/* ---- multiPerson and time plans (svc_body.c; pure) ---------------------------------------- */

typedef enum svc_multi_kind {
    SVC_RR_AVAILABILITY = 0, /* {"variant":"roundRobinAlgorithm","data":"availability"} */
    SVC_RR_EQUAL = 1,        /* {"variant":"roundRobinAlgorithm","data":"equalDistribution"} */
    SVC_COLLECTIVE = 2,      /* {"variant":"collective"} */
    SVC_GROUP = 3            /* {"variant":"group","data": n} */
} svc_multi_kind;

typedef struct svc_multi {
    svc_multi_kind kind;
    int64_t group; /* SVC_GROUP: n >= 0 */
} svc_multi;

/* Parses a MultiPerson object. NT_OK or NT_EINVAL with a message
 * naming the field written to err. */
int svc_multi_parse(const json_t *v, svc_multi *out, char *err, size_t errlen);

/* The MultiPerson as its wire object; a new reference, NULL when out of memory. */
json_t *svc_multi_json(const svc_multi *m);

/* 1 when every member must be free at a slot (collective and group services). */
int svc_multi_all(const svc_multi *m);

typedef enum svc_plan_kind {
    SVC_PLAN_EMPTY = 0,
    SVC_PLAN_CALENDAR,
    SVC_PLAN_SCHEDULE
} svc_plan_kind;

/* A member's availability (a TimePlan). */
typedef struct svc_plan {
    svc_plan_kind kind;
    char id[NT_UUID_BUF]; /* calendar or schedule id; "" for Empty */
} svc_plan;

/* The TimePlan as its wire object; a new reference, NULL when out of memory. */
json_t *svc_plan_json(const svc_plan *p);

/* What an add- or update-member body carries (add and update routes, with the published
 * client's names too). Each has_* is 1 when the field was given. */
typedef struct svc_member_body {
    int has_plan, has_before, has_after, has_closest, has_furthest, has_busy;
    svc_plan plan;
    int64_t before, after, closest; /* minutes */
    int64_t furthest;               /* minutes, or -1 for null */
    char (*busy)[NT_UUID_BUF];      /* malloc'd, owned; n_busy ids (duplicates removed) */
    size_t n_busy;
} svc_member_body;

/* Reads the member fields of `body` (not userId): availability or availibility, bufferBefore,
 * bufferAfter or buffer, closestBookingTime, furthestBookingTime, busy. NT_OK, NT_ENOMEM, or
 * NT_EINVAL with a message naming the field written to err. */
int svc_member_body_parse(const json_t *body, svc_member_body *out, char *err, size_t errlen);

/* Frees what the body owns; NULL is fine. */
void svc_member_body_clear(svc_member_body *b);

/* ---- services and members as stored (svc_row.c) ------------------------------------------ */

typedef struct svc_member {
    char user_id[NT_UUID_BUF];
    svc_plan plan;
    int64_t before, after, closest; /* minutes */
    int64_t furthest;               /* minutes, -1 when not set */
    char (*busy)[NT_UUID_BUF];      /* internal busy calendars; malloc'd, owned */
    size_t n_busy;
} svc_member;

typedef struct svc_service {
    char id[NT_UUID_BUF];
    char account_id[NT_UUID_BUF];
    svc_multi multi;
    json_t *metadata;    /* owned */
    svc_member *members; /* malloc'd, ordered by when they joined; owned */
    size_t n;
} svc_service;

/* Loads service `id` with its members and their busy calendars; account_id NULL means any
 * account (the public booking query). Fills *out (cleared first). NT_OK, NT_ENOTFOUND,
 * NT_ENOMEM, or the storage error. */
int svc_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
             svc_service *out);

/* Loads the path's service ({serviceId}) in the admin's account; 404 naming it when there is
 * none (svc_load otherwise). */
int svc_load_path(const nt_host_api *api, nt_req *req, svc_service *s);

/* Frees what the service owns and zeroes it; NULL is fine. */
void svc_clear(svc_service *s);

/* Copies `from` into *to (zeroed first; its own memory, freed with svc_clear). NT_OK or
 * NT_ENOMEM (then *to is empty). (svc_memo.c) */
int svc_copy(const svc_service *from, svc_service *to);

/* svc_load_path through the memo of the request's group commit (ABI 1.6): the first request
 * of a group that names the service loads it, the later ones copy what the memo kept. Only
 * for routes of group commits (bookings, holds); others call svc_load_path. (svc_memo.c) */
int svc_load_path_memo(const nt_host_api *api, nt_req *req, svc_service *s);

/* The member of user_id, or NULL. */
svc_member *svc_find_member(const svc_service *s, const char *user_id);

/* The service wire object {id, accountId, metadata, multiPerson, users}; a new reference,
 * NULL when out of memory. */
json_t *svc_json(const svc_service *s);

/* The ServiceUser wire object (both sets of field names); a new reference or NULL. */
json_t *svc_member_json(const svc_service *s, const svc_member *m);

/* Writes the service row (insert when `insert`, else update of multiPerson and metadata)
 * with its metadata side-table rows. Run inside a write transaction. */
int svc_store(const nt_host_api *api, nt_db *db, const svc_service *s, int insert);

/* Inserts (insert = 1) or updates the membership row of m (not its busy calendars). */
int svc_member_store(const nt_host_api *api, nt_db *db, const char *service_id,
                     const char *account_id, const svc_member *m, int insert);

/* Registers (add = 1) or unregisters calendar_id as a busy calendar of (service, user).
 * Adding one already there is NT_ECONFLICT; removing one not there NT_ENOTFOUND. */
int svc_busy_store(const nt_host_api *api, nt_db *db, const char *service_id, const char *user_id,
                   const char *calendar_id, int add);

/* Answers the service as {"service": ...} with the given status. */
int svc_reply(const svc_service *s, int status, json_t **out);

/* ---- booking slots (svc_slots.c; pure, no host needed) ------------------------------------ */

/* The span of a slot query: [local midnight starting day d0, local midnight ending day
 * d1) in zone tz (days since 1970-01-01), in ms. */
void svc_span(const ev_tz *tz, int64_t d0, int64_t d1, int64_t *s, int64_t *e);

/* Free time step 1: the span [*s, *e] narrowed by closest (minutes) and furthest (minutes, -1
 * when not set) from now (ms). 1 when something is left, 0 when the host has no free time. */
int svc_adjust(int64_t now, int64_t closest, int64_t furthest, int64_t *s, int64_t *e);

/* Free time step 3: appends the n intervals v to busy (busy = 1), each widened by `before`
 * minutes (earlier start) and `after` minutes (later end). 0, or -1 when out of memory. */
int svc_busy_widen(ev_ilist *busy, const nt_interval *v, size_t n, int64_t before, int64_t after);

/* Free time step 4: avail minus busy (both merged here; busy is changed by the merge), clipped
 * to [s, e]; the result replaces avail. 0, or -1 when out of memory. */
int svc_free_time(ev_ilist *avail, ev_ilist *busy, int64_t s, int64_t e);

/* Slots of several hosts: start times and, per slot, the hosts free then. */
typedef struct svc_slots {
    int64_t *start; /* n slot starts, ascending */
    size_t *first;  /* slot i's hosts are host[first[i] .. first[i + 1]) (n + 1 entries) */
    size_t *host;   /* host indexes */
    size_t n, cap, n_host, cap_host;
} svc_slots;

/* Frees the slots; NULL is fine. */
void svc_slots_clear(svc_slots *sl);

/* The slot walk over hosts whose free lists (sorted, non-overlapping) are lists[0 ..
 * n_hosts): cursor = s, s + interval, ... while cursor + duration <= e; a host is free at
 * cursor when one of its intervals [a, b] has a <= cursor and cursor + duration <= b. A
 * cursor is a slot when some host is free (all = 0) or every host is (all = 1, and n_hosts >
 * 0). duration < 1 gives no slots. check (may be NULL) is called every few thousand cursors.
 * 0, -1 when out of memory, or check's code; *out (zeroed first) is the caller's to clear. */
int svc_slots_walk(const ev_ilist *lists, size_t n_hosts, int64_t s, int64_t e, int64_t interval,
                   int64_t duration, int all, int (*check)(void *), void *ctx, svc_slots *out);

/* The slot answer: {"dates": [{"date": "Y-M-D", "slots": [{start, duration, userIds}]}]},
 * slots grouped by their local date in tz, dates without zero padding. user_ids[i] names
 * host i. A new reference, NULL when out of memory. */
json_t *svc_slots_json(const svc_slots *sl, const char *const *user_ids, const ev_tz *tz,
                       int64_t duration);

/* Parses a date "Y-M-D" (three integers, year 1970..2100, a real month and day, zero padding
 * optional) into days since 1970-01-01. NT_OK or NT_EINVAL. */
int svc_date_parse(const char *s, int64_t *days);

/* ---- free time of one member (svc_free.c) ------------------------------------------------- */

/* The free time of member m of service s in the span [s0, e0], through the schedules
 * and events services, for request req (whose budget it runs in). The active holds of the
 * account naming m, except skip_hold (NULL for none), count as busy. *out (zeroed
 * first) gets sorted, non-overlapping free intervals; *in_avail (when not NULL) is 1 when
 * the availability alone, within the booking-time limits, covers [s0, e0]. NT_OK, NT_ENOMEM,
 * NT_EBUDGET/NT_EGONE or a storage or events error. */
int svc_member_free(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_member *m,
                    int64_t s0, int64_t e0, const char *skip_hold, int *in_avail, ev_ilist *out);

/* ---- slots of a service (svc_booking.c) -------------------------------------------------- */

/* Says whether member user_id is considered (arg is the filter's own). */
typedef int (*svc_host_filter)(const void *arg, const char *user_id);

/* NT_OK when interval is 5 min .. 2 h, else 400 naming it through fail(). */
int svc_check_interval(const nt_host_api *api, nt_req *req, int64_t interval);

/* The slots of service s in [s0, e0) for request req: every member, or (when
 * filter is not NULL and the service is neither collective nor group) those it accepts. On
 * NT_OK *out holds the slots (svc_slots_clear) and *ids a malloc'd array (free()) naming the
 * slots' host indexes, its strings borrowed from s. Errors of the members' free time (budget,
 * storage) pass through. */
int svc_compute_slots(const svc_plugin *p, nt_req *req, const svc_service *s, int64_t s0,
                      int64_t e0, int64_t interval, int64_t duration, svc_host_filter filter,
                      const void *arg, svc_slots *out, const char ***ids);

/* ---- bookings and holds (svc_bk_row.c, svc_bk_pick.c) ---------------------------------- */

/* A booking or a hold as stored (tables service_bookings and service_holds). */
typedef struct svc_bk {
    char id[NT_UUID_BUF];
    char service_id[NT_UUID_BUF];
    char account_id[NT_UUID_BUF];
    int64_t start_ts, duration, created;
    int64_t expires_at; /* holds */
    int used;           /* holds: consumed by a booking */
    int cancelled;      /* bookings */
    json_t *hosts;      /* array of user ids; owned */
    json_t *event_ids;  /* bookings: array of event ids; owned */
    json_t *metadata;   /* bookings: object of strings; owned */
} svc_bk;

/* Frees what b owns and zeroes it; NULL is fine. */
void svc_bk_clear(svc_bk *b);

/* Parses a stored array of ids; a new reference ([] for NULL or bad text), NULL when out of
 * memory. */
json_t *svc_bk_hosts_parse(const char *text);

/* 1 when the array of strings a holds id. */
int svc_bk_hosts_has(const json_t *a, const char *id);

/* Loads booking (hold = 0) or hold (hold = 1) `id` of service_id (NULL: any service) in
 * account_id into *out (cleared first). NT_OK, NT_ENOTFOUND, NT_ENOMEM or a storage error. */
int svc_bk_load(const nt_host_api *api, nt_db *db, int hold, const char *id, const char *service_id,
                const char *account_id, svc_bk *out);

/* Inserts b as a booking (hold = 0) or a hold (hold = 1). */
int svc_bk_insert(const nt_host_api *api, nt_db *db, int hold, const svc_bk *b);

/* Appends to `list` the wire objects of the bookings of service_id in account_id whose start
 * lies in [ws, we], ordered by start, created, id: one query, rows read as it steps, with
 * api->req_check(req) between rows. NT_OK, a storage error, NT_ENOMEM or req_check's code. */
int svc_bk_list_rows(const nt_host_api *api, nt_req *req, const char *service_id,
                     const char *account_id, int64_t ws, int64_t we, json_t *list);

/* The Booking wire object (hold = 0) or the Hold one (hold = 1); a new reference or NULL. */
json_t *svc_bk_json(const svc_bk *b, int hold);

/* Answers {"booking": ...} or {"hold": ...} with the given status. */
int svc_bk_reply(const svc_bk *b, int hold, int status, json_t **out);

/* The round-robin keys of the n members `users` of s (smaller is chosen first): the number of
 * their booking events in the next 61 days (equalDistribution), else the creation time of
 * their newest booking event (0 for none). */
int svc_rr_keys(const svc_plugin *p, nt_req *req, const svc_service *s, const char *const *users,
                size_t n, int64_t *keys);

/* Reservoir choice of one among tied candidates: candidate k is the (*ties + 1)-th seen and
 * replaces *chosen with probability 1 / (*ties + 1) (the first always). Counts it in *ties. */
int svc_rr_pick(const nt_host_api *api, size_t k, size_t *ties, size_t *chosen);

/* Round robin among the hosts of slot i of sl (host indexes into ids): writes
 * the chosen user id (borrowed from ids). */
int svc_round_robin(const svc_plugin *p, nt_req *req, const svc_service *s, const svc_slots *sl,
                    size_t i, const char *const *ids, const char **chosen);

/* The hosts of a booking or hold of s at [b->start_ts, b->start_ts + b->duration) (host choice step
 * 2), inside the caller's write transaction: `listed` (an array of member ids, or NULL) or the
 * hosts by multiPerson, each free (free time minus other holds than skip_hold). Fills b->hosts.
 * 409 (NT_ECONFLICT through fail) naming why when none fit. */
int svc_bk_choose(const svc_plugin *p, nt_req *req, const svc_service *s, const json_t *listed,
                  const char *skip_hold, svc_bk *b);

/* ---- route handlers ----------------------------------------------------------------------- */

int svc_create(nt_req *req, void *state, json_t **out);      /* POST /service */
int svc_meta(nt_req *req, void *state, json_t **out);        /* GET /service/meta */
int svc_get(nt_req *req, void *state, json_t **out);         /* GET /service/{serviceId} */
int svc_update(nt_req *req, void *state, json_t **out);      /* PUT /service/{serviceId} */
int svc_delete(nt_req *req, void *state, json_t **out);      /* DELETE /service/{serviceId} */
int svc_user_add(nt_req *req, void *state, json_t **out);    /* POST .../users */
int svc_user_update(nt_req *req, void *state, json_t **out); /* PUT .../users/{userId} */
int svc_user_remove(nt_req *req, void *state, json_t **out); /* DELETE .../users/{userId} */
int svc_busy_add(nt_req *req, void *state, json_t **out);    /* PUT .../users/{userId}/busy */
int svc_busy_remove(nt_req *req, void *state, json_t **out); /* DELETE .../users/{userId}/busy */
int svc_booking(nt_req *req, void *state, json_t **out);     /* GET /service/{serviceId}/booking */
int svc_intend(nt_req *req, void *state, json_t **out);      /* POST .../booking-intend */
int svc_intend_remove(nt_req *req, void *state, json_t **out); /* DELETE .../booking-intend */
int svc_bk_create(nt_req *req, void *state, json_t **out);     /* POST .../bookings */
int svc_bk_list(nt_req *req, void *state, json_t **out);       /* GET .../bookings */
int svc_bk_get(nt_req *req, void *state, json_t **out);        /* GET .../bookings/{bookingId} */
int svc_bk_cancel(nt_req *req, void *state, json_t **out);     /* DELETE .../bookings/{bookingId} */
int svc_hold_create(nt_req *req, void *state, json_t **out);   /* POST .../holds */
int svc_hold_release(nt_req *req, void *state, json_t **out);  /* DELETE .../holds/{holdId} */

#endif /* SVC_H */

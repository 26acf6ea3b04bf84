/* nettu service interfaces: the ops tables plugins provide to each other and to the host
 * through service_provide()/service_lookup(). Every ops struct starts with its size so it
 * can grow at its end (a minor ABI bump). Ops tables are static const in the provider.
 */
#ifndef NETTU_SERVICES_H
#define NETTU_SERVICES_H

#include <nettu/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- time intervals shared by the domain services (ABI 1.2) ----------------------------
 * An instance {startTs, endTs, busy} of the free/busy and instance replies, in
 * milliseconds since the epoch. */
typedef struct nt_interval {
    int64_t start, end;
    int busy;
} nt_interval;

/* A list of intervals: `v` is malloc'd (n used, cap allocated); whoever holds the list frees
 * `v` with free(). Zero-initialise it. */
typedef struct nt_intervals {
    nt_interval *v;
    size_t n, cap;
} nt_intervals;

/* ---- "store" v1: a storage backend (store_sqlite). Used by the host only; plugins use the
 * db_* functions of nt_host_api, which forward here. `conn` and `stmt` are the backend's
 * own objects, seen by everyone else as nt_db and nt_stmt.
 *
 * The store contract (ABI 1.2): what every backend (SQLite today, PostgreSQL later) keeps,
 * and all a plugin may assume. docs/plugins.md "The store contract" says the same at length.
 *  C1 Connections: one per thread, used by one thread at a time; a statement belongs to its
 *     connection and is finalized before the request ends.
 *  C2 Parameters are $1..$n, bound by number (a $n may appear several times). Every $n
 *     stands where its type follows from the SQL: compared with or assigned to a column, an
 *     INSERT value, LIMIT/OFFSET. Never bare (`SELECT $1`, `$1 IS NULL`); write
 *     `CAST($1 AS TEXT)` there. Text binds to TEXT columns, int64 to INTEGER/BIGINT ones.
 *  C3 Write transactions (begin ... commit) are serializable: the result is as if each ran
 *     alone, so a read-modify-write inside one is safe. A statement outside any transaction
 *     is a transaction of its own. Transactions do not nest.
 *  C4 Read transactions (begin_read ... end_read) see one consistent snapshot and do not
 *     write; begin() ends one first.
 *  C5 Errors: every failure returns a negative NT_E* code and records code and message on
 *     the connection (errcode, errmsg) until clear_error. One table maps backend errors:
 *     unique or primary key violated NT_ECONFLICT; other constraints, a $n not in the
 *     statement NT_EINVAL; serialization failure, deadlock, busy or locked (after the
 *     backend's wait) NT_ERETRY; read-only, disk full, I/O, connection lost NT_EUNAVAIL;
 *     out of memory NT_ENOMEM; anything else (SQL errors, corruption) NT_ERR.
 *  C6 An error ends the transaction: when a statement (prepare, step, exec) fails inside a
 *     transaction, the store rolls the transaction back at once, and every later statement
 *     and commit on that connection fails with the same code until rollback (or end_read,
 *     or clear_error). Bind errors are caught before anything runs and end nothing.
 *  C7 NT_ERETRY is retryable: the transaction was rolled back, nothing of it remains, and
 *     running it again from its start may succeed. commit() may return it too. The host
 *     runs a handler that fails with NT_ERETRY again (a few times, then 503 with
 *     Retry-After), so a handler has no side effects outside its transaction: nothing sent,
 *     no shared memory changed, no autocommit write before it, until commit succeeded.
 *  C8 lock_schema (ABI 1.2) serializes schema changes: inside a write transaction it takes
 *     a lock that the same call on any other connection (in any process) waits for until
 *     this transaction ends. The host takes it in each migration transaction, so servers
 *     starting together on one empty database apply each migration exactly once. */
#define NT_SERVICE_STORE "store"
#define NT_STORE_V1 1
typedef struct nt_store_v1 {
    uint32_t size;
    /* Opens a connection for one thread; NULL on failure with a message in err. */
    nt_db *(*conn_open)(void *state, char *err, size_t errlen);
    void (*conn_close)(nt_db *db); /* finalizes cached statements; NULL is fine */
    nt_stmt *(*prepare)(nt_db *db, const char *sql);
    int (*bind_text)(nt_stmt *s, int i, const char *v);
    int (*bind_int64)(nt_stmt *s, int i, int64_t v);
    int (*bind_null)(nt_stmt *s, int i);
    int (*step)(nt_stmt *s);
    const char *(*col_text)(nt_stmt *s, int col);
    int64_t (*col_int64)(nt_stmt *s, int col);
    int (*col_is_null)(nt_stmt *s, int col);
    int64_t (*changes)(nt_stmt *s);
    void (*finalize)(nt_stmt *s);
    int (*exec)(nt_db *db, const char *sql);
    int (*begin)(nt_db *db);
    int (*commit)(nt_db *db);
    int (*rollback)(nt_db *db);
    const char *(*errmsg)(nt_db *db);
    /* The NT_E* code of the last failure on this connection (NT_OK after clear_error). */
    int (*errcode)(nt_db *db);
    void (*clear_error)(nt_db *db);
    /* (ABI 1.1; check size) A read transaction around a request that only reads: its
     * queries share one snapshot and one lock. begin() inside it ends it first; end_read
     * commits it and is NT_OK when none is open. May be NULL. */
    int (*begin_read)(nt_db *db);
    int (*end_read)(nt_db *db);
    /* (ABI 1.2; check size) Takes the schema lock of C8 inside the write transaction open on
     * db (NT_ERR when none is open); it is released when that transaction ends. May be NULL:
     * the host then relies on the write transaction alone. */
    int (*lock_schema)(nt_db *db);
    /* (ABI 1.3; check size) Where the data lives, for the start-up log: "sqlite
     * /srv/nettu/nettu.db", a host and database name; never a password or other secret.
     * Borrowed until fini. May be NULL. */
    const char *(*describe)(void *state);
    /* (ABI 1.4; check size) Begins a write transaction for claiming queued jobs (webhook
     * deliveries, reminders, purges): on PostgreSQL READ COMMITTED, so that concurrent
     * claimers running `SELECT ... FOR UPDATE SKIP LOCKED` on the due rows take disjoint rows
     * instead of failing each other with serialization failures; on SQLite the same as begin
     * (the write lock serializes claimers). C3 does not hold inside it: every write must
     * keep its own guard (`WHERE lease_until <= $now`, a checked row count). Commit and
     * rollback end it as any write transaction. May be NULL: use begin. */
    int (*begin_claim)(nt_db *db);
    /* (ABI 1.4; check size) The SQL dialect: "sqlite" or "postgresql" (static). May be NULL:
     * then the SQL is the common subset only (no FOR UPDATE). */
    const char *(*dialect)(void *state);
    /* (ABI 1.5; check size) Group commit on one connection. After group_open, the first
     * begin() opens one write transaction that stays open across requests: that begin and
     * every later one start a savepoint inside it, commit() releases the savepoint (NT_OK
     * without anything being durable yet), rollback() and a failed statement (C6) undo only
     * the savepoint, and statements outside begin/commit run inside the open transaction.
     * group_close commits the group and leaves the mode: NT_OK, or the error code, and then
     * nothing written since group_open remains (also when an error already lost the
     * transaction). group_pending is 1 while a group transaction is open or was lost (the
     * writes of the group wait for group_close), else 0. C3 still holds: the group holds the
     * write lock until group_close. group_open may wait for the other groups of the process
     * (store_sqlite: up to busy_timeout_ms, then NT_ERETRY) and hold them off until
     * group_close, written to or not: close a group promptly. May be NULL (then all three
     * are): no group commit. */
    int (*group_open)(nt_db *db);
    int (*group_close)(nt_db *db);
    int (*group_pending)(nt_db *db);
} nt_store_v1;
#define NT_STORE_V1_SIZE_1_0 NT_SIZE_UPTO(nt_store_v1, clear_error) /* the smallest accepted */
#define NT_STORE_V1_SIZE_1_1 NT_SIZE_UPTO(nt_store_v1, end_read)
#define NT_STORE_V1_SIZE_1_2 NT_SIZE_UPTO(nt_store_v1, lock_schema)
#define NT_STORE_V1_SIZE_1_3 NT_SIZE_UPTO(nt_store_v1, describe)
#define NT_STORE_V1_SIZE_1_4 NT_SIZE_UPTO(nt_store_v1, dialect)
#define NT_STORE_V1_SIZE_1_5 NT_SIZE_UPTO(nt_store_v1, group_pending)

/* ---- "authenticator" v1: turns request headers into a principal (auth_nettu). */
#define NT_SERVICE_AUTHENTICATOR "authenticator"
#define NT_AUTHENTICATOR_V1 1
typedef struct nt_authenticator_v1 {
    uint32_t size;
    /* Authenticates `req` for a route of class `need` (never NT_AUTH_PUBLIC). On success it
     * calls req_set_principal() and returns NT_OK; otherwise NT_EUNAUTH (or NT_EINVAL for a
     * malformed nettu-account on NT_AUTH_PUBLIC_ACCOUNT), with a message set by fail().
     * Worker thread; reentrant. */
    int (*authenticate)(void *state, nt_req *req, nt_auth_kind need);
} nt_authenticator_v1;
#define NT_AUTHENTICATOR_V1_SIZE_1_0 NT_SIZE_UPTO(nt_authenticator_v1, authenticate)

/* ---- "policy" v1: the allow/reject permission policy of end-user tokens (README,
 * "End-user tokens"). */
#define NT_SERVICE_POLICY "policy"
#define NT_POLICY_V1 1
typedef struct nt_policy_v1 {
    uint32_t size;
    /* NT_OK when `policy` (a token's schedulerPolicy; NULL or JSON null = default policy) is
     * well formed: an object whose optional "allow"/"reject" are arrays of known permission
     * strings. NT_EINVAL otherwise. policy is borrowed. */
    int (*validate)(void *state, const struct json_t *policy);
    /* NT_OK when the policy grants every permission of the NULL-terminated `required`
     * (NULL = none), NT_EUNAUTH when it does not. */
    int (*check)(void *state, const struct json_t *policy, const char *const *required);
} nt_policy_v1;
#define NT_POLICY_V1_SIZE_1_0 NT_SIZE_UPTO(nt_policy_v1, check)

/* ---- "accounts" v1: account lookups for authenticators (provided by `account`). */
#define NT_SERVICE_ACCOUNTS "accounts"
#define NT_ACCOUNTS_V1 1
typedef struct nt_accounts_v1 {
    uint32_t size;
    /* Finds the account whose secret API key is `api_key` (compared as a SHA-256 hash, in
     * constant time) and writes its id. NT_ENOTFOUND when none; other NT_E* on storage
     * errors. */
    int (*find_by_api_key)(void *state, nt_db *db, const char *api_key,
                           char account_id[NT_UUID_BUF]);
    /* Reads the account's public-key version: a number that changes whenever the key is
     * set or removed, and 0 while it has none. NT_ENOTFOUND when there is no account. */
    int (*key_version)(void *state, nt_db *db, const char *account_id, int64_t *version);
    /* Reads the account's PEM public key and its version. *pem is malloc'd (the caller
     * frees it) or NULL when the account has no key. NT_ENOTFOUND when no account. */
    int (*public_key)(void *state, nt_db *db, const char *account_id, char **pem, int64_t *version);
    /* (appended in ABI 1.3; test with NT_HAS_MEMBER) Reads the account's webhook: *url and
     * *key are malloc'd (the caller frees both) or both NULL when the account has none.
     * NT_ENOTFOUND when there is no account; other NT_E* on storage errors. */
    int (*webhook)(void *state, nt_db *db, const char *account_id, char **url, char **key);
} nt_accounts_v1;
#define NT_ACCOUNTS_V1_SIZE_1_0 NT_SIZE_UPTO(nt_accounts_v1, public_key)

/* ---- "users" v1: user lookups for authenticators (provided by `user`). */
#define NT_SERVICE_USERS "users"
#define NT_USERS_V1 1
typedef struct nt_users_v1 {
    uint32_t size;
    /* NT_OK when `user_id` is a user of `account_id`, NT_ENOTFOUND when not. */
    int (*in_account)(void *state, nt_db *db, const char *account_id, const char *user_id);
    /* (ABI 1.2; check with NT_HAS_MEMBER) The User wire object {id, metadata}
     * of `user_id` in `account_id` into *out (a new reference the caller releases).
     * NT_ENOTFOUND when there is no such user; NT_ENOMEM or a storage error. */
    int (*get)(void *state, nt_db *db, const char *account_id, const char *user_id,
               struct json_t **out);
} nt_users_v1;
#define NT_USERS_V1_SIZE_1_0 NT_SIZE_UPTO(nt_users_v1, in_account)
#define NT_USERS_V1_SIZE_1_2 NT_SIZE_UPTO(nt_users_v1, get)

/* ---- "observer" v1 (ABI 1.1): told about every request (metrics, audit logs). Every
 * provided observer is called, in load order, on the worker thread that served the request;
 * keep the calls short and thread-safe. */
#define NT_SERVICE_OBSERVER "observer"
#define NT_OBSERVER_V1 1
typedef struct nt_observer_v1 {
    uint32_t size;
    /* A request arrived (before routing). Optional (NULL). */
    void (*request_start)(void *state);
    /* The reply to `req` has been queued: `status` is its HTTP status, `micros` the time
     * spent. req is valid during the call (req_route, req_account, req_user, req_db ...);
     * a failed storage write here never changes the reply. Optional (NULL). */
    void (*request_done)(void *state, nt_req *req, int status, int64_t micros);
} nt_observer_v1;
#define NT_OBSERVER_V1_SIZE_1_1 NT_SIZE_UPTO(nt_observer_v1, request_done)

/* ---- "reloadable" v1 (ABI 1.1): told to reload its external state (key files ...) when
 * the server gets SIGHUP. Called on the main thread while workers keep serving, so the
 * plugin swaps its state under its own lock. */
#define NT_SERVICE_RELOADABLE "reloadable"
#define NT_RELOADABLE_V1 1
typedef struct nt_reloadable_v1 {
    uint32_t size;
    /* NT_OK, or a negative code after logging why; the old state stays in use then. */
    int (*reload)(void *state);
} nt_reloadable_v1;
#define NT_RELOADABLE_V1_SIZE_1_1 NT_SIZE_UPTO(nt_reloadable_v1, reload)

/* ---- "schedules" v1 (ABI 1.2): users' weekly availability (provided by `schedule`,
 * name "nettu"; README, "Free time of a schedule"). For the booking plugins: a schedule as a
 * member's availability. Worker threads (or a plugin's own thread with its own db); reentrant. */
#define NT_SERVICE_SCHEDULES "schedules"
#define NT_SCHEDULES_V1 1
/* The longest window free_time() computes: 400 days in milliseconds. */
#define NT_SCHEDULES_MAX_WINDOW_MS (400LL * 86400000LL)
typedef struct nt_schedules_v1 {
    uint32_t size;
    /* Finds schedule `schedule_id` and writes the id of the user it belongs to and of that
     * user's account (either buffer may be NULL). NT_OK, NT_ENOTFOUND when there is no such
     * schedule (or the id is not a UUID), or the storage error. */
    int (*owner)(void *state, nt_db *db, const char *schedule_id, char user_id[NT_UUID_BUF],
                 char account_id[NT_UUID_BUF]);
    /* The free time of schedule `schedule_id` of account `account_id` in the window
     * [ws, we] (ms since the epoch): per local date of the
     * schedule's zone, its Date rule or else its weekday's rule; DST as the README's "Free time of
     * a schedule" says; adjacent days not joined (00:00-23:59 leaves a one-minute gap at local
     * midnight); clipped to the window. On NT_OK *out is replaced by a new list (its old `v` is not
     * freed), sorted, non-overlapping, every busy = 0; the caller frees out->v with free().
     * req (may be NULL for background callers) is the request whose budget the work runs
     * in: req_check() is called every few days of the window, and its code returned.
     * NT_ENOTFOUND when there is no such schedule in that account; NT_EINVAL when
     * we - ws > NT_SCHEDULES_MAX_WINDOW_MS or a bound lies outside years 1..9999 (we < ws
     * gives an empty list); NT_ENOMEM; NT_EBUDGET/NT_EGONE from req_check; storage errors.
     * On failure *out is zeroed. No fail() message is set except by req_check. */
    int (*free_time)(void *state, nt_req *req, nt_db *db, const char *account_id,
                     const char *schedule_id, int64_t ws, int64_t we, nt_intervals *out);
} nt_schedules_v1;
/* ---- "calendars" v1 (ABI 1.2): calendars for the plugins that compute with them (provided
 * by `calendar`, which owns the calendar tables). */
#define NT_SERVICE_CALENDARS "calendars"
#define NT_CALENDARS_V1 1
#define NT_TZ_BUF 72 /* an IANA time-zone name and its NUL */

/* A calendar's owner and settings, copied out of storage (no pointers). */
typedef struct nt_calendar {
    char id[NT_UUID_BUF];
    char user_id[NT_UUID_BUF];
    char account_id[NT_UUID_BUF];
    char timezone[NT_TZ_BUF]; /* IANA name */
    int week_start;           /* 0 = Monday .. 6 = Sunday */
} nt_calendar;

typedef struct nt_calendars_v1 {
    uint32_t size;
    /* Loads calendar `id` of `account_id`, and of `user_id` when that is not NULL, into *out.
     * When `json` is not NULL, *json gets the calendar's wire object (id, userId,
     * settings, metadata; a new reference the caller releases). NT_OK; NT_ENOTFOUND when there
     * is no such calendar in that scope; NT_ENOMEM or a storage error. */
    int (*get)(void *state, nt_db *db, const char *account_id, const char *user_id, const char *id,
               nt_calendar *out, struct json_t **json);
    /* The calendars of the `n_users` users `user_ids` in `account_id`, ordered by user id then
     * calendar id: *out is malloc'd (the caller frees it with free()) with *n_out entries, or
     * NULL and 0 when there are none. Ids outside the account simply have no calendars.
     * NT_OK, NT_ENOMEM or a storage error. */
    int (*list_by_users)(void *state, nt_db *db, const char *account_id,
                         const char *const *user_ids, size_t n_users, nt_calendar **out,
                         size_t *n_out);
} nt_calendars_v1;

/* ---- "events" v1 (ABI 1.2): the time calendars' events take (provided by `events`). Every
 * call works for the request `req` (its storage connection, its work budget): expansion calls
 * req_check and stops with NT_EBUDGET or NT_EGONE; an expansion over [events] max_instances
 * is NT_EINVAL with a message set on req. The account is a parameter, not req's principal,
 * so public routes (booking slots) can ask for an account's data. Only calendars of
 * `account_id`, and of `user_id` when that is not NULL, count: other calendar ids are
 * ignored. Events match a window [ws, we] when they overlap it and expand by their recurrence, in
 * their calendar's time zone and week start. Result lists must be zero-initialised; on
 * success the caller owns them (free(list.v)), on failure they are left empty. */
#define NT_SERVICE_EVENTS "events"
#define NT_EVENTS_V1 1

/* The busy instances of the events that carry one serviceId. */
typedef struct nt_service_busy {
    char service_id[NT_UUID_BUF]; /* "" for events without a serviceId */
    nt_intervals busy;            /* sorted by start, not merged */
} nt_service_busy;

typedef struct nt_events_v1 {
    uint32_t size;
    /* Free/busy of a set of calendars in [ws, we]. `busy` (when not NULL) gets
     * the instances of the busy events, merged; `free_time` (when not NULL) the instances of
     * the other events, merged, minus the busy ones (every interval busy = 0). */
    int (*freebusy)(void *state, nt_req *req, const char *account_id, const char *user_id,
                    const char *const *calendar_ids, size_t n_calendars, int64_t ws, int64_t we,
                    nt_intervals *busy, nt_intervals *free_time);
    /* The instances of the busy events of a set of calendars in [ws, we], grouped by the
     * events' serviceId, so a caller can widen each group by its own buffers
     * before merging. *out is malloc'd with *n_out groups (NULL and 0 when none); release it
     * with service_busy_free. */
    int (*busy_by_service)(void *state, nt_req *req, const char *account_id, const char *user_id,
                           const char *const *calendar_ids, size_t n_calendars, int64_t ws,
                           int64_t we, nt_service_busy **out, size_t *n_out);
    /* Frees what busy_by_service returned; NULL is fine. */
    void (*service_busy_free)(nt_service_busy *v, size_t n);
    /* The original's quirk: the events of `user_id` in `account_id` whose serviceId is set
     * and is not `service_id`, with busy = false, matching [ws, we], each taken as one
     * busy interval [startTs, stored endTs] without expansion; sorted by start, not merged. */
    int (*other_service_spans)(void *state, nt_req *req, const char *account_id,
                               const char *user_id, const char *service_id, int64_t ws, int64_t we,
                               nt_intervals *out);
    /* Deletion cascade: deletes every event of `account_id` whose serviceId is `service_id` (the
     * service is being deleted, or a group service grew). Runs on req's connection, inside
     * the caller's write transaction when one is open. NT_OK or the storage error. */
    int (*delete_by_service)(void *state, nt_req *req, const char *account_id,
                             const char *service_id);
    /* For booking intend, per user user_ids[i] of `account_id`, over the events
     * whose serviceId is `service_id`: last_created[i] = the largest `created` (INT64_MIN when
     * the user has none) and count[i] = how many match the window [ws, we]. Both
     * arrays have n entries and are filled on NT_OK; either may be NULL when the caller does
     * not need it (it is then not computed). NT_OK or a storage error. */
    int (*service_stats)(void *state, nt_req *req, const char *account_id, const char *service_id,
                         const char *const *user_ids, size_t n, int64_t ws, int64_t we,
                         int64_t *last_created, int64_t *count);
    /* ABI 1.3, appended (test it with NT_HAS_MEMBER): for bookings, creates a
     * one-off busy event [start_ts, start_ts + duration) with serviceId `service_id` and
     * `metadata` (an object of strings, copied; NULL = none) in calendar `calendar_id` of
     * `account_id` (the event's user is the calendar's). Runs on req's connection, inside the
     * caller's write transaction when one is open. Writes the new event's id to id_out.
     * NT_OK, NT_ENOTFOUND (no such calendar in the account), NT_ENOMEM or a storage error. */
    int (*create_busy)(void *state, nt_req *req, const char *account_id, const char *calendar_id,
                       int64_t start_ts, int64_t duration, const char *service_id,
                       const struct json_t *metadata, char id_out[NT_UUID_BUF]);
    /* ABI 1.3, appended (test it with NT_HAS_MEMBER): deletes the events ids[0 .. n) of
     * `account_id` (ids not there are skipped), on req's connection, inside the caller's
     * write transaction when one is open. NT_OK or a storage error. */
    int (*delete_ids)(void *state, nt_req *req, const char *account_id, const char *const *ids,
                      size_t n);
} nt_events_v1;

/* ---- "webhooks" v1 (ABI 1.3): the durable outbox (provided by `webhooks`).
 * Other plugins (reminders, bookings) queue what an account's webhook should receive; the
 * provider stores it and its delivery thread sends it (signed, retried for 24 h). */
#define NT_SERVICE_WEBHOOKS "webhooks"
#define NT_WEBHOOKS_V1 1
typedef struct nt_webhooks_v1 {
    uint32_t size;
    /* Stores a pending delivery of `payload` (a JSON object, borrowed; sent as its compact
     * text) of kind `type` (e.g. "reminders", "booking.created") for the account's webhook,
     * on `db` inside the caller's transaction if one is open, so the delivery exists exactly
     * when the caller's change commits. Writes the delivery id (a UUID, the
     * nettu-delivery-id header). Nothing is sent before the commit. An account without a
     * webhook (or no such account) gets nothing: NT_OK with delivery_id "". NT_OK; NT_EINVAL
     * for a missing type or a payload that is not an object or is too large; storage errors. */
    int (*enqueue)(void *state, nt_db *db, const char *account_id, const char *type,
                   const struct json_t *payload, char delivery_id[NT_UUID_BUF]);
    /* (appended in ABI 1.4; test with NT_HAS_MEMBER) Checks a webhook URL before it is
     * stored: at most 2048 bytes, http or https, no user name or password, and a host whose
     * every address is public or in the provider's allow list (a name is resolved, waiting
     * at most about 2 s: the calling thread blocks that long at worst). NT_OK; NT_EINVAL with
     * the reason in err (errlen bytes, NUL-terminated) when the URL is refused or its host
     * does not resolve; NT_EUNAVAIL with a reason when the lookup did not finish in time;
     * NT_ENOMEM, NT_ERR. Thread-safe. */
    int (*check_url)(void *state, const char *url, char *err, size_t errlen);
} nt_webhooks_v1;
#define NT_WEBHOOKS_V1_SIZE_1_3 NT_SIZE_UPTO(nt_webhooks_v1, enqueue)

#ifdef __cplusplus
}
#endif

#endif /* NETTU_SERVICES_H */

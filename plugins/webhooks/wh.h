/* webhooks: the durable outbox. Deliveries are rows of webhooks_deliveries,
 * stored before their first attempt; one delivery thread (its own libevent loop driving the
 * libcurl multi interface) claims due rows with a lease, sends them signed, and records each
 * attempt; failures are retried with the backoff (README) until 24 h after the first attempt.
 * Routes: POST /account/webhook/test, GET /account/webhook/deliveries. Service: "webhooks".
 */
#ifndef WH_H
#define WH_H

#include <jansson.h>
#include <pthread.h>
#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include <nettu/services.h>

#include "cidr.h" /* core/cidr.c, compiled into the plugin */

#define WH_ATTEMPT_TIMEOUT_MS 10000 /* 10 s per attempt */
#define WH_WINDOW_UNITS 86400       /* retried until 24 h (in backoff units) */
#define WH_LIST_LIMIT_DEFAULT 20
#define WH_LIST_LIMIT_MAX 100
#define WH_PAYLOAD_MAX (256 * 1024) /* bytes of one delivery's JSON body */
#define WH_URL_MAX 2048             /* bytes of a webhook URL */
#define WH_SET_RESOLVE_MS 2000      /* the lookup bound where a webhook URL is set */

struct wh_sender;

typedef struct wh_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    const nt_accounts_v1 *accounts; /* looked up in start */
    void *accounts_state;
    cidr_list allow;            /* [webhooks] allow_private */
    int64_t unit_ms;            /* [webhooks] backoff_unit_ms: the length of one backoff "second" */
    int64_t poll_ms;            /* [webhooks] poll_ms: how often the thread looks for due rows */
    int64_t lease_ms;           /* [webhooks] lease_ms: how long a claimed row stays claimed */
    int max_in_flight;          /* [webhooks] max_in_flight */
    const char *ca_file;        /* [webhooks] ca_file (borrowed from the config), or NULL */
    char instance[NT_UUID_BUF]; /* this process's lease owner id, fresh at every start */
    struct wh_sender *sender;
} wh_plugin;

/* ---- wh_policy.c: backoff and signatures (pure) ------------------------------------- */

/* The gap after failed attempt number `attempts` (1 = the first attempt failed), in backoff
 * units (seconds): 10, 30, 120, 600, 1800, 3600, then 3600. */
int64_t wh_backoff_units(int64_t attempts);

/* When the next attempt is due after attempt number `attempts` failed at `now`, or -1 when
 * the delivery has failed for good (that attempt would come later than 24 h after `first`).
 * All times in ms; unit_ms is the length of one unit. */
int64_t wh_next_attempt(int64_t attempts, int64_t first, int64_t now, int64_t unit_ms);

/* Writes "t=<t>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>" into out (cap bytes, at least 128).
 * NT_OK, or NT_ERR when OpenSSL fails or it does not fit. */
int wh_signature(const char *key, int64_t t, const char *body, size_t len, char *out, size_t cap);

/* ---- wh_target.c: where an attempt may connect --------------------------------------- */

/* 1 when the 16-byte address (IPv4 mapped) is loopback, private, link-local, multicast,
 * unspecified or otherwise not a public unicast address. */
int wh_addr_private(const unsigned char addr[16]);

/* 1 when the socket address sa (AF_INET or AF_INET6) may be connected to: public, or in
 * `allow`; 0 when refused or of another family. Writes the address as text into text (cap
 * bytes, INET6_ADDRSTRLEN is enough; "?" when it has none). */
int wh_sockaddr_allowed(const struct sockaddr *sa, const cidr_list *allow, char *text, size_t cap);

/* Checks a webhook URL where it is set: at most WH_URL_MAX bytes, http or https,
 * no user name or password, a host, and every address the host resolves to (within
 * timeout_ms, wh_resolve) allowed by wh_sockaddr_allowed. NT_OK; NT_EINVAL with the reason
 * in err when the URL is refused or its host does not resolve; NT_EUNAVAIL when the lookup
 * did not finish in time; NT_ENOMEM/NT_ERR. */
int wh_target_check(const char *url, const cidr_list *allow, int timeout_ms, char *err,
                    size_t errlen);

/* ---- wh_resolve.c: a lookup with a time bound -------------------------------------------- */

#define WH_RESOLVE_THREADS 16 /* lookups running at once (finished or abandoned) */
#define WH_RESOLVE_WAITERS                                                                         \
    1 /* callers waiting for a lookup at once: a request worker that                               \
       * waits stops its event loop, so one slow name holds at most                                \
       * one worker */

/* getaddrinfo's signature; tests pass a slow one. */
typedef int (*wh_gai_fn)(const char *node, const char *service, const struct addrinfo *hints,
                         struct addrinfo **res);

/* Resolves host (any family, SOCK_STREAM) with fn (getaddrinfo when NULL) on a thread of its
 * own and waits at most timeout_ms. NT_OK with *res set (free it with freeaddrinfo); NT_EINVAL
 * with *gai set to fn's error; NT_EUNAVAIL when fn did not answer in time (its thread ends
 * alone and frees its result) or WH_RESOLVE_THREADS lookups are running; NT_ECONFLICT at
 * once when WH_RESOLVE_WAITERS callers are already waiting; NT_ENOMEM/NT_ERR. Thread-safe. */
int wh_resolve(const char *host, int timeout_ms, wh_gai_fn fn, struct addrinfo **res, int *gai);

/* The number of lookup threads running (for tests). */
int wh_resolve_running(void);

/* ---- wh_store.c: SQL over webhooks_deliveries ---------------------------------------- */

/* One claimed delivery, copied out of its row. */
typedef struct wh_job {
    char id[NT_UUID_BUF];
    char account[NT_UUID_BUF];
    char *payload; /* malloc'd */
    int64_t attempts;
    int64_t first; /* ms of the first attempt; 0 before it */
} wh_job;

/* Inserts a pending delivery due now, in the caller's transaction (if any). Writes its new
 * id. NT_OK or a storage error. */
int wh_store_insert(const wh_plugin *w, nt_db *db, const char *account, const char *type,
                    const char *payload, char id[NT_UUID_BUF]);

/* Sets *out to the wire object of delivery `id` of `account` (new reference). NT_ENOTFOUND,
 * storage errors, NT_ENOMEM. */
int wh_store_get(const wh_plugin *w, nt_db *db, const char *account, const char *id, json_t **out);

/* Sets *out to a new array of the account's deliveries, newest first; status NULL = all. */
int wh_store_list(const wh_plugin *w, nt_db *db, const char *account, const char *status,
                  int64_t skip, int64_t limit, json_t **out);

/* 1 when a pending delivery is due and not claimed, 0 when none, or a storage error (< 0).
 * A read outside any transaction. */
int wh_store_due_any(const wh_plugin *w, nt_db *db);

/* Claims up to `max` due pending deliveries for this instance (lease until now + lease_ms)
 * in one claim transaction (ntc_begin_claim; on PostgreSQL SKIP LOCKED, so instances take
 * disjoint rows). *jobs is malloc'd (free with wh_jobs_free), *n its length. */
int wh_store_claim(const wh_plugin *w, nt_db *db, int max, wh_job **jobs, int *n);

/* Records a finished attempt of a claimed job and drops the lease: delivered when
 * `delivered`, else pending again at next_at, or failed when next_at < 0. `code` is the
 * HTTP status (0: none), `error` NULL or a short reason. Only while this instance still holds
 * the lease (NT_ENOTFOUND otherwise). */
int wh_store_finish(const wh_plugin *w, nt_db *db, const wh_job *j, int64_t at, int delivered,
                    int code, const char *error, int64_t next_at);

/* Drops every lease this instance holds (at stop), so a restart takes the rows at once. */
int wh_store_release(const wh_plugin *w, nt_db *db);

/* Frees n jobs and the array; NULL is fine. */
void wh_jobs_free(wh_job *jobs, int n);

/* ---- wh_sender.c: the delivery thread -------------------------------------------------- */

/* Starts the delivery thread (own connection, own event loop). NT_OK or an error (logged). */
int wh_sender_start(wh_plugin *w);

/* Stops the thread: in-flight attempts are abandoned and their leases released. NULL ok. */
void wh_sender_stop(wh_plugin *w);

/* ---- wh_routes.c ----------------------------------------------------------------------- */

/* Registers POST /account/webhook/test and GET /account/webhook/deliveries. */
int wh_routes_add(wh_plugin *w);

#endif

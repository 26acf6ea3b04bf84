/* The request pipeline, without sockets: a complete HTTP request in, its reply appended to
 * an output buffer. Route, path ids, body, the authentication throttle, authentication and
 * policy, the Idempotency-Key of POSTs (claim, replay, keep; idem.h), the handler (re-run on
 * retryable storage conflicts), the reply, the access log and the observers. One pipeline per
 * worker thread; the tests drive it directly.
 */
#ifndef NETTU_PIPELINE_H
#define NETTU_PIPELINE_H

#include <nettu/services.h>

#include "bytebuf.h"
#include "request.h"
#include "router.h"
#include "throttle.h"

#define SERVER_MAX_OBSERVERS 8

/* How many times a handler runs when it keeps failing with NT_ERETRY before 503. */
#define PIPELINE_ATTEMPTS 3
/* No attempt starts after the first has run this long (a lock timeout already waited). */
#define PIPELINE_RETRY_WINDOW_MS 1000

typedef struct server_observer {
    const nt_observer_v1 *ops;
    void *state;
} server_observer;

/* The services the pipeline calls (borrowed; they outlive every pipeline). */
typedef struct server_deps {
    const router *router;
    const nt_store_v1 *store;
    void *store_state;
    const nt_authenticator_v1 *auth; /* may be NULL when no route needs it */
    void *auth_state;
    const nt_policy_v1 *policy; /* may be NULL when no route needs it */
    void *policy_state;
    server_observer observers[SERVER_MAX_OBSERVERS]; /* told about every request */
    int nobservers;
} server_deps;

typedef struct pipeline pipeline;

/* A pipeline over deps with the worker's storage connection db (may be NULL), the shared
 * throttle t (NULL = off) and the body limit. NULL when out of memory. */
pipeline *pipeline_new(const server_deps *deps, nt_db *db, throttle *t, long long max_body_bytes);
void pipeline_free(pipeline *p); /* NULL is fine; the db is the caller's */

/* Sets how long replies of Idempotency-Key requests are kept ([server] idempotency_ttl_s)
 * and the largest reply kept ([server] idempotency_max_reply_bytes). The defaults are
 * IDEM_TTL_DEFAULT_S and IDEM_MAX_REPLY_DEFAULT. */
void pipeline_set_idempotency(pipeline *p, int64_t ttl_ms, size_t max_reply);

/* Sets the hook called once per routed request before its authentication and handler run
 * (NULL: none), with arg and whether the route is flagged NT_ROUTE_GROUP_COMMIT: the worker's
 * group commit (group.h) joins or ends its group there, and returns the group's memo when the
 * request runs in one (the request's memo_get / memo_put use it), else NULL. */
void pipeline_set_group_hook(pipeline *p, group_memo *(*hook)(void *arg, int groupable), void *arg);

/* Serves one complete request and appends its reply to out. Returns the status answered
 * (499 when nothing was sent because the client is gone). Sets *close when the connection
 * must close after the reply (the request asked for it, the reply could not be written, or
 * the client is gone). */
int pipeline_serve(pipeline *p, const http_request *req, bytebuf *out, int *close);

/* Answers a request the HTTP layer refused (malformed, over a limit, too slow): the JSON
 * error of status with msg, Retry-After when retry_after > 0, and Connection: close; one
 * access-log line. req may be NULL or hold a NULL head (nothing parsed yet). Returns
 * NT_OK or NT_ENOMEM. */
int pipeline_refuse(pipeline *p, const http_request *req, int status, const char *msg,
                    int retry_after, bytebuf *out);

/* Frees the scratch memory a large reply left behind (the worker went idle). */
void pipeline_trim(pipeline *p);

#endif

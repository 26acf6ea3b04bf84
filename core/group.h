/* Group commit for one worker. Requests of routes flagged NT_ROUTE_GROUP_COMMIT write inside
 * one store transaction that stays open while the worker serves the requests that are ready
 * (store group_open: each request's own transaction is a savepoint in it); their replies are
 * held (http_conn_release_held) until that transaction commits. The group commits when the
 * worker has nothing else to do, when it has been open [server] group_commit_ms, when
 * GROUP_MAX_HELD replies wait, and before any request of another route, so reads and other
 * writes never see what is not committed. An open group holds the store's write turn (the
 * other workers' groups wait), whether its requests wrote or not. A failed commit answers
 * every held request 503 (nothing of the group was written). One commit and one write-lock
 * round per group instead of per request: under concurrent writes this multiplies write
 * throughput on SQLite.
 */
#ifndef NETTU_GROUP_H
#define NETTU_GROUP_H

#include "http_conn.h"

/* The worker loop's event priorities: the default (the middle one) for all events, the
 * lowest for the group's idle event. */
#define GROUP_PRIORITIES 3

/* Most replies one group holds. */
#define GROUP_MAX_HELD 64

/* Sets w up for group commit when store (borrowed) offers it and group_us > 0 (else it stays
 * off). NT_OK or NT_ENOMEM. Call after the worker's loop (with GROUP_PRIORITIES priorities) and
 * store connection exist, before its loop runs. */
int group_init(worker *w, const nt_store_v1 *store, int64_t group_us);

/* Frees the worker's group events (the group must have been flushed). */
void group_free(worker *w);

/* The pipeline's hook before a request's authentication and handler run (arg is the
 * worker): a groupable request joins the group (opening it), any other commits it first.
 * Returns the group's memo when the request runs in a group (borrowed until the request
 * ends), else NULL. */
group_memo *group_before(void *arg, int groupable);

/* 1 when the worker's group holds uncommitted writes, so a reply just staged must wait. */
int group_pending(worker *w);

/* A connection's reply now waits: counts it, and commits the group at once when it is full
 * or old enough (then held connections, this one included, may be closed). */
void group_held(worker *w);

/* Commits the group (if one is open) and releases the held replies: sent when the commit
 * succeeded, 503 otherwise. */
void group_flush(worker *w);

#endif

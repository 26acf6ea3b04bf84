/* Client connections of one worker: non-blocking sockets on the worker's event loop. Reads
 * go into the worker's read buffer and only the bytes of an unfinished request are kept per
 * connection (counted against [server] max_buffered_bytes across all workers); replies are
 * staged in the worker's output buffer and written with one send(), and only what the
 * socket does not take is kept. A connection counts from accept; a request must be complete
 * within read_timeout_s of its first byte (408 otherwise), an idle connection closes after
 * read_timeout_s, and a reply must be taken by the client within read_timeout_s. Errors that
 * leave request bytes unread close with lingering (the reply is not lost to a reset).
 */
#ifndef NETTU_HTTP_CONN_H
#define NETTU_HTTP_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "bytebuf.h"
#include "cidr.h"
#include "memo.h"
#include "http_proto.h"
#include "ipcount.h"
#include "pipeline.h"
#include "router.h"
#include "throttle.h"

#define HTTP_CONN_RBUF (64 * 1024)

typedef struct server server;
typedef struct conn conn;

/* What every worker shares (owned by the server). */
typedef struct http_shared {
    proto_limits lim;
    int64_t timeout_us; /* read_timeout_s */
    long long max_buffered;
    atomic_llong buffered; /* request bytes held by connections, all workers */
    atomic_llong freed;    /* large buffers freed since the last malloc_trim */
    ipcount *ipc;          /* NULL: no per-address limit */
    int per_ip;
    cidr_list exempt; /* never throttled */
} http_shared;

typedef struct worker {
    pthread_t thread;
    int running;
    struct event_base *base;
    struct evconnlistener *listener;
    nt_db *db;
    server *srv;
    http_shared *sh;
    pipeline *pl;
    struct event *drain; /* shutdown timer */
    struct event *tick;  /* once a second: memory trim */
    int64_t drain_deadline_us;
    conn *conns; /* open connections (a list) */
    int nconns;
    int max_conns; /* 0 = unlimited; at the limit the listener pauses */
    int paused;
    int accept_backoff; /* accepting paused after EMFILE; a timer resumes it */
    int stopping;
    int busy_at_stop; /* connections with a request in flight when shutdown began */
    int cut_at_grace; /* ... still open when shutdown_grace_ms was over */
    bytebuf obuf;     /* replies staged before they are sent */
    /* group commit (group.h): the store's group mode is open on db (holding the process's
     * write turn), the replies waiting for its commit, when it opened, and whether its timer
     * could not be set (then it commits after its first reply) */
    int grp;
    int grp_held;
    int64_t grp_t0_us;
    int grp_late;
    int grp_fail_cur; /* a group commit failed while the current connection's replies were
                         staged: they are answered 503 with grp_why instead */
    char grp_why[320];
    int64_t grp_us; /* [server] group_commit_ms in microseconds; 0 = off */
    conn *held;
    const nt_store_v1 *grp_store; /* the store, when it offers group commit */
    struct event *grp_idle, *grp_timer;
    group_memo grp_memo; /* the open group's memo (memo.h), emptied when it ends */
    char rbuf[HTTP_CONN_RBUF];
} worker;

/* Takes an accepted socket (non-blocking): counts it, applies the per-address limit and
 * starts reading. Closes fd on failure. */
void http_conn_accept(worker *w, int fd, const struct sockaddr *sa, int salen);

/* Shutdown: every connection closes after its current request; idle ones close now. */
void http_conn_stop_all(worker *w);

/* The grace time is over: logs each connection still open with its unfinished request's
 * method and route (or path when no route matches), counts them in w->cut_at_grace and
 * closes them. */
void http_conn_cut_all(worker *w, const router *r);

/* Sends the replies of every connection that waits for a group commit (ok), or answers
 * each with 503 and `why` and closes it (!ok). Safe while another connection is being served
 * (that one is never held). */
void http_conn_release_held(worker *w, int ok, const char *why);

/* Closes every connection at once (the loop has ended). */
void http_conn_close_all(worker *w);

/* Resumes accepting when the worker is below its connection limit again. */
void http_conn_maybe_resume(worker *w);

#endif

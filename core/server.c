/* Serving HTTP. Workers share one non-blocking listening socket; each worker has its own
 * evconnlistener on it (without close-on-free, the socket is the server's) and serves its
 * connections with core/http_conn.c.
 */
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "group.h"
#include "http_conn.h"
#include "idem.h"
#include "log.h"
#include "util.h"

/* Addresses the per-address tables hold at most when max_connections is 0 (unlimited). */
#define ADDR_CAPACITY 65536

/* Freed buffers (bytes) after which a worker hands the memory back to the system. */
#define TRIM_AFTER (4 << 20)

struct server {
    const settings *s;
    server_deps deps;
    int fd;
    int port;
    worker *workers;
    int nworkers;
    http_shared sh;
    throttle *throttle;
    atomic_int listening; /* workers still accepting; the last to stop closes fd */
    /* The purge of expired Idempotency-Key records: a thread of its own with its own storage
     * connection, so no worker runs it or sits out its waits for the write lock. */
    pthread_t purge_thread;
    int purge_running;
    int purge_stop; /* under purge_mu */
    pthread_mutex_t purge_mu;
    pthread_cond_t purge_cv;
};

/* Opens the shared listening socket. */
static int
server_listen(server *srv)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    int fd = -1, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", srv->s->port);
    rc = getaddrinfo(srv->s->listen, port, &hints, &res);
    if (rc != 0) {
        log_msg(NT_LOG_ERROR, NULL, "listen address %s: %s", srv->s->listen, gai_strerror(rc));
        return NT_ERR;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* Accepted sockets inherit TCP_NODELAY: a reply larger than one write must not wait for
     * the client's delayed ACK (Nagle). */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        log_msg(NT_LOG_ERROR, NULL, "cannot listen on %s port %d: %s", srv->s->listen, srv->s->port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return NT_ERR;
    }
    freeaddrinfo(res);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    srv->fd = fd;
    return NT_OK;
}

static void
worker_on_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen,
                 void *arg)
{
    (void)lst;
    http_conn_accept(arg, fd, sa, salen);
}

/* Runs on the worker's thread a moment after accepting paused for lack of descriptors. */
static void
worker_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;

    (void)fd;
    (void)what;
    w->accept_backoff = 0;
    w->paused = 1; /* the listener is disabled: let the check below enable it */
    http_conn_maybe_resume(w);
}

/* accept() failed. Out of file descriptors (or memory), retrying at once would spin: pause
 * accepting for 200 ms and log once per pause; pending connections wait in the backlog. */
static void
worker_accept_error(struct evconnlistener *lst, void *arg)
{
    worker *w = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval pause = {0, 200000};

    (void)lst;
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
        log_msg(NT_LOG_WARN, NULL, "accept: %s", evutil_socket_error_to_string(err));
        return;
    }
    if (w->accept_backoff)
        return;
    w->accept_backoff = 1;
    log_msg(NT_LOG_WARN, NULL, "accept: %s; pausing new connections for 200 ms",
            evutil_socket_error_to_string(err));
    evconnlistener_disable(w->listener);
    if (event_base_once(w->base, -1, EV_TIMEOUT, worker_accept_resume, w, &pause) != 0) {
        w->accept_backoff = 0;
        evconnlistener_enable(w->listener);
    }
}

/* Once a second: after a burst, give the memory of freed buffers back to the system. */
static void
worker_tick(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;

    (void)fd;
    (void)what;
    if (w->obuf.len == 0)
        bytebuf_shrink(&w->obuf, 256 * 1024);
    pipeline_trim(w->pl);
    if (atomic_load_explicit(&w->sh->freed, memory_order_relaxed) >= TRIM_AFTER) {
        atomic_store_explicit(&w->sh->freed, 0, memory_order_relaxed);
        malloc_trim(0);
    }
}

/* Creates one worker's loop, listener, storage connection and pipeline. */
static int
worker_init(server *srv, worker *w)
{
    char err[512] = "";
    struct timeval second = {1, 0};

    w->srv = srv;
    w->sh = &srv->sh;
    w->base = event_base_new();
    if (w->base == NULL)
        return NT_ENOMEM;
    /* Every event of the loop has the middle priority (the default); group commit's idle
     * event has the lowest, so it runs only when nothing else is ready (group.h). */
    if (event_base_priority_init(w->base, GROUP_PRIORITIES) != 0)
        return NT_ERR;
    if (srv->s->max_connections > 0)
        /* The limit is shared out between the workers, which share one socket. */
        w->max_conns = (int)((srv->s->max_connections + srv->nworkers - 1) / srv->nworkers);
    w->listener =
        evconnlistener_new(w->base, worker_on_accept, w, LEV_OPT_CLOSE_ON_EXEC, -1, srv->fd);
    if (w->listener == NULL)
        return NT_ERR;
    evconnlistener_set_error_cb(w->listener, worker_accept_error);
    w->tick = event_new(w->base, -1, EV_PERSIST, worker_tick, w);
    if (w->tick == NULL || event_add(w->tick, &second) != 0)
        return NT_ENOMEM;
    w->db = srv->deps.store->conn_open(srv->deps.store_state, err, sizeof(err));
    if (w->db == NULL) {
        log_msg(NT_LOG_ERROR, NULL, "storage connection for a worker: %s", err);
        return NT_EUNAVAIL;
    }
    w->pl = pipeline_new(&srv->deps, w->db, srv->throttle, srv->s->max_body_bytes);
    if (w->pl == NULL)
        return NT_ENOMEM;
    pipeline_set_idempotency(w->pl, (int64_t)srv->s->idempotency_ttl_s * 1000,
                             (size_t)srv->s->idempotency_max_reply_bytes);
    if (group_init(w, srv->deps.store, (int64_t)srv->s->group_commit_ms * 1000) != NT_OK)
        return NT_ENOMEM;
    if (w->grp_us > 0)
        pipeline_set_group_hook(w->pl, group_before, w);
    return NT_OK;
}

/* The state every worker shares: limits, the buffered-bytes account, the per-address
 * tables. */
static int
server_shared_init(server *srv)
{
    const settings *s = srv->s;
    http_shared *sh = &srv->sh;
    size_t cap =
        s->max_connections > 0 ? (size_t)s->max_connections + (size_t)s->workers : ADDR_CAPACITY;

    sh->lim.max_head = (size_t)s->max_header_bytes;
    sh->lim.max_body = (uint64_t)s->max_body_bytes;
    sh->timeout_us = (int64_t)s->read_timeout_s * 1000000;
    sh->max_buffered = s->max_buffered_bytes;
    atomic_init(&sh->buffered, 0);
    atomic_init(&sh->freed, 0);
    sh->exempt = s->auth_fail_exempt;
    sh->per_ip = s->max_connections_per_ip;
    if (s->max_connections_per_ip > 0 &&
        (sh->ipc = ipcount_new(s->max_connections_per_ip, cap)) == NULL)
        return NT_ENOMEM;
    if (s->auth_fail_limit > 0 &&
        (srv->throttle = throttle_new(s->auth_fail_limit, s->auth_fail_window_s, 4096)) == NULL)
        return NT_ENOMEM;
    return NT_OK;
}

server *
server_new(const settings *s, const server_deps *deps)
{
    server *srv = calloc(1, sizeof(*srv));
    pthread_condattr_t ca;

    if (srv == NULL)
        return NULL;
    srv->s = s;
    srv->deps = *deps;
    srv->fd = -1;
    pthread_mutex_init(&srv->purge_mu, NULL);
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&srv->purge_cv, &ca) != 0) {
        pthread_mutex_destroy(&srv->purge_mu);
        free(srv);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    if (server_shared_init(srv) != NT_OK || server_listen(srv) != NT_OK)
        goto fail;
    srv->workers = calloc((size_t)s->workers, sizeof(worker));
    if (srv->workers == NULL)
        goto fail;
    srv->nworkers = s->workers;
    for (int i = 0; i < srv->nworkers; i++)
        if (worker_init(srv, &srv->workers[i]) != NT_OK)
            goto fail;
    return srv;
fail:
    server_free(srv);
    return NULL;
}

static void *
worker_main(void *arg)
{
    worker *w = arg;

    event_base_dispatch(w->base);
    return NULL;
}

/* 1 when the purge thread should end; waits up to ms milliseconds for that first. */
static int
purge_wait(server *srv, int64_t ms)
{
    struct timespec ts;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->purge_mu);
    while (!srv->purge_stop && pthread_cond_timedwait(&srv->purge_cv, &srv->purge_mu, &ts) == 0)
        ;
    stop = srv->purge_stop;
    pthread_mutex_unlock(&srv->purge_mu);
    return stop;
}

/* Every idempotency_purge_s: deletes expired Idempotency-Key records in batches of
 * IDEM_PURGE_BATCH, each its own short statement, pausing between batches so writers of
 * requests get the write lock in between. Errors are logged and tried at the next round. */
static void *
purge_main(void *arg)
{
    server *srv = arg;
    const nt_store_v1 *st = srv->deps.store;
    char err[512] = "";
    nt_db *db = st->conn_open(srv->deps.store_state, err, sizeof(err));
    int64_t n;
    int rc;

    if (db == NULL) {
        log_msg(NT_LOG_ERROR, NULL, "Idempotency-Key purge: no storage connection: %s", err);
        return NULL;
    }
    while (!purge_wait(srv, (int64_t)srv->s->idempotency_purge_s * 1000)) {
        do {
            st->clear_error(db);
            rc = idem_purge(st, db, util_now_ms(), IDEM_PURGE_BATCH, &n);
            if (rc != NT_OK)
                log_msg(NT_LOG_WARN, NULL, "Idempotency-Key purge: %s; trying again later",
                        st->errmsg(db));
            else if (n > 0)
                log_msg(NT_LOG_DEBUG, NULL, "Idempotency-Key purge: %lld expired records",
                        (long long)n);
        } while (rc == NT_OK && n == IDEM_PURGE_BATCH && !purge_wait(srv, 10));
    }
    st->conn_close(db);
    return NULL;
}

int
server_start(server *srv)
{
    sigset_t all, old;
    int rc = NT_OK;

    /* Workers never take signals; the main thread handles them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    atomic_store(&srv->listening, srv->nworkers);
    for (int i = 0; i < srv->nworkers; i++) {
        char name[16];
        if (pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]) != 0) {
            log_msg(NT_LOG_ERROR, NULL, "cannot start worker %d", i);
            rc = NT_ERR;
            break;
        }
        srv->workers[i].running = 1;
        snprintf(name, sizeof(name), "nettu-w%d", i % 100000);
        (void)pthread_setname_np(srv->workers[i].thread, name); /* for top -H; cosmetic */
    }
    if (rc == NT_OK) {
        if (pthread_create(&srv->purge_thread, NULL, purge_main, srv) != 0) {
            log_msg(NT_LOG_ERROR, NULL, "cannot start the Idempotency-Key purge thread");
            rc = NT_ERR;
        } else {
            srv->purge_running = 1;
            (void)pthread_setname_np(srv->purge_thread, "nettu-purge");
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Runs on the worker's thread every 20 ms after shutdown began: the loop ends once no
 * connection is left or the grace time is over. */
static void
worker_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;

    (void)fd;
    (void)what;
    if (w->nconns > 0 && util_mono_us() >= w->drain_deadline_us) {
        group_flush(w);
        http_conn_cut_all(w, w->srv->deps.router);
    }
    if (w->nconns == 0)
        event_base_loopbreak(w->base);
}

/* Runs on the worker's thread: stop accepting, close idle connections, drain the rest. */
static void
worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    struct timeval tick = {0, 20000};

    (void)fd;
    (void)what;
    w->stopping = 1;
    evconnlistener_disable(w->listener);
    /* The last worker to stop accepting closes the listening socket: new connections are
     * refused at once instead of waiting in the backlog until the process exits. */
    if (atomic_fetch_sub_explicit(&w->srv->listening, 1, memory_order_acq_rel) == 1) {
        close(w->srv->fd);
        w->srv->fd = -1;
    }
    group_flush(w); /* held replies go out; their connections close after them */
    http_conn_stop_all(w);
    w->drain_deadline_us = util_mono_us() + (int64_t)w->srv->s->shutdown_grace_ms * 1000;
    w->drain = event_new(w->base, -1, EV_PERSIST, worker_drain_cb, w);
    if (w->nconns == 0 || w->drain == NULL || event_add(w->drain, &tick) != 0)
        event_base_loopbreak(w->base);
}

void
server_stop(server *srv)
{
    struct timeval now = {0, 0};

    if (srv == NULL)
        return;
    for (int i = 0; i < srv->nworkers; i++)
        if (srv->workers[i].running)
            event_base_once(srv->workers[i].base, -1, EV_TIMEOUT, worker_stop_cb, &srv->workers[i],
                            &now);
    for (int i = 0; i < srv->nworkers; i++) {
        if (srv->workers[i].running)
            pthread_join(srv->workers[i].thread, NULL);
        srv->workers[i].running = 0;
    }
    if (srv->purge_running) {
        pthread_mutex_lock(&srv->purge_mu);
        srv->purge_stop = 1;
        pthread_cond_signal(&srv->purge_cv);
        pthread_mutex_unlock(&srv->purge_mu);
        pthread_join(srv->purge_thread, NULL);
        srv->purge_running = 0;
    }
}

void
server_stop_counts(const server *srv, int *busy, int *cut)
{
    *busy = *cut = 0;
    for (int i = 0; srv != NULL && i < srv->nworkers; i++) {
        *busy += srv->workers[i].busy_at_stop;
        *cut += srv->workers[i].cut_at_grace;
    }
}

void
server_free(server *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        worker *w = &srv->workers[i];
        if (w->base != NULL)
            group_flush(w); /* what was answered stays written */
        http_conn_close_all(w);
        group_free(w);
        if (w->drain != NULL)
            event_free(w->drain);
        if (w->tick != NULL)
            event_free(w->tick);
        if (w->listener != NULL)
            evconnlistener_free(w->listener);
        pipeline_free(w->pl);
        if (w->db != NULL)
            srv->deps.store->conn_close(w->db);
        bytebuf_free(&w->obuf);
        if (w->base != NULL)
            event_base_free(w->base);
    }
    free(srv->workers);
    ipcount_free(srv->sh.ipc);
    throttle_free(srv->throttle);
    if (srv->fd >= 0)
        close(srv->fd);
    pthread_cond_destroy(&srv->purge_cv);
    pthread_mutex_destroy(&srv->purge_mu);
    free(srv);
}

int
server_port(const server *srv)
{
    return srv->port;
}

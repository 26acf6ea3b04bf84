/* HTTP serving on evhttp. Workers share one non-blocking listening socket; each worker has
 * its own evconnlistener on it (without close-on-free, the socket is the server's).
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "connset.h"
#include "hostapi.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "util.h"

typedef struct worker {
    pthread_t thread;
    int running;
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener;
    nt_db *db;
    server *srv;
    struct event *drain; /* shutdown timer */
    int64_t drain_deadline_us;
    int idle_events; /* events added while no connection is open (listener, internals) */
    connset conns;   /* open connections that have sent a request */
    int max_conns;   /* 0 = unlimited; at the limit the listener pauses */
    int paused;
    int accept_backoff; /* accepting paused after EMFILE; a timer resumes it */
    char scratch[8192]; /* the current request's decoded path segments */
} worker;

struct server {
    const settings *s;
    server_deps deps;
    int fd;
    int port;
    worker *workers;
    int nworkers;
};

static const char *
method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    default:
        return "UNKNOWN";
    }
}

/* 1 when the store backend offers read transactions (ABI 1.1 members). */
static int
store_has_read_txn(const nt_store_v1 *st)
{
    return st->size >= offsetof(nt_store_v1, end_read) + sizeof(st->end_read) &&
           st->begin_read != NULL && st->end_read != NULL;
}

/* A path parameter named like "calendarId" must be a UUID (API.md A1). */
static int
param_is_id(const char *name)
{
    size_t n = strlen(name);

    return n >= 2 && strcmp(name + n - 2, "Id") == 0;
}

/* Answers the request's failure `code` with the handler's message, or else the storage
 * error, or else a generic message. Returns the status sent. */
static int
pipeline_fail(worker *w, nt_req *r, int code)
{
    const nt_store_v1 *st = w->srv->deps.store;
    int status = reply_status_of(code);
    char msg[600];

    if (r->has_msg) {
        snprintf(msg, sizeof(msg), "%s", r->msg);
    } else if (w->db != NULL && st->errcode(w->db) != NT_OK) {
        snprintf(msg, sizeof(msg), "storage: %s", st->errmsg(w->db));
        status = reply_status_of(st->errcode(w->db));
    } else if (status == 401) {
        snprintf(msg, sizeof(msg), "unauthorized");
    } else {
        snprintf(msg, sizeof(msg), "internal error");
    }
    if (status >= 500)
        log_msg(NT_LOG_ERROR, r->route != NULL ? r->route->path : NULL, "%s failed (%d): %s",
                r->method, code, msg);
    reply_error(r->ev, status, msg);
    return status;
}

/* Reads the JSON body of a POST/PUT/PATCH/DELETE into r->body. Returns NT_OK or a code
 * with r->msg set. An empty body is {}. */
static int
pipeline_body(worker *w, nt_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    const char *data;

    if ((long long)len > w->srv->s->max_body_bytes) {
        snprintf(r->msg, sizeof(r->msg), "request body is %zu bytes; the limit is %lld", len,
                 w->srv->s->max_body_bytes);
        r->has_msg = 1;
        return NT_ETOOBIG;
    }
    if (len == 0)
        return NT_OK; /* req_body() gives {} */
    data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    if (data == NULL)
        return NT_ENOMEM;
    r->body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (r->body == NULL) {
        snprintf(r->msg, sizeof(r->msg), "invalid JSON body: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        r->has_msg = 1;
        return NT_EINVAL;
    }
    if (!json_is_object(r->body)) {
        snprintf(r->msg, sizeof(r->msg), "the request body must be a JSON object");
        r->has_msg = 1;
        return NT_EINVAL;
    }
    return NT_OK;
}

/* How many times the request carries header `name` (case-insensitive). */
static int
header_count(nt_req *r, const char *name)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->ev);
    int n = 0;

    for (struct evkeyval *kv = in->tqh_first; kv != NULL; kv = kv->next.tqe_next)
        n += evutil_ascii_strcasecmp(kv->key, name) == 0;
    return n;
}

/* Credentials must be unambiguous: a proxy in front might have checked the other copy. */
static int
pipeline_single_credentials(nt_req *r)
{
    static const char *const creds[] = {"x-api-key", "nettu-account", "authorization"};

    for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
        if (header_count(r, creds[i]) > 1) {
            snprintf(r->msg, sizeof(r->msg), "%s: the header is given more than once", creds[i]);
            r->has_msg = 1;
            return NT_EUNAUTH;
        }
    }
    return NT_OK;
}

/* Authentication and policy for the matched route. */
static int
pipeline_auth(worker *w, nt_req *r)
{
    const server_deps *d = &w->srv->deps;
    const route_entry *rt = r->route;
    int rc;

    if (rt->auth == NT_AUTH_PUBLIC)
        return NT_OK;
    if ((rc = pipeline_single_credentials(r)) != NT_OK)
        return rc;
    if (d->auth == NULL) {
        snprintf(r->msg, sizeof(r->msg), "no authenticator is configured");
        r->has_msg = 1;
        return NT_ERR;
    }
    rc = d->auth->authenticate(d->auth_state, r, rt->auth);
    if (rc != NT_OK)
        return rc;
    if (!r->has_account) {
        snprintf(r->msg, sizeof(r->msg), "unauthorized");
        r->has_msg = 1;
        return NT_EUNAUTH;
    }
    if (!r->has_user)
        return NT_OK; /* admins are never subject to a policy */
    if (d->policy == NULL) {
        snprintf(r->msg, sizeof(r->msg), "no policy service is configured");
        r->has_msg = 1;
        return NT_ERR;
    }
    rc = d->policy->check(d->policy_state, r->policy, (const char *const *)rt->perms);
    if (rc != NT_OK) {
        snprintf(r->msg, sizeof(r->msg), "the token's policy does not allow %s",
                 rt->perms != NULL && rt->perms[0] != NULL ? rt->perms[0] : "this action");
        r->has_msg = 1;
        return NT_EUNAUTH;
    }
    return NT_OK;
}

/* Runs one request through the pipeline; returns the status sent. */
static int
pipeline_run(worker *w, nt_req *r, enum evhttp_cmd_type cmd, const char *path)
{
    router_result m;
    json_t *out = NULL;
    /* Decoded path segments live in the worker's buffer until its next request (observers
     * read them after this returns); longer paths match no route. */
    size_t scratchlen = strlen(path) + ROUTER_MAX_SEGS + 1;
    char *scratch = scratchlen <= sizeof(w->scratch) ? w->scratch : NULL;
    int rc, status;

    if (cmd == EVHTTP_REQ_OPTIONS) {
        reply_preflight(r->ev);
        return 204;
    }
    if (scratch == NULL ||
        router_match(w->srv->deps.router, r->method, path, scratch, scratchlen, &m) != NT_OK) {
        hostapi_table()->fail(r, NT_ENOTFOUND, "no route for %s %.200s", r->method, path);
        return pipeline_fail(w, r, NT_ENOTFOUND);
    }
    r->route = m.route;
    memcpy(r->values, m.values, sizeof(r->values)); /* observers read them after we return */
    for (int i = 0; i < m.route->nparams; i++) {
        if (param_is_id(m.route->params[i]) && !util_uuid_valid(m.values[i])) {
            hostapi_table()->fail(r, NT_ENOTFOUND, "%s: '%.60s' is not a valid id",
                                  m.route->params[i], m.values[i]);
            return pipeline_fail(w, r, NT_ENOTFOUND);
        }
    }
    /* Two Content-Length headers: libevent used the first; a proxy may have used the other
     * (request smuggling). Refuse and close. */
    if (header_count(r, "Content-Length") > 1) {
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Connection", "close");
        hostapi_table()->fail(r, NT_EINVAL, "Content-Length: the header is given more than once");
        return pipeline_fail(w, r, NT_EINVAL);
    }
    if (cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_PATCH ||
        cmd == EVHTTP_REQ_DELETE) {
        if ((rc = pipeline_body(w, r)) != NT_OK)
            return pipeline_fail(w, r, rc);
    }
    if (w->db != NULL)
        w->srv->deps.store->clear_error(w->db);
    /* A GET only reads: authentication and handler queries share one read transaction
     * (one snapshot, one lock) instead of one each; on_request ends it. */
    if (cmd == EVHTTP_REQ_GET && w->db != NULL && store_has_read_txn(w->srv->deps.store) &&
        (rc = w->srv->deps.store->begin_read(w->db)) != NT_OK)
        return pipeline_fail(w, r, rc);
    if ((rc = pipeline_auth(w, r)) != NT_OK)
        return pipeline_fail(w, r, rc);
    status = m.route->handler(r, m.route->state, &out);
    if (status < 0 || status < 200 || status > 299) {
        json_decref(out);
        if (w->db != NULL)
            w->srv->deps.store->rollback(w->db); /* never leave a transaction open */
        return pipeline_fail(w, r, status < 0 ? status : NT_ERR);
    }
    if (r->text != NULL)
        reply_text(r->ev, status, r->text_type, r->text);
    else
        reply_json(r->ev, status, out);
    json_decref(out);
    return status;
}

/* evhttp closes a counted connection: forget it, and resume accepting when the worker is
 * below its limit again. Runs on the worker's thread. */
static void
worker_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    worker *w = arg;

    connset_del(&w->conns, evcon);
    if (w->paused && w->listener != NULL && w->conns.count < (size_t)w->max_conns &&
        !w->accept_backoff) {
        w->paused = 0;
        evconnlistener_enable(w->listener);
    }
}

/* Counts the connection of a request the first time one of its requests arrives. At the
 * limit the listener pauses, so further connections wait in the kernel's backlog. A
 * connection that never sends a request is not counted; read_timeout_s bounds its life. */
static void
worker_count_conn(worker *w, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);

    if (w->max_conns == 0 || evcon == NULL || connset_has(&w->conns, evcon))
        return;
    if (connset_add(&w->conns, evcon) != NT_OK)
        return;
    evhttp_connection_set_closecb(evcon, worker_conn_closed, w);
    if (w->conns.count >= (size_t)w->max_conns && !w->paused) {
        w->paused = 1;
        evconnlistener_disable(w->listener);
    }
}

static void
on_request(struct evhttp_request *ev, void *arg)
{
    worker *w = arg;
    int64_t t0 = util_mono_us();
    enum evhttp_cmd_type cmd = evhttp_request_get_command(ev);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    nt_req r;
    int64_t micros;
    int status;

    worker_count_conn(w, ev);
    for (int i = 0; i < w->srv->deps.nobservers; i++)
        if (w->srv->deps.observers[i].ops->request_start != NULL)
            w->srv->deps.observers[i].ops->request_start(w->srv->deps.observers[i].state);
    request_init(&r, ev, w->db);
    r.method = method_name(cmd);
    if (path == NULL || *path == '\0')
        path = "/";
    r.query_raw = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    status = pipeline_run(w, &r, cmd, path);
    if (w->db != NULL && store_has_read_txn(w->srv->deps.store))
        w->srv->deps.store->end_read(w->db);
    micros = util_mono_us() - t0;
    log_access(r.method, path, status, micros);
    for (int i = 0; i < w->srv->deps.nobservers; i++)
        if (w->srv->deps.observers[i].ops->request_done != NULL)
            w->srv->deps.observers[i].ops->request_done(w->srv->deps.observers[i].state, &r, status,
                                                        micros);
    request_fini(&r);
}

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
    /* Accepted sockets inherit TCP_NODELAY: replies larger than one libevent write must not
     * wait for the client's delayed ACK (Nagle). */
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

/* The worker whose loop runs on this thread (NULL elsewhere). */
static __thread worker *this_worker;

/* Runs on the worker's thread a moment after accepting paused for lack of descriptors. */
static void
worker_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;

    (void)fd;
    (void)what;
    w->accept_backoff = 0;
    if (w->listener != NULL && (!w->paused || w->conns.count < (size_t)w->max_conns)) {
        w->paused = 0;
        evconnlistener_enable(w->listener);
    }
}

/* accept() failed. Out of file descriptors (or memory), retrying at once would spin: pause
 * accepting for 200 ms and log once per pause; pending connections wait in the backlog. */
static void
worker_accept_error(struct evconnlistener *lst, void *arg)
{
    worker *w = this_worker; /* arg is evhttp's (the listener's callback argument) */
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval pause = {0, 200000};

    (void)lst;
    (void)arg;
    if (w == NULL)
        return;
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
    if (event_base_once(w->base, -1, EV_TIMEOUT, worker_accept_resume, w, &pause) != 0)
        evconnlistener_enable(w->listener);
}

/* Creates one worker's loop, HTTP server, listener and storage connection. */
static int
worker_init(server *srv, worker *w)
{
    char err[512] = "";

    w->srv = srv;
    w->base = event_base_new();
    w->http = w->base != NULL ? evhttp_new(w->base) : NULL;
    if (w->http == NULL)
        return NT_ENOMEM;
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(w->http, srv->s->hard_body_bytes);
    evhttp_set_max_headers_size(w->http, srv->s->max_header_bytes);
    evhttp_set_timeout(w->http, srv->s->read_timeout_s);
    evhttp_set_default_content_type(w->http, "application/json");
    evhttp_set_gencb(w->http, on_request, w);
    if (srv->s->max_connections > 0) {
        /* The limit is shared out between the workers, which share one socket. */
        w->max_conns = (int)((srv->s->max_connections + srv->nworkers - 1) / srv->nworkers);
        if (connset_init(&w->conns, (size_t)w->max_conns) != NT_OK)
            return NT_ENOMEM;
    }
    w->listener = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, -1, srv->fd);
    if (w->listener == NULL || evhttp_bind_listener(w->http, w->listener) == NULL)
        return NT_ERR;
    evconnlistener_set_error_cb(w->listener, worker_accept_error);
    w->db = srv->deps.store->conn_open(srv->deps.store_state, err, sizeof(err));
    if (w->db == NULL) {
        log_msg(NT_LOG_ERROR, NULL, "storage connection for a worker: %s", err);
        return NT_EUNAVAIL;
    }
    return NT_OK;
}

server *
server_new(const settings *s, const server_deps *deps)
{
    server *srv = calloc(1, sizeof(*srv));

    if (srv == NULL)
        return NULL;
    srv->s = s;
    srv->deps = *deps;
    srv->fd = -1;
    if (server_listen(srv) != NT_OK)
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

    /* The listener's event stands for the drain timer later; the rest is connections. */
    w->idle_events = event_base_get_num_events(w->base, EVENT_BASE_COUNT_ADDED);
    this_worker = w;
    event_base_dispatch(w->base);
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
    for (int i = 0; i < srv->nworkers; i++) {
        if (pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]) != 0) {
            log_msg(NT_LOG_ERROR, NULL, "cannot start worker %d", i);
            rc = NT_ERR;
            break;
        }
        srv->workers[i].running = 1;
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
    if (event_base_get_num_events(w->base, EVENT_BASE_COUNT_ADDED) <= w->idle_events ||
        util_mono_us() >= w->drain_deadline_us)
        event_base_loopbreak(w->base);
}

/* Runs on the worker's thread: stop accepting, then drain the open connections. */
static void
worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    struct timeval tick = {0, 20000};

    (void)fd;
    (void)what;
    evconnlistener_disable(w->listener);
    w->drain_deadline_us = util_mono_us() + (int64_t)w->srv->s->shutdown_grace_ms * 1000;
    w->drain = event_new(w->base, -1, EV_PERSIST, worker_drain_cb, w);
    if (w->drain == NULL || event_add(w->drain, &tick) != 0)
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
}

void
server_free(server *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        worker *w = &srv->workers[i];
        if (w->drain != NULL)
            event_free(w->drain);
        if (w->http != NULL) {
            w->listener = NULL; /* evhttp_free frees it, then closes the connections */
            evhttp_free(w->http);
        } else if (w->listener != NULL)
            evconnlistener_free(w->listener);
        if (w->db != NULL)
            srv->deps.store->conn_close(w->db);
        connset_fini(&w->conns);
        if (w->base != NULL)
            event_base_free(w->base);
    }
    free(srv->workers);
    if (srv->fd >= 0)
        close(srv->fd);
    free(srv);
}

int
server_port(const server *srv)
{
    return srv->port;
}

/* Client connections (see http_conn.h). */
#include "http_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "group.h"
#include "log.h"
#include "util.h"

/* How long a closing connection is drained of what the client still sends. */
#define LINGER_US 2000000

/* ... and a connection refused at accept (max_connections_per_ip). */
#define REJECT_LINGER_US 250000

/* Per-connection input grows by doubling from this size. */
#define IN_MIN 16384

/* Buffers freed at least this large count towards the next malloc_trim. */
#define TRIM_NOTE 65536

enum { CONN_OPEN, CONN_LINGER };

struct conn {
    conn *prev, *next;
    worker *w;
    int fd;
    int state;
    struct event *rev, *wev, *tev;
    int reading, writing;
    bytebuf in;     /* the oldest unanswered request's bytes and what follows them */
    size_t in_acct; /* in.cap as counted in the shared total */
    bytebuf out;    /* a reply the socket has not taken yet, sent from out_off on */
    size_t out_off;
    int in_request;   /* some bytes of an unfinished request are in `in` */
    int more;         /* complete requests wait in `in` (served once the reply is out) */
    int close_after;  /* close once `out` is written */
    int linger_after; /* ... by draining first */
    int ip_counted;
    int held; /* its reply in `out` waits for the worker's group commit (group.h) */
    conn *held_next;
    int64_t linger_us;   /* how long to drain before closing; 0 = LINGER_US */
    int64_t deadline_us; /* the connection's next deadline (idle, request, write, linger) */
    int64_t armed_us;    /* when the timer fires; 0 = not armed */
    proto_conn pc;
    unsigned char addr[16];
    char peer[INET6_ADDRSTRLEN];
};

static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);
static void conn_on_timer(evutil_socket_t fd, short what, void *arg);

/* ---- buffers --------------------------------------------------------------------------- */

/* Gives back the input buffer's memory and its share of the total. */
static void
conn_in_release(conn *c)
{
    http_shared *sh = c->w->sh;

    if (c->in_acct >= TRIM_NOTE)
        atomic_fetch_add_explicit(&sh->freed, (long long)c->in_acct, memory_order_relaxed);
    atomic_fetch_sub_explicit(&sh->buffered, (long long)c->in_acct, memory_order_relaxed);
    c->in_acct = 0;
    bytebuf_free(&c->in);
}

/* Gives back the output buffer (its reply is out). */
static void
conn_out_release(conn *c)
{
    if (c->out.cap >= TRIM_NOTE)
        atomic_fetch_add_explicit(&c->w->sh->freed, (long long)c->out.cap, memory_order_relaxed);
    bytebuf_free(&c->out);
    c->out_off = 0;
}

/* Grows the input buffer to hold at least `need` bytes in all (doubling, at most `want`
 * when the request's size is known). NT_EUNAVAIL when the server holds too many request
 * bytes already, NT_ENOMEM. */
static int
conn_in_grow(conn *c, size_t need, size_t want)
{
    http_shared *sh = c->w->sh;
    size_t cap = c->in.cap != 0 ? c->in.cap : IN_MIN;
    long long delta, total;
    char *p;

    while (cap < need)
        cap *= 2;
    if (c->in.cap != 0 && cap == c->in.cap)
        cap *= 2;
    if (want > need && cap > want)
        cap = want;
    if (cap < need)
        cap = need;
    delta = (long long)cap - (long long)c->in_acct;
    total = atomic_fetch_add_explicit(&sh->buffered, delta, memory_order_relaxed) + delta;
    if (delta > 0 && total > sh->max_buffered) {
        atomic_fetch_sub_explicit(&sh->buffered, delta, memory_order_relaxed);
        return NT_EUNAVAIL;
    }
    p = realloc(c->in.data, cap);
    if (p == NULL) {
        atomic_fetch_sub_explicit(&sh->buffered, delta, memory_order_relaxed);
        return NT_ENOMEM;
    }
    c->in.data = p;
    c->in.cap = cap;
    c->in_acct = cap;
    return NT_OK;
}

/* ---- events and deadlines ---------------------------------------------------------------- */

static void
conn_set_reading(conn *c, int on)
{
    if (on == c->reading)
        return;
    c->reading = on;
    if (on)
        event_add(c->rev, NULL);
    else
        event_del(c->rev);
}

static void
conn_set_writing(conn *c, int on)
{
    if (on == c->writing)
        return;
    c->writing = on;
    if (on)
        event_add(c->wev, NULL);
    else
        event_del(c->wev);
}

/* Makes sure the timer fires no later than the deadline. A deadline that moved later is
 * noticed when the timer fires, so most requests never touch the timer. */
static void
conn_arm(conn *c)
{
    int64_t now, left;
    struct timeval tv;

    if (c->armed_us != 0 && c->armed_us <= c->deadline_us)
        return;
    now = util_mono_us();
    left = c->deadline_us > now ? c->deadline_us - now : 0;
    tv.tv_sec = (time_t)(left / 1000000);
    tv.tv_usec = (suseconds_t)(left % 1000000);
    if (evtimer_add(c->tev, &tv) == 0)
        c->armed_us = c->deadline_us;
}

static void
conn_deadline(conn *c, int64_t at)
{
    c->deadline_us = at;
    conn_arm(c);
}

/* ---- closing ------------------------------------------------------------------------------ */

static void
conn_free(conn *c)
{
    worker *w = c->w;

    if (c->rev != NULL)
        event_free(c->rev);
    if (c->wev != NULL)
        event_free(c->wev);
    if (c->tev != NULL)
        event_free(c->tev);
    if (c->fd >= 0)
        close(c->fd);
    if (c->ip_counted)
        ipcount_release(w->sh->ipc, c->addr);
    if (c->held) {
        conn **pp = &w->held;
        while (*pp != NULL && *pp != c)
            pp = &(*pp)->held_next;
        if (*pp != NULL)
            *pp = c->held_next;
    }
    conn_in_release(c);
    conn_out_release(c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->nconns--;
    free(c);
}

static void
conn_close(conn *c)
{
    worker *w = c->w;

    conn_free(c);
    http_conn_maybe_resume(w);
}

/* The reply is out and the connection must end: drain what the client still sends (so it
 * reads the reply before the connection resets), or close at once. */
static void
conn_finish(conn *c)
{
    int64_t linger = c->linger_us > 0 ? c->linger_us : LINGER_US;

    if (!c->linger_after) {
        conn_close(c);
        return;
    }
    conn_in_release(c);
    c->in_request = 0;
    c->state = CONN_LINGER;
    shutdown(c->fd, SHUT_WR);
    conn_set_writing(c, 0);
    conn_set_reading(c, 1);
    if (linger > c->w->sh->timeout_us)
        linger = c->w->sh->timeout_us;
    conn_deadline(c, util_mono_us() + linger);
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Sends n bytes at p from *off on; *off tells how far it got. -1 on a socket error. */
static int
conn_send(conn *c, const char *p, size_t n, size_t *off)
{
    while (*off < n) {
        ssize_t k = send(c->fd, p + *off, n - *off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (k <= 0)
            return -1;
        *off += (size_t)k;
    }
    return 0;
}

/* Sends the worker's staged replies, or what the socket did not take of earlier ones. What
 * is left waits in `out` (the staging buffer itself is handed over, never copied) while the
 * connection stops reading. Returns -1 when the connection was closed (c is gone), else 0. */
static int
conn_flush(conn *c)
{
    worker *w = c->w;
    size_t off = 0;

    if (c->out.len > 0 && w->obuf.len > 0) {
        /* Not reached: requests are not served while a reply waits. Keep the order anyway. */
        int rc = bytebuf_add(&c->out, w->obuf.data, w->obuf.len);
        w->obuf.len = 0;
        if (rc != NT_OK) {
            conn_close(c);
            return -1;
        }
    }
    if (c->out.len > 0) {
        if (conn_send(c, c->out.data, c->out.len, &c->out_off) != 0) {
            conn_close(c);
            return -1;
        }
    } else if (w->obuf.len > 0) {
        if (conn_send(c, w->obuf.data, w->obuf.len, &off) != 0) {
            w->obuf.len = 0;
            conn_close(c);
            return -1;
        }
        if (off < w->obuf.len) {
            c->out = w->obuf;
            c->out_off = off;
            memset(&w->obuf, 0, sizeof(w->obuf));
        }
        w->obuf.len = 0;
    }
    if (c->out_off < c->out.len) {
        /* The client has read_timeout_s to take the rest. */
        conn_set_reading(c, 0);
        conn_set_writing(c, 1);
        conn_deadline(c, util_mono_us() + c->w->sh->timeout_us);
        return 0;
    }
    conn_out_release(c);
    conn_set_writing(c, 0);
    if (c->close_after) {
        conn_finish(c);
        return -1;
    }
    conn_set_reading(c, 1);
    return 0;
}

/* ---- serving ------------------------------------------------------------------------------ */

/* Refuses the request in progress, whose bytes start at base, with status (the connection
 * closes after it). */
static int
conn_refuse(conn *c, char *base, int status, const char *msg, int retry_after)
{
    worker *w = c->w;

    proto_refuse(&c->pc, w->pl, base, status, msg, retry_after, &w->obuf);
    c->close_after = c->linger_after = 1;
    c->in_request = 0;
    conn_in_release(c);
    return conn_flush(c);
}

/* Keeps n bytes at p (the unfinished request) in the connection's input buffer. */
static int
conn_keep(conn *c, const char *p, size_t n, size_t want)
{
    int rc;

    if (n > c->in.cap && (rc = conn_in_grow(c, n, want)) != NT_OK)
        return rc;
    if (p != c->in.data)
        memmove(c->in.data, p, n);
    c->in.len = n;
    return NT_OK;
}

/* The reply staged in the worker's buffer waits for the group commit: it is copied to `out`
 * (the connection reads nothing more until it is sent: its read event is left on, since
 * clients mostly send nothing before they have the reply, and stops when bytes come in
 * meanwhile; two epoll_ctl calls fewer per held reply). Returns -1 (c may be gone: the group
 * may commit at once). */
static int
conn_hold(conn *c)
{
    worker *w = c->w;
    int rc = bytebuf_add(&c->out, w->obuf.data, w->obuf.len);

    w->obuf.len = 0;
    if (rc != NT_OK) {
        conn_close(c);
        return -1;
    }
    c->out_off = 0;
    c->held = 1;
    c->held_next = w->held;
    w->held = c;
    group_held(w);
    return -1;
}

/* The group's commit failed and c's replies were of it: they give way to one 503 with why,
 * written to out, and c closes after it. */
static void
conn_group_refuse(conn *c, const char *why, bytebuf *out)
{
    out->len = 0;
    pipeline_refuse(c->w->pl, NULL, 503, why, 1, out);
    c->close_after = c->linger_after = 1;
    c->in_request = 0;
    c->more = 0;
    conn_in_release(c);
}

/* ... for the replies staged for the connection being served. Returns -1. */
static int
conn_group_failed(conn *c)
{
    worker *w = c->w;

    w->grp_fail_cur = 0;
    conn_group_refuse(c, w->grp_why, &w->obuf);
    conn_flush(c);
    return -1;
}

void
http_conn_release_held(worker *w, int ok, const char *why)
{
    conn *c;

    while ((c = w->held) != NULL) {
        w->held = c->held_next;
        c->held = 0;
        c->held_next = NULL;
        if (!ok) {
            c->out_off = 0;
            conn_group_refuse(c, why, &c->out);
        }
        if (conn_send(c, c->out.data, c->out.len, &c->out_off) != 0) {
            conn_close(c);
            continue;
        }
        if (c->out_off < c->out.len) { /* the rest goes as the socket takes it */
            conn_set_writing(c, 1);
            conn_deadline(c, util_mono_us() + w->sh->timeout_us);
            continue;
        }
        conn_out_release(c);
        if (c->close_after)
            conn_finish(c);
        else if (c->more)
            conn_set_writing(c, 1); /* conn_on_write serves the pipelined requests */
        else
            conn_set_reading(c, 1);
    }
}

/* Serves the complete requests in buf[0..len) (the worker's read buffer, or the connection's
 * input buffer) and keeps the rest. Returns -1 when the connection was closed. */
static int
conn_serve(conn *c, char *buf, size_t len)
{
    worker *w = c->w;
    int was_in_request = c->in_request;
    proto_result res;
    int rc;

    for (;;) {
        proto_feed(&c->pc, w->pl, &w->sh->lim, buf, len, &w->obuf, &res);
        if (res.close) {
            c->close_after = 1;
            c->linger_after = res.linger;
            c->in.len = 0;
            c->in_request = 0;
            return conn_flush(c);
        }
        if (res.pending == 0) {
            conn_in_release(c);
        } else if ((rc = conn_keep(c, buf + res.consumed, res.pending, res.want)) != NT_OK) {
            return conn_refuse(c, buf + res.consumed, 503,
                               rc == NT_EUNAVAIL ? "the server holds too many unfinished "
                                                   "requests ([server] max_buffered_bytes); "
                                                   "retry later"
                                                 : "out of memory",
                               1);
        }
        c->in_request = res.pending > 0 && !res.more;
        c->more = res.more;
        /* A request's time runs from its first byte; an idle connection's from its last. */
        if (res.consumed > 0 || !was_in_request)
            conn_deadline(c, util_mono_us() + w->sh->timeout_us);
        if (w->grp_fail_cur)
            return conn_group_failed(c);
        if (w->obuf.len > 0 && group_pending(w))
            return conn_hold(c);
        if (conn_flush(c) != 0)
            return -1;
        if (!res.more || c->out_off < c->out.len)
            return 0;
        buf = c->in.data;
        len = c->in.len;
        was_in_request = 0;
    }
}

/* Discards what a closing connection still receives; closes at its end. */
static void
conn_drain(conn *c)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(c->fd, c->w->rbuf, sizeof(c->w->rbuf), 0);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        conn_close(c);
        return;
    }
}

static void
conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    worker *w = c->w;
    ssize_t n;

    (void)what;
    if (c->state == CONN_LINGER) {
        conn_drain(c);
        return;
    }
    if (c->held) { /* the bytes wait in the socket until the held reply is out */
        conn_set_reading(c, 0);
        return;
    }
    if (c->in.len == 0) {
        n = recv(fd, w->rbuf, sizeof(w->rbuf), 0);
        if (n > 0) {
            conn_serve(c, w->rbuf, (size_t)n);
            return;
        }
    } else {
        if (c->in.len == c->in.cap) {
            int rc = conn_in_grow(c, c->in.len + 1, 0);
            if (rc != NT_OK) {
                conn_refuse(c, c->in.data, 503,
                            rc == NT_EUNAVAIL ? "the server holds too many unfinished requests "
                                                "([server] max_buffered_bytes); retry later"
                                              : "out of memory",
                            1);
                return;
            }
        }
        n = recv(fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            conn_serve(c, c->in.data, c->in.len);
            return;
        }
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    conn_close(c); /* end of stream or an error: an unfinished request is dropped */
}

static void
conn_on_write(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;

    (void)fd;
    (void)what;
    if (conn_flush(c) != 0 || c->out_off < c->out.len)
        return;
    /* The reply is out: serve the pipelined requests that wait. */
    if (c->more)
        conn_serve(c, c->in.data, c->in.len);
}

static void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    int64_t now = util_mono_us();

    (void)fd;
    (void)what;
    c->armed_us = 0;
    if (now < c->deadline_us) {
        conn_arm(c); /* the deadline moved */
        return;
    }
    if (c->state == CONN_OPEN && c->out_off >= c->out.len && c->in_request) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "the request was not complete within %lld s of its first byte "
                 "([server] read_timeout_s)",
                 (long long)(c->w->sh->timeout_us / 1000000));
        conn_refuse(c, c->in.data, 408, msg, 0);
        return;
    }
    conn_close(c); /* idle, a client that does not take its reply, or the end of lingering */
}

/* ---- accepting ---------------------------------------------------------------------------- */

/* The address of sa as 16 bytes and as text. */
static void
conn_address(conn *c, const struct sockaddr *sa)
{
    memset(c->addr, 0, sizeof(c->addr));
    c->peer[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        c->addr[10] = c->addr[11] = 0xff;
        memcpy(c->addr + 12, &s4->sin_addr, 4);
        inet_ntop(AF_INET, &s4->sin_addr, c->peer, sizeof(c->peer));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(c->addr, &s6->sin6_addr, 16);
        inet_ntop(AF_INET6, &s6->sin6_addr, c->peer, sizeof(c->peer));
    }
}

void
http_conn_accept(worker *w, int fd, const struct sockaddr *sa, int salen)
{
    http_shared *sh = w->sh;
    conn *c = calloc(1, sizeof(*c));

    (void)salen;
    if (c == NULL) {
        close(fd);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    if (w->max_conns > 0 && w->nconns >= w->max_conns && !w->paused) {
        w->paused = 1;
        evconnlistener_disable(w->listener);
    }
    conn_address(c, sa);
    c->pc.peer = c->peer;
    c->pc.peer_addr = c->addr;
    c->pc.fd = fd;
    c->pc.throttle_exempt = cidr_list_match(&sh->exempt, c->addr);
    c->pc.closing = w->stopping;
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, conn_on_write, c);
    c->tev = evtimer_new(w->base, conn_on_timer, c);
    if (c->rev == NULL || c->wev == NULL || c->tev == NULL) {
        conn_close(c);
        return;
    }
    conn_deadline(c, util_mono_us() + sh->timeout_us);
    if (sh->ipc != NULL) {
        if (ipcount_acquire(sh->ipc, c->addr) != NT_OK) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "too many connections from this address ([server] max_connections_per_ip "
                     "= %d)",
                     sh->per_ip);
            /* A short drain only: refused connections must not hold slots for long. */
            c->linger_us = REJECT_LINGER_US;
            conn_refuse(c, w->rbuf, 429, msg, 1);
            return;
        }
        c->ip_counted = 1;
    }
    conn_set_reading(c, 1);
}

void
http_conn_maybe_resume(worker *w)
{
    if (w->paused && w->listener != NULL && !w->stopping && !w->accept_backoff &&
        (w->max_conns == 0 || w->nconns < w->max_conns)) {
        w->paused = 0;
        evconnlistener_enable(w->listener);
    }
}

void
http_conn_stop_all(worker *w)
{
    conn *c, *next;

    for (c = w->conns; c != NULL; c = next) {
        next = c->next;
        c->pc.closing = 1;
        if (c->state == CONN_OPEN && !c->in_request && c->out_off >= c->out.len && c->in.len == 0)
            conn_free(c);
        else if (c->state == CONN_OPEN)
            w->busy_at_stop++;
    }
}

/* Writes the method and route (or path) of the request at the start of c->in into out. */
static void
conn_describe(const conn *c, const router *r, char *out, size_t n)
{
    char method[16], path[512], scratch[512 + ROUTER_MAX_SEGS];
    const char *p = (const char *)c->in.data, *end = p + c->in.len, *sp, *q;
    router_result m, rm;

    snprintf(out, n, "a request whose head has not arrived");
    if (c->in.len == 0) {
        if (c->out_off < c->out.len)
            snprintf(out, n, "a reply still being sent");
        return;
    }
    if (c->pc.stage == 1) { /* the head is parsed in place; its body is still arriving */
        const char *mn = http_method_name(c->pc.head.method);
        const char *hp = http_head_path(&c->pc.head, (const char *)c->in.data);
        if (r != NULL && strlen(hp) < sizeof(path) &&
            router_match(r, mn, hp, scratch, sizeof(scratch), &rm) == NT_OK)
            snprintf(out, n, "the request %s %s (route)", mn, rm.route->path);
        else
            snprintf(out, n, "the request %s (no route matched)", mn);
        return;
    }
    sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL || sp == p || (size_t)(sp - p) >= sizeof(method))
        return;
    snprintf(method, sizeof(method), "%.*s", (int)(sp - p), p);
    for (q = sp + 1; q < end && *q != ' ' && *q != '?' && *q != '\r' && *q != '\n'; q++)
        ;
    if ((size_t)(q - sp - 1) >= sizeof(path))
        return;
    snprintf(path, sizeof(path), "%.*s", (int)(q - sp - 1), sp + 1);
    for (char *x = method; *x != '\0'; x++)
        if (*x < 'A' || *x > 'Z')
            return;
    if (r != NULL && router_match(r, method, path, scratch, sizeof(scratch), &m) == NT_OK)
        snprintf(out, n, "the request %s %s (route)", method, m.route->path);
    else
        snprintf(out, n, "the request %s (no route matched)", method);
}

void
http_conn_cut_all(worker *w, const router *r)
{
    char what[640];

    while (w->conns != NULL) {
        conn *c = w->conns;
        if (c->state == CONN_OPEN && (c->in.len > 0 || c->out_off < c->out.len)) {
            conn_describe(c, r, what, sizeof(what));
            log_msg(NT_LOG_WARN, NULL,
                    "shutdown: [server] shutdown_grace_ms is over; closing the connection of %s "
                    "with %s unfinished",
                    c->peer, what);
            w->cut_at_grace++;
        }
        conn_free(c);
    }
}

void
http_conn_close_all(worker *w)
{
    while (w->conns != NULL)
        conn_free(w->conns);
}

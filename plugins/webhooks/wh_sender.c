/* The delivery thread: its own libevent loop drives the libcurl multi interface. Every
 * poll_ms it claims due deliveries (a lease in the store, so another instance on the same
 * store leaves them alone), checks each target, and starts at most max_in_flight attempts;
 * as each finishes it records the attempt and the next one (or delivered, or failed).
 * Nothing here runs on a request worker.
 */
#include "wh.h"
#include "wh_curl.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wh_xfer {
    struct wh_sender *s;
    wh_job job;
    CURL *easy;
    struct curl_slist *headers;
    int64_t at; /* when the attempt started (ms) */
    char errbuf[CURL_ERROR_SIZE];
    char refused[256]; /* why an address was refused (wh_open_socket), or "" */
    struct wh_xfer *next;
} wh_xfer;

struct wh_sender {
    wh_plugin *w;
    pthread_t thread;
    nt_db *db;
    struct event_base *base;
    struct event *tick, *curl_timer, *wake_ev;
    int wake[2]; /* a pipe: stop writes a byte, so the loop ends at once */
    CURLM *multi;
    wh_xfer *xfers; /* in flight */
    int in_flight;
    int load_failed; /* libcurl could not be loaded (logged once) */
};

/* Discards the receiver's answer body. */
static size_t
wh_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

/* Frees an attempt's curl handle, lists and job. NULL is fine. */
static void
wh_xfer_free(wh_xfer *x)
{
    if (x == NULL)
        return;
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->job.payload);
    free(x);
}

/* Records the outcome of an attempt of job j that started at `at`, retrying the write a few
 * times on NT_ERETRY (no server reruns background work). */
static void
wh_record(struct wh_sender *s, const wh_job *j, int64_t at, int delivered, int code,
          const char *error, int permanent)
{
    wh_plugin *w = s->w;
    const nt_host_api *api = w->api;
    int64_t now = api->now_ms();
    int64_t next =
        permanent || delivered
            ? -1
            : wh_next_attempt(j->attempts + 1, j->first != 0 ? j->first : at, now, w->unit_ms);
    int rc = NT_ERETRY;

    for (int i = 0; i < 5 && rc == NT_ERETRY; i++)
        rc = wh_store_finish(w, s->db, j, at, delivered, code, error, next);
    if (rc != NT_OK)
        api->log(w->self, NT_LOG_ERROR, "webhooks: cannot record attempt of delivery %s: %s", j->id,
                 rc == NT_ENOTFOUND ? "the lease was lost" : api->db_errmsg(s->db));
    else if (delivered)
        api->log(w->self, NT_LOG_DEBUG, "webhooks: delivery %s delivered (HTTP %d)", j->id, code);
    else
        api->log(w->self, NT_LOG_WARN, "webhooks: delivery %s attempt %lld failed (%s)%s", j->id,
                 (long long)(j->attempts + 1), error != NULL ? error : "?",
                 next < 0 ? "; giving up" : "");
}

/* Reads finished transfers and records them. */
static void
wh_check_done(struct wh_sender *s)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        wh_xfer *x = NULL, **pp;
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result; /* m is gone once the handle is removed */
        long code = 0;
        int ok;
        char err[CURL_ERROR_SIZE + 32];

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(s->multi, e);
        if (x == NULL) { /* not ours: every attempt sets CURLOPT_PRIVATE */
            curl_easy_cleanup(e);
            continue;
        }
        ok = res == CURLE_OK && code >= 200 && code < 300;
        if (res != CURLE_OK && x->refused[0] != '\0')
            snprintf(err, sizeof(err), "%s", x->refused);
        else if (res != CURLE_OK)
            snprintf(err, sizeof(err), "%s",
                     x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(res));
        else
            snprintf(err, sizeof(err), "the receiver answered HTTP %ld", code);
        wh_record(s, &x->job, x->at, ok, (int)code, ok ? NULL : err, 0);
        for (pp = &s->xfers; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == x) {
                *pp = x->next;
                break;
            }
        }
        s->in_flight--;
        wh_xfer_free(x);
    }
}

/* libevent: a socket curl watches is ready. */
static void
wh_on_socket(evutil_socket_t fd, short what, void *arg)
{
    struct wh_sender *s = arg;
    int running = 0;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

    curl_multi_socket_action(s->multi, fd, action, &running);
    wh_check_done(s);
}

/* libevent: curl's timer expired. */
static void
wh_on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wh_sender *s = arg;
    int running = 0;

    (void)fd;
    (void)what;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    wh_check_done(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget a socket (its event is the socketp). */
static int
wh_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct wh_sender *s = userp;
    struct event *ev = socketp;
    short flags;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (ev != NULL)
            event_free(ev);
        curl_multi_assign(s->multi, fd, NULL);
        return 0;
    }
    flags = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                    ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (ev != NULL)
        event_free(ev);
    if ((ev = event_new(s->base, fd, flags, wh_on_socket, s)) == NULL || event_add(ev, NULL) != 0) {
        if (ev != NULL)
            event_free(ev);
        curl_multi_assign(s->multi, fd, NULL);
        return -1;
    }
    curl_multi_assign(s->multi, fd, ev);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: (re)arm or cancel curl's single timer. */
static int
wh_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct wh_sender *s = userp;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    (void)multi;
    if (timeout_ms < 0)
        return evtimer_del(s->curl_timer);
    return evtimer_add(s->curl_timer, &tv);
}

/* Builds the headers of an attempt of j signed at t (seconds) with the webhook key. */
static int
wh_headers(wh_xfer *x, const char *key, int64_t t)
{
    char line[512];
    struct curl_slist *l = NULL, *n;
    const char *const fixed[] = {"Content-Type: application/json", "Expect:"};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if ((n = curl_slist_append(l, fixed[i])) == NULL)
            goto fail;
        l = n;
    }
    if (snprintf(line, sizeof(line), "nettu-scheduler-webhook-key: %s", key) >= (int)sizeof(line) ||
        (n = curl_slist_append(l, line)) == NULL)
        goto fail;
    l = n;
    snprintf(line, sizeof(line), "nettu-delivery-id: %s", x->job.id);
    if ((n = curl_slist_append(l, line)) == NULL)
        goto fail;
    l = n;
    strcpy(line, "nettu-signature: ");
    if (wh_signature(key, t, x->job.payload, strlen(x->job.payload), line + strlen(line),
                     sizeof(line) - strlen(line)) != NT_OK ||
        (n = curl_slist_append(l, line)) == NULL)
        goto fail;
    x->headers = n;
    return NT_OK;
fail:
    curl_slist_free_all(l);
    return NT_ERR;
}

/* CURLOPT_OPENSOCKETFUNCTION: curl has resolved the host (on its resolver thread, off this
 * loop) and is about to connect to `address`: the address connected to is the one checked
 * here, whatever the name resolves to at another moment. A refused address gets no socket
 * (curl tries the next one, or fails the attempt with the reason kept in x->refused). */
static curl_socket_t
wh_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    wh_xfer *x = arg;
    char text[INET6_ADDRSTRLEN];
    int fd;

    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!wh_sockaddr_allowed(&address->addr, &x->s->w->allow, text, sizeof(text))) {
        snprintf(x->refused, sizeof(x->refused),
                 "refused to connect to %s: a loopback, private, link-local, multicast or "
                 "unspecified address ([webhooks] allow_private does not list it)",
                 text);
        return CURL_SOCKET_BAD;
    }
    fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    return fd >= 0 ? (curl_socket_t)fd : CURL_SOCKET_BAD;
}

/* Sets up the curl handle of x for url; NT_OK or NT_ERR. */
static int
wh_easy(wh_xfer *x, const char *url)
{
    const char *ca = x->s->w->ca_file;
    CURL *e = curl_easy_init();

    if (e == NULL)
        return NT_ERR;
    x->easy = e;
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        /* no proxy from the environment: the check above must see the receiver's address */
        curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, wh_open_socket) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x) != CURLE_OK ||
        (ca != NULL && curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK) ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)WH_ATTEMPT_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->job.payload) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(x->job.payload)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "nettu-webhooks/1") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wh_discard) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK)
        return NT_ERR;
    return NT_OK;
}

/* Starts an attempt of job j (taken: its payload moves into the attempt or is freed). */
static void
wh_begin(struct wh_sender *s, wh_job *j)
{
    wh_plugin *w = s->w;
    const nt_host_api *api = w->api;
    char *url = NULL, *key = NULL;
    wh_xfer *x = calloc(1, sizeof(*x));
    int64_t at = api->now_ms();
    int rc;

    if (x == NULL) {
        free(j->payload);
        j->payload = NULL; /* the caller's wh_jobs_free frees it again otherwise */
        return;
    }
    x->s = s;
    x->job = *j;
    x->at = at;
    j->payload = NULL;
    rc = w->accounts->webhook(w->accounts_state, s->db, x->job.account, &url, &key);
    if (rc == NT_ENOTFOUND || (rc == NT_OK && url == NULL)) {
        wh_record(s, &x->job, at, 0, 0, "the account has no webhook", 1);
        goto done;
    }
    if (rc != NT_OK) {
        wh_record(s, &x->job, at, 0, 0, "cannot read the account's webhook", 0);
        goto done;
    }
    /* The host is resolved by curl (its threaded resolver: a slow name holds up only its own
     * attempt, within the attempt's timeout) and each address checked in wh_open_socket. */
    if (wh_headers(x, key, at / 1000) != NT_OK || wh_easy(x, url) != NT_OK ||
        curl_multi_add_handle(s->multi, x->easy) != CURLM_OK) {
        wh_record(s, &x->job, at, 0, 0, "cannot set up the request", 0);
        goto done;
    }
    x->next = s->xfers;
    s->xfers = x;
    s->in_flight++;
    x = NULL;
done:
    wh_xfer_free(x);
    free(url);
    free(key);
}

/* Abandons every attempt in flight and drops this instance's leases (at stop). */
static void
wh_abandon(struct wh_sender *s)
{
    while (s->xfers != NULL) {
        wh_xfer *x = s->xfers;
        s->xfers = x->next;
        curl_multi_remove_handle(s->multi, x->easy);
        wh_xfer_free(x);
    }
    s->in_flight = 0;
    for (int i = 0; i < 5 && wh_store_release(s->w, s->db) == NT_ERETRY; i++)
        ;
}

/* Opens libcurl and sets up the multi handle, at the first due delivery. NT_OK or NT_ERR
 * (logged once). */
static int
wh_multi(struct wh_sender *s)
{
    CURLM *m;

    if (s->multi != NULL)
        return NT_OK;
    if (!wh_curl_load() || (m = curl_multi_init()) == NULL) {
        if (!s->load_failed)
            s->w->api->log(s->w->self, NT_LOG_ERROR,
                           "webhooks: cannot load libcurl; deliveries stay pending");
        s->load_failed = 1;
        return NT_ERR;
    }
    if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, wh_curl_socket) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_SOCKETDATA, s) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, wh_curl_timer) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_TIMERDATA, s) != CURLM_OK) {
        curl_multi_cleanup(m);
        return NT_ERR;
    }
    if ((curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS) == 0)
        s->w->api->log(s->w->self, NT_LOG_WARN,
                       "webhooks: this libcurl resolves names synchronously; a slow DNS answer "
                       "holds up every delivery in flight");
    s->multi = m;
    return NT_OK;
}

/* libevent: stop() wrote to the wake pipe: abandon what is in flight and end the loop. */
static void
wh_on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct wh_sender *s = arg;

    (void)fd;
    (void)what;
    wh_abandon(s);
    event_base_loopbreak(s->base);
}

/* libevent: every poll_ms, claim due deliveries and start them. */
static void
wh_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct wh_sender *s = arg;
    wh_job *jobs = NULL;
    int n = 0, rc;

    (void)fd;
    (void)what;
    if (s->multi == NULL && (wh_store_due_any(s->w, s->db) <= 0 || wh_multi(s) != NT_OK))
        return;
    rc = wh_store_claim(s->w, s->db, s->w->max_in_flight - s->in_flight, &jobs, &n);
    if (rc != NT_OK && rc != NT_ERETRY)
        s->w->api->log(s->w->self, NT_LOG_ERROR, "webhooks: cannot claim deliveries: %s",
                       s->w->api->db_errmsg(s->db));
    for (int i = 0; i < n; i++)
        wh_begin(s, &jobs[i]);
    wh_jobs_free(jobs, n);
}

/* The thread's body. */
static void *
wh_main(void *arg)
{
    struct wh_sender *s = arg;

    event_base_dispatch(s->base);
    return NULL;
}

/* Frees the sender's loop objects and closes its connection. NULL is fine. */
static void
wh_sender_free(struct wh_sender *s)
{
    if (s == NULL)
        return;
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    if (s->tick != NULL)
        event_free(s->tick);
    if (s->curl_timer != NULL)
        event_free(s->curl_timer);
    if (s->wake_ev != NULL)
        event_free(s->wake_ev);
    for (int i = 0; i < 2; i++) {
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    }
    if (s->base != NULL)
        event_base_free(s->base);
    if (s->db != NULL)
        s->w->api->db_close(s->db);
    free(s);
}

int
wh_sender_start(wh_plugin *w)
{
    const nt_host_api *api = w->api;
    struct wh_sender *s = calloc(1, sizeof(*s));
    struct timeval tv = {w->poll_ms / 1000, (w->poll_ms % 1000) * 1000};
    char err[256] = "";

    if (s == NULL)
        return NT_ENOMEM;
    s->w = w;
    s->wake[0] = s->wake[1] = -1;
    if ((s->db = api->db_open(w->self, err, sizeof(err))) == NULL) {
        api->init_error(w->self, "cannot open a storage connection for deliveries: %s", err);
        goto fail;
    }
    if ((s->base = event_base_new()) == NULL ||
        (s->tick = event_new(s->base, -1, EV_PERSIST, wh_on_tick, s)) == NULL ||
        (s->curl_timer = evtimer_new(s->base, wh_on_curl_timer, s)) == NULL ||
        event_add(s->tick, &tv) != 0 || pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        (s->wake_ev = event_new(s->base, s->wake[0], EV_READ, wh_on_wake, s)) == NULL ||
        event_add(s->wake_ev, NULL) != 0) {
        api->init_error(w->self, "cannot set up the delivery loop");
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, wh_main, s) != 0) {
        api->init_error(w->self, "cannot start the delivery thread");
        goto fail;
    }
    (void)pthread_setname_np(s->thread, "nettu-webhooks"); /* for top -H; cosmetic */
    w->sender = s;
    return NT_OK;
fail:
    wh_sender_free(s);
    return NT_ERR;
}

void
wh_sender_stop(wh_plugin *w)
{
    struct wh_sender *s = w != NULL ? w->sender : NULL;

    if (s == NULL)
        return;
    while (write(s->wake[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(s->thread, NULL);
    wh_sender_free(s);
    w->sender = NULL;
}

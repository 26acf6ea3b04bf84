/* The benchmark's baseline: a bare libevent evhttp server listening the way nettu does
 * (core/server.c): N worker threads, each with its own event_base and evhttp, sharing ONE
 * non-blocking listening socket through their own evconnlistener. It answers every request
 * on any path with the same fixed ~200-byte JSON document, so the ratio nettu/baseline shows
 * what nettu's own work costs on top of libevent.
 *
 * Usage: baseline PORT WORKERS (listens on 127.0.0.1 only; SIGINT/SIGTERM end it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>

#define BASE_MAX_WORKERS 256

/* 200 bytes of JSON, about the size of a small nettu reply (a calendar). */
static const char base_body[] =
    "{\"calendar\":{\"id\":\"0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f11\",\"userId\":"
    "\"7d3c1a52-2b7e-4c11-8d55-96e0f4a3b2c1\",\"settings\":{\"timezone\":\"UTC\","
    "\"weekStart\":\"Mon\"},\"metadata\":{},\"baseline\":\"libevent evhttp\"}}";

typedef struct base_worker {
    pthread_t thread;
    int started;
    struct event_base *base;
    struct evhttp *http;
} base_worker;

static base_worker base_workers[BASE_MAX_WORKERS];
static int base_nworkers;

/* Answers any request with the fixed document. */
static void
base_on_request(struct evhttp_request *req, void *arg)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add_reference(out, base_body, sizeof(base_body) - 1, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

/* Opens the shared non-blocking listening socket on 127.0.0.1:port; -1 on failure. */
static int
base_listen(int port)
{
    struct sockaddr_in sin;
    int fd, one = 1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Creates one worker's loop, HTTP server and listener on the shared socket fd. Returns 0 or
 * -1; what was made is freed by base_worker_fini(). */
static int
base_worker_init(base_worker *w, int fd)
{
    struct evconnlistener *lev;

    w->base = event_base_new();
    w->http = w->base != NULL ? evhttp_new(w->base) : NULL;
    if (w->http == NULL)
        return -1;
    evhttp_set_gencb(w->http, base_on_request, NULL);
    lev = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (lev == NULL)
        return -1;
    if (evhttp_bind_listener(w->http, lev) == NULL) {
        evconnlistener_free(lev);
        return -1;
    }
    return 0;
}

/* Frees a worker's HTTP server (with its listener) and loop; safe on a half-made worker. */
static void
base_worker_fini(base_worker *w)
{
    if (w->http != NULL)
        evhttp_free(w->http);
    if (w->base != NULL)
        event_base_free(w->base);
    w->http = NULL;
    w->base = NULL;
}

static void *
base_worker_main(void *arg)
{
    base_worker *w = arg;

    event_base_dispatch(w->base);
    return NULL;
}

/* Parses a decimal int in [lo, hi]; -1 when it is not one. */
static int
base_parse_int(const char *s, int lo, int hi)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    return (int)v;
}

int
main(int argc, char **argv)
{
    sigset_t sigs, old;
    int port, fd = -1, sig = 0, rc = 1;

    if (argc != 3 || (port = base_parse_int(argv[1], 1, 65535)) < 0 ||
        (base_nworkers = base_parse_int(argv[2], 1, BASE_MAX_WORKERS)) < 0) {
        fprintf(stderr, "usage: %s PORT WORKERS (1..%d)\n", argv[0], BASE_MAX_WORKERS);
        return 2;
    }
    /* As nettu does (core/main.c): locking on, so the loops cost the same. */
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "baseline: libevent has no pthreads support\n");
        return 1;
    }
    fd = base_listen(port);
    if (fd < 0) {
        fprintf(stderr, "baseline: cannot listen on 127.0.0.1 port %d: %s\n", port,
                strerror(errno));
        return 1;
    }
    for (int i = 0; i < base_nworkers; i++) {
        if (base_worker_init(&base_workers[i], fd) != 0) {
            fprintf(stderr, "baseline: cannot set up worker %d\n", i);
            goto out;
        }
    }
    /* Workers never take signals; the main thread waits for SIGINT or SIGTERM. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    for (int i = 0; i < base_nworkers; i++) {
        if (pthread_create(&base_workers[i].thread, NULL, base_worker_main, &base_workers[i]) !=
            0) {
            fprintf(stderr, "baseline: cannot start worker %d\n", i);
            goto stop;
        }
        base_workers[i].started = 1;
    }
    fprintf(stderr, "baseline listening on 127.0.0.1 port %d with %d workers\n", port,
            base_nworkers);
    do {
        if (sigwait(&sigs, &sig) != 0)
            break;
    } while (sig == SIGPIPE);
    rc = 0;
stop:
    for (int i = 0; i < base_nworkers; i++)
        if (base_workers[i].started)
            event_base_loopbreak(base_workers[i].base);
    for (int i = 0; i < base_nworkers; i++)
        if (base_workers[i].started)
            pthread_join(base_workers[i].thread, NULL);
out:
    for (int i = 0; i < base_nworkers; i++)
        base_worker_fini(&base_workers[i]);
    close(fd);
    return rc;
}

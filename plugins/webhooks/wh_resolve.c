/* A bounded name lookup: getaddrinfo on a detached thread of its own, waited for at most a
 * given time. A lookup that takes longer is left to finish alone (getaddrinfo cannot be
 * cancelled) and frees its own result; at most WH_RESOLVE_THREADS such threads run at once,
 * so slow names cannot pile up threads. The object holding this code is pinned in memory
 * before the first thread starts (a straggler must not run code of an unloaded plugin).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_NOLOAD, RTLD_NODELETE */
#endif
#include "wh.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct wh_lookup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the caller and the thread; under mu */
    int done; /* under mu */
    int gai;  /* fn's result; under mu */
    struct addrinfo *res;
    wh_gai_fn fn;
    char host[];
} wh_lookup;

static atomic_int wh_lookups; /* lookup threads running (or about to) */
static atomic_int wh_waiters; /* callers waiting in wh_resolve */
static pthread_once_t wh_pin_once = PTHREAD_ONCE_INIT;

/* Makes the object holding this code undeletable (a later dlclose keeps it mapped). */
static void
wh_pin_self(void)
{
    Dl_info info;

    if (dladdr((void *)&wh_resolve, &info) != 0 && info.dli_fname != NULL)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

/* Drops one reference (l->mu held on entry, released here); the last one frees l. */
static void
wh_lookup_unref(wh_lookup *l)
{
    int last = --l->refs == 0;

    pthread_mutex_unlock(&l->mu);
    if (!last)
        return;
    if (l->res != NULL)
        freeaddrinfo(l->res);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The lookup thread. */
static void *
wh_lookup_main(void *arg)
{
    wh_lookup *l = arg;
    struct addrinfo hints, *res = NULL;
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    gai = l->fn(l->host, NULL, &hints, &res);
    pthread_mutex_lock(&l->mu);
    l->gai = gai;
    l->res = gai == 0 ? res : NULL;
    l->done = 1;
    pthread_cond_signal(&l->cv);
    wh_lookup_unref(l);
    atomic_fetch_sub(&wh_lookups, 1);
    return NULL;
}

int
wh_resolve_running(void)
{
    return atomic_load(&wh_lookups);
}

/* Starts the lookup thread of l (detached). 0 or -1. */
static int
wh_lookup_start(wh_lookup *l)
{
    pthread_attr_t ta;
    pthread_t t;
    int rc;

    if (pthread_attr_init(&ta) != 0)
        return -1;
    rc = pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED) == 0 &&
                 pthread_create(&t, &ta, wh_lookup_main, l) == 0
             ? 0
             : -1;
    pthread_attr_destroy(&ta);
    return rc;
}

/* Allocates a lookup of host (two references) with a monotonic condition variable. */
static wh_lookup *
wh_lookup_new(const char *host, wh_gai_fn fn)
{
    size_t n = strlen(host);
    wh_lookup *l = calloc(1, sizeof(*l) + n + 1);
    pthread_condattr_t ca;
    int ok;

    if (l == NULL)
        return NULL;
    if (pthread_condattr_init(&ca) != 0) {
        free(l);
        return NULL;
    }
    ok =
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&l->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok || pthread_mutex_init(&l->mu, NULL) != 0) {
        if (ok)
            pthread_cond_destroy(&l->cv);
        free(l);
        return NULL;
    }
    memcpy(l->host, host, n + 1);
    l->fn = fn != NULL ? fn : getaddrinfo;
    l->refs = 2;
    return l;
}

/* wh_resolve once the caller counts as a waiter. */
static int
wh_resolve_waiting(const char *host, int timeout_ms, wh_gai_fn fn, struct addrinfo **res, int *gai)
{
    wh_lookup *l;
    struct timespec until;
    int rc, w = 0;

    *res = NULL;
    *gai = 0;
    if (atomic_fetch_add(&wh_lookups, 1) >= WH_RESOLVE_THREADS) {
        atomic_fetch_sub(&wh_lookups, 1);
        return NT_EUNAVAIL;
    }
    pthread_once(&wh_pin_once, wh_pin_self);
    if ((l = wh_lookup_new(host, fn)) == NULL) {
        atomic_fetch_sub(&wh_lookups, 1);
        return NT_ENOMEM;
    }
    if (wh_lookup_start(l) != 0) {
        l->refs = 1;
        pthread_mutex_lock(&l->mu);
        wh_lookup_unref(l);
        atomic_fetch_sub(&wh_lookups, 1);
        return NT_ERR;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->done && w != ETIMEDOUT)
        w = pthread_cond_timedwait(&l->cv, &l->mu, &until);
    if (l->done) {
        *gai = l->gai;
        *res = l->res;
        l->res = NULL;
        rc = l->gai == 0 ? NT_OK : NT_EINVAL;
    } else {
        rc = NT_EUNAVAIL;
    }
    wh_lookup_unref(l);
    return rc;
}

int
wh_resolve(const char *host, int timeout_ms, wh_gai_fn fn, struct addrinfo **res, int *gai)
{
    int rc;

    *res = NULL;
    *gai = 0;
    if (atomic_fetch_add(&wh_waiters, 1) >= WH_RESOLVE_WAITERS) {
        atomic_fetch_sub(&wh_waiters, 1);
        return NT_ECONFLICT;
    }
    rc = wh_resolve_waiting(host, timeout_ms, fn, res, gai);
    atomic_fetch_sub(&wh_waiters, 1);
    return rc;
}

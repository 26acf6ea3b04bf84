/* The current key set behind a mutex held only to swap or take a reference. */
#include "jwks_ring.h"

#include <pthread.h>
#include <stdlib.h>

#include <nettu/plugin.h>

struct jwks_ring {
    pthread_mutex_t lock;
    jwks_set *cur; /* the ring's reference; NULL before the first install */
    int64_t version;
};

jwks_ring *
jwks_ring_new(void)
{
    jwks_ring *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

void
jwks_ring_free(jwks_ring *r)
{
    if (r == NULL)
        return;
    jwks_set_unref(r->cur);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int64_t
jwks_ring_install(jwks_ring *r, jwks_set *s)
{
    jwks_set *old;
    int64_t version;

    pthread_mutex_lock(&r->lock);
    old = r->cur;
    r->cur = s;
    version = ++r->version;
    pthread_mutex_unlock(&r->lock);
    jwks_set_unref(old); /* freed here unless a reader still holds it */
    return version;
}

jwks_set *
jwks_ring_acquire(jwks_ring *r, int64_t *version)
{
    jwks_set *s;

    pthread_mutex_lock(&r->lock);
    s = r->cur != NULL ? jwks_set_ref(r->cur) : NULL;
    *version = s != NULL ? r->version : 0;
    pthread_mutex_unlock(&r->lock);
    return s;
}

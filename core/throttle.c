/* Fixed-window failure counters per address. */
#include "throttle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <nettu/plugin.h>

#include "addrtab.h"

struct throttle {
    pthread_mutex_t lock;
    addrtab tab; /* count = failures in the window that began at stamp (ms) */
    int limit;
    int64_t window_ms;
    atomic_size_t live; /* entries in tab: 0 lets every request skip the lock */
};

throttle *
throttle_new(int limit, int window_s, size_t capacity)
{
    throttle *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    if (addrtab_init(&t->tab, capacity) != NT_OK) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->limit = limit;
    t->window_ms = (int64_t)window_s * 1000;
    atomic_init(&t->live, 0);
    return t;
}

void
throttle_free(throttle *t)
{
    if (t == NULL)
        return;
    addrtab_fini(&t->tab);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Drops every entry whose window is over. Locked. */
static void
throttle_sweep(throttle *t, int64_t now_ms)
{
    for (size_t i = 0; i <= t->tab.mask; i++) {
        addrtab_entry *e = &t->tab.slots[i];
        /* Removal shifts later entries into slot i: look at it again. */
        while (e->used && now_ms - e->stamp >= t->window_ms)
            addrtab_remove(&t->tab, e);
    }
}

int
throttle_blocked(throttle *t, const unsigned char addr[16], int64_t now_ms)
{
    unsigned char key[16];
    addrtab_entry *e;
    int wait = 0;

    if (atomic_load_explicit(&t->live, memory_order_relaxed) == 0)
        return 0;
    addrtab_key_of(addr, key);
    pthread_mutex_lock(&t->lock);
    e = addrtab_find(&t->tab, key);
    if (e != NULL && now_ms - e->stamp >= t->window_ms) {
        addrtab_remove(&t->tab, e); /* its window is over */
        atomic_store_explicit(&t->live, t->tab.n, memory_order_relaxed);
    } else if (e != NULL && e->count >= (uint32_t)t->limit) {
        wait = (int)((e->stamp + t->window_ms - now_ms + 999) / 1000);
    }
    pthread_mutex_unlock(&t->lock);
    return wait;
}

void
throttle_fail(throttle *t, const unsigned char addr[16], int64_t now_ms)
{
    unsigned char key[16];
    addrtab_entry *e;

    addrtab_key_of(addr, key);
    pthread_mutex_lock(&t->lock);
    e = addrtab_get(&t->tab, key);
    if (e == NULL) {
        throttle_sweep(t, now_ms);
        e = addrtab_get(&t->tab, key);
    }
    if (e == NULL) {
        /* Still full: make room by dropping some other address (the first one found from a
         * position chosen by the new key). */
        size_t i = (size_t)(key[15] ^ key[7] * 131u ^ key[13] * 7919u) & t->tab.mask;
        while (!t->tab.slots[i].used)
            i = (i + 1) & t->tab.mask;
        addrtab_remove(&t->tab, &t->tab.slots[i]);
        e = addrtab_get(&t->tab, key);
    }
    if (e != NULL) {
        if (e->count == 0 || now_ms - e->stamp >= t->window_ms) {
            e->stamp = now_ms;
            e->count = 0;
        }
        e->count++;
    }
    atomic_store_explicit(&t->live, t->tab.n, memory_order_relaxed);
    pthread_mutex_unlock(&t->lock);
}

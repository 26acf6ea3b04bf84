/* Connections per address. */
#include "ipcount.h"

#include <pthread.h>
#include <stdlib.h>

#include <nettu/plugin.h>

#include "addrtab.h"

struct ipcount {
    pthread_mutex_t lock;
    addrtab tab; /* count = open connections */
    int per_ip;
};

ipcount *
ipcount_new(int per_ip, size_t capacity)
{
    ipcount *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (addrtab_init(&c->tab, capacity) != NT_OK) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->per_ip = per_ip;
    return c;
}

void
ipcount_free(ipcount *c)
{
    if (c == NULL)
        return;
    addrtab_fini(&c->tab);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int
ipcount_acquire(ipcount *c, const unsigned char addr[16])
{
    unsigned char key[16];
    addrtab_entry *e;
    int rc = NT_EUNAVAIL;

    addrtab_key_of(addr, key);
    pthread_mutex_lock(&c->lock);
    e = addrtab_get(&c->tab, key);
    if (e != NULL && e->count < (uint32_t)c->per_ip) {
        e->count++;
        rc = NT_OK;
    } else if (e != NULL && e->count == 0) {
        addrtab_remove(&c->tab, e);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void
ipcount_release(ipcount *c, const unsigned char addr[16])
{
    unsigned char key[16];
    addrtab_entry *e;

    addrtab_key_of(addr, key);
    pthread_mutex_lock(&c->lock);
    e = addrtab_find(&c->tab, key);
    if (e != NULL && --e->count == 0)
        addrtab_remove(&c->tab, e);
    pthread_mutex_unlock(&c->lock);
}

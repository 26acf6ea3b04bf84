/* A set of pointers (open-addressing, linear probing, backward-shift deletion) with a fixed
 * capacity: the connections a worker is counting. One thread only.
 */
#ifndef NETTU_CONNSET_H
#define NETTU_CONNSET_H

#include <stddef.h>

typedef struct connset {
    const void **slots;
    size_t mask; /* capacity - 1, capacity a power of two */
    size_t count;
} connset;

/* Sizes the set for at least `max` members. NT_OK or NT_ENOMEM. */
int connset_init(connset *s, size_t max);
void connset_fini(connset *s);

/* 1 when p is a member. */
int connset_has(const connset *s, const void *p);
/* Adds p (not NULL, not a member); NT_OK, or NT_ENOMEM when the set is 3/4 full. */
int connset_add(connset *s, const void *p);
/* Removes p if present. */
void connset_del(connset *s, const void *p);

#endif

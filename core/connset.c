/* Pointer set for connection counting. */
#include "connset.h"

#include <stdint.h>
#include <stdlib.h>

#include <nettu/plugin.h>

static size_t
connset_hash(const connset *s, const void *p)
{
    uintptr_t x = (uintptr_t)p;

    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & s->mask;
}

int
connset_init(connset *s, size_t max)
{
    size_t cap = 16;

    while (cap < max + max / 2 + 1)
        cap *= 2;
    s->slots = calloc(cap, sizeof(*s->slots));
    s->mask = cap - 1;
    s->count = 0;
    return s->slots != NULL ? NT_OK : NT_ENOMEM;
}

void
connset_fini(connset *s)
{
    free(s->slots);
    s->slots = NULL;
    s->count = 0;
}

int
connset_has(const connset *s, const void *p)
{
    for (size_t i = connset_hash(s, p);; i = (i + 1) & s->mask) {
        if (s->slots[i] == p)
            return 1;
        if (s->slots[i] == NULL)
            return 0;
    }
}

int
connset_add(connset *s, const void *p)
{
    size_t i;

    if ((s->count + 1) * 4 > (s->mask + 1) * 3)
        return NT_ENOMEM;
    for (i = connset_hash(s, p); s->slots[i] != NULL; i = (i + 1) & s->mask)
        if (s->slots[i] == p)
            return NT_OK;
    s->slots[i] = p;
    s->count++;
    return NT_OK;
}

void
connset_del(connset *s, const void *p)
{
    size_t i = connset_hash(s, p), j;

    while (s->slots[i] != p) {
        if (s->slots[i] == NULL)
            return;
        i = (i + 1) & s->mask;
    }
    s->slots[i] = NULL;
    s->count--;
    /* Backward-shift the following cluster so lookups never stop early. */
    for (j = (i + 1) & s->mask; s->slots[j] != NULL; j = (j + 1) & s->mask) {
        size_t home = connset_hash(s, s->slots[j]);
        /* Move slots[j] into the hole when its home is not in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            s->slots[i] = s->slots[j];
            s->slots[j] = NULL;
            i = j;
        }
    }
}

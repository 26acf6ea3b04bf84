/* Address-keyed hash table. */
#include "addrtab.h"

#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

#include "util.h"

int
addrtab_init(addrtab *t, size_t max)
{
    size_t cap = 16;

    memset(t, 0, sizeof(*t));
    while (cap < max + max / 2 + 1)
        cap *= 2;
    t->slots = calloc(cap, sizeof(*t->slots));
    if (t->slots == NULL)
        return NT_ENOMEM;
    t->mask = cap - 1;
    t->max = max;
    if (util_random_bytes(&t->seed, sizeof(t->seed)) != NT_OK)
        t->seed = (uint64_t)util_mono_us() * 0x9E3779B97F4A7C15ull;
    return NT_OK;
}

void
addrtab_fini(addrtab *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    t->slots = NULL;
    t->n = 0;
}

static size_t
addrtab_hash(const addrtab *t, const unsigned char key[16])
{
    uint64_t a, b, x;

    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    x = (a ^ t->seed) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    x = (x ^ b) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return (size_t)x & t->mask;
}

addrtab_entry *
addrtab_find(addrtab *t, const unsigned char key[16])
{
    for (size_t i = addrtab_hash(t, key);; i = (i + 1) & t->mask) {
        if (!t->slots[i].used)
            return NULL;
        if (memcmp(t->slots[i].key, key, 16) == 0)
            return &t->slots[i];
    }
}

addrtab_entry *
addrtab_get(addrtab *t, const unsigned char key[16])
{
    size_t i;

    for (i = addrtab_hash(t, key); t->slots[i].used; i = (i + 1) & t->mask)
        if (memcmp(t->slots[i].key, key, 16) == 0)
            return &t->slots[i];
    if (t->n >= t->max)
        return NULL;
    memcpy(t->slots[i].key, key, 16);
    t->slots[i].used = 1;
    t->slots[i].count = 0;
    t->slots[i].stamp = 0;
    t->n++;
    return &t->slots[i];
}

void
addrtab_remove(addrtab *t, addrtab_entry *e)
{
    size_t i = (size_t)(e - t->slots), j;

    t->slots[i].used = 0;
    t->n--;
    /* Backward-shift the following cluster so lookups never stop early. */
    for (j = (i + 1) & t->mask; t->slots[j].used; j = (j + 1) & t->mask) {
        size_t home = addrtab_hash(t, t->slots[j].key);
        /* Move slots[j] into the hole when its home is not in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            t->slots[i] = t->slots[j];
            t->slots[j].used = 0;
            i = j;
        }
    }
}

void
addrtab_key_of(const unsigned char addr[16], unsigned char key[16])
{
    static const unsigned char v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memcpy(key, addr, 16);
    if (memcmp(addr, v4, sizeof(v4)) != 0)
        memset(key + 8, 0, 8);
}

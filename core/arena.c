/* Scratch memory in blocks of at least 512 max_align_t units. */
#include "arena.h"

#include <stdlib.h>

struct arena_block {
    struct arena_block *next;
    size_t used, cap; /* in max_align_t units */
    max_align_t data[];
};

void *
arena_alloc(arena *a, size_t n)
{
    arena_block *b = a->blocks;
    size_t need = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t);

    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > 512 ? need : 512;
        b = malloc(sizeof(*b) + cap * sizeof(max_align_t));
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->blocks;
        a->blocks = b;
    }
    b->used += need;
    return b->data + (b->used - need);
}

void
arena_free(arena *a)
{
    arena_block *b, *next;

    if (a == NULL)
        return;
    for (b = a->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->blocks = NULL;
}

/* Request scratch memory (req_alloc): blocks freed together when the request ends. Shared by
 * the host and the plugin tests' fake host. One thread at a time.
 */
#ifndef NETTU_ARENA_H
#define NETTU_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *blocks; /* NULL when empty; zero-initialise */
} arena;

/* n bytes aligned for any type, valid until arena_free; NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);

/* Frees every block; the arena is empty (and reusable) afterwards. NULL is fine. */
void arena_free(arena *a);

#endif

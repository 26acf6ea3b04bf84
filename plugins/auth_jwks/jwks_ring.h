/* The key set in use, swapped whole on reload: readers take a reference to the current set
 * and its version; a reload installs a completely parsed new set under the lock. Every
 * install gets a new version, so anything cached against an older version is stale.
 */
#ifndef JWKS_RING_H
#define JWKS_RING_H

#include <stdint.h>

#include "jwks_set.h"

typedef struct jwks_ring jwks_ring;

/* An empty ring (no set yet); NULL when out of memory. Free with jwks_ring_free(). */
jwks_ring *jwks_ring_new(void);

/* Drops the ring's reference to its set and frees the ring; NULL is fine. No other thread
 * may use it; references readers still hold stay valid. */
void jwks_ring_free(jwks_ring *r);

/* Makes `s` (taken) the current set with the next version (1, 2, ...), and drops the ring's
 * reference to the previous one. Returns the new version. Any thread. */
int64_t jwks_ring_install(jwks_ring *r, jwks_set *s);

/* The current set with a new reference the caller drops with jwks_set_unref(), and its
 * version in *version; NULL (and version 0) before the first install. Any thread. */
jwks_set *jwks_ring_acquire(jwks_ring *r, int64_t *version);

#endif /* JWKS_RING_H */

/* The authentication throttle: failed authentications (401 answers) are counted per client
 * address (IPv6 by /64) in a fixed window; an address with `limit` failures in its window is
 * refused (429 with Retry-After) until the window ends. Shared by every worker (one lock;
 * requests skip it while no address has failures), bounded memory (`capacity` addresses;
 * when full, expired windows are dropped first, then some other address).
 */
#ifndef NETTU_THROTTLE_H
#define NETTU_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct throttle throttle;

/* limit failures per window_s seconds. NULL when out of memory. */
throttle *throttle_new(int limit, int window_s, size_t capacity);
void throttle_free(throttle *t); /* NULL is fine */

/* Seconds the address must wait (> 0) when it is blocked at now_ms, else 0. */
int throttle_blocked(throttle *t, const unsigned char addr[16], int64_t now_ms);

/* Counts one failed authentication of the address at now_ms. */
void throttle_fail(throttle *t, const unsigned char addr[16], int64_t now_ms);

#endif

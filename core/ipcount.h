/* [server] max_connections_per_ip: open connections counted per client address (IPv6 by
 * /64) across every worker. One lock, bounded memory (`capacity` addresses).
 */
#ifndef NETTU_IPCOUNT_H
#define NETTU_IPCOUNT_H

#include <stddef.h>

typedef struct ipcount ipcount;

/* At most per_ip connections per address. NULL when out of memory. */
ipcount *ipcount_new(int per_ip, size_t capacity);
void ipcount_free(ipcount *c); /* NULL is fine */

/* Counts one more connection of addr: NT_OK, or NT_EUNAVAIL (not counted) when the address
 * is at its limit or the table is full. */
int ipcount_acquire(ipcount *c, const unsigned char addr[16]);

/* Forgets one connection of addr counted by ipcount_acquire. */
void ipcount_release(ipcount *c, const unsigned char addr[16]);

#endif

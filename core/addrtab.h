/* A fixed-capacity hash table keyed by 16-byte client addresses (open addressing, linear
 * probing, backward-shift deletion, a random hash seed): the per-address counters of the
 * connection limit and of the authentication throttle. Not thread-safe: its owner locks.
 */
#ifndef NETTU_ADDRTAB_H
#define NETTU_ADDRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct addrtab_entry {
    unsigned char key[16];
    uint32_t count;
    int used;
    int64_t stamp; /* the owner's (a time) */
} addrtab_entry;

typedef struct addrtab {
    addrtab_entry *slots;
    size_t mask; /* slots - 1, a power of two */
    size_t n, max;
    uint64_t seed;
} addrtab;

/* Sizes the table for `max` entries. NT_OK or NT_ENOMEM. */
int addrtab_init(addrtab *t, size_t max);
void addrtab_fini(addrtab *t); /* NULL-safe, and safe on a zeroed table */

/* The entry of key, or NULL. Valid until the next insert or remove. */
addrtab_entry *addrtab_find(addrtab *t, const unsigned char key[16]);

/* The entry of key, added (count 0, stamp 0) when missing; NULL when the table holds `max`
 * entries already. */
addrtab_entry *addrtab_get(addrtab *t, const unsigned char key[16]);

/* Removes e (an entry of t). */
void addrtab_remove(addrtab *t, addrtab_entry *e);

/* The key under which an address is counted: IPv6 addresses by their /64 prefix (one
 * customer network; a single host can use all of it), IPv4 as they are. */
void addrtab_key_of(const unsigned char addr[16], unsigned char key[16]);

#endif

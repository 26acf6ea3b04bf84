/* The memo of a group commit (group.h): values that handlers read inside one group and keep
 * for the later requests of the same group (ABI 1.6 memo_get / memo_put). A group holds the
 * store's write lock from its open to its commit, so stored data changes meanwhile only
 * through the group's own requests; a plugin keeps in it what no group route writes, or what
 * its own writes keep exact. Emptied (every value freed) when the group ends, and when one of
 * its requests fails or runs again (pipeline.c). Shared by the host and the plugin tests'
 * fake host. One thread at a time.
 */
#ifndef NETTU_MEMO_H
#define NETTU_MEMO_H

#include <stddef.h>
#include <stdint.h>

/* Most values one memo keeps (a round-robin booking of a service with n hosts keeps about
 * 2 + 5n); lookups compare a hash per value. */
#define MEMO_MAX 64

typedef struct memo_entry {
    uint64_t hash;
    char *key; /* malloc'd, owned */
    void *value;
    void (*free_fn)(void *value);
} memo_entry;

typedef struct group_memo {
    memo_entry v[MEMO_MAX];
    size_t n;
} group_memo; /* zero-initialise */

/* The value kept under key, or NULL (none, or m or key NULL). Borrowed until memo_clear. */
void *memo_get(const group_memo *m, const char *key);

/* Keeps value under key (copied) until memo_clear, which frees it with free_fn (may be NULL:
 * nothing to free). NT_OK when m took value; otherwise m did not take it and the caller still
 * owns it: NT_ECONFLICT when key is there already, NT_EUNAVAIL when m is full, NT_ENOMEM,
 * NT_ERR for a NULL m, key or value. */
int memo_put(group_memo *m, const char *key, void *value, void (*free_fn)(void *value));

/* Frees every value (free_fn) and key; m is empty and reusable. NULL is fine. */
void memo_clear(group_memo *m);

#endif

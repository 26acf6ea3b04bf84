/* Verified tokens by digest: 4-way set-associative, expired entries replaced first, then
 * FIFO inside a set, striped mutexes. Policies are kept as private copies and handed out as
 * the cached policy by reference when jansson's reference counts are atomic (2.14 and later;
 * the value is never modified), else as fresh copies. */
#include "tokcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TC_WAYS 4
#define TC_LOCKS 64

typedef struct tc_entry {
    unsigned char digest[TOKCACHE_DIGEST];
    char account[NT_UUID_BUF];
    char user[NT_UUID_BUF];
    unsigned char used;
    int64_t version, valid_from, exp;
    json_t *policy; /* the cache's own copy; NULL for the default policy */
} tc_entry;

struct tokcache {
    size_t nsets, nlocks;
    tc_entry *entries;      /* nsets * TC_WAYS */
    unsigned char *next;    /* per set: the way replaced next when the set is full */
    pthread_mutex_t *locks; /* nlocks stripes; set i uses i % nlocks */
};

tokcache *
tokcache_new(size_t capacity)
{
    tokcache *c = calloc(1, sizeof(*c));
    size_t i = 0;

    if (c == NULL)
        return NULL;
    c->nsets = (capacity + TC_WAYS - 1) / TC_WAYS;
    if (c->nsets == 0)
        return c;
    c->nlocks = c->nsets < TC_LOCKS ? c->nsets : TC_LOCKS;
    c->entries = calloc(c->nsets * TC_WAYS, sizeof(*c->entries));
    c->next = calloc(c->nsets, 1);
    c->locks = calloc(c->nlocks, sizeof(*c->locks));
    if (c->entries == NULL || c->next == NULL || c->locks == NULL)
        goto fail;
    for (i = 0; i < c->nlocks; i++) {
        if (pthread_mutex_init(&c->locks[i], NULL) != 0)
            goto fail;
    }
    return c;
fail:
    while (c->locks != NULL && i-- > 0)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->locks);
    free(c->next);
    free(c->entries);
    free(c);
    return NULL;
}

void
tokcache_free(tokcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nsets * TC_WAYS; i++)
        json_decref(c->entries[i].policy);
    for (size_t i = 0; i < c->nlocks; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->locks);
    free(c->next);
    free(c->entries);
    free(c);
}

/* The set of a digest: its first 8 bytes are already uniformly distributed. */
static size_t
tc_set(const tokcache *c, const unsigned char *digest)
{
    uint64_t h;

    memcpy(&h, digest, sizeof(h));
    return (size_t)(h % c->nsets);
}

/* Empties an entry; returns the policy reference it held for release outside the lock. */
static json_t *
tc_clear(tc_entry *e)
{
    json_t *p = e->policy;

    memset(e, 0, sizeof(*e));
    return p;
}

int
tokcache_get(tokcache *c, const unsigned char digest[TOKCACHE_DIGEST], const char *account_id,
             int64_t version, int64_t now_s, char user_id[NT_UUID_BUF], json_t **policy)
{
    json_t *stale = NULL;
    size_t set;
    tc_entry *e;
    int rc = NT_ENOTFOUND;

    *policy = NULL;
    if (c == NULL || c->nsets == 0)
        return NT_ENOTFOUND;
    set = tc_set(c, digest);
    e = &c->entries[set * TC_WAYS];
    pthread_mutex_lock(&c->locks[set % c->nlocks]);
    for (int w = 0; w < TC_WAYS; w++) {
        if (!e[w].used || memcmp(e[w].digest, digest, TOKCACHE_DIGEST) != 0 ||
            strcmp(e[w].account, account_id) != 0)
            continue;
        if (e[w].version != version || e[w].exp < now_s) {
            stale = tc_clear(&e[w]); /* the key changed or the token expired: never again */
            break;
        }
        if (now_s < e[w].valid_from)
            break; /* not valid yet (the clock stepped back): verified afresh, and refused */
        if (e[w].policy != NULL) {
#if defined(JANSSON_THREAD_SAFE_REFCOUNT) && JANSSON_THREAD_SAFE_REFCOUNT
            /* Atomic reference counts (jansson >= 2.14): the cached policy is never
             * modified, so every request can share it. */
            *policy = json_incref(e[w].policy);
#else
            *policy = json_deep_copy(e[w].policy);
#endif
            if (*policy == NULL)
                break; /* out of memory: a miss, the caller verifies afresh */
        }
        memcpy(user_id, e[w].user, NT_UUID_BUF);
        rc = NT_OK;
        break;
    }
    pthread_mutex_unlock(&c->locks[set % c->nlocks]);
    json_decref(stale);
    return rc;
}

void
tokcache_put(tokcache *c, const unsigned char digest[TOKCACHE_DIGEST], const char *account_id,
             int64_t version, const char *user_id, const json_t *policy, int64_t valid_from,
             int64_t exp, int64_t now_s)
{
    json_t *copy = NULL, *old = NULL;
    size_t set;
    tc_entry *e;
    int way = -1;

    if (c == NULL || c->nsets == 0 || strlen(account_id) != NT_UUID_LEN ||
        strlen(user_id) != NT_UUID_LEN)
        return;
    if (policy != NULL && (copy = json_deep_copy(policy)) == NULL)
        return; /* out of memory: simply not cached */
    set = tc_set(c, digest);
    e = &c->entries[set * TC_WAYS];
    pthread_mutex_lock(&c->locks[set % c->nlocks]);
    for (int w = 0; w < TC_WAYS && way < 0; w++) { /* the same token for the same account */
        if (e[w].used && memcmp(e[w].digest, digest, TOKCACHE_DIGEST) == 0 &&
            strcmp(e[w].account, account_id) == 0)
            way = w;
    }
    for (int w = 0; w < TC_WAYS && way < 0; w++) {
        if (!e[w].used || e[w].exp < now_s)
            way = w;
    }
    if (way < 0) {
        way = c->next[set] % TC_WAYS;
        c->next[set] = (unsigned char)((way + 1) % TC_WAYS);
    }
    old = tc_clear(&e[way]);
    memcpy(e[way].digest, digest, TOKCACHE_DIGEST);
    memcpy(e[way].account, account_id, NT_UUID_BUF);
    memcpy(e[way].user, user_id, NT_UUID_BUF);
    e[way].version = version;
    e[way].valid_from = valid_from;
    e[way].exp = exp;
    e[way].policy = copy;
    e[way].used = 1;
    pthread_mutex_unlock(&c->locks[set % c->nlocks]);
    json_decref(old);
}

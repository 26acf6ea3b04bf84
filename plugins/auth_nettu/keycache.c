/* Parsed public keys by account: 4-way set-associative, one entry per account, FIFO
 * replacement inside a set, striped mutexes. */
#include "keycache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

#define KC_WAYS 4
#define KC_LOCKS 64

typedef struct kc_entry {
    char account[NT_UUID_BUF];
    int64_t version;
    EVP_PKEY *key; /* NULL: the slot is empty */
} kc_entry;

struct keycache {
    size_t nsets, nlocks;
    kc_entry *entries;      /* nsets * KC_WAYS */
    unsigned char *next;    /* per set: the way replaced next when the set is full */
    pthread_mutex_t *locks; /* nlocks stripes; set i uses i % nlocks */
};

/* FNV-1a over the account id. */
static uint64_t
kc_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

keycache *
keycache_new(size_t capacity)
{
    keycache *c = calloc(1, sizeof(*c));
    size_t i = 0;

    if (c == NULL)
        return NULL;
    c->nsets = (capacity + KC_WAYS - 1) / KC_WAYS;
    if (c->nsets == 0)
        return c;
    c->nlocks = c->nsets < KC_LOCKS ? c->nsets : KC_LOCKS;
    c->entries = calloc(c->nsets * KC_WAYS, sizeof(*c->entries));
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
keycache_free(keycache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nsets * KC_WAYS; i++)
        EVP_PKEY_free(c->entries[i].key);
    for (size_t i = 0; i < c->nlocks; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->locks);
    free(c->next);
    free(c->entries);
    free(c);
}

EVP_PKEY *
keycache_get(keycache *c, const char *account_id, int64_t version)
{
    EVP_PKEY *key = NULL;
    size_t set;
    kc_entry *e;

    if (c == NULL || c->nsets == 0)
        return NULL;
    set = (size_t)(kc_hash(account_id) % c->nsets);
    e = &c->entries[set * KC_WAYS];
    pthread_mutex_lock(&c->locks[set % c->nlocks]);
    for (int w = 0; w < KC_WAYS; w++) {
        if (e[w].key != NULL && e[w].version == version && strcmp(e[w].account, account_id) == 0) {
            if (EVP_PKEY_up_ref(e[w].key) == 1)
                key = e[w].key;
            break;
        }
    }
    pthread_mutex_unlock(&c->locks[set % c->nlocks]);
    return key;
}

void
keycache_put(keycache *c, const char *account_id, int64_t version, EVP_PKEY *key)
{
    EVP_PKEY *old = NULL;
    size_t set;
    kc_entry *e;
    int way = -1;

    if (c == NULL || c->nsets == 0 || key == NULL || strlen(account_id) != NT_UUID_LEN)
        return;
    set = (size_t)(kc_hash(account_id) % c->nsets);
    e = &c->entries[set * KC_WAYS];
    pthread_mutex_lock(&c->locks[set % c->nlocks]);
    for (int w = 0; w < KC_WAYS && way < 0; w++) { /* the account's older key first */
        if (e[w].key != NULL && strcmp(e[w].account, account_id) == 0)
            way = w;
    }
    if (way >= 0 && e[way].version == version) { /* another thread cached it meanwhile */
        pthread_mutex_unlock(&c->locks[set % c->nlocks]);
        return;
    }
    for (int w = 0; w < KC_WAYS && way < 0; w++) {
        if (e[w].key == NULL)
            way = w;
    }
    if (way < 0) {
        way = c->next[set] % KC_WAYS;
        c->next[set] = (unsigned char)((way + 1) % KC_WAYS);
    }
    if (EVP_PKEY_up_ref(key) == 1) {
        old = e[way].key;
        memcpy(e[way].account, account_id, NT_UUID_BUF);
        e[way].version = version;
        e[way].key = key;
    }
    EVP_PKEY_free(old); /* under the lock: see keycache_release */
    pthread_mutex_unlock(&c->locks[set % c->nlocks]);
}

void
keycache_release(keycache *c, const char *account_id, EVP_PKEY *key)
{
    size_t set;

    if (key == NULL)
        return;
    if (c == NULL || c->nsets == 0 || account_id == NULL) {
        EVP_PKEY_free(key);
        return;
    }
    set = (size_t)(kc_hash(account_id) % c->nsets);
    pthread_mutex_lock(&c->locks[set % c->nlocks]);
    EVP_PKEY_free(key);
    pthread_mutex_unlock(&c->locks[set % c->nlocks]);
}

/* A bounded, thread-safe cache of parsed account public keys keyed by (account id, key
 * version), so a request costs a version lookup instead of a PEM parse.
 */
#ifndef AUTH_KEYCACHE_H
#define AUTH_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

typedef struct keycache keycache;

/* A cache holding at most `capacity` keys (rounded up to a multiple of 4); 0 makes a cache
 * that keeps nothing. NULL when out of memory. Free with keycache_free(). */
keycache *keycache_new(size_t capacity);

/* Frees the cache and drops its key references; NULL is fine. No other thread may use it. */
void keycache_free(keycache *c);

/* The key cached for (account_id, version) with a new reference the caller gives back with
 * keycache_release(), or NULL on a miss. Any thread. */
EVP_PKEY *keycache_get(keycache *c, const char *account_id, int64_t version);

/* Caches `key` (the cache takes its own reference; the caller keeps its one, and gives it back
 * with keycache_release) for (account_id, version), replacing any older key of the same
 * account; a key already cached for the same version stays (the caller's is not taken). Any
 * thread. */
void keycache_put(keycache *c, const char *account_id, int64_t version, EVP_PKEY *key);

/* Drops a reference to a key of account_id (one from keycache_get, or the caller's own of a
 * key it put); NULL is fine. Every reference to a cached key is dropped under the lock of its
 * account's set: OpenSSL counts references with atomics that ThreadSanitizer cannot see, and
 * the thread that drops the last one frees what other threads wrote into the key while
 * verifying (its Montgomery context); the lock orders those writes before that free. Any
 * thread. */
void keycache_release(keycache *c, const char *account_id, EVP_PKEY *key);

#endif /* AUTH_KEYCACHE_H */

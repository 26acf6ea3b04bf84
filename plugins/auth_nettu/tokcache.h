/* A bounded, thread-safe cache of verified tokens, keyed by the SHA-256 of the token, so a
 * repeated token skips the RSA verification. An entry only counts for the same account and
 * key version and between the token's nbf/iat and its exp, so a new or removed key
 * invalidates it at once.
 */
#ifndef AUTH_TOKCACHE_H
#define AUTH_TOKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <nettu/plugin.h>

#define TOKCACHE_DIGEST 32 /* SHA-256 */

typedef struct tokcache tokcache;

/* A cache holding at most `capacity` tokens (rounded up to a multiple of 4); 0 makes a
 * cache that keeps nothing. NULL when out of memory. Free with tokcache_free(). */
tokcache *tokcache_new(size_t capacity);

/* Frees the cache and drops its policy references; NULL is fine. No other thread may use
 * it. */
void tokcache_free(tokcache *c);

/* Looks up the token with SHA-256 `digest`. A hit needs the same account_id and version
 * and valid_from <= now_s <= exp (a token is never accepted from the cache before the time
 * it was first acceptable, even when the clock steps back); it copies the user id into user_id,
 * sets *policy to a reference (or copy) the caller owns and must not modify (NULL for the default
 * policy) and returns NT_OK. NT_ENOTFOUND on a miss (or when out of memory). Any thread. */
int tokcache_get(tokcache *c, const unsigned char digest[TOKCACHE_DIGEST], const char *account_id,
                 int64_t version, int64_t now_s, char user_id[NT_UUID_BUF], json_t **policy);

/* Records a verified token that counts from valid_from to exp (seconds; its nbf or iat
 * less the allowed clock skew, and its exp). policy (NULL = default) is borrowed: the cache
 * keeps a copy. now_s lets expired entries go first when a set is full. Any thread. */
void tokcache_put(tokcache *c, const unsigned char digest[TOKCACHE_DIGEST], const char *account_id,
                  int64_t version, const char *user_id, const json_t *policy, int64_t valid_from,
                  int64_t exp, int64_t now_s);

#endif /* AUTH_TOKCACHE_H */

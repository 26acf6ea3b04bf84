/* A JSON Web Key Set (RFC 7517 section 5) of verification keys: parsed from text or a file,
 * immutable once made, shared between threads by reference counting.
 */
#ifndef JWKS_SET_H
#define JWKS_SET_H

#include <stddef.h>

#include <openssl/evp.h>

#include "jwks_jwk.h"

/* Key set files larger than this are refused. */
#define JWKS_FILE_MAX ((size_t)1 << 20)

typedef struct jwks_set jwks_set;

/* Parses the JSON text `text` (`len` bytes): an object whose "keys" is an array of JWKs.
 * Keys of another type, curve, use or alg are skipped (counted, the first reason kept); a
 * broken key, two keys with the same kid, or no usable key at all make the whole text
 * invalid. On NT_OK *out is a new set with one reference (drop it with jwks_set_unref()).
 * NT_EINVAL or NT_ENOMEM otherwise, with a message in err (errlen bytes) naming the key by
 * its index and kid (when it has one), e.g. "keys[2]: the RSA modulus must have 2048 to 8192
 * bits (kid \"old\")". Thread-safe. */
int jwks_set_parse(const char *text, size_t len, jwks_set **out, char *err, size_t errlen);

/* Reads the file at `path` (at most JWKS_FILE_MAX bytes) and parses it like
 * jwks_set_parse(); the message in err starts with what went wrong, without the path. */
int jwks_set_load(const char *path, jwks_set **out, char *err, size_t errlen);

/* Adds a reference to s and returns s. Any thread. */
jwks_set *jwks_set_ref(jwks_set *s);

/* Drops a reference; the last one frees the set and its keys. NULL is fine. Any thread. */
void jwks_set_unref(jwks_set *s);

/* The number of usable keys, and of keys skipped with the first skip reason (a static message
 * prefixed with its index, in note (notelen bytes); "" when none were skipped). */
size_t jwks_set_count(const jwks_set *s);
size_t jwks_set_skipped(const jwks_set *s, char *note, size_t notelen);

/* Chooses the key for a token whose alg needs key type `kty`: with a `kid` (NULL when the
 * token has none), the key with that kid, which must be of type `kty`; without one, the only
 * key of type `kty`. NT_OK with *key borrowed from s (valid while the caller holds a
 * reference), or NT_EUNAUTH with *why a static message. Any thread. */
int jwks_set_select(const jwks_set *s, jwks_kty kty, const char *kid, EVP_PKEY **key,
                    const char **why);

#endif /* JWKS_SET_H */

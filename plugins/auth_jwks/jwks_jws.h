/* Compact JWS verification (RFC 7515) of end-user tokens against a key set: RS256 with RSA
 * keys and ES256 with EC P-256 keys (RFC 7518 section 3), the key chosen by the header's kid;
 * pure: no host, no caches.
 */
#ifndef JWKS_JWS_H
#define JWKS_JWS_H

#include <stddef.h>

#include <jansson.h>

#include "jwks_set.h"

/* Tokens longer than this are refused before any work. */
#define JWKS_TOKEN_MAX 16384

/* Verifies `token` (`len` bytes): three strict base64url segments; a JSON object header with
 * alg exactly "RS256" or "ES256", an optional string kid, no crit; the key chosen by
 * jwks_set_select(); the signature (RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 as the
 * 64 bytes r || s); then the claims segment, a JSON object without duplicate names. NT_OK
 * with *claims a new reference the caller drops (nothing in it is checked here). NT_EUNAUTH
 * when refused, NT_ENOMEM when out of memory: *claims is NULL then and *why a static message
 * holding nothing of the token. set is borrowed. Thread-safe; the thread's OpenSSL error
 * queue is left empty. */
int jwks_jws_verify(const char *token, size_t len, const jwks_set *set, json_t **claims,
                    const char **why);

#endif /* JWKS_JWS_H */

/* RS256 JSON Web Token verification; pure: no host, no caches. */
#ifndef AUTH_JWT_H
#define AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <nettu/plugin.h>

/* Tokens longer than this are refused before any work. */
#define JWT_MAX_LEN 16384

/* Clock skew allowed between the token's issuer and this server for nbf and iat (seconds);
 * exp has none. */
#define JWT_LEEWAY_S 60

/* The claims of a verified token. */
typedef struct jwt_claims {
    char user_id[NT_UUID_BUF]; /* nettuSchedulerUserId, lower case */
    int64_t exp, iat;          /* seconds since the epoch */
    int64_t nbf;               /* seconds since the epoch; 0 when the token has none */
    int64_t valid_from;        /* the first second the token is accepted: max(nbf, iat) minus
                                  JWT_LEEWAY_S (a cache must not accept it before) */
    json_t *policy;            /* schedulerPolicy object (owned reference) or NULL if none */
} jwt_claims;

/* Verifies the compact JWS `token` (`len` bytes) against the RSA public `key` at time
 * `now_s` (seconds since the epoch): three strict base64url segments, a JSON object header
 * whose alg is exactly "RS256" and that has no "crit" member (no critical extension is
 * understood here), an RSASSA-PKCS1-v1_5 SHA-256 signature by `key`, and a JSON object of
 * claims with exp (a non-negative JSON integer, not below now_s), iat (a non-negative JSON
 * integer, at most JWT_LEEWAY_S in the future), nbf (optional, absent or null, else a
 * non-negative JSON integer at most JWT_LEEWAY_S in the future), nettuSchedulerUserId (a
 * UUID string) and an optional
 * schedulerPolicy (an object, or absent/null for the default; its content is not checked
 * here). On NT_OK fills *out (release it with jwt_claims_fini()). NT_EUNAUTH when the
 * token is refused, NT_ENOMEM when out of memory: *out is then empty and *why is a static
 * message that holds nothing of the token. key is borrowed. Thread-safe; the thread's
 * OpenSSL error queue is left empty. */
int jwt_verify(const char *token, size_t len, EVP_PKEY *key, int64_t now_s, jwt_claims *out,
               const char **why);

/* Releases what *c holds (the policy reference) and empties it; NULL is fine. */
void jwt_claims_fini(jwt_claims *c);

/* 1 when s is a UUID in 8-4-4-4-12 hex form (any case), else 0. */
int jwt_uuid_valid(const char *s);

#endif /* AUTH_JWT_H */

/* One JSON Web Key (RFC 7517, RFC 7518 section 6) turned into an OpenSSL public key: RSA
 * (kty RSA: n, e) for RS256 and EC P-256 (kty EC, crv P-256: x, y) for ES256; pure.
 */
#ifndef JWKS_JWK_H
#define JWKS_JWK_H

#include <jansson.h>
#include <openssl/evp.h>

/* The key types a token's alg can ask for. */
typedef enum jwks_kty {
    JWKS_KTY_RSA = 1, /* RS256 */
    JWKS_KTY_EC = 2   /* ES256: EC on curve P-256 */
} jwks_kty;

/* A usable verification key. */
typedef struct jwks_key {
    char *kid;     /* malloc'd; NULL when the JWK has no kid */
    jwks_kty kty;  /* which alg it verifies */
    EVP_PKEY *key; /* owned reference */
} jwks_key;

/* Reads the JWK object `jwk` into *out (release it with jwks_key_fini()).
 * NT_OK: a usable key.
 * NT_ENOTFOUND: a well-formed key this plugin does not verify with, to be skipped: another kty
 *   (oct, OKP ...), another curve, a use other than "sig", key_ops without "verify", or an alg
 *   member other than RS256 (RSA) or ES256 (EC).
 * NT_EINVAL: a broken or weak key: not an object, kty or kid not a non-empty string,
 *   n/e/x/y missing, not strict base64url or out of range (RSA: the rule of
 *   ntc_rsa_numbers_check(), 2048 to 8192 bits, exponent 65537, a sound modulus; EC: x and y
 *   32 bytes each, a point on P-256), or private members (d, p, q ...).
 * NT_ENOMEM when out of memory.
 * Except on NT_OK, *why is a static message naming the member, without key material, and *out
 * is empty. jwk is borrowed. Thread-safe; the thread's OpenSSL error queue is left empty. */
int jwks_key_parse(const json_t *jwk, jwks_key *out, const char **why);

/* Releases what *k holds and empties it; NULL is fine. */
void jwks_key_fini(jwks_key *k);

#endif /* JWKS_JWK_H */

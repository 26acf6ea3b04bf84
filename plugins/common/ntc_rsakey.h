/* The strength rule for RSA keys that verify end-user tokens (RS256): one rule for keys
 * uploaded to an account (PUT /account/pubkey, ACCOUNT_PUB_KEY), keys read back from storage
 * and keys of a JWKS file. Linked into the account, auth_nettu and auth_jwks plugins.
 */
#ifndef NTC_RSAKEY_H
#define NTC_RSAKEY_H

#include <openssl/bn.h>
#include <openssl/evp.h>

#define NTC_RSA_MIN_BITS 2048
#define NTC_RSA_MAX_BITS 8192
#define NTC_RSA_EXPONENT 65537

/* The rule in words, for error messages and documentation. */
#define NTC_RSA_RULE "an RSA key of 2048 to 8192 bits with public exponent 65537"

/* How much ntc_rsa_numbers_check() does. */
typedef enum ntc_rsa_depth {
    NTC_RSA_QUICK = 0, /* everything but the primality test: microseconds */
    NTC_RSA_FULL = 1   /* also the primality test: one modular exponentiation */
} ntc_rsa_depth;

/* Checks the modulus n and public exponent e of an RSA public key:
 *  - n has NTC_RSA_MIN_BITS to NTC_RSA_MAX_BITS bits (counted on n itself, not on any
 *    length the encoding claims);
 *  - e is exactly 65537 (e = 1 makes every signature trivially forgeable, e = 3 invites
 *    the known low-exponent attacks on sloppy verifiers);
 *  - n is odd and has no prime factor below 1000 (trial division: a real modulus is the
 *    product of two large primes);
 *  - n is not a perfect square and its two factors are not so close that Fermat's method
 *    finds them in 64 steps (p = q, or |p - q| below about 2^(bits/4 + 4));
 *  - with NTC_RSA_FULL, n is not prime (with a prime n, d = e^-1 mod n-1 is easy).
 * The quick checks cost under a millisecond for 2048 bits and a few for 8192 bits (mostly
 * the Fermat steps). The primality test costs one modular exponentiation, a few ms for 2048
 * bits and about 150 ms for 8192 bits on one idle core: it is done where a key enters the
 * server (upload, ACCOUNT_PUB_KEY, a JWKS file), not when a stored key is read back on the
 * request path (where the key cache keeps the parsed key anyway).
 * NT_OK; NT_EINVAL with *why a static message that names the rule broken (never the key);
 * NT_ENOMEM when out of memory. n and e are borrowed. Thread-safe. */
int ntc_rsa_numbers_check(const BIGNUM *n, const BIGNUM *e, ntc_rsa_depth depth, const char **why);

/* Reads n and e of the RSA public key `key` (EVP_PKEY_RSA) and applies
 * ntc_rsa_numbers_check(). NT_EINVAL with *why set for another key type. Same returns.
 * Leaves the thread's OpenSSL error queue empty. */
int ntc_rsa_key_check(const EVP_PKEY *key, ntc_rsa_depth depth, const char **why);

#endif

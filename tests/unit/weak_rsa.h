/* RSA public keys that break the strength rule of plugins/common/ntc_rsakey.h, made without
 * any slow prime search (real small keys, real moduli with a bad exponent, built moduli and
 * the well-known RFC 2409/3526 primes), plus one strong 8192-bit modulus for the upper
 * bound. Shared by test_jwt.c, test_jwks.c and test_account_keys.c.
 */
#ifndef WEAK_RSA_H
#define WEAK_RSA_H

#include <openssl/bn.h>
#include <openssl/evp.h>

/* How many weak keys weak_rsa_cases() makes (for Check loop tests). */
#define WEAK_RSA_COUNT 11

/* One weak key: its name, modulus and exponent, and a part of the refusal message. */
typedef struct weak_rsa {
    const char *name;
    BIGNUM *n, *e;
    const char *why; /* a substring of ntc_rsa_numbers_check()'s message */
    int full_only;   /* found by NTC_RSA_FULL only (the primality test) */
} weak_rsa;

/* The weak keys (made on first call, kept until exit; a test's fixture may call it before
 * forking); *count is set to their number. */
const weak_rsa *weak_rsa_cases(size_t *count);

/* A modulus of exactly 8192 bits that passes every check (a product of two RFC 3526 primes),
 * with e = 65537 in *e. Both borrowed, made once. */
const BIGNUM *weak_rsa_strong_8192(const BIGNUM **e);

/* An EVP_PKEY holding the RSA public key (n, e), imported without validation; the caller
 * frees it. */
EVP_PKEY *weak_rsa_pkey(const BIGNUM *n, const BIGNUM *e);

/* The "PUBLIC KEY" PEM text of (n, e); malloc'd. */
char *weak_rsa_pem(const BIGNUM *n, const BIGNUM *e);

#endif

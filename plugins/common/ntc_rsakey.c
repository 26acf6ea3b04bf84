/* RSA public-key strength checks: size, exponent, and the cheap tests that catch a
 * degenerate modulus (small factors, prime, square, close factors). */
#include "ntc_rsakey.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <nettu/plugin.h>

#define RSA_TRIAL_LIMIT 1000 /* odd divisors below this are tried */
#define RSA_FERMAT_STEPS 64  /* steps of Fermat's factoring method */

/* *r = floor(sqrt(a)) for a >= 0, by Newton's iteration from a power of two above the root
 * (the iterates then fall monotonically to the floor). 1 on success, 0 on failure. */
static int
rsa_isqrt(BIGNUM *r, const BIGNUM *a, BN_CTX *ctx)
{
    BIGNUM *x, *y;
    int ok = 0;

    BN_CTX_start(ctx);
    x = BN_CTX_get(ctx);
    y = BN_CTX_get(ctx);
    if (y == NULL)
        goto out;
    if (BN_is_zero(a)) {
        BN_zero(r);
        ok = 1;
        goto out;
    }
    BN_zero(x);
    if (!BN_set_bit(x, (BN_num_bits(a) + 1) / 2))
        goto out;
    for (;;) {
        /* y = (x + a / x) / 2 */
        if (!BN_div(y, NULL, a, x, ctx) || !BN_add(y, y, x) || !BN_rshift1(y, y))
            goto out;
        if (BN_cmp(y, x) >= 0)
            break;
        if (!BN_copy(x, y))
            goto out;
    }
    ok = BN_copy(r, x) != NULL;
out:
    BN_CTX_end(ctx);
    return ok;
}

/* 1 when a is a perfect square, 0 when not, -1 on failure. */
static int
rsa_is_square(const BIGNUM *a, BN_CTX *ctx)
{
    BIGNUM *s;
    int rc = -1;

    BN_CTX_start(ctx);
    s = BN_CTX_get(ctx);
    if (s != NULL && rsa_isqrt(s, a, ctx) && BN_sqr(s, s, ctx))
        rc = BN_cmp(s, a) == 0;
    BN_CTX_end(ctx);
    return rc;
}

/* 1 when Fermat's method factors n within RSA_FERMAT_STEPS steps (n = a^2 - b^2 for some
 * a from ceil(sqrt(n)) on), which includes n being a square; 0 when not; -1 on failure. */
static int
rsa_fermat_weak(const BIGNUM *n, BN_CTX *ctx)
{
    BIGNUM *a, *b2;
    int rc = -1, sq;

    BN_CTX_start(ctx);
    a = BN_CTX_get(ctx);
    b2 = BN_CTX_get(ctx);
    if (b2 == NULL || !rsa_isqrt(a, n, ctx) || !BN_sqr(b2, a, ctx))
        goto out;
    if (BN_cmp(b2, n) == 0) {
        rc = 1;
        goto out;
    }
    if (!BN_add_word(a, 1))
        goto out;
    for (int i = 0; i < RSA_FERMAT_STEPS; i++) {
        if (!BN_sqr(b2, a, ctx) || !BN_sub(b2, b2, n))
            goto out;
        if ((sq = rsa_is_square(b2, ctx)) != 0) {
            rc = sq;
            goto out;
        }
        if (!BN_add_word(a, 1))
            goto out;
    }
    rc = 0;
out:
    BN_CTX_end(ctx);
    return rc;
}

/* 1 when an odd number from 3 to RSA_TRIAL_LIMIT divides n, 0 when none does, -1 on
 * failure. Composite divisors are harmless (their prime factors are tried too). */
static int
rsa_small_factor(const BIGNUM *n)
{
    for (BN_ULONG w = 3; w < RSA_TRIAL_LIMIT; w += 2) {
        BN_ULONG r = BN_mod_word(n, w);
        if (r == (BN_ULONG)-1)
            return -1;
        if (r == 0)
            return 1;
    }
    return 0;
}

int
ntc_rsa_numbers_check(const BIGNUM *n, const BIGNUM *e, ntc_rsa_depth depth, const char **why)
{
    BN_CTX *ctx = NULL;
    int bits = n != NULL ? BN_num_bits(n) : 0, r, rc = NT_EINVAL;

    if (bits < NTC_RSA_MIN_BITS || bits > NTC_RSA_MAX_BITS) {
        *why = "the RSA modulus must have 2048 to 8192 bits";
        goto out;
    }
    if (e == NULL || !BN_is_word(e, NTC_RSA_EXPONENT)) {
        *why = "the RSA public exponent must be 65537";
        goto out;
    }
    if (!BN_is_odd(n)) {
        *why = "the RSA modulus is even";
        goto out;
    }
    if ((r = rsa_small_factor(n)) != 0) {
        *why = r > 0 ? "the RSA modulus has a prime factor below 1000" : "out of memory";
        rc = r > 0 ? NT_EINVAL : NT_ENOMEM;
        goto out;
    }
    rc = NT_ENOMEM;
    *why = "out of memory";
    ctx = BN_CTX_new();
    if (ctx == NULL)
        goto out;
    if ((r = rsa_fermat_weak(n, ctx)) < 0)
        goto out;
    rc = NT_EINVAL;
    if (r > 0) {
        *why = "the RSA modulus is a square or its two factors are too close together";
        goto out;
    }
    if (depth == NTC_RSA_FULL && (r = BN_check_prime(n, ctx, NULL)) != 0) {
        rc = r > 0 ? NT_EINVAL : NT_ENOMEM;
        *why = r > 0 ? "the RSA modulus is a prime number" : "out of memory";
        goto out;
    }
    *why = NULL;
    rc = NT_OK;
out:
    BN_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

int
ntc_rsa_key_check(const EVP_PKEY *key, ntc_rsa_depth depth, const char **why)
{
    BIGNUM *n = NULL, *e = NULL;
    int rc = NT_EINVAL;

    *why = "not an RSA key";
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        goto out;
    rc = NT_ENOMEM;
    *why = "out of memory";
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
        goto out;
    rc = ntc_rsa_numbers_check(n, e, depth, why);
out:
    BN_free(n);
    BN_free(e);
    ERR_clear_error();
    return rc;
}

/* Weak RSA public keys for the strength-rule tests (see weak_rsa.h). */
#include "weak_rsa.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <check.h>

#define WEAK_MAX 16

static weak_rsa cases[WEAK_MAX];
static size_t ncases;
static BIGNUM *strong_n, *f4;

EVP_PKEY *
weak_rsa_pkey(const BIGNUM *n, const BIGNUM *e)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;

    ck_assert(bld != NULL && ctx != NULL);
    ck_assert_int_eq(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
    ck_assert_int_eq(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    ck_assert_ptr_nonnull(params);
    ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

char *
weak_rsa_pem(const BIGNUM *n, const BIGNUM *e)
{
    EVP_PKEY *k = weak_rsa_pkey(n, e);
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *s;
    long len;

    ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
    len = BIO_get_mem_data(b, &data);
    s = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    BIO_free(b);
    EVP_PKEY_free(k);
    return s;
}

/* n of a freshly generated RSA key of `bits` bits. */
static BIGNUM *
real_modulus(int bits)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    BIGNUM *n = NULL;

    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    EVP_PKEY_free(k);
    return n;
}

static BIGNUM *
word(BN_ULONG w)
{
    BIGNUM *b = BN_new();

    ck_assert(b != NULL && BN_set_word(b, w) == 1);
    return b;
}

static void
add(const char *name, BIGNUM *n, BIGNUM *e, const char *why)
{
    ck_assert_uint_lt(ncases, WEAK_MAX);
    cases[ncases++] = (weak_rsa){name, n, e, why, strstr(why, "prime number") != NULL};
}

const weak_rsa *
weak_rsa_cases(size_t *count)
{
    BN_CTX *ctx;
    BIGNUM *n2048, *t, *p, *q;

    if (ncases > 0) {
        *count = ncases;
        return cases;
    }
    ctx = BN_CTX_new();
    ck_assert_ptr_nonnull(ctx);
    n2048 = real_modulus(2048);
    add("512 bits", real_modulus(512), word(RSA_F4), "2048 to 8192 bits");
    add("1024 bits", real_modulus(1024), word(RSA_F4), "2048 to 8192 bits");
    t = BN_new();
    ck_assert(t != NULL && BN_set_word(t, 1) == 1 && BN_set_bit(t, 8192) == 1);
    add("8193 bits", t, word(RSA_F4), "2048 to 8192 bits");
    add("e = 1", BN_dup(n2048), word(1), "exponent must be 65537");
    add("e = 3", BN_dup(n2048), word(3), "exponent must be 65537");
    add("e = 65539", BN_dup(n2048), word(65539), "exponent must be 65537");
    t = BN_dup(n2048);
    ck_assert(t != NULL && BN_clear_bit(t, 0) == 1);
    add("even modulus", t, word(RSA_F4), "modulus is even");
    /* 997 times a random odd number: 2048 or more bits, odd, with a small factor. */
    t = BN_new();
    ck_assert(t != NULL && BN_rand(t, 2040, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) == 1 &&
              BN_mul_word(t, 997) == 1);
    add("factor 997", t, word(RSA_F4), "prime factor below 1000");
    add("prime modulus", BN_get_rfc3526_prime_2048(NULL), word(RSA_F4), "is a prime number");
    /* p^2 and p * (the next prime after p), p the 1024-bit RFC 2409 prime. */
    p = BN_get_rfc2409_prime_1024(NULL);
    t = BN_new();
    ck_assert(p != NULL && t != NULL && BN_sqr(t, p, ctx) == 1);
    add("square modulus", t, word(RSA_F4), "a square or its two factors are too close");
    q = BN_dup(p);
    ck_assert_ptr_nonnull(q);
    do {
        ck_assert_int_eq(BN_add_word(q, 2), 1);
    } while (BN_check_prime(q, ctx, NULL) != 1);
    t = BN_new();
    ck_assert(t != NULL && BN_mul(t, p, q, ctx) == 1);
    add("close factors", t, word(RSA_F4), "a square or its two factors are too close");
    BN_free(p);
    BN_free(q);
    BN_free(n2048);
    BN_CTX_free(ctx);
    ck_assert_uint_eq(ncases, WEAK_RSA_COUNT);
    *count = ncases;
    return cases;
}

const BIGNUM *
weak_rsa_strong_8192(const BIGNUM **e)
{
    if (strong_n == NULL) {
        BN_CTX *ctx = BN_CTX_new();
        BIGNUM *a = BN_get_rfc3526_prime_6144(NULL), *b = BN_get_rfc3526_prime_2048(NULL);
        strong_n = BN_new();
        f4 = word(RSA_F4);
        ck_assert(ctx != NULL && a != NULL && b != NULL && strong_n != NULL);
        ck_assert_int_eq(BN_mul(strong_n, a, b, ctx), 1);
        ck_assert_int_eq(BN_num_bits(strong_n), 8192);
        BN_free(a);
        BN_free(b);
        BN_CTX_free(ctx);
    }
    *e = f4;
    return strong_n;
}

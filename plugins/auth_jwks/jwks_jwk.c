/* JWK to EVP_PKEY: member checks, strict base64url values, range checks, OpenSSL key import. */
#include "jwks_jwk.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <nettu/plugin.h>

#include "b64url.h"
#include "ntc_rsakey.h"

#define JWK_EC_COORD 32 /* bytes of a P-256 coordinate */

void
jwks_key_fini(jwks_key *k)
{
    if (k == NULL)
        return;
    free(k->kid);
    EVP_PKEY_free(k->key);
    memset(k, 0, sizeof(*k));
}

/* Reads jwk[name] as a non-empty string: NT_OK with *out borrowed; when absent or null,
 * NT_EINVAL (with *why = bad) if `required`, else NT_ENOTFOUND; NT_EINVAL (with *why = bad)
 * for another type or "". */
static int
jwk_string(const json_t *jwk, const char *name, int required, const char **out, const char *bad,
           const char **why)
{
    const json_t *v = json_object_get(jwk, name);

    *out = NULL;
    if ((v == NULL || json_is_null(v)) && !required)
        return NT_ENOTFOUND;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        *why = bad;
        return NT_EINVAL;
    }
    *out = json_string_value(v);
    return NT_OK;
}

/* Decodes the required base64url member jwk[name]: NT_OK with *raw malloc'd (the caller
 * frees it) and *len bytes; NT_EINVAL with *why = bad; NT_ENOMEM. */
static int
jwk_bytes(const json_t *jwk, const char *name, unsigned char **raw, size_t *len, const char *bad,
          const char **why)
{
    const char *text = NULL;
    int rc = jwk_string(jwk, name, 1, &text, bad, why);

    *raw = NULL;
    if (rc != NT_OK)
        return rc;
    rc = b64url_decode(text, strlen(text), raw, len);
    if (rc == NT_EINVAL)
        *why = bad;
    else if (rc == NT_ENOMEM)
        *why = "out of memory";
    return rc;
}

/* Decodes the required base64url member jwk[name] into a big number *out (the caller frees
 * it). NT_EINVAL with *why = bad, or NT_ENOMEM. */
static int
jwk_bignum(const json_t *jwk, const char *name, BIGNUM **out, const char *bad, const char **why)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = jwk_bytes(jwk, name, &raw, &len, bad, why);

    *out = NULL;
    if (rc == NT_OK && (*out = BN_bin2bn(raw, (int)len, NULL)) == NULL) {
        rc = NT_ENOMEM;
        *why = "out of memory";
    }
    free(raw);
    return rc;
}

/* Imports `params` as a public key of OpenSSL type `type` ("RSA" or "EC"); *why = bad when
 * OpenSSL refuses the values. */
static int
jwk_import(const char *type, OSSL_PARAM *params, EVP_PKEY **out, const char *bad, const char **why)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    int rc = NT_ENOMEM;

    *out = NULL;
    *why = "out of memory";
    if (ctx == NULL)
        goto out;
    rc = NT_EINVAL;
    *why = bad;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    *why = NULL;
    rc = NT_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* kty RSA: n and e as ntc_rsa_numbers_check() wants them (2048..8192 bits, e = 65537, a
 * sound modulus). */
static int
jwk_rsa(const json_t *jwk, EVP_PKEY **out, const char **why)
{
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    int rc;

    rc = jwk_bignum(jwk, "n", &n, "n: required, the modulus in base64url", why);
    if (rc != NT_OK)
        goto out;
    rc = jwk_bignum(jwk, "e", &e, "e: required, the exponent in base64url", why);
    if (rc != NT_OK)
        goto out;
    rc = ntc_rsa_numbers_check(n, e, NTC_RSA_FULL, why);
    if (rc != NT_OK)
        goto out;
    rc = NT_ENOMEM;
    *why = "out of memory";
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto out;
    rc = jwk_import("RSA", params, out, "n, e: not a valid RSA public key", why);
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
    return rc;
}

/* Decodes coordinate jwk[name] of exactly JWK_EC_COORD bytes into dst. */
static int
jwk_coord(const json_t *jwk, const char *name, unsigned char *dst, const char *bad,
          const char **why)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = jwk_bytes(jwk, name, &raw, &len, bad, why);

    if (rc == NT_OK && len != JWK_EC_COORD) {
        rc = NT_EINVAL;
        *why = bad;
    }
    if (rc == NT_OK)
        memcpy(dst, raw, JWK_EC_COORD);
    free(raw);
    return rc;
}

/* kty EC, crv P-256: x and y, 32 bytes each, a point of the curve. */
static int
jwk_ec(const json_t *jwk, EVP_PKEY **out, const char **why)
{
    unsigned char point[1 + 2 * JWK_EC_COORD];
    char group[] = "prime256v1";
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *check = NULL;
    int rc;

    point[0] = 0x04; /* uncompressed: 04 || x || y */
    rc = jwk_coord(jwk, "x", point + 1, "x: required, 32 bytes in base64url", why);
    if (rc != NT_OK)
        goto out;
    rc = jwk_coord(jwk, "y", point + 1 + JWK_EC_COORD, "y: required, 32 bytes in base64url", why);
    if (rc != NT_OK)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();
    rc = jwk_import("EC", params, out, "x, y: not a point of curve P-256", why);
    if (rc != NT_OK)
        goto out;
    rc = NT_ENOMEM;
    check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
    if (check == NULL) {
        *why = "out of memory";
        goto out;
    }
    rc = NT_EINVAL;
    if (EVP_PKEY_public_check(check) != 1) {
        *why = "x, y: not a point of curve P-256";
        goto out;
    }
    rc = NT_OK;
out:
    if (rc != NT_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    EVP_PKEY_CTX_free(check);
    return rc;
}

/* NT_ENOTFOUND when the key's use, key_ops or alg members say it is not for `alg` tokens;
 * NT_EINVAL when one of them has the wrong type. */
static int
jwk_usable(const json_t *jwk, const char *alg, const char **why)
{
    const json_t *ops = json_object_get(jwk, "key_ops"), *op;
    const char *s = NULL;
    size_t i;
    int rc, verify = 0;

    rc = jwk_string(jwk, "use", 0, &s, "use: expected a non-empty string", why);
    if (rc == NT_EINVAL)
        return rc;
    if (rc == NT_OK && strcmp(s, "sig") != 0) {
        *why = "use: not \"sig\"";
        return NT_ENOTFOUND;
    }
    if (ops != NULL && !json_is_null(ops)) {
        if (!json_is_array(ops)) {
            *why = "key_ops: expected an array of strings";
            return NT_EINVAL;
        }
        json_array_foreach(ops, i, op)
        {
            if (!json_is_string(op)) {
                *why = "key_ops: expected an array of strings";
                return NT_EINVAL;
            }
            verify |= strcmp(json_string_value(op), "verify") == 0;
        }
        if (!verify) {
            *why = "key_ops: no \"verify\"";
            return NT_ENOTFOUND;
        }
    }
    rc = jwk_string(jwk, "alg", 0, &s, "alg: expected a non-empty string", why);
    if (rc == NT_EINVAL)
        return rc;
    if (rc == NT_OK && strcmp(s, alg) != 0) {
        *why = strcmp(alg, "RS256") == 0 ? "alg: an RSA key for another algorithm than RS256"
                                         : "alg: an EC key for another algorithm than ES256";
        return NT_ENOTFOUND;
    }
    return NT_OK;
}

/* NT_EINVAL when the JWK carries private key members. */
static int
jwk_public_only(const json_t *jwk, const char **why)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", NULL};

    for (int i = 0; private_members[i] != NULL; i++) {
        if (json_object_get(jwk, private_members[i]) != NULL) {
            *why = "holds private key members (d, p, q ...): publish public keys only";
            return NT_EINVAL;
        }
    }
    return NT_OK;
}

int
jwks_key_parse(const json_t *jwk, jwks_key *out, const char **why)
{
    const char *kty = NULL, *kid = NULL, *crv = NULL;
    int rc = NT_EINVAL;

    memset(out, 0, sizeof(*out));
    *why = "not a JSON object";
    if (!json_is_object(jwk))
        goto out;
    rc = jwk_string(jwk, "kty", 1, &kty, "kty: required, a non-empty string", why);
    if (rc != NT_OK)
        goto out;
    rc = jwk_string(jwk, "kid", 0, &kid, "kid: expected a non-empty string", why);
    if (rc == NT_EINVAL)
        goto out;
    if (strcmp(kty, "RSA") == 0) {
        out->kty = JWKS_KTY_RSA;
    } else if (strcmp(kty, "EC") == 0) {
        out->kty = JWKS_KTY_EC;
    } else {
        rc = NT_ENOTFOUND;
        *why = "kty: neither RSA nor EC";
        goto out;
    }
    rc = jwk_usable(jwk, out->kty == JWKS_KTY_RSA ? "RS256" : "ES256", why);
    if (rc != NT_OK)
        goto out;
    if (out->kty == JWKS_KTY_EC) {
        rc = jwk_string(jwk, "crv", 1, &crv, "crv: required, a non-empty string", why);
        if (rc != NT_OK)
            goto out;
        if (strcmp(crv, "P-256") != 0) {
            rc = NT_ENOTFOUND;
            *why = "crv: not P-256, the only curve supported";
            goto out;
        }
    }
    rc = jwk_public_only(jwk, why);
    if (rc != NT_OK)
        goto out;
    rc = out->kty == JWKS_KTY_RSA ? jwk_rsa(jwk, &out->key, why) : jwk_ec(jwk, &out->key, why);
    if (rc != NT_OK)
        goto out;
    if (kid != NULL && (out->kid = strdup(kid)) == NULL) {
        rc = NT_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    *why = NULL;
out:
    if (rc != NT_OK)
        jwks_key_fini(out);
    ERR_clear_error();
    return rc;
}

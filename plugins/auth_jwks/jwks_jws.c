/* JWS: segment split, header checks, key choice, RS256/ES256 signature, claims segment. */
#include "jwks_jws.h"

#include "ntc_sha256.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <nettu/plugin.h>

#include "b64url.h"

#define JWS_ES256_SIG 64 /* r || s, 32 bytes each (RFC 7518 section 3.4) */

/* Decodes base64url `seg` and parses it as a JSON object (no duplicate names). NT_OK with
 * *out a new reference; NT_EUNAUTH with *why = bad; NT_ENOMEM. */
static int
jws_object(const char *seg, size_t len, json_t **out, const char *bad, const char **why)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    int rc = b64url_decode(seg, len, &raw, &rawlen);

    *out = NULL;
    if (rc == NT_OK) {
        *out = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = NT_EINVAL;
        }
    }
    if (rc == NT_EINVAL) {
        rc = NT_EUNAUTH;
        *why = bad;
    } else if (rc == NT_ENOMEM) {
        *why = "out of memory";
    }
    free(raw);
    return rc;
}

/* Reads alg and kid from the header: *kty for the alg, *kid borrowed from header or NULL. */
static int
jws_header(const json_t *header, jwks_kty *kty, const char **kid, const char **why)
{
    const json_t *alg = json_object_get(header, "alg"), *k = json_object_get(header, "kid");
    const char *a = json_string_value(alg);

    if (a != NULL && json_string_length(alg) == 5 && strcmp(a, "RS256") == 0) {
        *kty = JWKS_KTY_RSA;
    } else if (a != NULL && json_string_length(alg) == 5 && strcmp(a, "ES256") == 0) {
        *kty = JWKS_KTY_EC;
    } else {
        *why = "token alg: must be RS256 or ES256";
        return NT_EUNAUTH;
    }
    *kid = NULL;
    if (k != NULL && !json_is_null(k)) {
        if (!json_is_string(k) || json_string_length(k) == 0) {
            *why = "token kid: expected a non-empty string";
            return NT_EUNAUTH;
        }
        *kid = json_string_value(k);
    }
    if (json_object_get(header, "crit") != NULL) {
        *why = "token crit: no critical header parameter is supported";
        return NT_EUNAUTH;
    }
    return NT_OK;
}

/* Rewrites the raw ES256 signature r || s (JWS_ES256_SIG bytes) as the DER ECDSA-Sig-Value
 * OpenSSL verifies; *der is OPENSSL_malloc'd. */
static int
jws_es256_der(const unsigned char *raw, unsigned char **der, int *derlen, const char **why)
{
    BIGNUM *r = BN_bin2bn(raw, JWS_ES256_SIG / 2, NULL);
    BIGNUM *s = BN_bin2bn(raw + JWS_ES256_SIG / 2, JWS_ES256_SIG / 2, NULL);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    int rc = NT_ENOMEM;

    *der = NULL;
    *why = "out of memory";
    if (r == NULL || s == NULL || sig == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
        goto out;
    r = s = NULL; /* owned by sig now */
    *derlen = i2d_ECDSA_SIG(sig, der);
    if (*derlen <= 0)
        goto out;
    rc = NT_OK;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return rc;
}

/* Checks the base64url signature `sig` of `input` with `key` of type `kty`. */
static int
jws_signature(const char *input, size_t input_len, const char *sig, size_t sig_len, jwks_kty kty,
              EVP_PKEY *key, const char **why)
{
    unsigned char *raw = NULL, *der = NULL;
    const unsigned char *check;
    size_t rawlen = 0, checklen;
    int derlen = 0, rc = b64url_decode(sig, sig_len, &raw, &rawlen);
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;

    if (rc == NT_EINVAL) {
        rc = NT_EUNAUTH;
        *why = "token signature: not base64url";
    }
    if (rc != NT_OK)
        goto out;
    check = raw;
    checklen = rawlen;
    if (kty == JWKS_KTY_EC) {
        rc = NT_EUNAUTH;
        *why = "token signature: ES256 needs 64 bytes (r || s)";
        if (rawlen != JWS_ES256_SIG)
            goto out;
        rc = jws_es256_der(raw, &der, &derlen, why);
        if (rc != NT_OK)
            goto out;
        check = der;
        checklen = (size_t)derlen;
    }
    rc = NT_ENOMEM;
    *why = "out of memory";
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        goto out;
    rc = NT_EUNAUTH;
    *why = "token signature is invalid";
    if (EVP_DigestVerifyInit(ctx, &pctx, ntc_sha256_md(), NULL, key) != 1)
        goto out;
    if (kty == JWKS_KTY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        goto out;
    if (EVP_DigestVerify(ctx, check, checklen, (const unsigned char *)input, input_len) != 1)
        goto out;
    rc = NT_OK;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    free(raw);
    return rc;
}

int
jwks_jws_verify(const char *token, size_t len, const jwks_set *set, json_t **claims,
                const char **why)
{
    const char *dot1, *dot2, *kid = NULL;
    json_t *header = NULL;
    EVP_PKEY *key = NULL;
    jwks_kty kty = JWKS_KTY_RSA;
    int rc = NT_EUNAUTH;

    *claims = NULL;
    *why = "token: expected three base64url parts separated by dots";
    if (token == NULL || len == 0)
        goto out;
    if (len > JWKS_TOKEN_MAX) {
        *why = "token: too long";
        goto out;
    }
    dot1 = memchr(token, '.', len);
    dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        goto out;
    rc = jws_object(token, (size_t)(dot1 - token), &header,
                    "token header: not a base64url JSON "
                    "object",
                    why);
    if (rc != NT_OK)
        goto out;
    rc = jws_header(header, &kty, &kid, why);
    if (rc != NT_OK)
        goto out;
    rc = jwks_set_select(set, kty, kid, &key, why);
    if (rc != NT_OK)
        goto out;
    rc = jws_signature(token, (size_t)(dot2 - token), dot2 + 1, len - (size_t)(dot2 + 1 - token),
                       kty, key, why);
    if (rc != NT_OK)
        goto out;
    rc = jws_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims,
                    "token claims: not a base64url JSON object", why);
    if (rc == NT_OK)
        *why = NULL;
out:
    json_decref(header);
    ERR_clear_error();
    return rc;
}

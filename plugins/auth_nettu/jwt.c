/* RS256 JWT verification: segment split, strict decoding, alg check, signature, claims. */
#include "jwt.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "ntc_sha256.h"

int
jwt_uuid_valid(const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 0; i < NT_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[NT_UUID_LEN] == '\0';
}

void
jwt_claims_fini(jwt_claims *c)
{
    if (c == NULL)
        return;
    json_decref(c->policy);
    memset(c, 0, sizeof(*c));
}

/* Decodes one base64url segment and parses it as a JSON object. NT_OK with *out a new
 * reference; NT_EUNAUTH with *why naming `what` on bad text; NT_ENOMEM. */
static int
jwt_segment_json(const char *seg, size_t len, json_t **out, const char *bad_b64,
                 const char *bad_json, const char **why)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    json_t *v = NULL;
    int rc = b64url_decode(seg, len, &raw, &rawlen);

    *out = NULL;
    if (rc == NT_ENOMEM) {
        *why = "out of memory";
        goto out;
    }
    if (rc != NT_OK) {
        rc = NT_EUNAUTH;
        *why = bad_b64;
        goto out;
    }
    v = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(v)) {
        rc = NT_EUNAUTH;
        *why = bad_json;
        goto out;
    }
    *out = v;
    v = NULL;
out:
    json_decref(v);
    free(raw);
    return rc;
}

/* Checks the RSASSA-PKCS1-v1_5 SHA-256 signature `sig` (base64url text) of `signed_part`. */
static int
jwt_check_signature(const char *signed_part, size_t signed_len, const char *sig, size_t sig_len,
                    EVP_PKEY *key, const char **why)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int rc = b64url_decode(sig, sig_len, &raw, &rawlen);

    if (rc == NT_ENOMEM) {
        *why = "out of memory";
        goto out;
    }
    rc = NT_EUNAUTH;
    if (raw == NULL) {
        *why = "token signature: not base64url";
        goto out;
    }
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        *why = "token cannot be verified: the account key is not an RSA key";
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        rc = NT_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    *why = "token signature is invalid";
    /* PKCS#1 v1.5 is the default padding of RSA verification. */
    if (EVP_DigestVerifyInit(ctx, &pctx, ntc_sha256_md(), NULL, key) != 1)
        goto out;
    if (EVP_DigestVerify(ctx, raw, rawlen, (const unsigned char *)signed_part, signed_len) != 1)
        goto out;
    *why = NULL;
    rc = NT_OK;
out:
    EVP_MD_CTX_free(ctx);
    free(raw);
    return rc;
}

/* Reads claims[key] as a required non-negative JSON integer. NT_EUNAUTH with *why set. */
static int
jwt_claim_int(const json_t *claims, const char *key, int64_t *out, const char *missing,
              const char *bad, const char **why)
{
    const json_t *v = json_object_get(claims, key);

    if (v == NULL || json_is_null(v)) {
        *why = missing;
        return NT_EUNAUTH;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        *why = bad;
        return NT_EUNAUTH;
    }
    *out = (int64_t)json_integer_value(v);
    return NT_OK;
}

/* Checks the claims object at now_s and fills *out. */
static int
jwt_read_claims(const json_t *claims, int64_t now_s, jwt_claims *out, const char **why)
{
    const json_t *uid, *pol, *nbf;
    int rc;

    rc = jwt_claim_int(claims, "exp", &out->exp, "token exp: required",
                       "token exp: expected a non-negative integer", why);
    if (rc != NT_OK)
        return rc;
    rc = jwt_claim_int(claims, "iat", &out->iat, "token iat: required",
                       "token iat: expected a non-negative integer", why);
    if (rc != NT_OK)
        return rc;
    nbf = json_object_get(claims, "nbf");
    if (nbf != NULL && !json_is_null(nbf)) {
        rc = jwt_claim_int(claims, "nbf", &out->nbf, "token nbf: required",
                           "token nbf: expected a non-negative integer", why);
        if (rc != NT_OK)
            return rc;
    }
    if (out->exp < now_s) {
        *why = "token expired";
        return NT_EUNAUTH;
    }
    /* Both are >= 0, so subtracting the leeway cannot overflow (now_s + leeway could). */
    if (out->nbf - JWT_LEEWAY_S > now_s) {
        *why = "token nbf: not valid yet";
        return NT_EUNAUTH;
    }
    if (out->iat - JWT_LEEWAY_S > now_s) {
        *why = "token iat: issued in the future";
        return NT_EUNAUTH;
    }
    out->valid_from = (out->nbf > out->iat ? out->nbf : out->iat) - JWT_LEEWAY_S;
    uid = json_object_get(claims, "nettuSchedulerUserId");
    if (uid == NULL || json_is_null(uid)) {
        *why = "token nettuSchedulerUserId: required";
        return NT_EUNAUTH;
    }
    if (!json_is_string(uid) || json_string_length(uid) != NT_UUID_LEN ||
        !jwt_uuid_valid(json_string_value(uid))) {
        *why = "token nettuSchedulerUserId: expected a user id (UUID)";
        return NT_EUNAUTH;
    }
    for (int i = 0; i < NT_UUID_LEN; i++)
        out->user_id[i] = (char)tolower((unsigned char)json_string_value(uid)[i]);
    out->user_id[NT_UUID_LEN] = '\0';
    pol = json_object_get(claims, "schedulerPolicy");
    if (pol != NULL && !json_is_null(pol)) {
        if (!json_is_object(pol)) {
            *why = "token schedulerPolicy: expected an object";
            return NT_EUNAUTH;
        }
        out->policy = json_incref((json_t *)pol);
    }
    return NT_OK;
}

int
jwt_verify(const char *token, size_t len, EVP_PKEY *key, int64_t now_s, jwt_claims *out,
           const char **why)
{
    const char *dot1, *dot2;
    json_t *header = NULL, *claims = NULL;
    const json_t *alg;
    int rc = NT_EUNAUTH;

    memset(out, 0, sizeof(*out));
    *why = "token: expected three base64url parts separated by dots";
    if (token == NULL || len == 0)
        goto out;
    if (len > JWT_MAX_LEN) {
        *why = "token: too long";
        goto out;
    }
    dot1 = memchr(token, '.', len);
    dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        goto out;
    rc = jwt_segment_json(token, (size_t)(dot1 - token), &header, "token header: not base64url",
                          "token header: not a JSON object", why);
    if (rc != NT_OK)
        goto out;
    alg = json_object_get(header, "alg");
    if (!json_is_string(alg) || json_string_length(alg) != 5 ||
        memcmp(json_string_value(alg), "RS256", 5) != 0) {
        rc = NT_EUNAUTH;
        *why = "token algorithm must be RS256";
        goto out;
    }
    if (json_object_get(header, "crit") != NULL) {
        rc = NT_EUNAUTH;
        *why = "token crit: no critical header parameter is supported";
        goto out;
    }
    rc = jwt_check_signature(token, (size_t)(dot2 - token), dot2 + 1,
                             len - (size_t)(dot2 + 1 - token), key, why);
    if (rc != NT_OK)
        goto out;
    rc = jwt_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &claims,
                          "token claims: not base64url", "token claims: not a JSON object", why);
    if (rc != NT_OK)
        goto out;
    rc = jwt_read_claims(claims, now_s, out, why);
out:
    if (rc != NT_OK)
        jwt_claims_fini(out);
    else
        *why = NULL;
    json_decref(header);
    json_decref(claims);
    ERR_clear_error();
    return rc;
}

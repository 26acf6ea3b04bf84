/* Unit tests of auth_jwks: JWK Set parsing (RFC 7517) with keys generated here and converted
 * to JWKs, RS256 and ES256 verification and key choice by kid, claims under configurable
 * names, the versioned key ring, and the authenticator and SIGHUP reload driven through the
 * plugin's own init/start on the shared fake host (tests/support) with fake accounts and
 * users services and the real policy rules.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nettu/services.h>

#include "fakehost.h"
#include "jwks_claims.h"
#include "jwks_jws.h"
#include "jwks_ring.h"
#include "jwks_set.h"
#include "weak_rsa.h"
#include "policy_rules.h"

const nt_plugin_desc *nt_plugin_entry(void);

#define UID "0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f11"
#define UID_UPPER "0B1E7C1E-5D0A-4F3E-9F40-2A5C0C4B8F11"
#define UID_OTHER "11111111-2222-4333-8444-555555555555"
#define ACC "6f2a1d0e-3b4c-4d5e-8f60-718293a4b5c6"
#define ACC_UPPER "6F2A1D0E-3B4C-4D5E-8F60-718293A4B5C6"
#define ACC_OTHER "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define API_KEY "sk_0123456789abcdefghijABCDEFGHIJ"
#define FAR_EXP 5609418990073LL

/* ---- keys, JWKs and a token signer ---------------------------------------------------- */

static EVP_PKEY *rsa1, *rsa2, *rsa_small, *ec1, *ec2, *ec384;

/* Made once, before the tests fork. */
static void
keys_setup(void)
{
    if (rsa1 != NULL)
        return;
    rsa1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa_small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    ec1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    ck_assert(rsa1 != NULL && rsa2 != NULL && rsa_small != NULL && ec1 != NULL && ec2 != NULL &&
              ec384 != NULL);
    (void)weak_rsa_cases(&(size_t){0});
}

static void
keys_teardown(void)
{
}

/* base64url without padding; malloc'd. */
static char *
b64u(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len;

    ck_assert_ptr_nonnull(out);
    len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

/* The RSA JWK of (n, e) with kid; a new object. */
static json_t *
jwk_rsa_numbers(const BIGNUM *n, const BIGNUM *e, const char *kid)
{
    unsigned char buf[1100];
    json_t *o = json_pack("{s:s,s:s}", "kty", "RSA", "kid", kid);
    char *s;

    ck_assert_ptr_nonnull(o);
    ck_assert_int_le(BN_num_bytes(n), (int)sizeof(buf));
    s = b64u(buf, (size_t)BN_bn2bin(n, buf));
    json_object_set_new(o, "n", json_string(s));
    free(s);
    s = b64u(buf, (size_t)BN_bn2bin(e, buf));
    json_object_set_new(o, "e", json_string(s));
    free(s);
    return o;
}

/* Sets obj[name] to the base64url of big number parameter `param` of key k, left-padded with
 * zeros to `pad` bytes (0: minimal). */
static void
set_bn(json_t *obj, const char *name, EVP_PKEY *k, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;
    char *s;

    ck_assert_int_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1);
    n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    ck_assert_int_gt(n, 0);
    s = b64u(buf, (size_t)n);
    ck_assert_int_eq(json_object_set_new(obj, name, json_string(s)), 0);
    free(s);
    BN_free(bn);
}

/* The public JWK of k (RSA, or EC with its curve name) with kid (NULL: none); a new object. */
static json_t *
jwk_of(EVP_PKEY *k, const char *kid)
{
    json_t *o = json_object();
    char group[64];

    ck_assert_ptr_nonnull(o);
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        json_object_set_new(o, "kty", json_string("RSA"));
        set_bn(o, "n", k, OSSL_PKEY_PARAM_RSA_N, 0);
        set_bn(o, "e", k, OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
        ck_assert_int_eq(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                        sizeof(group), NULL),
                         1);
        json_object_set_new(o, "kty", json_string("EC"));
        json_object_set_new(o, "crv",
                            json_string(strcmp(group, "prime256v1") == 0 ? "P-256" : "P-384"));
        set_bn(o, "x", k, OSSL_PKEY_PARAM_EC_PUB_X, strcmp(group, "prime256v1") == 0 ? 32 : 48);
        set_bn(o, "y", k, OSSL_PKEY_PARAM_EC_PUB_Y, strcmp(group, "prime256v1") == 0 ? 32 : 48);
    }
    if (kid != NULL)
        json_object_set_new(o, "kid", json_string(kid));
    return o;
}

/* {"keys": [jwk...]} from NULL-terminated JWK objects (taken); malloc'd text. */
static char *
jwks_text(json_t *first, ...)
{
    json_t *doc = json_object(), *keys = json_array();
    va_list ap;
    char *s;

    va_start(ap, first);
    for (json_t *k = first; k != NULL; k = va_arg(ap, json_t *))
        json_array_append_new(keys, k);
    va_end(ap);
    json_object_set_new(doc, "keys", keys);
    s = json_dumps(doc, JSON_COMPACT);
    ck_assert_ptr_nonnull(s);
    json_decref(doc);
    return s;
}

/* The standard key file: rsa1 "r1", rsa2 "r2", ec1 "e1". */
static char *
std_jwks(void)
{
    return jwks_text(jwk_of(rsa1, "r1"), jwk_of(rsa2, "r2"), jwk_of(ec1, "e1"), NULL);
}

/* Parses text that must be a valid set. */
static jwks_set *
must_parse(const char *text)
{
    jwks_set *s = NULL;
    char err[256];

    ck_assert_msg(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)) == NT_OK, "refused: %s",
                  err);
    ck_assert_ptr_nonnull(s);
    return s;
}

enum sig_kind { SIG_RS256, SIG_RS512, SIG_ES256, SIG_ES256_DER, SIG_HS256, SIG_NONE };

/* Signs header.claims (JSON texts) the way `how` says; malloc'd compact token. */
static char *
mk_token(const char *header, const char *claims, enum sig_kind how, EVP_PKEY *key)
{
    char *h = b64u(header, strlen(header)), *c = b64u(claims, strlen(claims)), *sig, *input, *tok;
    unsigned char buf[1024];
    size_t len = sizeof(buf);
    unsigned int maclen = 0;

    input = malloc(strlen(h) + strlen(c) + 2);
    ck_assert_ptr_nonnull(input);
    sprintf(input, "%s.%s", h, c);
    if (how == SIG_RS256 || how == SIG_RS512 || how == SIG_ES256 || how == SIG_ES256_DER) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestSignInit(
                             ctx, NULL, how == SIG_RS512 ? EVP_sha512() : EVP_sha256(), NULL, key),
                         1);
        ck_assert_int_eq(EVP_DigestSign(ctx, buf, &len, (unsigned char *)input, strlen(input)), 1);
        EVP_MD_CTX_free(ctx);
    } else if (how == SIG_HS256) {
        ck_assert_ptr_nonnull(
            HMAC(EVP_sha256(), "secret", 6, (unsigned char *)input, strlen(input), buf, &maclen));
        len = maclen;
    } else {
        len = 0;
    }
    if (how == SIG_ES256) { /* DER ECDSA-Sig-Value to the JWS form r || s */
        const unsigned char *p = buf;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        ck_assert_ptr_nonnull(es);
        ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), buf, 32), 32);
        ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), buf + 32, 32), 32);
        len = 64;
        ECDSA_SIG_free(es);
    }
    sig = b64u(buf, len);
    tok = malloc(strlen(input) + strlen(sig) + 2);
    ck_assert_ptr_nonnull(tok);
    sprintf(tok, "%s.%s", input, sig);
    free(h);
    free(c);
    free(input);
    free(sig);
    return tok;
}

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

/* Claims naming UID under nettuSchedulerUserId with a far exp plus an optional extra member
 * text; malloc'd. */
static char *
std_claims(const char *extra)
{
    char *s = malloc(1024);

    ck_assert_ptr_nonnull(s);
    snprintf(s, 1024, "{\"nettuSchedulerUserId\":\"%s\",\"iat\":19,\"exp\":%lld%s%s}", UID, FAR_EXP,
             extra != NULL ? "," : "", extra != NULL ? extra : "");
    return s;
}

/* A good token for UID by `key` under the header `header`; malloc'd. */
static char *
good_token(const char *header, enum sig_kind how, EVP_PKEY *key)
{
    char *claims = std_claims(NULL), *tok = mk_token(header, claims, how, key);

    free(claims);
    return tok;
}

/* jwks_jws_verify of a NUL-terminated token. */
static int
verify(const jwks_set *s, const char *tok, json_t **claims, const char **why)
{
    return jwks_jws_verify(tok, strlen(tok), s, claims, why);
}

/* Asserts that `tok` is refused by s with a message holding `part`. */
static void
assert_refused(const jwks_set *s, const char *tok, const char *part)
{
    json_t *claims = NULL;
    const char *why = NULL;

    ck_assert_msg(verify(s, tok, &claims, &why) == NT_EUNAUTH, "accepted: expected '%s'", part);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, part) != NULL, "message '%s' lacks '%s'", why, part);
    ck_assert_int_eq((int)ERR_peek_error(), 0);
}

/* Asserts that `tok` verifies against s. */
static void
assert_verified(const jwks_set *s, const char *tok)
{
    json_t *claims = NULL;
    const char *why = NULL;

    ck_assert_msg(verify(s, tok, &claims, &why) == NT_OK, "refused: %s", why);
    ck_assert(json_is_object(claims));
    ck_assert_str_eq(json_string_value(json_object_get(claims, "nettuSchedulerUserId")), UID);
    json_decref(claims);
    ck_assert_int_eq((int)ERR_peek_error(), 0);
}

/* ---- JWK Set parsing ------------------------------------------------------------------- */

START_TEST(test_parse_good)
{
    char *text = std_jwks(), note[128];
    jwks_set *s = must_parse(text);

    ck_assert_uint_eq(jwks_set_count(s), 3);
    ck_assert_uint_eq(jwks_set_skipped(s, note, sizeof(note)), 0);
    ck_assert_str_eq(note, "");
    jwks_set_unref(s);
    jwks_set_unref(NULL);
    free(text);
    /* use, key_ops and alg members that fit are fine; unknown members are ignored */
    json_t *r = jwk_of(rsa1, "r1"), *e = jwk_of(ec1, "e1");
    json_object_set_new(r, "use", json_string("sig"));
    json_object_set_new(r, "alg", json_string("RS256"));
    json_object_set_new(r, "x5t", json_string("whatever"));
    json_object_set_new(e, "key_ops", json_pack("[s,s]", "sign", "verify"));
    json_object_set_new(e, "alg", json_string("ES256"));
    text = jwks_text(r, e, NULL);
    s = must_parse(text);
    ck_assert_uint_eq(jwks_set_count(s), 2);
    jwks_set_unref(s);
    free(text);
}
END_TEST

START_TEST(test_parse_rsa_leading_zero)
{
    /* a modulus written with a leading zero byte still has its number of bits */
    json_t *r = jwk_of(rsa1, "r1");
    BIGNUM *bn = NULL;
    unsigned char buf[257];
    char *n, *text;
    jwks_set *s;

    ck_assert_int_eq(EVP_PKEY_get_bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
    ck_assert_int_eq(BN_bn2binpad(bn, buf, 257), 257);
    n = b64u(buf, 257);
    json_object_set_new(r, "n", json_string(n));
    text = jwks_text(r, NULL);
    s = must_parse(text);
    ck_assert_uint_eq(jwks_set_count(s), 1);
    jwks_set_unref(s);
    BN_free(bn);
    free(n);
    free(text);
}
END_TEST

/* Broken keys: a change to one good JWK and the message part it must give. */
enum base_key { BASE_RSA, BASE_EC };
static const struct {
    enum base_key base;
    const char *member, *value; /* value: JSON text, or NULL to delete the member */
    const char *why;
} bad_keys[] = {
    {BASE_RSA, "n", NULL, "keys[0]: n: required"},
    {BASE_RSA, "n", "\"\"", "keys[0]: n: required"},
    {BASE_RSA, "n", "5", "keys[0]: n: required"},
    {BASE_RSA, "n", "\"AQAB+/\"", "keys[0]: n: required, the modulus in base64url"},
    {BASE_RSA, "n", "\"AQAB=\"", "keys[0]: n: required, the modulus in base64url"},
    {BASE_RSA, "n", "\"AQAB\"", "keys[0]: the RSA modulus must have 2048 to 8192 bits (kid \"k\")"},
    {BASE_RSA, "e", NULL, "keys[0]: e: required"},
    {BASE_RSA, "e", "\"AQ\"", "keys[0]: the RSA public exponent must be 65537"},   /* 1 */
    {BASE_RSA, "e", "\"Aw\"", "keys[0]: the RSA public exponent must be 65537"},   /* 3 */
    {BASE_RSA, "e", "\"AQAD\"", "keys[0]: the RSA public exponent must be 65537"}, /* 65539 */
    {BASE_RSA, "e", "\"AQAA\"", "keys[0]: the RSA public exponent must be 65537"}, /* 65536 */
    {BASE_RSA, "e", "\"AQAAAAAAAAAB\"", "keys[0]: the RSA public exponent must be 65537"},
    {BASE_RSA, "e", "\"AQB\"", "keys[0]: e: required, the exponent in base64url"},
    {BASE_RSA, "d", "\"AQAB\"", "keys[0]: holds private key members"},
    {BASE_RSA, "kid", "\"\"", "keys[0]: kid: expected a non-empty string"},
    {BASE_RSA, "kid", "7", "keys[0]: kid: expected a non-empty string"},
    {BASE_RSA, "kty", NULL, "keys[0]: kty: required"},
    {BASE_RSA, "kty", "[\"RSA\"]", "keys[0]: kty: required"},
    {BASE_RSA, "use", "1", "keys[0]: use: expected a non-empty string"},
    {BASE_RSA, "key_ops", "\"verify\"", "keys[0]: key_ops: expected an array"},
    {BASE_RSA, "key_ops", "[1]", "keys[0]: key_ops: expected an array"},
    {BASE_RSA, "alg", "true", "keys[0]: alg: expected a non-empty string"},
    {BASE_EC, "x", NULL, "keys[0]: x: required"},
    {BASE_EC, "y", NULL, "keys[0]: y: required"},
    {BASE_EC, "x", "\"AQAB\"", "keys[0]: x: required, 32 bytes"},
    {BASE_EC, "y", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
     "keys[0]: y: required, 32"},
    {BASE_EC, "y", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", "keys[0]: x, y: not a point"},
    {BASE_EC, "x", "\"not base64url!\"", "keys[0]: x: required, 32 bytes in base64url"},
    {BASE_EC, "crv", NULL, "keys[0]: crv: required"},
    {BASE_EC, "crv", "256", "keys[0]: crv: required"},
    {BASE_EC, "d", "\"AQAB\"", "keys[0]: holds private key members"},
};

START_TEST(test_parse_bad_key)
{
    json_t *k = jwk_of(bad_keys[_i].base == BASE_RSA ? rsa1 : ec1, "k");
    jwks_set *s = (jwks_set *)&s;
    char *text, err[256];

    if (bad_keys[_i].value == NULL) {
        json_object_del(k, bad_keys[_i].member);
    } else {
        json_t *v = json_loads(bad_keys[_i].value, JSON_DECODE_ANY, NULL);
        ck_assert_ptr_nonnull(v);
        json_object_set_new(k, bad_keys[_i].member, v);
    }
    text = jwks_text(k, NULL);
    ck_assert_int_eq(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, bad_keys[_i].why) != NULL, "message '%s' lacks '%s'", err,
                  bad_keys[_i].why);
    ck_assert_int_eq((int)ERR_peek_error(), 0);
    free(text);
}
END_TEST

START_TEST(test_parse_small_rsa)
{
    char *text = jwks_text(jwk_of(rsa1, "ok"), jwk_of(rsa_small, "small"), NULL), err[256];
    jwks_set *s = NULL;

    ck_assert_int_eq(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "keys[1]: the RSA modulus must have 2048 to 8192 bits (kid \"small\")");
    free(text);
}
END_TEST

/* A file with one weak RSA key (next to a good one) is refused whole, naming the key's
 * index, its kid and the rule it breaks. */
START_TEST(test_parse_weak_rsa)
{
    size_t count = 0;
    const weak_rsa *w = weak_rsa_cases(&count);
    char *text, err[256], want[160];
    jwks_set *s = NULL;

    ck_assert_uint_gt(count, (size_t)_i);
    text = jwks_text(jwk_of(rsa1, "ok"), jwk_rsa_numbers(w[_i].n, w[_i].e, "weak-1"), NULL);
    ck_assert_int_eq(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_null(s);
    snprintf(want, sizeof(want), "keys[1]: ");
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: '%s'", w[_i].name, err);
    ck_assert_msg(strstr(err, w[_i].why) != NULL && strstr(err, "(kid \"weak-1\")") != NULL,
                  "%s: '%s'", w[_i].name, err);
    free(text);
}
END_TEST

/* 2048 bits (rsa1) and 8192 bits with e = 65537 are the bounds that are accepted. */
START_TEST(test_parse_rsa_8192)
{
    const BIGNUM *e = NULL, *n = weak_rsa_strong_8192(&e);
    char *text = jwks_text(jwk_of(rsa1, "a"), jwk_rsa_numbers(n, e, "b"), NULL);
    jwks_set *s = must_parse(text);

    ck_assert_uint_eq(jwks_set_count(s), 2);
    jwks_set_unref(s);
    free(text);
}
END_TEST

/* Documents that must be refused as a whole. */
static const struct {
    const char *text, *why;
} bad_docs[] = {
    {"", "not JSON"},
    {"{\"keys\":[", "not JSON"},
    {"[]", "keys: required"},
    {"{}", "keys: required"},
    {"{\"keys\":{}}", "keys: required"},
    {"{\"keys\":null}", "keys: required"},
    {"{\"keys\":[],\"keys\":[]}", "not JSON"},
    {"{\"keys\":[]}", "keys: no usable key"},
    {"{\"keys\":[5]}", "keys[0]: not a JSON object"},
    {"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
     "keys: no usable key (RSA for RS256 or EC P-256 for ES256); skipped keys[0]: kty: neither"},
};

START_TEST(test_parse_bad_doc)
{
    const char *text = bad_docs[_i].text;
    jwks_set *s = NULL;
    char err[256];

    ck_assert_int_eq(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, bad_docs[_i].why) != NULL, "message '%s' lacks '%s'", err,
                  bad_docs[_i].why);
}
END_TEST

START_TEST(test_parse_skipped)
{
    json_t *p384 = jwk_of(ec384, "p384"), *enc = jwk_of(rsa2, "enc"), *rs512 = jwk_of(rsa2, "x");
    json_t *noverify = jwk_of(ec2, "nv");
    char *text, note[128], err[256];
    jwks_set *s = NULL;

    json_object_set_new(enc, "use", json_string("enc"));
    json_object_set_new(rs512, "alg", json_string("RS512"));
    json_object_set_new(noverify, "key_ops", json_pack("[s]", "sign"));
    text = jwks_text(p384, jwk_of(rsa1, "r1"), enc, rs512, noverify,
                     json_pack("{s:s,s:s}", "kty", "OKP", "crv", "Ed25519"), NULL);
    s = must_parse(text);
    ck_assert_uint_eq(jwks_set_count(s), 1);
    ck_assert_uint_eq(jwks_set_skipped(s, note, sizeof(note)), 5);
    ck_assert_str_eq(note, "keys[0]: crv: not P-256, the only curve supported");
    jwks_set_unref(s);
    free(text);
    /* the wrong curve alone: nothing usable is left */
    text = jwks_text(jwk_of(ec384, NULL), NULL);
    ck_assert_int_eq(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "keys: no usable key (RSA for RS256 or EC P-256 for ES256); skipped "
                          "keys[0]: crv: not P-256, the only curve supported");
    free(text);
}
END_TEST

START_TEST(test_parse_kids)
{
    char *text, err[256];
    jwks_set *s = NULL;
    EVP_PKEY *k = NULL;
    const char *why = NULL;

    /* keys without kid are fine, and picked when a token has none */
    text = jwks_text(jwk_of(rsa1, NULL), jwk_of(ec1, NULL), NULL);
    s = must_parse(text);
    ck_assert_int_eq(jwks_set_select(s, JWKS_KTY_RSA, NULL, &k, &why), NT_OK);
    ck_assert_int_eq(EVP_PKEY_eq(k, rsa1), 1);
    ck_assert_int_eq(jwks_set_select(s, JWKS_KTY_EC, NULL, &k, &why), NT_OK);
    ck_assert_int_eq(EVP_PKEY_eq(k, ec1), 1);
    ck_assert_int_eq(jwks_set_select(s, JWKS_KTY_RSA, "r1", &k, &why), NT_EUNAUTH);
    ck_assert_ptr_null(k);
    ck_assert_str_eq(why, "token kid: no key with this id in the key set");
    jwks_set_unref(s);
    free(text);
    /* a kid twice: the file is refused, whatever the key types */
    text = jwks_text(jwk_of(rsa1, "a"), jwk_of(ec1, "b"), jwk_of(ec2, "a"), NULL);
    ck_assert_int_eq(jwks_set_parse(text, strlen(text), &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err, "keys[2]: kid: used by another key already");
    free(text);
    /* two keys without kid do not collide */
    text = jwks_text(jwk_of(rsa1, NULL), jwk_of(rsa2, NULL), NULL);
    s = must_parse(text);
    ck_assert_int_eq(jwks_set_select(s, JWKS_KTY_RSA, NULL, &k, &why), NT_EUNAUTH);
    ck_assert_str_eq(why, "token kid: required, the key set has several keys for this algorithm");
    jwks_set_unref(s);
    free(text);
}
END_TEST

START_TEST(test_load_file)
{
    char dir[] = "/tmp/test_jwks_XXXXXX", path[128], err[256];
    char *text = std_jwks();
    jwks_set *s = NULL;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/jwks.json", dir);
    ck_assert_int_eq(jwks_set_load(path, &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "cannot open: No such file or directory");
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(jwks_set_load(path, &s, err, sizeof(err)), NT_OK);
    ck_assert_uint_eq(jwks_set_count(s), 3);
    jwks_set_unref(s);
    ck_assert_int_eq(jwks_set_load(dir, &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_msg(strstr(err, "cannot read") != NULL, "%s", err);
    f = fopen(path, "w");
    for (size_t i = 0; i <= JWKS_FILE_MAX; i += 8)
        fputs("        ", f);
    fclose(f);
    ck_assert_int_eq(jwks_set_load(path, &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "larger than 1048576 bytes");
    unlink(path);
    rmdir(dir);
    free(text);
}
END_TEST

/* ---- verification and key choice --------------------------------------------------------- */

static jwks_set *std_set;

static void
set_setup(void)
{
    char *text = std_jwks();

    std_set = must_parse(text);
    free(text);
}

static void
set_teardown(void)
{
    jwks_set_unref(std_set);
    std_set = NULL;
}

START_TEST(test_verify_rs256_es256)
{
    char *t1 = good_token("{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}", SIG_RS256, rsa1);
    char *t2 = good_token("{\"alg\":\"RS256\",\"kid\":\"r2\"}", SIG_RS256, rsa2);
    char *t3 = good_token("{\"alg\":\"ES256\",\"kid\":\"e1\"}", SIG_ES256, ec1);
    char *t4 = good_token("{\"alg\":\"ES256\"}", SIG_ES256, ec1); /* the only EC key */

    assert_verified(std_set, t1);
    assert_verified(std_set, t2);
    assert_verified(std_set, t3);
    assert_verified(std_set, t4);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
}
END_TEST

/* The keys a table names (they are made at run time). */
enum key_id { K_NONE, K_RSA1, K_RSA2, K_EC1, K_EC2 };

static EVP_PKEY *
key_of(enum key_id k)
{
    EVP_PKEY *keys[] = {NULL, rsa1, rsa2, ec1, ec2};

    return keys[k];
}

/* Tokens for UID refused by the standard set (r1, r2 RSA; e1 EC), and the message part. */
static const struct {
    const char *header;
    enum sig_kind how;
    enum key_id key;
    const char *why;
} refused[] = {
    /* key choice by kid */
    {"{\"alg\":\"RS256\",\"kid\":\"r1\"}", SIG_RS256, K_RSA2, "token signature is invalid"},
    {"{\"alg\":\"ES256\",\"kid\":\"e1\"}", SIG_ES256, K_EC2, "token signature is invalid"},
    {"{\"alg\":\"RS256\"}", SIG_RS256, K_RSA1, "token kid: required, the key set has several"},
    {"{\"alg\":\"RS256\",\"kid\":\"nope\"}", SIG_RS256, K_RSA1, "token kid: no key with this id"},
    {"{\"alg\":\"RS256\",\"kid\":5}", SIG_RS256, K_RSA1, "token kid: expected a non-empty string"},
    {"{\"alg\":\"RS256\",\"kid\":\"\"}", SIG_RS256, K_RSA1, "token kid: expected a non-empty"},
    /* alg and key type must agree */
    {"{\"alg\":\"RS256\",\"kid\":\"e1\"}", SIG_RS256, K_RSA1, "token alg: does not match the type"},
    {"{\"alg\":\"ES256\",\"kid\":\"r1\"}", SIG_ES256, K_EC1, "token alg: does not match the type"},
    /* every other alg */
    {"{\"alg\":\"none\"}", SIG_NONE, K_NONE, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"none\",\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"HS256\",\"kid\":\"r1\"}", SIG_HS256, K_NONE, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"HS256\",\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"RS512\",\"kid\":\"r1\"}", SIG_RS512, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"RS384\",\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"PS256\",\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"ES384\",\"kid\":\"e1\"}", SIG_ES256, K_EC1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"ES512\",\"kid\":\"e1\"}", SIG_ES256, K_EC1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"EdDSA\"}", SIG_ES256, K_EC1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"rs256\",\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"alg\":\"RS256 \",\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or"},
    {"{\"alg\":[\"RS256\"],\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or"},
    {"{\"alg\":null,\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    {"{\"kid\":\"r1\"}", SIG_RS256, K_RSA1, "token alg: must be RS256 or ES256"},
    /* signatures of the wrong form */
    {"{\"alg\":\"RS256\",\"kid\":\"r1\"}", SIG_RS512, K_RSA1, "token signature is invalid"},
    {"{\"alg\":\"ES256\",\"kid\":\"e1\"}", SIG_ES256_DER, K_EC1, "token signature: ES256 needs 64"},
    {"{\"alg\":\"RS256\",\"kid\":\"r1\"}", SIG_NONE, K_NONE, "token signature is invalid"},
    {"{\"alg\":\"ES256\",\"kid\":\"e1\"}", SIG_NONE, K_NONE, "token signature: ES256 needs 64"},
    /* a critical header parameter nobody here understands */
    {"{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"b64\"],\"b64\":false}", SIG_RS256, K_RSA1,
     "token crit"},
};

START_TEST(test_verify_refused)
{
    char *t = good_token(refused[_i].header, refused[_i].how, key_of(refused[_i].key));

    assert_refused(std_set, t, refused[_i].why);
    free(t);
}
END_TEST

START_TEST(test_verify_no_key_of_type)
{
    char *text = jwks_text(jwk_of(rsa1, "r1"), NULL);
    jwks_set *rsa_only = must_parse(text);
    char *t = good_token("{\"alg\":\"ES256\"}", SIG_ES256, ec1);

    assert_refused(rsa_only, t, "token alg: the key set has no key for this algorithm");
    jwks_set_unref(rsa_only);
    free(text);
    free(t);
}
END_TEST

START_TEST(test_verify_tampered)
{
    const char *hdrs[] = {"{\"alg\":\"RS256\",\"kid\":\"r1\"}",
                          "{\"alg\":\"ES256\",\"kid\":\"e1\"}"};
    EVP_PKEY *keys[] = {rsa1, ec1};
    enum sig_kind kinds[] = {SIG_RS256, SIG_ES256};

    for (int i = 0; i < 2; i++) {
        char *t = good_token(hdrs[i], kinds[i], keys[i]);
        char *other =
            mk_token(hdrs[i], "{\"nettuSchedulerUserId\":\"" UID_OTHER "\",\"exp\":5609418990073}",
                     kinds[i], keys[i]);
        char *sig = strrchr(other, '.');
        char *mixed = malloc(strlen(t) + strlen(other));
        /* t's header and claims with other's signature */
        sprintf(mixed, "%.*s%s", (int)(strrchr(t, '.') - t), t, sig);
        assert_refused(std_set, mixed, "token signature is invalid");
        /* a flipped bit in the signature */
        t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
        assert_refused(std_set, t, "token signature");
        free(mixed);
        free(other);
        free(t);
    }
}
END_TEST

static const struct {
    const char *token, *why;
} bad_shapes[] = {
    {"", "three base64url parts"},
    {"abc", "three base64url parts"},
    {"a.b", "three base64url parts"},
    {"a.b.c.d", "three base64url parts"},
    {"!!!.e30.", "token header: not a base64url JSON object"},
    {"W10.e30.", "token header: not a base64url JSON object"},    /* [] */
    {"bnVsbA.e30.", "token header: not a base64url JSON object"}, /* null */
    {"eyJhbGciOiJSUzI1NiIsImFsZyI6IlJTMjU2In0.e30.", "token header: not a base64url JSON"},
    {"eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIn0.e30.!!!", "token signature: not base64url"},
};

START_TEST(test_verify_bad_shape)
{
    assert_refused(std_set, bad_shapes[_i].token, bad_shapes[_i].why);
}
END_TEST

START_TEST(test_verify_claims_segment)
{
    char *t = mk_token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", "[1]", SIG_RS256, rsa1);
    char *big = malloc(JWKS_TOKEN_MAX + 2);

    assert_refused(std_set, t, "token claims: not a base64url JSON object");
    free(t);
    memset(big, 'a', JWKS_TOKEN_MAX + 1);
    big[JWKS_TOKEN_MAX + 1] = '\0';
    assert_refused(std_set, big, "token: too long");
    free(big);
}
END_TEST

/* ---- claims ---------------------------------------------------------------------------- */

static const jwks_claim_rules default_rules = {
    .user_claim = "nettuSchedulerUserId",
    .policy_claim = "schedulerPolicy",
    .leeway_s = JWKS_LEEWAY_S,
};

/* Runs jwks_claims_check on JSON text at time `now`, with the fake host's UUID check. */
static int
check_claims(const char *text, const jwks_claim_rules *rules, int64_t now, jwks_principal *p,
             char *why, size_t whylen)
{
    json_t *claims = json_loads(text, 0, NULL);
    jwks_claim_rules r = *rules;
    int rc;

    r.uuid_valid = fh_api()->uuid_valid;
    ck_assert_msg(claims != NULL, "bad test JSON: %s", text);
    rc = jwks_claims_check(claims, &r, now, p, why, whylen);
    json_decref(claims);
    return rc;
}

/* Asserts refusal with a message containing part. */
static void
assert_claims_refused(const char *text, const jwks_claim_rules *rules, int64_t now,
                      const char *part)
{
    jwks_principal p;
    char why[160] = "";

    ck_assert_msg(check_claims(text, rules, now, &p, why, sizeof(why)) == NT_EUNAUTH,
                  "accepted: %s", text);
    ck_assert_msg(strstr(why, part) != NULL, "message '%s' lacks '%s'", why, part);
    ck_assert_str_eq(p.user_id, "");
    ck_assert_ptr_null(p.policy);
}

START_TEST(test_claims_default_names)
{
    jwks_principal p;
    char why[160];

    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID_UPPER "\",\"exp\":100,"
                                  "\"schedulerPolicy\":{\"allow\":[\"*\"]}}",
                                  &default_rules, 100, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_str_eq(p.user_id, UID);
    ck_assert_int_eq(p.exp, 100);
    ck_assert(json_is_object(p.policy));
    ck_assert_int_eq(policy_rules_validate(p.policy), NT_OK);
    jwks_principal_fini(&p);
    ck_assert_ptr_null(p.policy);
    jwks_principal_fini(NULL);
    /* policy absent or null: the default policy */
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":100,"
                                  "\"schedulerPolicy\":null,\"sub\":\"someone\"}",
                                  &default_rules, 1, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_ptr_null(p.policy);
    assert_claims_refused("{\"sub\":\"" UID "\",\"exp\":100}", &default_rules, 1,
                          "token nettuSchedulerUserId: required");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"nope\",\"exp\":100}", &default_rules, 1,
                          "token nettuSchedulerUserId: expected a user id (UUID)");
    assert_claims_refused("{\"nettuSchedulerUserId\":7,\"exp\":100}", &default_rules, 1,
                          "token nettuSchedulerUserId: expected a user id (UUID)");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":100,"
                          "\"schedulerPolicy\":[\"*\"]}",
                          &default_rules, 1, "token schedulerPolicy: expected an object");
}
END_TEST

START_TEST(test_claims_custom_names)
{
    jwks_claim_rules rules = default_rules;
    jwks_principal p;
    char why[160];

    rules.user_claim = "sub";
    rules.policy_claim = "https://example.com/policy";
    ck_assert_int_eq(check_claims("{\"sub\":\"" UID
                                  "\",\"exp\":100,\"nettuSchedulerUserId\":\"" UID_OTHER
                                  "\",\"https://example.com/policy\":{\"reject\":[\"*\"]},"
                                  "\"schedulerPolicy\":{\"allow\":[\"*\"]}}",
                                  &rules, 1, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_str_eq(p.user_id, UID);
    ck_assert_ptr_nonnull(json_object_get(p.policy, "reject"));
    ck_assert_ptr_null(json_object_get(p.policy, "allow"));
    jwks_principal_fini(&p);
    /* the configured policy claim absent: default policy, whatever schedulerPolicy says */
    ck_assert_int_eq(check_claims("{\"sub\":\"" UID "\",\"exp\":100,"
                                  "\"schedulerPolicy\":{\"allow\":[\"*\"]}}",
                                  &rules, 1, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_ptr_null(p.policy);
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":100}", &rules, 1,
                          "token sub: required");
    assert_claims_refused("{\"sub\":\"auth0|123\",\"exp\":100}", &rules, 1,
                          "token sub: expected a user id (UUID)");
    assert_claims_refused("{\"sub\":\"" UID "\",\"exp\":100,\"https://example.com/policy\":1}",
                          &rules, 1, "token https://example.com/policy: expected an object");
}
END_TEST

START_TEST(test_claims_times)
{
    jwks_principal p;
    char why[160];

    /* exp == now still counts; iat is optional */
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":1000}",
                                  &default_rules, 1000, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID
                                  "\",\"exp\":9223372036854775807,"
                                  "\"nbf\":1000,\"iat\":5}",
                                  &default_rules, 1000, &p, why, sizeof(why)),
                     NT_OK);
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":999}", &default_rules,
                          1000, "token expired");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\"}", &default_rules, 1,
                          "token exp: required");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":null}", &default_rules, 1,
                          "token exp: required");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":\"1000\"}", &default_rules,
                          1, "token exp: expected a non-negative integer");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":1000.5}", &default_rules,
                          1, "token exp: expected a non-negative integer");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":-1}", &default_rules, 1,
                          "token exp: expected a non-negative integer");
    /* nbf and iat get 60 s of leeway for clock skew */
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,"
                                  "\"nbf\":1060,\"iat\":1050}",
                                  &default_rules, 1000, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_int_eq(p.valid_from, 1000);
    jwks_principal_fini(&p);
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,"
                                  "\"iat\":990}",
                                  &default_rules, 1000, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_int_eq(p.valid_from, 930);
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000}",
                                  &default_rules, 1000, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_int_eq(p.valid_from, -60);
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,\"nbf\":1061}",
                          &default_rules, 1000, "token nbf: not valid yet");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,\"iat\":1061}",
                          &default_rules, 1000, "token iat: issued in the future");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9223372036854775807,"
                          "\"nbf\":9223372036854775807}",
                          &default_rules, 1000, "token nbf: not valid yet");
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID
                                  "\",\"exp\":9223372036854775807,"
                                  "\"nbf\":9223372036854775807,\"iat\":9223372036854775807}",
                                  &default_rules, INT64_MAX, &p, why, sizeof(why)),
                     NT_OK);
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,\"nbf\":\"1\"}",
                          &default_rules, 1000, "token nbf: expected a non-negative integer");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,\"iat\":1.5}",
                          &default_rules, 1000, "token iat: expected a non-negative integer");
}
END_TEST

/* [auth_jwks] leeway and exp_leeway: the configured clock skew for nbf/iat and for exp. */
START_TEST(test_claims_leeways)
{
    jwks_claim_rules r = default_rules;
    jwks_principal p;
    char why[160];

    r.leeway_s = 120;
    r.exp_leeway_s = 30;
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":970,"
                                  "\"nbf\":1120}",
                                  &r, 1000, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_int_eq(p.valid_from, 1000);
    jwks_principal_fini(&p);
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":969}", &r, 1000,
                          "token expired (beyond [auth_jwks] exp_leeway)");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,\"nbf\":1121}", &r,
                          1000, "token nbf: not valid yet");
    r.leeway_s = 0;
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":2000,\"iat\":1001}", &r,
                          1000, "token iat: issued in the future");
}
END_TEST

START_TEST(test_claims_issuer_audience)
{
    jwks_claim_rules rules = default_rules;
    jwks_principal p;
    char why[160];

    /* not configured: ignored */
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                                  "\"iss\":5,\"aud\":[1]}",
                                  &rules, 1, &p, why, sizeof(why)),
                     NT_OK);
    rules.issuer = "https://idp.example.com/";
    rules.audience = "nettu";
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                                  "\"iss\":\"https://idp.example.com/\",\"aud\":\"nettu\"}",
                                  &rules, 1, &p, why, sizeof(why)),
                     NT_OK);
    ck_assert_int_eq(check_claims("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                                  "\"iss\":\"https://idp.example.com/\","
                                  "\"aud\":[\"other\",\"nettu\"]}",
                                  &rules, 1, &p, why, sizeof(why)),
                     NT_OK);
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,\"aud\":\"nettu\"}",
                          &rules, 1, "token iss: not the configured issuer");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                          "\"iss\":\"https://idp.example.com\",\"aud\":\"nettu\"}",
                          &rules, 1, "token iss: not the configured issuer");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                          "\"iss\":\"https://idp.example.com/\"}",
                          &rules, 1, "token aud: does not name the configured audience");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                          "\"iss\":\"https://idp.example.com/\",\"aud\":[\"other\"]}",
                          &rules, 1, "token aud: does not name the configured audience");
    assert_claims_refused("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":9,"
                          "\"iss\":\"https://idp.example.com/\",\"aud\":\"Nettu\"}",
                          &rules, 1, "token aud: does not name the configured audience");
}
END_TEST

/* ---- the key ring ------------------------------------------------------------------------ */

START_TEST(test_ring_versions)
{
    jwks_ring *r = jwks_ring_new();
    char *t1 = jwks_text(jwk_of(rsa1, "r1"), NULL), *t2 = jwks_text(jwk_of(ec1, "e1"), NULL);
    char *tok = good_token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", SIG_RS256, rsa1);
    jwks_set *held, *now;
    int64_t v = -1;

    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(jwks_ring_acquire(r, &v));
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(jwks_ring_install(r, must_parse(t1)), 1);
    held = jwks_ring_acquire(r, &v);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(jwks_ring_install(r, must_parse(t2)), 2);
    /* the reader's reference stays valid after the swap */
    assert_verified(held, tok);
    jwks_set_unref(held);
    now = jwks_ring_acquire(r, &v);
    ck_assert_int_eq(v, 2);
    assert_refused(now, tok, "token kid: no key with this id");
    jwks_set_unref(now);
    jwks_ring_free(r);
    jwks_ring_free(NULL);
    free(t1);
    free(t2);
    free(tok);
}
END_TEST

/* A reader thread: takes the current set, verifies a token against it when it holds the
 * token's key, drops it; over and over while the main thread swaps sets. */
struct ring_reader {
    jwks_ring *ring;
    const char *token;
    int verified, errors;
};

static void *
ring_reader_run(void *arg)
{
    struct ring_reader *r = arg;

    for (int i = 0; i < 400; i++) {
        int64_t version = 0;
        jwks_set *s = jwks_ring_acquire(r->ring, &version);
        json_t *claims = NULL;
        const char *why = NULL;
        int rc = jwks_jws_verify(r->token, strlen(r->token), s, &claims, &why);
        if (rc == NT_OK)
            r->verified++;
        else if (rc != NT_EUNAUTH || strstr(why, "token kid: no key") == NULL || version < 1)
            r->errors++;
        json_decref(claims);
        jwks_set_unref(s);
    }
    return NULL;
}

START_TEST(test_ring_concurrent)
{
    char *with = jwks_text(jwk_of(rsa1, "r1"), NULL), *without = jwks_text(jwk_of(ec1, "e1"), NULL);
    char *tok = good_token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", SIG_RS256, rsa1);
    struct ring_reader readers[4];
    pthread_t threads[4];
    jwks_ring *ring = jwks_ring_new();
    int64_t version = 0;

    ck_assert_int_eq(jwks_ring_install(ring, must_parse(with)), 1);
    for (int i = 0; i < 4; i++) {
        readers[i] = (struct ring_reader){.ring = ring, .token = tok};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, ring_reader_run, &readers[i]), 0);
    }
    for (int i = 0; i < 100; i++)
        version = jwks_ring_install(ring, must_parse(i % 2 == 0 ? without : with));
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(readers[i].errors, 0);
    }
    ck_assert_int_eq(version, 101);
    jwks_ring_free(ring);
    free(with);
    free(without);
    free(tok);
}
END_TEST

/* ---- the plugin on the fake host ---------------------------------------------------------- */

/* The fake accounts service: ACC with API_KEY; ACC_OTHER exists without a key. */
static int
fa_find_by_api_key(void *state, nt_db *db, const char *api_key, char account_id[NT_UUID_BUF])
{
    (void)state;
    (void)db;
    if (strcmp(api_key, API_KEY) != 0)
        return NT_ENOTFOUND;
    memcpy(account_id, ACC, NT_UUID_BUF);
    return NT_OK;
}

static int
fa_key_version(void *state, nt_db *db, const char *account_id, int64_t *version)
{
    (void)state;
    (void)db;
    *version = 0;
    return strcmp(account_id, ACC) == 0 || strcmp(account_id, ACC_OTHER) == 0 ? NT_OK
                                                                              : NT_ENOTFOUND;
}

static int
fa_public_key(void *state, nt_db *db, const char *account_id, char **pem, int64_t *version)
{
    (void)state;
    (void)db;
    (void)account_id;
    *pem = NULL;
    *version = 0;
    return NT_ENOTFOUND;
}

static const nt_accounts_v1 fa_ops = {
    .size = sizeof(nt_accounts_v1),
    .find_by_api_key = fa_find_by_api_key,
    .key_version = fa_key_version,
    .public_key = fa_public_key,
};

/* The fake users service: UID is a user of ACC. */
static int
fu_in_account(void *state, nt_db *db, const char *account_id, const char *user_id)
{
    (void)state;
    (void)db;
    return strcmp(account_id, ACC) == 0 && strcmp(user_id, UID) == 0 ? NT_OK : NT_ENOTFOUND;
}

static const nt_users_v1 fu_ops = {.size = sizeof(nt_users_v1), .in_account = fu_in_account};

/* The policy service over the real rules. */
static int
fp_validate(void *state, const json_t *policy)
{
    (void)state;
    return policy_rules_validate(policy);
}

static int
fp_check(void *state, const json_t *policy, const char *const *required)
{
    (void)state;
    return policy_rules_check(policy, required);
}

static const nt_policy_v1 fp_ops = {
    .size = sizeof(nt_policy_v1), .validate = fp_validate, .check = fp_check};

static struct {
    fh_host *host;
    fh_req *req; /* the request of the last run(), freed by the next one or the teardown */
    const nt_authenticator_v1 *auth;
    const nt_reloadable_v1 *reload;
    void *state;
    int no_users;
    char dir[64], path[128];
} fx;

/* Writes `text` (taken, freed) as the key file. */
static void
write_keys(char *text)
{
    FILE *f = fopen(fx.path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    free(text);
}

/* Asserts that the last line of the host's log starting with `level` (e.g. "WARN ")
 * contains `part`. */
static void
assert_logged(const char *level, const char *part)
{
    const char *log = fh_log(fx.host), *line = NULL, *end;
    char buf[1024] = "";

    for (const char *p = log; (p = strstr(p, level)) != NULL; p++) {
        if (p == log || p[-1] == '\n')
            line = p;
    }
    if (line != NULL) {
        end = strchr(line, '\n');
        snprintf(buf, sizeof(buf), "%.*s", (int)(end != NULL ? end - line : (long)strlen(line)),
                 line);
    }
    ck_assert_msg(strstr(buf, part) != NULL, "last %sline '%s' lacks '%s'", level, buf, part);
}

/* Starts the plugin on a new fake host with the NULL-terminated key/value pairs as its
 * section; returns init's or start's result (the plugin is closed again on failure). */
static int
fx_start_cfg(const char *const *kv)
{
    const fh_service *auth, *reload;
    fh_plugin *p;
    int rc;

    fh_req_free(fx.req);
    fx.req = NULL;
    fh_free(fx.host);
    fx.host = fh_new();
    ck_assert_ptr_nonnull(fx.host);
    fx.auth = NULL;
    fx.reload = NULL;
    fx.state = NULL;
    for (int i = 0; kv[i] != NULL; i += 2)
        ck_assert_int_eq(fh_config_set(fx.host, "auth_jwks", kv[i], kv[i + 1]), NT_OK);
    ck_assert_int_eq(
        fh_service_add(fx.host, NT_SERVICE_ACCOUNTS, "fake", NT_ACCOUNTS_V1, &fa_ops, NULL), NT_OK);
    if (!fx.no_users)
        ck_assert_int_eq(
            fh_service_add(fx.host, NT_SERVICE_USERS, "fake", NT_USERS_V1, &fu_ops, NULL), NT_OK);
    ck_assert_int_eq(
        fh_service_add(fx.host, NT_SERVICE_POLICY, "fake", NT_POLICY_V1, &fp_ops, NULL), NT_OK);
    ck_assert_str_eq(nt_plugin_entry()->name, "auth_jwks");
    p = fh_adopt(fx.host, nt_plugin_entry());
    ck_assert_ptr_nonnull(p);
    rc = fh_init(p);
    if (rc != NT_OK)
        return rc;
    auth = fh_service_find(fx.host, NT_SERVICE_AUTHENTICATOR, "jwks");
    reload = fh_service_find(fx.host, NT_SERVICE_RELOADABLE, "auth_jwks");
    ck_assert(auth != NULL && reload != NULL);
    ck_assert_uint_eq(auth->version, NT_AUTHENTICATOR_V1);
    ck_assert_uint_eq(reload->version, NT_RELOADABLE_V1);
    ck_assert_ptr_eq(auth->state, fh_plugin_state(p));
    ck_assert_ptr_eq(reload->state, fh_plugin_state(p));
    ck_assert_int_eq(fh_service_count(fx.host), 4 + !fx.no_users);
    rc = fh_start(p);
    ck_assert_int_eq(fh_named_lookups(fx.host), 0); /* services are looked up by kind only */
    if (rc != NT_OK) {
        fh_close(p);
        return rc;
    }
    fx.auth = auth->ops;
    fx.reload = reload->ops;
    fx.state = auth->state;
    return NT_OK;
}

/* Starts with the key file and ACC (upper case) plus up to two more key/value pairs. */
static int
fx_start(const char *k1, const char *v1, const char *k2, const char *v2)
{
    const char *kv[] = {"jwks_file", fx.path, "account_id", ACC_UPPER, k1, v1, k2, v2, NULL};

    return fx_start_cfg(kv);
}

static void
plugin_setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fh_clock_set(0, 0);
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_jwks_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.dir));
    snprintf(fx.path, sizeof(fx.path), "%s/jwks.json", fx.dir);
    write_keys(std_jwks());
}

static void
plugin_teardown(void)
{
    fh_req_free(fx.req);
    fh_free(fx.host); /* finalizes the plugin */
    fh_clock_set(0, 0);
    unlink(fx.path);
    rmdir(fx.dir);
    memset(&fx, 0, sizeof(fx));
}

/* Runs the authenticator on a fresh fake request with the given headers (NULL: absent). */
static int
run(const char *api_key, const char *account, const char *authorization, nt_auth_kind need)
{
    int rc;

    fh_req_free(fx.req);
    fx.req = fh_req_new(fx.host);
    ck_assert_ptr_nonnull(fx.req);
    if (api_key != NULL)
        ck_assert_int_eq(fh_req_add_header(fx.req, "x-api-key", api_key), NT_OK);
    if (account != NULL)
        ck_assert_int_eq(fh_req_add_header(fx.req, "nettu-account", account), NT_OK);
    if (authorization != NULL)
        ck_assert_int_eq(fh_req_add_header(fx.req, "Authorization", authorization), NT_OK);
    rc = fx.auth->authenticate(fx.state, fx.req, need);
    ck_assert_int_le(fh_req_principal_calls(fx.req), 1); /* the principal is set at most once */
    return rc;
}

/* Asserts a refusal with `code` whose message holds `part` and no secret. */
static void
assert_denied(int rc, int code, const char *part)
{
    const char *msg = fh_req_msg(fx.req);

    ck_assert_int_eq(rc, code);
    ck_assert_int_eq(fh_req_fail_code(fx.req), code);
    ck_assert_int_eq(fh_req_principal_calls(fx.req), 0);
    ck_assert_msg(strstr(msg, part) != NULL, "message '%s' lacks '%s'", msg, part);
    ck_assert(strstr(msg, "eyJ") == NULL);
    ck_assert(strstr(msg, API_KEY) == NULL);
}

/* Asserts the request acts as UID of ACC. */
static void
assert_user(int rc)
{
    ck_assert_msg(rc == NT_OK, "refused (%d): %s", rc, fh_req_msg(fx.req));
    ck_assert_int_eq(fh_req_principal_calls(fx.req), 1);
    ck_assert_str_eq(fh_req_account(fx.req), ACC);
    ck_assert_ptr_nonnull(fh_req_user(fx.req));
    ck_assert_str_eq(fh_req_user(fx.req), UID);
}

/* Asserts the request acts as an admin of `account`. */
static void
assert_admin(int rc, const char *account)
{
    ck_assert_msg(rc == NT_OK, "refused (%d): %s", rc, fh_req_msg(fx.req));
    ck_assert_int_eq(fh_req_principal_calls(fx.req), 1);
    ck_assert_str_eq(fh_req_account(fx.req), account);
    ck_assert_ptr_null(fh_req_user(fx.req));
    ck_assert_ptr_null(fh_req_policy(fx.req));
}

/* "Bearer <token>" for a token (taken, freed); malloc'd. */
static char *
bearer(char *tok)
{
    char *s = malloc(strlen(tok) + 8);

    ck_assert_ptr_nonnull(s);
    sprintf(s, "Bearer %s", tok);
    free(tok);
    return s;
}

/* An RS256 token by rsa1 (kid r1) for the claims text; "Bearer ..." malloc'd. */
static char *
bearer_rs(const char *claims)
{
    return bearer(mk_token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims, SIG_RS256, rsa1));
}

START_TEST(test_plugin_config)
{
    static const struct {
        const char *kv[9];
        const char *why;
    } bad[] = {
        {{"account_id", ACC, NULL}, "[auth_jwks] jwks_file: required"},
        {{"jwks_file", "", "account_id", ACC, NULL}, "[auth_jwks] jwks_file: required"},
        {{"jwks_file", "/x", NULL}, "[auth_jwks] account_id: required"},
        {{"jwks_file", "/x", "account_id", "acc", NULL}, "[auth_jwks] account_id: expected a UUID"},
        {{"jwks_file", "/x", "account_id", ACC, "user_claim", "", NULL},
         "[auth_jwks] user_claim: expected a claim name"},
        {{"jwks_file", "/x", "account_id", ACC, "policy_claim", "", NULL},
         "[auth_jwks] policy_claim: expected a claim name"},
        {{"jwks_file", "/x", "account_id", ACC, "user_claim", "sub", "policy_claim", "sub", NULL},
         "[auth_jwks] policy_claim: must differ from user_claim (sub)"},
        {{"jwks_file", "/x", "account_id", ACC, "token_cache_size", "-1", NULL},
         "[auth_jwks] token_cache_size: expected an integer"},
        {{"jwks_file", "/x", "account_id", ACC, "key_cache_size", "5", NULL},
         "[auth_jwks] key_cache_size: unknown key"},
        {{"jwks_file", "/x", "account_id", ACC, "leeway", "1h", NULL},
         "[auth_jwks] leeway: expected a duration from 0 ms to 600000 ms"},
        {{"jwks_file", "/x", "account_id", ACC, "exp_leeway", "soon", NULL},
         "[auth_jwks] exp_leeway: expected a duration"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *kv[9];

        /* "/x" stands for the fixture's key file (read in init since ABI 1.3) */
        for (size_t k = 0; k < 9; k++)
            kv[k] =
                bad[i].kv[k] != NULL && strcmp(bad[i].kv[k], "/x") == 0 ? fx.path : bad[i].kv[k];
        ck_assert_int_eq(fx_start_cfg(kv), NT_EINVAL);
        assert_logged("INIT_ERROR ", bad[i].why);
        ck_assert_ptr_null(fx.state);
    }
    /* every key, and empty issuer/audience meaning "not checked" */
    {
        const char *kv[] = {"jwks_file",        fx.path, "account_id", ACC, "user_claim",   "sub",
                            "issuer",           "",      "audience",   "",  "policy_claim", "perm",
                            "token_cache_size", "0",     NULL};
        ck_assert_int_eq(fx_start_cfg(kv), NT_OK);
    }
    assert_logged("INFO ", "loaded");
    assert_logged("INFO ", fx.path);
    assert_logged("INFO ", "3 keys, key set version 1");
}
END_TEST

START_TEST(test_plugin_start_errors)
{
    char want[300];

    unlink(fx.path);
    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_EINVAL);
    snprintf(want, sizeof(want), "[auth_jwks] jwks_file: %s: no such file", fx.path);
    assert_logged("INIT_ERROR ", want);
    write_keys(strdup("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"));
    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_EINVAL);
    assert_logged("INIT_ERROR ", "keys[0]: the RSA modulus must have 2048 to 8192 bits");
    fx.no_users = 1;
    write_keys(std_jwks());
    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_ERR);
    assert_logged("INIT_ERROR ", "needs service users v1");
}
END_TEST

START_TEST(test_plugin_user_tokens)
{
    char *claims = std_claims("\"schedulerPolicy\":{\"allow\":[\"*\"],\"reject\":"
                              "[\"DeleteCalendar\"]}");
    char *rs = bearer_rs(claims);
    char *es = bearer(mk_token("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims, SIG_ES256, ec1));
    const char *create[] = {"CreateCalendar", NULL}, *del[] = {"DeleteCalendar", NULL};

    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_OK);
    assert_user(run(NULL, ACC, rs, NT_AUTH_USER));
    ck_assert_int_eq(policy_rules_check(fh_req_policy(fx.req), create), NT_OK);
    ck_assert_int_eq(policy_rules_check(fh_req_policy(fx.req), del), NT_EUNAUTH);
    /* the same token again (now from the cache), with the header in upper case or absent */
    assert_user(run(NULL, ACC_UPPER, rs, NT_AUTH_USER));
    ck_assert_int_eq(policy_rules_check(fh_req_policy(fx.req), del), NT_EUNAUTH);
    assert_user(run(NULL, NULL, es, NT_AUTH_USER));
    /* an x-api-key is ignored on user routes, used on admin-or-user routes */
    assert_user(run(API_KEY, ACC, es, NT_AUTH_USER));
    assert_user(run(NULL, ACC, es, NT_AUTH_ADMIN_OR_USER));
    assert_denied(run(NULL, ACC_OTHER, rs, NT_AUTH_USER), NT_EUNAUTH,
                  "nettu-account: tokens are only accepted for the account configured");
    assert_denied(run(NULL, "acc", rs, NT_AUTH_USER), NT_EUNAUTH,
                  "nettu-account: expected an account id (UUID)");
    assert_denied(run(NULL, ACC, NULL, NT_AUTH_USER), NT_EUNAUTH, "missing Authorization header");
    assert_denied(run(NULL, ACC, "Basic abc", NT_AUTH_USER), NT_EUNAUTH,
                  "Authorization: expected 'Bearer <token>'");
    assert_denied(run(NULL, ACC, "Bearer x.y.z", NT_AUTH_USER), NT_EUNAUTH, "token header");
    free(rs);
    free(es);
    free(claims);
}
END_TEST

/* An account_id that names no account: every token is refused saying so, and a warning is
 * logged. */
START_TEST(test_plugin_account_missing)
{
    const char *kv[] = {"jwks_file", fx.path, "account_id", "0b6a4fd4-1c5e-4c8e-9a57-3f2d2b1f8e01",
                        NULL};
    char *b;

    ck_assert_int_eq(fx_start_cfg(kv), NT_OK);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073}");
    assert_denied(run(NULL, NULL, b, NT_AUTH_USER), NT_EUNAUTH,
                  "the account configured in [auth_jwks] account_id does not exist");
    free(b);
    assert_logged("WARN ", "account_id 0b6a4fd4-1c5e-4c8e-9a57-3f2d2b1f8e01 names no account");
}
END_TEST

START_TEST(test_plugin_user_refused)
{
    char *b;

    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_OK);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID_OTHER "\",\"exp\":5609418990073}");
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH,
                  "token nettuSchedulerUserId: no such user in the account");
    free(b);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073,"
                  "\"schedulerPolicy\":{\"allow\":[\"Everything\"]}}");
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH,
                  "token schedulerPolicy: allow and reject must be arrays of known permissions");
    free(b);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":10}");
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH, "token expired");
    free(b);
    b = bearer(mk_token("{\"alg\":\"RS256\",\"kid\":\"r1\"}",
                        "{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073}", SIG_RS256,
                        rsa2));
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH, "token signature is invalid");
    free(b);
}
END_TEST

START_TEST(test_plugin_cache_expiry)
{
    char claims[256];
    char *b;
    /* one reading of the clock: a second that ticks between two readings would move the
     * clock set below against the nbf written above */
    const int64_t t = now_s();

    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_OK);
    snprintf(claims, sizeof(claims), "{\"nettuSchedulerUserId\":\"%s\",\"exp\":%lld}", UID,
             (long long)t + 60);
    b = bearer_rs(claims);
    assert_user(run(NULL, ACC, b, NT_AUTH_USER));
    assert_user(run(NULL, ACC, b, NT_AUTH_USER)); /* from the cache */
    /* cached, but no longer once exp has passed */
    fh_clock_set((t + 120) * 1000, 0);
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH, "token expired");
    free(b);
    /* nbf in the future, then honoured once reached */
    snprintf(claims, sizeof(claims), "{\"nettuSchedulerUserId\":\"%s\",\"exp\":%lld,\"nbf\":%lld}",
             UID, (long long)t + 7200, (long long)t + 3600);
    b = bearer_rs(claims);
    fh_clock_set(0, 0);
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH, "token nbf: not valid yet");
    fh_clock_set((t + 3600 - 61) * 1000, 0);
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH, "token nbf: not valid yet");
    fh_clock_set((t + 3600 - 60) * 1000, 0); /* the leeway */
    assert_user(run(NULL, ACC, b, NT_AUTH_USER));
    assert_user(run(NULL, ACC, b, NT_AUTH_USER)); /* from the cache */
    /* the clock steps back: the cached token does not count before its nbf either */
    fh_clock_set((t + 1800) * 1000, 0);
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH, "token nbf: not valid yet");
    fh_clock_set((t + 3600) * 1000, 0);
    assert_user(run(NULL, ACC, b, NT_AUTH_USER));
    free(b);
}
END_TEST

START_TEST(test_plugin_claim_config)
{
    char *b;

    ck_assert_int_eq(fx_start("user_claim", "sub", "policy_claim", "perm"), NT_OK);
    b = bearer_rs("{\"sub\":\"" UID "\",\"exp\":5609418990073,\"perm\":{\"allow\":[\"*\"]}}");
    assert_user(run(NULL, NULL, b, NT_AUTH_USER));
    ck_assert_ptr_nonnull(json_object_get(fh_req_policy(fx.req), "allow"));
    free(b);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073}");
    assert_denied(run(NULL, NULL, b, NT_AUTH_USER), NT_EUNAUTH, "token sub: required");
    free(b);
    b = bearer_rs("{\"sub\":\"" UID_OTHER "\",\"exp\":5609418990073}");
    assert_denied(run(NULL, NULL, b, NT_AUTH_USER), NT_EUNAUTH,
                  "token sub: no such user in the account");
    free(b);
    b = bearer_rs("{\"sub\":\"" UID "\",\"exp\":5609418990073,\"perm\":{\"allow\":[1]}}");
    assert_denied(run(NULL, NULL, b, NT_AUTH_USER), NT_EUNAUTH,
                  "token perm: allow and reject must be arrays");
    free(b);
}
END_TEST

START_TEST(test_plugin_issuer_audience)
{
    char *b;

    ck_assert_int_eq(fx_start("issuer", "https://idp/", "audience", "nettu"), NT_OK);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073,"
                  "\"iss\":\"https://idp/\",\"aud\":[\"nettu\"]}");
    assert_user(run(NULL, ACC, b, NT_AUTH_USER));
    free(b);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073,"
                  "\"iss\":\"https://other/\",\"aud\":\"nettu\"}");
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH,
                  "token iss: not the configured issuer");
    free(b);
    b = bearer_rs("{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073,"
                  "\"iss\":\"https://idp/\"}");
    assert_denied(run(NULL, ACC, b, NT_AUTH_USER), NT_EUNAUTH,
                  "token aud: does not name the configured audience");
    free(b);
}
END_TEST

START_TEST(test_plugin_admin_public)
{
    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_OK);
    assert_admin(run(API_KEY, NULL, NULL, NT_AUTH_ADMIN), ACC);
    assert_admin(run(API_KEY, ACC, "Bearer x", NT_AUTH_ADMIN_OR_USER), ACC);
    assert_denied(run(NULL, ACC, NULL, NT_AUTH_ADMIN), NT_EUNAUTH, "missing x-api-key header");
    assert_denied(run("sk_wrong", NULL, NULL, NT_AUTH_ADMIN), NT_EUNAUTH,
                  "x-api-key: no account has this API key");
    assert_denied(run("sk key", NULL, NULL, NT_AUTH_ADMIN), NT_EUNAUTH,
                  "x-api-key: expected visible ASCII characters");
    /* public-account: any existing account, 400 for a malformed id, else admin */
    assert_admin(run(NULL, ACC_OTHER, NULL, NT_AUTH_PUBLIC_ACCOUNT), ACC_OTHER);
    assert_admin(run(NULL, ACC_UPPER, NULL, NT_AUTH_PUBLIC_ACCOUNT), ACC);
    assert_denied(run(NULL, "nope", NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_EINVAL,
                  "nettu-account: expected an account id (UUID)");
    assert_denied(run(NULL, UID, NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_EUNAUTH,
                  "nettu-account: no such account");
    assert_admin(run(API_KEY, NULL, NULL, NT_AUTH_PUBLIC_ACCOUNT), ACC);
    assert_denied(run(NULL, NULL, NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_EUNAUTH,
                  "missing x-api-key header");
    ck_assert_int_eq(run(NULL, NULL, NULL, NT_AUTH_PUBLIC), NT_OK);
    ck_assert_int_eq(fh_req_principal_calls(fx.req), 0);
}
END_TEST

START_TEST(test_plugin_reload)
{
    char *claims = std_claims(NULL), *old_rs = bearer_rs(claims);
    char *new_es = bearer(mk_token("{\"alg\":\"ES256\",\"kid\":\"n1\"}", claims, SIG_ES256, ec2));

    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_OK);
    assert_user(run(NULL, ACC, old_rs, NT_AUTH_USER)); /* verified, now cached */
    assert_denied(run(NULL, ACC, new_es, NT_AUTH_USER), NT_EUNAUTH,
                  "token kid: no key with this id");
    /* a broken file: the reload fails, is logged, and the old keys stay in use */
    write_keys(strdup("{\"keys\": [ {\"kty\": \"EC\", \"crv\": \"P-256\"} ]}"));
    ck_assert_int_eq(fx.reload->reload(fx.state), NT_EINVAL);
    assert_logged("WARN ", "reload failed, keeping the previous keys: keys[0]: x: required");
    assert_user(run(NULL, ACC, old_rs, NT_AUTH_USER));
    /* a weak RSA key (e = 3): refused the same way, naming its kid */
    {
        BIGNUM *n = NULL, *e3 = BN_new();
        ck_assert_int_eq(EVP_PKEY_get_bn_param(rsa2, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        ck_assert(e3 != NULL && BN_set_word(e3, 3) == 1);
        write_keys(jwks_text(jwk_rsa_numbers(n, e3, "rsa-e3"), NULL));
        BN_free(n);
        BN_free(e3);
    }
    ck_assert_int_eq(fx.reload->reload(fx.state), NT_EINVAL);
    assert_logged("WARN ", "reload failed, keeping the previous keys: keys[0]: the RSA public "
                           "exponent must be 65537 (kid \"rsa-e3\")");
    assert_user(run(NULL, ACC, old_rs, NT_AUTH_USER));
    unlink(fx.path);
    ck_assert_int_eq(fx.reload->reload(fx.state), NT_EINVAL);
    assert_logged("WARN ", "reload failed, keeping the previous keys: cannot open");
    assert_user(run(NULL, ACC, old_rs, NT_AUTH_USER));
    /* a good file with another key: old tokens (even cached ones) stop, new ones work */
    write_keys(jwks_text(jwk_of(ec2, "n1"), NULL));
    ck_assert_int_eq(fx.reload->reload(fx.state), NT_OK);
    assert_logged("INFO ", "1 keys, key set version 2");
    assert_denied(run(NULL, ACC, old_rs, NT_AUTH_USER), NT_EUNAUTH,
                  "token kid: no key with this id");
    assert_user(run(NULL, ACC, new_es, NT_AUTH_USER));
    /* the same keys again still make a new version */
    ck_assert_int_eq(fx.reload->reload(fx.state), NT_OK);
    assert_logged("INFO ", "reloaded");
    assert_logged("INFO ", "key set version 3");
    assert_user(run(NULL, ACC, new_es, NT_AUTH_USER));
    ck_assert(strstr(fh_log(fx.host), "eyJ") == NULL); /* no token in the log */
    free(old_rs);
    free(new_es);
    free(claims);
}
END_TEST

/* ---- suite ----------------------------------------------------------------------------- */

static Suite *
jwks_suite(void)
{
    Suite *s = suite_create("auth_jwks");
    TCase *parse = tcase_create("parse"), *jws = tcase_create("verify");
    TCase *claims = tcase_create("claims"), *plugin = tcase_create("plugin");

    tcase_add_unchecked_fixture(parse, keys_setup, keys_teardown);
    tcase_add_test(parse, test_parse_good);
    tcase_add_test(parse, test_parse_rsa_leading_zero);
    tcase_add_loop_test(parse, test_parse_bad_key, 0, sizeof(bad_keys) / sizeof(bad_keys[0]));
    tcase_add_test(parse, test_parse_small_rsa);
    tcase_add_loop_test(parse, test_parse_weak_rsa, 0, WEAK_RSA_COUNT);
    tcase_add_test(parse, test_parse_rsa_8192);
    tcase_add_loop_test(parse, test_parse_bad_doc, 0, sizeof(bad_docs) / sizeof(bad_docs[0]));
    tcase_add_test(parse, test_parse_skipped);
    tcase_add_test(parse, test_parse_kids);
    tcase_add_test(parse, test_load_file);
    suite_add_tcase(s, parse);

    tcase_add_unchecked_fixture(jws, keys_setup, keys_teardown);
    tcase_add_checked_fixture(jws, set_setup, set_teardown);
    tcase_add_test(jws, test_verify_rs256_es256);
    tcase_add_loop_test(jws, test_verify_refused, 0, sizeof(refused) / sizeof(refused[0]));
    tcase_add_test(jws, test_verify_no_key_of_type);
    tcase_add_test(jws, test_verify_tampered);
    tcase_add_loop_test(jws, test_verify_bad_shape, 0, sizeof(bad_shapes) / sizeof(bad_shapes[0]));
    tcase_add_test(jws, test_verify_claims_segment);
    tcase_add_test(jws, test_ring_versions);
    tcase_add_test(jws, test_ring_concurrent);
    suite_add_tcase(s, jws);

    tcase_add_test(claims, test_claims_default_names);
    tcase_add_test(claims, test_claims_custom_names);
    tcase_add_test(claims, test_claims_times);
    tcase_add_test(claims, test_claims_leeways);
    tcase_add_test(claims, test_claims_issuer_audience);
    suite_add_tcase(s, claims);

    tcase_add_unchecked_fixture(plugin, keys_setup, keys_teardown);
    tcase_add_checked_fixture(plugin, plugin_setup, plugin_teardown);
    tcase_add_test(plugin, test_plugin_config);
    tcase_add_test(plugin, test_plugin_start_errors);
    tcase_add_test(plugin, test_plugin_user_tokens);
    tcase_add_test(plugin, test_plugin_user_refused);
    tcase_add_test(plugin, test_plugin_account_missing);
    tcase_add_test(plugin, test_plugin_cache_expiry);
    tcase_add_test(plugin, test_plugin_claim_config);
    tcase_add_test(plugin, test_plugin_issuer_audience);
    tcase_add_test(plugin, test_plugin_admin_public);
    tcase_add_test(plugin, test_plugin_reload);
    suite_add_tcase(s, plugin);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(jwks_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Unit tests of auth_nettu: RS256 token verification with keys and tokens made
 * here by OpenSSL (with the hardening beyond the original: nbf, a future iat and crit are
 * refused; weak RSA keys never verify), the PEM key parser, the key and token
 * caches, and the
 * authenticator driven through the plugin's own init/start on the shared fake host
 * (tests/support) with fake accounts/users services.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <nettu/services.h>

#include "b64url.h"
#include "fakehost.h"
#include "jwt.h"
#include "jwt_key.h"
#include "keycache.h"
#include "policy_rules.h"
#include "tokcache.h"
#include "weak_rsa.h"

const nt_plugin_desc *nt_plugin_entry(void);

#define UID "0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f11"
#define UID_OTHER "11111111-2222-4333-8444-555555555555"
#define ACC "6f2a1d0e-3b4c-4d5e-8f60-718293a4b5c6"
#define ACC_OTHER "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define API_KEY "sk_0123456789abcdefghijABCDEFGHIJ"

/* ---- keys and a token signer ---------------------------------------------------------- */

static EVP_PKEY *k1, *k2, *kec; /* RSA-2048, another RSA-2048, EC P-256 */
static char *k1_pem, *k2_pem;   /* "PUBLIC KEY" PEM texts */
static char *k1_pkcs1_pem;      /* "RSA PUBLIC KEY" PEM text of k1 */

/* Writes what `write` puts into a memory BIO as a malloc'd string. */
static char *
bio_string(BIO *b)
{
    char *data = NULL, *s;
    long n = BIO_get_mem_data(b, &data);

    ck_assert(n >= 0);
    s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static char *
pubkey_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s;

    ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
    s = bio_string(b);
    BIO_free(b);
    return s;
}

static char *
pkcs1_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int n = i2d_PublicKey(k, &der);
    char *s;

    ck_assert_int_gt(n, 0);
    ck_assert_int_gt(PEM_write_bio(b, "RSA PUBLIC KEY", "", der, n), 0);
    s = bio_string(b);
    OPENSSL_free(der);
    BIO_free(b);
    return s;
}

/* Made once, before the tests fork. */
static void
keys_setup(void)
{
    if (k1 != NULL)
        return;
    k1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    kec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert(k1 != NULL && k2 != NULL && kec != NULL);
    k1_pem = pubkey_pem(k1);
    k2_pem = pubkey_pem(k2);
    k1_pkcs1_pem = pkcs1_pem(k1);
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

enum sig_kind { SIG_RS256, SIG_RS512, SIG_HS256_PEM, SIG_ES256, SIG_NONE };

/* Signs header.claims (JSON texts) the way `how` says; malloc'd compact token. */
static char *
mk_token(const char *header, const char *claims, enum sig_kind how, EVP_PKEY *key)
{
    char *h = b64u(header, strlen(header)), *c = b64u(claims, strlen(claims)), *sig = NULL;
    char *input, *tok;
    unsigned char sigbuf[1024];
    size_t siglen = sizeof(sigbuf);
    unsigned int maclen = 0;

    input = malloc(strlen(h) + strlen(c) + 2);
    ck_assert_ptr_nonnull(input);
    sprintf(input, "%s.%s", h, c);
    if (how == SIG_RS256 || how == SIG_RS512 || how == SIG_ES256) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        const EVP_MD *md = how == SIG_RS512 ? EVP_sha512() : EVP_sha256();
        ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
        ck_assert_int_eq(
            EVP_DigestSign(ctx, sigbuf, &siglen, (unsigned char *)input, strlen(input)), 1);
        EVP_MD_CTX_free(ctx);
    } else if (how == SIG_HS256_PEM) {
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), k1_pem, (int)strlen(k1_pem),
                                   (unsigned char *)input, strlen(input), sigbuf, &maclen));
        siglen = maclen;
    } else {
        siglen = 0;
    }
    sig = b64u(sigbuf, siglen);
    tok = malloc(strlen(input) + strlen(sig) + 2);
    ck_assert_ptr_nonnull(tok);
    sprintf(tok, "%s.%s", input, sig);
    free(h);
    free(c);
    free(input);
    free(sig);
    return tok;
}

#define HDR_RS256 "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

/* Claims with the user id, iat and exp given and an optional extra member text. */
static char *
mk_claims(const char *uid, long long iat, long long exp, const char *extra)
{
    char *s = malloc(1024);

    ck_assert_ptr_nonnull(s);
    snprintf(s, 1024, "{\"nettuSchedulerUserId\":\"%s\",\"iat\":%lld,\"exp\":%lld%s%s}", uid, iat,
             exp, extra != NULL ? "," : "", extra != NULL ? extra : "");
    return s;
}

/* A good RS256 token by k1 for UID with the given extra claims; malloc'd. */
static char *
good_token(const char *extra)
{
    char *claims = mk_claims(UID, now_s() - 10, now_s() + 3600, extra);
    char *tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);

    free(claims);
    return tok;
}

/* Runs jwt_verify on a NUL-terminated token with k1 at the current time. */
static int
verify(const char *tok, jwt_claims *c, const char **why)
{
    return jwt_verify(tok, strlen(tok), k1, now_s(), c, why);
}

/* Asserts that `tok` is refused with a message that contains `part`. */
static void
assert_refused(const char *tok, const char *part)
{
    jwt_claims c;
    const char *why = NULL;

    ck_assert_msg(verify(tok, &c, &why) == NT_EUNAUTH, "accepted: expected '%s'", part);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, part) != NULL, "message '%s' lacks '%s'", why, part);
    ck_assert_ptr_null(c.policy);
    ck_assert_str_eq(c.user_id, "");
    ck_assert_int_eq((int)ERR_peek_error(), 0);
}

/* ---- jwt_verify ----------------------------------------------------------------------- */

START_TEST(test_good_token)
{
    char *tok = good_token("\"schedulerPolicy\":{\"allow\":[\"*\"],\"reject\":"
                           "[\"DeleteCalendar\"]}");
    json_t *want = json_loads("{\"allow\":[\"*\"],\"reject\":[\"DeleteCalendar\"]}", 0, NULL);
    jwt_claims c;
    const char *why = "x";

    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert_ptr_null(why);
    ck_assert_str_eq(c.user_id, UID);
    ck_assert(c.exp >= now_s() + 3599);
    ck_assert(c.iat <= now_s());
    ck_assert_ptr_nonnull(c.policy);
    ck_assert(json_equal(c.policy, want));
    ck_assert_int_eq(policy_rules_validate(c.policy), NT_OK);
    jwt_claims_fini(&c);
    ck_assert_ptr_null(c.policy);
    jwt_claims_fini(NULL);
    json_decref(want);
    free(tok);
}
END_TEST

START_TEST(test_documented_example)
{
    const char *claims = "{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073,\"iat\":19,"
                         "\"schedulerPolicy\":{\"allow\":[\"*\"],\"reject\":"
                         "[\"DeleteCalendar\"]}}";
    char *tok = mk_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, SIG_RS256, k1);
    jwt_claims c;
    const char *why;

    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert_int_eq(c.exp, 5609418990073LL);
    ck_assert_int_eq(c.iat, 19);
    jwt_claims_fini(&c);
    free(tok);
}
END_TEST

START_TEST(test_exp_bounds)
{
    char *claims = mk_claims(UID, 0, 9223372036854775807LL, NULL);
    char *tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    jwt_claims c;
    const char *why;

    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert_int_eq(c.exp, INT64_MAX);
    jwt_claims_fini(&c);
    /* exp == now is still valid; exp < now is expired (no leeway) */
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k1, INT64_MAX, &c, &why), NT_OK);
    jwt_claims_fini(&c);
    free(claims);
    free(tok);
    claims = mk_claims(UID, 0, 1000, NULL);
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k1, 1000, &c, &why), NT_OK);
    jwt_claims_fini(&c);
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k1, 1001, &c, &why), NT_EUNAUTH);
    ck_assert_str_eq(why, "token expired");
    free(claims);
    free(tok);
}
END_TEST

START_TEST(test_expired)
{
    char *claims = mk_claims(UID, now_s() - 7200, now_s() - 1, NULL);
    char *tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);

    assert_refused(tok, "token expired");
    free(claims);
    free(tok);
}
END_TEST

/* nbf and iat are checked with JWT_LEEWAY_S (60 s) of clock skew; exp has none. */
START_TEST(test_nbf_iat)
{
    const int64_t now = 1700000000;
    char claims[256], *tok;
    jwt_claims c;
    const char *why;
    static const struct {
        long long iat, nbf; /* nbf < 0: absent */
        int ok;
        const char *why;
    } cases[] = {
        {now - 10, -1, 1, NULL},
        {now + 60, -1, 1, NULL}, /* iat at the edge of the leeway */
        {now + 61, -1, 0, "token iat: issued in the future"},
        {now + 86400, -1, 0, "token iat: issued in the future"},
        {now - 10, now, 1, NULL},
        {now - 10, now + 60, 1, NULL},
        {now - 10, now + 61, 0, "token nbf: not valid yet"},
        {now - 10, now + 3600, 0, "token nbf: not valid yet"},
        {now - 10, 0, 1, NULL},
        {19, 9223372036854775807LL, 0, "token nbf: not valid yet"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].nbf < 0)
            snprintf(claims, sizeof(claims),
                     "{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":%lld,\"exp\":%lld}",
                     cases[i].iat, (long long)now + 3600);
        else
            snprintf(claims, sizeof(claims),
                     "{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":%lld,\"exp\":%lld,"
                     "\"nbf\":%lld}",
                     cases[i].iat, (long long)now + 3600, cases[i].nbf);
        tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
        if (cases[i].ok) {
            ck_assert_msg(jwt_verify(tok, strlen(tok), k1, now, &c, &why) == NT_OK,
                          "case %zu refused: %s", i, why);
            ck_assert_int_eq(c.nbf, cases[i].nbf < 0 ? 0 : cases[i].nbf);
            ck_assert_int_eq(c.valid_from,
                             (cases[i].nbf > cases[i].iat ? cases[i].nbf : cases[i].iat) -
                                 JWT_LEEWAY_S);
            jwt_claims_fini(&c);
        } else {
            ck_assert_msg(jwt_verify(tok, strlen(tok), k1, now, &c, &why) == NT_EUNAUTH,
                          "case %zu accepted", i);
            ck_assert_str_eq(why, cases[i].why);
            ck_assert_ptr_null(c.policy);
        }
        free(tok);
    }
    /* the largest now: nothing overflows */
    snprintf(claims, sizeof(claims),
             "{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}",
             9223372036854775807LL, 9223372036854775807LL, 9223372036854775807LL);
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k1, INT64_MAX, &c, &why), NT_OK);
    jwt_claims_fini(&c);
    free(tok);
}
END_TEST

/* A crit header (RFC 7515 section 4.1.11) names extensions that must be understood; none is,
 * so any crit member refuses the token, even an empty list. */
static const char *const crit_headers[] = {
    "{\"alg\":\"RS256\",\"crit\":[\"exp\"]}",
    "{\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":false}",
    "{\"alg\":\"RS256\",\"crit\":[]}",
    "{\"alg\":\"RS256\",\"crit\":null}",
    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"crit\":\"x\"}",
};

START_TEST(test_crit)
{
    char *claims = mk_claims(UID, 1, 5609418990073LL, NULL);
    char *tok = mk_token(crit_headers[_i], claims, SIG_RS256, k1);

    assert_refused(tok, "token crit: no critical header parameter is supported");
    free(claims);
    free(tok);
}
END_TEST

/* Claims texts that must be refused (signed properly by k1) and the message part. */
static const struct {
    const char *claims, *why;
} bad_claims[] = {
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1}", "exp: required"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":null}", "exp: required"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"exp\":5609418990073}", "iat: required"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073.5}", "exp: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073.0}", "exp: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5.6e12}", "exp: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":\"5609418990073\"}", "exp: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":true}", "exp: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":-5}", "exp: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1.5,\"exp\":5609418990073}", "iat: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":\"19\",\"exp\":5609418990073}",
     "iat: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":-1,\"exp\":5609418990073}", "iat: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073,\"nbf\":\"1\"}",
     "nbf: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073,\"nbf\":1.5}",
     "nbf: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073,\"nbf\":-1}",
     "nbf: expected"},
    {"{\"iat\":1,\"exp\":5609418990073}", "nettuSchedulerUserId: required"},
    {"{\"nettuSchedulerUserId\":null,\"iat\":1,\"exp\":5609418990073}",
     "nettuSchedulerUserId: required"},
    {"{\"nettuSchedulerUserId\":5,\"iat\":1,\"exp\":5609418990073}",
     "nettuSchedulerUserId: expected"},
    {"{\"nettuSchedulerUserId\":\"abc\",\"iat\":1,\"exp\":5609418990073}",
     "nettuSchedulerUserId: expected"},
    {"{\"nettuSchedulerUserId\":\"0b1e7c1e5d0a4f3e9f402a5c0c4b8f11\",\"iat\":1,"
     "\"exp\":5609418990073}",
     "nettuSchedulerUserId: expected"},
    {"{\"nettuSchedulerUserId\":\"{" UID "}\",\"iat\":1,\"exp\":5609418990073}",
     "nettuSchedulerUserId: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "x\",\"iat\":1,\"exp\":5609418990073}",
     "nettuSchedulerUserId: expected"},
    /* a NUL inside a string: jansson refuses the whole text */
    {"{\"nettuSchedulerUserId\":\"" UID "\\u0000\",\"iat\":1,\"exp\":5609418990073}",
     "claims: not a JSON object"},
    {"{\"nettuSchedulerUserId\":\"0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f1g\",\"iat\":1,"
     "\"exp\":5609418990073}",
     "nettuSchedulerUserId: expected"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073,"
     "\"schedulerPolicy\":\"*\"}",
     "schedulerPolicy: expected an object"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073,"
     "\"schedulerPolicy\":[\"*\"]}",
     "schedulerPolicy: expected an object"},
    {"[\"" UID "\"]", "claims: not a JSON object"},
    {"\"hello\"", "claims: not a JSON object"},
    {"not json", "claims: not a JSON object"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073,\"exp\":1}",
     "claims: not a JSON object"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":5609418990073} x",
     "claims: not a JSON object"},
    {"{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":1,\"exp\":99999999999999999999}",
     "claims: not a JSON object"},
};

START_TEST(test_bad_claims)
{
    char *tok = mk_token(HDR_RS256, bad_claims[_i].claims, SIG_RS256, k1);

    assert_refused(tok, bad_claims[_i].why);
    free(tok);
}
END_TEST

/* Headers that must be refused for their algorithm (signed with RS256 by k1 anyway). */
static const char *const bad_alg_headers[] = {
    "{\"alg\":\"none\"}",    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
    "{\"alg\":\"RS512\"}",   "{\"alg\":\"RS384\"}",
    "{\"alg\":\"PS256\"}",   "{\"alg\":\"ES256\"}",
    "{\"alg\":\"rs256\"}",   "{\"alg\":\"RS256 \"}",
    "{\"alg\":[\"RS256\"]}", "{\"alg\":null}",
    "{\"typ\":\"JWT\"}",     "{}",
};

START_TEST(test_bad_alg)
{
    char *claims = mk_claims(UID, 1, 5609418990073LL, NULL);
    char *tok = mk_token(bad_alg_headers[_i], claims, SIG_RS256, k1);

    assert_refused(tok, "token algorithm must be RS256");
    free(claims);
    free(tok);
}
END_TEST

START_TEST(test_alg_attacks)
{
    char *claims = mk_claims(UID, 1, 5609418990073LL, NULL);
    char *tok;

    tok = mk_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, SIG_NONE, NULL); /* unsigned */
    ck_assert(tok[strlen(tok) - 1] == '.');
    assert_refused(tok, "token algorithm must be RS256");
    free(tok);
    tok = mk_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, SIG_HS256_PEM, NULL);
    assert_refused(tok, "token algorithm must be RS256");
    free(tok);
    /* the same HMAC under an RS256 header is no RSA signature */
    tok = mk_token(HDR_RS256, claims, SIG_HS256_PEM, NULL);
    assert_refused(tok, "signature is invalid");
    free(tok);
    tok = mk_token("{\"alg\":\"RS512\",\"typ\":\"JWT\"}", claims, SIG_RS512, k1);
    assert_refused(tok, "token algorithm must be RS256");
    free(tok);
    tok = mk_token(HDR_RS256, claims, SIG_RS512, k1); /* SHA-512 under an RS256 header */
    assert_refused(tok, "signature is invalid");
    free(tok);
    tok = mk_token("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", claims, SIG_ES256, kec);
    assert_refused(tok, "token algorithm must be RS256");
    free(tok);
    tok = mk_token(HDR_RS256, claims, SIG_NONE, NULL); /* RS256 without a signature */
    assert_refused(tok, "signature is invalid");
    free(tok);
    free(claims);
}
END_TEST

START_TEST(test_other_key)
{
    char *claims = mk_claims(UID, 1, 5609418990073LL, NULL);
    char *tok = mk_token(HDR_RS256, claims, SIG_RS256, k2);
    jwt_claims c;
    const char *why;

    assert_refused(tok, "token signature is invalid");
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k2, now_s(), &c, &why), NT_OK);
    jwt_claims_fini(&c);
    /* an EC key can verify nothing */
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), kec, now_s(), &c, &why), NT_EUNAUTH);
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), NULL, now_s(), &c, &why), NT_EUNAUTH);
    free(claims);
    free(tok);
}
END_TEST

START_TEST(test_tampered)
{
    char *tok = good_token(NULL), *other, *forged, *dot, *odot;
    char *evil = mk_claims(UID_OTHER, now_s() - 10, now_s() + 3600, NULL);

    /* claims of another token, signature of the first */
    other = mk_token(HDR_RS256, evil, SIG_RS256, k2);
    dot = strchr(tok, '.');
    odot = strchr(other, '.');
    forged = malloc(strlen(tok) + strlen(other) + 1);
    memcpy(forged, tok, (size_t)(dot - tok));
    forged[dot - tok] = '\0';
    strncat(forged, odot, (size_t)(strchr(odot + 1, '.') - odot));
    strcat(forged, strrchr(tok, '.'));
    assert_refused(forged, "token signature is invalid");
    free(forged);
    /* one character of the signature changed */
    forged = strdup(tok);
    dot = strrchr(forged, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    assert_refused(forged, "token signature is invalid");
    free(forged);
    /* one character of the claims changed */
    forged = strdup(tok);
    dot = strchr(forged, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    assert_refused(forged, "token signature is invalid");
    free(forged);
    free(other);
    free(evil);
    free(tok);
}
END_TEST

START_TEST(test_malformed)
{
    char *tok = good_token(NULL), *buf = malloc(strlen(tok) + 64);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    char *repl;
    size_t n;

    assert_refused("", "three base64url parts");
    assert_refused(".", "three base64url parts");
    assert_refused("..", "header");
    assert_refused("...", "three base64url parts");
    assert_refused("abc", "three base64url parts");
    /* two segments */
    memcpy(buf, tok, (size_t)(d2 - tok));
    buf[d2 - tok] = '\0';
    assert_refused(buf, "three base64url parts");
    /* four segments */
    sprintf(buf, "%s.AAAA", tok);
    assert_refused(buf, "three base64url parts");
    /* padding on a segment */
    sprintf(buf, "%s=", tok);
    assert_refused(buf, "signature: not base64url");
    n = (size_t)(d1 - tok);
    memcpy(buf, tok, n);
    strcpy(buf + n, "=");
    strcat(buf, d1);
    assert_refused(buf, "header: not base64url");
    /* standard-alphabet characters and white space are garbage in base64url */
    repl = strdup(tok);
    repl[2] = '+';
    assert_refused(repl, "header: not base64url");
    repl[2] = tok[2];
    repl[d1 - tok + 2] = '/';
    assert_refused(repl, "token signature is invalid"); /* the claims are signed text */
    repl[d1 - tok + 2] = tok[d1 - tok + 2];
    repl[d2 - tok + 3] = '*';
    assert_refused(repl, "signature: not base64url");
    repl[d2 - tok + 3] = ' ';
    assert_refused(repl, "signature: not base64url");
    free(repl);
    /* a header that is not JSON or not an object */
    repl = mk_token("not json", "{}", SIG_RS256, k1);
    assert_refused(repl, "header: not a JSON object");
    free(repl);
    repl = mk_token("[\"RS256\"]", "{}", SIG_RS256, k1);
    assert_refused(repl, "header: not a JSON object");
    free(repl);
    repl = mk_token("{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}", SIG_RS256, k1);
    assert_refused(repl, "header: not a JSON object");
    free(repl);
    /* a length of 1 modulo 4 and non-zero unused bits */
    assert_refused("AAAAA.AAAA.AAAA", "header: not base64url");
    assert_refused("eyJ.AAAA.AAAA", "header: not base64url"); /* 'J' has unused bits set */
    free(buf);
    free(tok);
}
END_TEST

START_TEST(test_too_long)
{
    size_t n = JWT_MAX_LEN + 1;
    char *tok = malloc(n + 1);
    jwt_claims c;
    const char *why;

    memset(tok, 'A', n);
    tok[n] = '\0';
    tok[10] = '.';
    tok[20] = '.';
    ck_assert_int_eq(jwt_verify(tok, n, k1, now_s(), &c, &why), NT_EUNAUTH);
    ck_assert_str_eq(why, "token: too long");
    free(tok);
}
END_TEST

/* aud and sub are ignored; nbf is checked (see test_nbf_iat), unlike the
 * original, which ignored it. */
START_TEST(test_user_and_policy_passed)
{
    const char *claims_upper = "{\"nettuSchedulerUserId\":\"0B1E7C1E-5D0A-4F3E-9F40-2A5C0C4B8F11\","
                               "\"iat\":19,\"exp\":5609418990073,\"schedulerPolicy\":null,"
                               "\"nbf\":19,\"aud\":\"x\",\"sub\":5}";
    char *tok = mk_token("{\"alg\":\"RS256\",\"typ\":\"whatever\",\"kid\":\"k-1\"}", claims_upper,
                         SIG_RS256, k1);
    jwt_claims c;
    const char *why;

    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert_str_eq(c.user_id, UID); /* lower-cased */
    ck_assert_ptr_null(c.policy);     /* null = default policy */
    jwt_claims_fini(&c);
    free(tok);
    tok = good_token(NULL); /* absent = default policy */
    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert_ptr_null(c.policy);
    jwt_claims_fini(&c);
    free(tok);
    /* the content of the policy is the caller's business (the policy service) */
    tok = good_token("\"schedulerPolicy\":{\"allow\":[\"Everything\"]}");
    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert_ptr_nonnull(c.policy);
    ck_assert_int_eq(policy_rules_validate(c.policy), NT_EINVAL);
    jwt_claims_fini(&c);
    free(tok);
    tok = good_token("\"schedulerPolicy\":{}");
    ck_assert_int_eq(verify(tok, &c, &why), NT_OK);
    ck_assert(json_is_object(c.policy));
    ck_assert_int_eq(policy_rules_validate(c.policy), NT_OK);
    jwt_claims_fini(&c);
    free(tok);
}
END_TEST

START_TEST(test_uuid_valid)
{
    ck_assert(jwt_uuid_valid(UID));
    ck_assert(jwt_uuid_valid("0B1E7C1E-5D0A-4F3E-9F40-2A5C0C4B8F11"));
    ck_assert(!jwt_uuid_valid(NULL));
    ck_assert(!jwt_uuid_valid(""));
    ck_assert(!jwt_uuid_valid(UID "0"));
    ck_assert(!jwt_uuid_valid("0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f1"));
    ck_assert(!jwt_uuid_valid("0b1e7c1e_5d0a-4f3e-9f40-2a5c0c4b8f11"));
}
END_TEST

START_TEST(test_b64url)
{
    unsigned char *out;
    size_t n;

    ck_assert_int_eq(b64url_decode("", 0, &out, &n), NT_OK);
    ck_assert_uint_eq(n, 0);
    free(out);
    ck_assert_int_eq(b64url_decode("eyJ9", 4, &out, &n), NT_OK);
    ck_assert_uint_eq(n, 3);
    free(out);
    ck_assert_int_eq(b64url_decode("_-8", 3, &out, &n), NT_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(out[0] == 0xff && out[1] == 0xef && out[2] == 0);
    free(out);
    ck_assert_int_eq(b64url_decode("YQ", 2, &out, &n), NT_OK);
    ck_assert(n == 1 && out[0] == 'a');
    free(out);
    ck_assert_int_eq(b64url_decode("YR", 2, &out, &n), NT_EINVAL); /* unused bits set */
    ck_assert_ptr_null(out);
    ck_assert_int_eq(b64url_decode("YQ==", 4, &out, &n), NT_EINVAL);
    ck_assert_int_eq(b64url_decode("Y", 1, &out, &n), NT_EINVAL);
    ck_assert_int_eq(b64url_decode("ab+/", 4, &out, &n), NT_EINVAL);
    ck_assert_int_eq(b64url_decode("ab\ncd", 5, &out, &n), NT_EINVAL);
}
END_TEST

/* ---- jwt_key_parse -------------------------------------------------------------------- */

/* Asserts that jwt_key_parse refuses `pem` with a message containing `part`. */
static void
assert_key_refused(const char *pem, const char *part)
{
    EVP_PKEY *k = (EVP_PKEY *)1;
    const char *why = NULL;

    ck_assert_int_eq(jwt_key_parse(pem, strlen(pem), &k, &why), NT_EINVAL);
    ck_assert_ptr_null(k);
    ck_assert_msg(why != NULL && strstr(why, part) != NULL, "message '%s' lacks '%s'", why, part);
    ck_assert_int_eq((int)ERR_peek_error(), 0);
}

START_TEST(test_key_public_pem)
{
    EVP_PKEY *k = NULL;
    const char *why = "x";
    char *tok = good_token(NULL);
    jwt_claims c;

    ck_assert_int_eq(jwt_key_parse(k1_pem, strlen(k1_pem), &k, &why), NT_OK);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(EVP_PKEY_eq(k, k1), 1);
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k, now_s(), &c, &why), NT_OK);
    jwt_claims_fini(&c);
    EVP_PKEY_free(k);
    free(tok);
}
END_TEST

START_TEST(test_key_rsa_public_pem)
{
    EVP_PKEY *k = NULL;
    const char *why;
    char *tok = good_token(NULL);
    jwt_claims c;

    ck_assert(strstr(k1_pkcs1_pem, "-----BEGIN RSA PUBLIC KEY-----") != NULL);
    ck_assert_int_eq(jwt_key_parse(k1_pkcs1_pem, strlen(k1_pkcs1_pem), &k, &why), NT_OK);
    ck_assert_int_eq(EVP_PKEY_eq(k, k1), 1);
    ck_assert_int_eq(jwt_verify(tok, strlen(tok), k, now_s(), &c, &why), NT_OK);
    jwt_claims_fini(&c);
    EVP_PKEY_free(k);
    free(tok);
}
END_TEST

START_TEST(test_key_variants_accepted)
{
    size_t n = strlen(k1_pem);
    char *crlf = malloc(2 * n + 64), *p = crlf;
    EVP_PKEY *k = NULL;
    const char *why;

    /* CRLF line ends and text around the block, as pasted by hand */
    p += sprintf(p, "my key:\r\n");
    for (size_t i = 0; i < n; i++) {
        if (k1_pem[i] == '\n')
            *p++ = '\r';
        *p++ = k1_pem[i];
    }
    strcpy(p, "trailing words\n");
    ck_assert_int_eq(jwt_key_parse(crlf, strlen(crlf), &k, &why), NT_OK);
    ck_assert_int_eq(EVP_PKEY_eq(k, k1), 1);
    EVP_PKEY_free(k);
    /* not NUL-terminated: only len bytes are read */
    ck_assert_int_eq(jwt_key_parse(k2_pem, strlen(k2_pem), &k, &why), NT_OK);
    EVP_PKEY_free(k);
    free(crlf);
}
END_TEST

START_TEST(test_key_refused)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s;
    EVP_PKEY *ed, *pss;
    EVP_PKEY_CTX *pctx;

    /* EC public key */
    s = pubkey_pem(kec);
    assert_key_refused(s, "not an RSA key");
    free(s);
    /* Ed25519 public key */
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert_ptr_nonnull(ed);
    s = pubkey_pem(ed);
    assert_key_refused(s, "not an RSA key");
    free(s);
    EVP_PKEY_free(ed);
    /* RSA-PSS public key (cannot do PKCS#1 v1.5) */
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    ck_assert_ptr_nonnull(pctx);
    ck_assert_int_eq(EVP_PKEY_keygen_init(pctx), 1);
    ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_keygen_bits(pctx, 1024), 0);
    pss = NULL;
    ck_assert_int_eq(EVP_PKEY_keygen(pctx, &pss), 1);
    EVP_PKEY_CTX_free(pctx);
    s = pubkey_pem(pss);
    assert_key_refused(s, "not an RSA key");
    free(s);
    EVP_PKEY_free(pss);
    /* private keys: PKCS#8 and traditional */
    ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k1, NULL, NULL, 0, NULL, NULL), 1);
    s = bio_string(b);
    ck_assert(strstr(s, "BEGIN PRIVATE KEY") != NULL);
    assert_key_refused(s, "private key");
    free(s);
    BIO_reset(b);
    ck_assert_int_eq(PEM_write_bio_PrivateKey_traditional(b, k1, NULL, NULL, 0, NULL, NULL), 1);
    s = bio_string(b);
    ck_assert(strstr(s, "BEGIN RSA PRIVATE KEY") != NULL);
    assert_key_refused(s, "private key");
    free(s);
    BIO_reset(b);
    ck_assert_int_eq(PEM_write_bio_PrivateKey(b, kec, NULL, NULL, 0, NULL, NULL), 1);
    s = bio_string(b);
    assert_key_refused(s, "private key");
    free(s);
    BIO_free(b);
    /* junk */
    assert_key_refused("", "not a PEM");
    assert_key_refused("hello", "not a PEM");
    assert_key_refused("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "not a PEM");
    assert_key_refused("-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----\n",
                       "does not hold a valid public key");
    assert_key_refused(
        "-----BEGIN RSA PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END RSA PUBLIC KEY-----\n",
        "does not hold a valid public key");
    assert_key_refused("-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
                       "expected a PUBLIC KEY");
    /* a truncated block */
    s = strdup(k1_pem);
    s[strlen(s) / 2] = '\0';
    assert_key_refused(s, "not a PEM");
    free(s);
}
END_TEST

START_TEST(test_key_pkcs1_body_in_spki_frame)
{
    /* PKCS#1 DER framed as "PUBLIC KEY" (and the reverse) must not parse */
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int n = i2d_PublicKey(k1, &der);
    char *s;

    ck_assert_int_gt(PEM_write_bio(b, "PUBLIC KEY", "", der, n), 0);
    s = bio_string(b);
    assert_key_refused(s, "does not hold a valid public key");
    free(s);
    OPENSSL_free(der);
    der = NULL;
    BIO_reset(b);
    n = i2d_PUBKEY(k1, &der);
    ck_assert_int_gt(PEM_write_bio(b, "RSA PUBLIC KEY", "", der, n), 0);
    s = bio_string(b);
    assert_key_refused(s, "does not hold a valid public key");
    free(s);
    OPENSSL_free(der);
    BIO_free(b);
}
END_TEST

/* Weak RSA keys parse as PEM but are refused by the strength rule, so a key stored before
 * the rule existed never verifies a token. The stored-key path runs the quick checks only:
 * a prime modulus is refused at upload (test_account_keys.c), not here. */
START_TEST(test_key_weak_refused)
{
    size_t count = 0;
    const weak_rsa *w = weak_rsa_cases(&count);
    char *pem = weak_rsa_pem(w[_i].n, w[_i].e);
    EVP_PKEY *k = NULL;
    const char *why = NULL;

    ck_assert_uint_gt(count, (size_t)_i);
    if (w[_i].full_only) {
        ck_assert_int_eq(jwt_key_parse(pem, strlen(pem), &k, &why), NT_OK);
        EVP_PKEY_free(k);
    } else {
        assert_key_refused(pem, w[_i].why);
    }
    free(pem);
}
END_TEST

START_TEST(test_key_8192_accepted)
{
    const BIGNUM *e = NULL, *n = weak_rsa_strong_8192(&e);
    char *pem = weak_rsa_pem(n, e);
    EVP_PKEY *k = NULL;
    const char *why = NULL;

    ck_assert_int_eq(jwt_key_parse(pem, strlen(pem), &k, &why), NT_OK);
    ck_assert_int_eq(EVP_PKEY_get_bits(k), 8192);
    EVP_PKEY_free(k);
    free(pem);
}
END_TEST

/* ---- caches --------------------------------------------------------------------------- */

START_TEST(test_keycache)
{
    keycache *c = keycache_new(8), *off = keycache_new(0);
    EVP_PKEY *k;

    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(off);
    ck_assert_ptr_null(keycache_get(c, ACC, 1));
    keycache_put(c, ACC, 1, k1);
    k = keycache_get(c, ACC, 1);
    ck_assert_ptr_eq(k, k1);
    EVP_PKEY_free(k);
    ck_assert_ptr_null(keycache_get(c, ACC, 2));
    ck_assert_ptr_null(keycache_get(c, ACC_OTHER, 1));
    keycache_put(c, ACC, 2, k2); /* replaces the account's older key */
    ck_assert_ptr_null(keycache_get(c, ACC, 1));
    k = keycache_get(c, ACC, 2);
    ck_assert_ptr_eq(k, k2);
    keycache_release(c, ACC, k);
    /* a second key for the same version (two workers parsed it at once) leaves the first */
    keycache_put(c, ACC, 2, k1);
    k = keycache_get(c, ACC, 2);
    ck_assert_ptr_eq(k, k2);
    keycache_release(c, ACC, k);
    keycache_put(off, ACC, 1, k1);
    ck_assert_ptr_null(keycache_get(off, ACC, 1));
    keycache_release(off, ACC, NULL);
    keycache_free(c);
    keycache_free(off);
    keycache_free(NULL);
}
END_TEST

START_TEST(test_keycache_bounded)
{
    keycache *c = keycache_new(16);
    char id[NT_UUID_BUF];
    int hits = 0;

    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
        keycache_put(c, id, 1, k1);
    }
    for (int i = 0; i < 1000; i++) {
        EVP_PKEY *k;
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
        k = keycache_get(c, id, 1);
        hits += k != NULL;
        EVP_PKEY_free(k);
    }
    ck_assert_int_le(hits, 16);
    ck_assert_int_gt(hits, 0);
    keycache_free(c);
}
END_TEST

START_TEST(test_tokcache)
{
    tokcache *c = tokcache_new(8);
    unsigned char d1[TOKCACHE_DIGEST], d2[TOKCACHE_DIGEST];
    char user[NT_UUID_BUF];
    json_t *pol = json_loads("{\"allow\":[\"*\"]}", 0, NULL), *got = NULL;

    memset(d1, 1, sizeof(d1));
    memset(d2, 2, sizeof(d2));
    ck_assert_int_eq(tokcache_get(c, d1, ACC, 1, 100, user, &got), NT_ENOTFOUND);
    tokcache_put(c, d1, ACC, 1, UID, pol, 0, 200, 100);
    tokcache_put(c, d2, ACC, 1, UID_OTHER, NULL, 0, 200, 100);
    ck_assert_int_eq(tokcache_get(c, d1, ACC, 1, 100, user, &got), NT_OK);
    ck_assert_str_eq(user, UID);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_ne(got, pol); /* the cache's own copy, not the caller's object */
    ck_assert(json_equal(got, pol));
#if defined(JANSSON_THREAD_SAFE_REFCOUNT) && JANSSON_THREAD_SAFE_REFCOUNT
    ck_assert_int_eq(got->refcount, 2); /* shared with the cache (atomic reference counts) */
#else
    ck_assert_int_eq(got->refcount, 1); /* a private copy for each hit */
#endif
    json_decref(got);
    ck_assert_int_eq(pol->refcount, 1); /* the cache keeps its own copy */
    ck_assert_int_eq(tokcache_get(c, d2, ACC, 1, 200, user, &got), NT_OK); /* exp == now */
    ck_assert_str_eq(user, UID_OTHER);
    ck_assert_ptr_null(got);
    /* other account, other key version, expired: misses */
    ck_assert_int_eq(tokcache_get(c, d1, ACC_OTHER, 1, 100, user, &got), NT_ENOTFOUND);
    ck_assert_int_eq(tokcache_get(c, d1, ACC, 2, 100, user, &got), NT_ENOTFOUND);
    ck_assert_int_eq(tokcache_get(c, d1, ACC, 1, 100, user, &got), NT_ENOTFOUND); /* dropped */
    ck_assert_int_eq(tokcache_get(c, d2, ACC, 1, 201, user, &got), NT_ENOTFOUND);
    ck_assert_ptr_null(got);
    tokcache_free(c);
    json_decref(pol);
    c = tokcache_new(0);
    tokcache_put(c, d1, ACC, 1, UID, NULL, 0, 200, 100);
    ck_assert_int_eq(tokcache_get(c, d1, ACC, 1, 100, user, &got), NT_ENOTFOUND);
    tokcache_free(c);
    tokcache_free(NULL);
}
END_TEST

START_TEST(test_tokcache_bounded)
{
    tokcache *c = tokcache_new(64);
    unsigned char d[TOKCACHE_DIGEST];
    char user[NT_UUID_BUF];
    json_t *pol = json_object(), *got;
    int hits = 0;

    for (int i = 0; i < 5000; i++) {
        SHA256((unsigned char *)&i, sizeof(i), d);
        tokcache_put(c, d, ACC, 1, UID, pol, 0, 1000, 10);
    }
    for (int i = 0; i < 5000; i++) {
        SHA256((unsigned char *)&i, sizeof(i), d);
        if (tokcache_get(c, d, ACC, 1, 10, user, &got) == NT_OK) {
            hits++;
            json_decref(got);
        }
    }
    ck_assert_int_le(hits, 64);
    ck_assert_int_gt(hits, 32);
    ck_assert_int_eq(pol->refcount, 1);
    tokcache_free(c);
    json_decref(pol);
}
END_TEST

/* An entry counts from its valid_from on: a clock that steps back never makes the cache
 * accept a token before its nbf. */
START_TEST(test_tokcache_valid_from)
{
    tokcache *c = tokcache_new(8);
    unsigned char d[TOKCACHE_DIGEST];
    char user[NT_UUID_BUF];
    json_t *got = NULL;

    memset(d, 7, sizeof(d));
    tokcache_put(c, d, ACC, 1, UID, NULL, 150, 200, 160);
    ck_assert_int_eq(tokcache_get(c, d, ACC, 1, 149, user, &got), NT_ENOTFOUND);
    ck_assert_int_eq(tokcache_get(c, d, ACC, 1, 150, user, &got), NT_OK); /* still there */
    ck_assert_str_eq(user, UID);
    ck_assert_int_eq(tokcache_get(c, d, ACC, 1, 200, user, &got), NT_OK);
    ck_assert_int_eq(tokcache_get(c, d, ACC, 1, 201, user, &got), NT_ENOTFOUND);
    tokcache_free(c);
}
END_TEST

/* Several threads hammer both caches with overlapping entries. */
static tokcache *stress_tc;
static keycache *stress_kc;

static void *
stress_run(void *arg)
{
    unsigned char d[TOKCACHE_DIGEST];
    char user[NT_UUID_BUF], acc[NT_UUID_BUF];
    json_t *pol = json_object(), *got;
    int base = *(int *)arg;

    for (int i = 0; i < 20000; i++) {
        int v = (i * 7 + base) % 300;
        EVP_PKEY *k;
        SHA256((unsigned char *)&v, sizeof(v), d);
        snprintf(acc, sizeof(acc), "00000000-0000-4000-8000-%012d", v % 50);
        if (tokcache_get(stress_tc, d, acc, 1, 10, user, &got) == NT_OK) {
            if (strcmp(user, UID) != 0)
                abort();
            json_decref(got);
        } else {
            tokcache_put(stress_tc, d, acc, 1, UID, pol, 0, 100, 10);
        }
        k = keycache_get(stress_kc, acc, v % 3);
        if (k == NULL)
            keycache_put(stress_kc, acc, v % 3, (v & 1) ? k1 : k2);
        EVP_PKEY_free(k);
    }
    json_decref(pol);
    return NULL;
}

START_TEST(test_caches_threads)
{
    pthread_t th[4];
    int base[4] = {0, 1, 2, 3};

    stress_tc = tokcache_new(128);
    stress_kc = keycache_new(16);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, stress_run, &base[i]), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    tokcache_free(stress_tc);
    keycache_free(stress_kc);
}
END_TEST

/* ---- the authenticator through a fake host ---------------------------------------------- */

/* The fake host (tests/support) runs the plugin; the accounts, users and policy services
 * it looks up are provided by this test. */
static fh_host *host;
static fh_req *last_req; /* the request of the last run(), freed by the next or teardown */

static struct {
    const nt_authenticator_v1 *ops;
    void *state;
    int provided;
    int no_accounts;
    /* the fake account ACC and its user UID */
    const char *pem; /* NULL: no key */
    int64_t version;
    int storage_rc; /* returned by every accounts call when not NT_OK */
    int n_key_version, n_public_key, n_in_account, n_find;
} fx;

/* The fake accounts service: ACC with API_KEY, fx.pem and fx.version. */
static int
fa_find_by_api_key(void *state, nt_db *db, const char *api_key, char account_id[NT_UUID_BUF])
{
    (void)state;
    (void)db;
    fx.n_find++;
    if (fx.storage_rc != NT_OK)
        return fx.storage_rc;
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
    fx.n_key_version++;
    if (fx.storage_rc != NT_OK)
        return fx.storage_rc;
    if (strcmp(account_id, ACC) != 0)
        return NT_ENOTFOUND;
    *version = fx.version;
    return NT_OK;
}

static int
fa_public_key(void *state, nt_db *db, const char *account_id, char **pem, int64_t *version)
{
    (void)state;
    (void)db;
    fx.n_public_key++;
    *pem = NULL;
    if (fx.storage_rc != NT_OK)
        return fx.storage_rc;
    if (strcmp(account_id, ACC) != 0)
        return NT_ENOTFOUND;
    *version = fx.version;
    if (fx.pem != NULL) {
        *pem = strdup(fx.pem);
        if (*pem == NULL)
            return NT_ENOMEM;
    }
    return NT_OK;
}

static const nt_accounts_v1 fa_ops = {
    .size = sizeof(nt_accounts_v1),
    .find_by_api_key = fa_find_by_api_key,
    .key_version = fa_key_version,
    .public_key = fa_public_key,
};

static int
fu_in_account(void *state, nt_db *db, const char *account_id, const char *user_id)
{
    (void)state;
    (void)db;
    fx.n_in_account++;
    return strcmp(account_id, ACC) == 0 && strcmp(user_id, UID) == 0 ? NT_OK : NT_ENOTFOUND;
}

static const nt_users_v1 fu_ops = {.size = sizeof(nt_users_v1), .in_account = fu_in_account};

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

/* Starts the plugin on a new fake host with the given section; returns init's or start's
 * result. */
static int
fx_start(const char *k0, const char *v0, const char *k1_, const char *v1)
{
    const nt_plugin_desc *d = nt_plugin_entry();
    const fh_service *svc;
    fh_plugin *p;
    int rc;

    fh_req_free(last_req);
    last_req = NULL;
    fh_free(host);
    host = fh_new();
    ck_assert_ptr_nonnull(host);
    fx.ops = NULL;
    fx.state = NULL;
    fx.provided = 0;
    if (k0 != NULL)
        ck_assert_int_eq(fh_config_set(host, "auth_nettu", k0, v0), NT_OK);
    if (k1_ != NULL)
        ck_assert_int_eq(fh_config_set(host, "auth_nettu", k1_, v1), NT_OK);
    if (!fx.no_accounts)
        ck_assert_int_eq(
            fh_service_add(host, NT_SERVICE_ACCOUNTS, "fake", NT_ACCOUNTS_V1, &fa_ops, NULL),
            NT_OK);
    ck_assert_int_eq(fh_service_add(host, NT_SERVICE_USERS, "fake", NT_USERS_V1, &fu_ops, NULL),
                     NT_OK);
    ck_assert_int_eq(fh_service_add(host, NT_SERVICE_POLICY, "fake", NT_POLICY_V1, &fp_ops, NULL),
                     NT_OK);
    ck_assert_str_eq(d->name, "auth_nettu");
    p = fh_adopt(host, d);
    ck_assert_ptr_nonnull(p);
    rc = fh_init(p);
    if (rc != NT_OK)
        return rc;
    /* The one service the plugin provides. */
    svc = fh_service_find(host, NT_SERVICE_AUTHENTICATOR, NULL);
    ck_assert_ptr_nonnull(svc);
    ck_assert_str_eq(svc->kind, NT_SERVICE_AUTHENTICATOR);
    ck_assert_str_eq(svc->name, "nettu");
    ck_assert_uint_eq(svc->version, NT_AUTHENTICATOR_V1);
    ck_assert_ptr_eq(svc->state, fh_plugin_state(p));
    ck_assert_int_eq(fh_service_count(host), 3 + !fx.no_accounts);
    fx.provided = 1;
    fx.ops = svc->ops;
    fx.state = svc->state;
    rc = fh_start(p);
    ck_assert_int_eq(fh_named_lookups(host), 0); /* services are looked up by kind only */
    if (rc != NT_OK) {
        fh_close(p);
        fx.ops = NULL;
        fx.state = NULL;
    }
    return rc;
}

static void
auth_setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fh_clock_set(0, 0);
    fx.pem = k1_pem;
    fx.version = 1;
    ck_assert_int_eq(fx_start(NULL, NULL, NULL, NULL), NT_OK);
    ck_assert_int_eq(fx.provided, 1);
}

static void
auth_teardown(void)
{
    fh_req_free(last_req);
    last_req = NULL;
    fh_free(host); /* finalizes the plugin */
    host = NULL;
    fx.state = NULL;
}

/* Runs the authenticator on a fresh fake request with the given headers (NULL: absent);
 * *q becomes that request (the previous one is freed). */
static int
run(fh_req **q, const char *api_key, const char *account, const char *authorization,
    nt_auth_kind need)
{
    int rc;

    fh_req_free(last_req);
    last_req = *q = fh_req_new(host);
    ck_assert_ptr_nonnull(*q);
    if (api_key != NULL)
        ck_assert_int_eq(fh_req_add_header(*q, "x-api-key", api_key), NT_OK);
    if (account != NULL)
        ck_assert_int_eq(fh_req_add_header(*q, "nettu-account", account), NT_OK);
    if (authorization != NULL)
        ck_assert_int_eq(fh_req_add_header(*q, "Authorization", authorization), NT_OK);
    rc = fx.ops->authenticate(fx.state, *q, need);
    ck_assert_int_le(fh_req_principal_calls(*q), 1); /* the principal is set at most once */
    return rc;
}

/* Drops the request (and the policy it holds). */
static void
req_fini(fh_req **q)
{
    if (*q == last_req)
        last_req = NULL;
    fh_req_free(*q);
    *q = NULL;
}

/* Asserts a 401 (or `code`) whose message contains `part` and no secret. */
static void
assert_denied(fh_req *q, int rc, int code, const char *part)
{
    const char *msg = fh_req_msg(q);

    ck_assert_int_eq(rc, code);
    ck_assert_int_eq(fh_req_fail_code(q), code);
    ck_assert(fh_req_principal_calls(q) == 0);
    ck_assert_msg(strstr(msg, part) != NULL, "message '%s' lacks '%s'", msg, part);
    ck_assert(strstr(msg, "eyJ") == NULL);
    ck_assert(strstr(msg, API_KEY) == NULL);
}

/* "Bearer <token>" for a token; malloc'd. */
static char *
bearer(const char *tok)
{
    char *s = malloc(strlen(tok) + 8);

    sprintf(s, "Bearer %s", tok);
    return s;
}

START_TEST(test_auth_admin)
{
    fh_req *q = NULL;
    int rc;

    ck_assert_int_eq(run(&q, API_KEY, NULL, NULL, NT_AUTH_ADMIN), NT_OK);
    ck_assert((fh_req_principal_calls(q) > 0));
    ck_assert_str_eq(fh_req_account(q), ACC);
    ck_assert(!(fh_req_user(q) != NULL));
    ck_assert_ptr_null(fh_req_policy(q));
    rc = run(&q, NULL, ACC, "Bearer x", NT_AUTH_ADMIN);
    assert_denied(q, rc, NT_EUNAUTH, "missing x-api-key header");
    rc = run(&q, "", NULL, NULL, NT_AUTH_ADMIN);
    assert_denied(q, rc, NT_EUNAUTH, "x-api-key");
    rc = run(&q, "sk_ key", NULL, NULL, NT_AUTH_ADMIN);
    assert_denied(q, rc, NT_EUNAUTH, "visible ASCII");
    rc = run(&q, "sk_\xc3\xa9", NULL, NULL, NT_AUTH_ADMIN);
    assert_denied(q, rc, NT_EUNAUTH, "visible ASCII");
    rc = run(&q, API_KEY "x", NULL, NULL, NT_AUTH_ADMIN);
    assert_denied(q, rc, NT_EUNAUTH, "no account has this API key");
    /* storage errors propagate without a message */
    fx.storage_rc = NT_EUNAVAIL;
    ck_assert_int_eq(run(&q, API_KEY, NULL, NULL, NT_AUTH_ADMIN), NT_EUNAVAIL);
    ck_assert_int_eq(fh_req_fail_code(q), 0);
    ck_assert(!(fh_req_principal_calls(q) > 0));
}
END_TEST

/* In a group commit the account of an API key is looked up once (the group's memo); keys not
 * found are looked up every time, and the memo ends with the group. */
START_TEST(test_auth_admin_memo)
{
    fh_req *q = NULL;
    int rc;

    fx.n_find = 0;
    fh_group_begin(host);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(run(&q, API_KEY, NULL, NULL, NT_AUTH_ADMIN), NT_OK);
        ck_assert_str_eq(fh_req_account(q), ACC);
    }
    ck_assert_int_eq(fx.n_find, 1);
    ck_assert_uint_eq(fh_memo_count(host), 1);
    for (int i = 0; i < 2; i++) {
        rc = run(&q, API_KEY "x", NULL, NULL, NT_AUTH_ADMIN);
        assert_denied(q, rc, NT_EUNAUTH, "no account has this API key");
    }
    ck_assert_int_eq(fx.n_find, 3);
    fh_group_end(host);
    ck_assert_int_eq(run(&q, API_KEY, NULL, NULL, NT_AUTH_ADMIN), NT_OK);
    ck_assert_int_eq(fx.n_find, 4);
    ck_assert_int_eq(run(&q, API_KEY, NULL, NULL, NT_AUTH_ADMIN), NT_OK);
    ck_assert_int_eq(fx.n_find, 5); /* outside a group: every time */
    ck_assert_uint_eq(fh_memo_count(host), 0);
    req_fini(&q);
}
END_TEST

START_TEST(test_auth_user)
{
    char *tok = good_token("\"schedulerPolicy\":{\"allow\":[\"*\"],\"reject\":"
                           "[\"DeleteCalendar\"]}");
    char *hdr = bearer(tok);
    const char *del[] = {"DeleteCalendar", NULL}, *create[] = {"CreateCalendar", NULL};
    fh_req *q = NULL;

    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
    ck_assert((fh_req_principal_calls(q) > 0));
    ck_assert_str_eq(fh_req_account(q), ACC);
    ck_assert((fh_req_user(q) != NULL));
    ck_assert_str_eq(fh_req_user(q), UID);
    ck_assert_ptr_nonnull(fh_req_policy(q));
    ck_assert_int_eq(policy_rules_check(fh_req_policy(q), del), NT_EUNAUTH);
    ck_assert_int_eq(policy_rules_check(fh_req_policy(q), create), NT_OK);
    req_fini(&q);
    ck_assert_int_eq(fx.n_public_key, 1);
    /* again: served by the caches, still checked against the key version and the user */
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
    ck_assert_str_eq(fh_req_user(q), UID);
    ck_assert_ptr_nonnull(fh_req_policy(q));
    ck_assert_int_eq(policy_rules_check(fh_req_policy(q), del), NT_EUNAUTH);
    req_fini(&q);
    ck_assert_int_eq(fx.n_public_key, 1);
    ck_assert_int_eq(fx.n_key_version, 2);
    ck_assert_int_eq(fx.n_in_account, 2);
    /* upper-case account header, lower-case scheme */
    hdr[0] = 'b';
    ck_assert_int_eq(run(&q, NULL, "6F2A1D0E-3B4C-4D5E-8F60-718293A4B5C6", hdr, NT_AUTH_USER),
                     NT_OK);
    ck_assert_str_eq(fh_req_account(q), ACC);
    req_fini(&q);
    /* x-api-key is ignored by user routes */
    ck_assert_int_eq(run(&q, "garbage key", ACC, hdr, NT_AUTH_USER), NT_OK);
    req_fini(&q);
    free(hdr);
    free(tok);
}
END_TEST

START_TEST(test_auth_user_default_policy)
{
    char *tok = good_token(NULL), *hdr = bearer(tok);
    fh_req *q = NULL;

    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
    ck_assert_ptr_null(fh_req_policy(q));
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK); /* cached */
    ck_assert_ptr_null(fh_req_policy(q));
    free(hdr);
    free(tok);
}
END_TEST

START_TEST(test_auth_user_headers)
{
    char *tok = good_token(NULL), *hdr = bearer(tok);
    fh_req *q = NULL;
    int rc;

    rc = run(&q, NULL, NULL, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "missing nettu-account header");
    rc = run(&q, NULL, "not-a-uuid", hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "nettu-account");
    ck_assert_int_eq(fh_req_fail_code(q), NT_EUNAUTH); /* 401 here, unlike free/busy */
    rc = run(&q, NULL, ACC_OTHER, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "no such account");
    rc = run(&q, NULL, ACC, NULL, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "missing Authorization header");
    rc = run(&q, NULL, ACC, "Basic dXNlcjpwYXNz", NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "Bearer");
    rc = run(&q, NULL, ACC, "Bearer    ", NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "Bearer");
    rc = run(&q, NULL, ACC, "Bearer not.a.token", NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token");
    /* a storage failure while reading the account propagates */
    fx.storage_rc = NT_ERR;
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_ERR);
    ck_assert(!(fh_req_principal_calls(q) > 0));
    free(hdr);
    free(tok);
}
END_TEST

START_TEST(test_auth_user_token_refused)
{
    char *claims, *tok, *hdr;
    fh_req *q = NULL;
    int rc;

    /* expired */
    claims = mk_claims(UID, 1, now_s() - 5, NULL);
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    hdr = bearer(tok);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token expired");
    free(claims), free(tok), free(hdr);
    /* HS256 keyed with the account's PEM */
    claims = mk_claims(UID, 1, 5609418990073LL, NULL);
    tok = mk_token("{\"alg\":\"HS256\"}", claims, SIG_HS256_PEM, NULL);
    hdr = bearer(tok);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token algorithm must be RS256");
    free(tok), free(hdr);
    /* signed by another key */
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k2);
    hdr = bearer(tok);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "signature is invalid");
    free(claims), free(tok), free(hdr);
    /* a user of no account, or of another one */
    claims = mk_claims(UID_OTHER, 1, 5609418990073LL, NULL);
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    hdr = bearer(tok);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "no such user");
    free(claims), free(tok), free(hdr);
    /* a policy with an unknown permission makes the whole token invalid */
    tok = good_token("\"schedulerPolicy\":{\"allow\":[\"*\"],\"reject\":[\"Nope\"]}");
    hdr = bearer(tok);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "schedulerPolicy");
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER); /* and is never cached */
    assert_denied(q, rc, NT_EUNAUTH, "schedulerPolicy");
    free(tok), free(hdr);
}
END_TEST

START_TEST(test_auth_key_changes)
{
    char *tok1 = good_token(NULL), *h1 = bearer(tok1);
    char *claims = mk_claims(UID, 1, 5609418990073LL, NULL);
    char *tok2 = mk_token(HDR_RS256, claims, SIG_RS256, k2), *h2 = bearer(tok2);
    fh_req *q = NULL;
    int rc;

    ck_assert_int_eq(run(&q, NULL, ACC, h1, NT_AUTH_USER), NT_OK);
    ck_assert_int_eq(run(&q, NULL, ACC, h1, NT_AUTH_USER), NT_OK); /* now cached */
    /* the key is replaced: the cached token stops working at once */
    fx.pem = k2_pem;
    fx.version = 2;
    rc = run(&q, NULL, ACC, h1, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "signature is invalid");
    ck_assert_int_eq(run(&q, NULL, ACC, h2, NT_AUTH_USER), NT_OK);
    ck_assert_int_eq(fx.n_public_key, 2);
    /* the key is removed */
    fx.pem = NULL;
    fx.version = 0;
    rc = run(&q, NULL, ACC, h2, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "no public key");
    /* the old key comes back under a new version; PKCS#1 form this time */
    fx.pem = k1_pkcs1_pem;
    fx.version = 3;
    ck_assert_int_eq(run(&q, NULL, ACC, h1, NT_AUTH_USER), NT_OK);
    rc = run(&q, NULL, ACC, h2, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "signature is invalid");
    /* a stored key that cannot be used */
    fx.pem = "junk";
    fx.version = 4;
    rc = run(&q, NULL, ACC, h1, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "public key");
    free(claims), free(tok1), free(h1), free(tok2), free(h2);
}
END_TEST

START_TEST(test_auth_cached_token_expires)
{
    int64_t t0 = (int64_t)time(NULL);
    char *claims = mk_claims(UID, t0, t0 + 60, NULL);
    char *tok = mk_token(HDR_RS256, claims, SIG_RS256, k1), *hdr = bearer(tok);
    fh_req *q = NULL;
    int rc;

    fh_clock_set(t0 * 1000, 0);
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
    fh_clock_set((t0 + 60) * 1000 + 999, 0);
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK); /* exp == now */
    fh_clock_set((t0 + 61) * 1000, 0);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token expired");
    free(claims), free(tok), free(hdr);
}
END_TEST

/* A token valid only from nbf (beyond the leeway) is refused until then, accepted from
 * nbf - 60 on, and never served early by the token cache when the clock steps back. */
START_TEST(test_auth_nbf_and_cache)
{
    int64_t t0 = (int64_t)time(NULL);
    char claims[256], *tok, *hdr;
    fh_req *q = NULL;
    int rc;

    snprintf(claims, sizeof(claims),
             "{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}",
             (long long)t0, (long long)t0 + 3600, (long long)t0 + 100);
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    hdr = bearer(tok);
    fh_clock_set(t0 * 1000, 0);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token nbf: not valid yet");
    fh_clock_set((t0 + 39) * 1000 + 999, 0);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token nbf: not valid yet");
    fh_clock_set((t0 + 40) * 1000, 0); /* nbf - 60 */
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK); /* now cached */
    fh_clock_set((t0 + 10) * 1000, 0);                              /* the clock steps back */
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token nbf: not valid yet");
    fh_clock_set((t0 + 200) * 1000, 0);
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
    free(tok), free(hdr);
    /* a token issued in the future, and one with a crit header */
    snprintf(claims, sizeof(claims),
             "{\"nettuSchedulerUserId\":\"" UID "\",\"iat\":%lld,\"exp\":%lld}",
             (long long)t0 + 3000, (long long)t0 + 3600);
    tok = mk_token(HDR_RS256, claims, SIG_RS256, k1);
    hdr = bearer(tok);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token iat: issued in the future");
    free(tok), free(hdr);
    tok = mk_token("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", claims, SIG_RS256, k1);
    hdr = bearer(tok);
    fh_clock_set((t0 + 3000) * 1000, 0);
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "token crit");
    free(tok), free(hdr);
}
END_TEST

/* The e = 1 attack: with the public key (n, 1) stored, the "signature" of a token is its own
 * PKCS#1 v1.5 encoded digest, which anyone can compute. A stored key of that kind (uploaded
 * before the strength rule) must never verify, whatever the token. */
START_TEST(test_auth_weak_stored_key_forgery)
{
    static const unsigned char sha256_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                0x01, 0x05, 0x00, 0x04, 0x20};
    BIGNUM *n = NULL, *one = BN_new();
    char *pem, *claims = mk_claims(UID, 1, 5609418990073LL, NULL), *h, *c, *input, *sig, *tok;
    char *hdr;
    unsigned char em[256];
    fh_req *q = NULL;
    int rc;

    ck_assert_int_eq(EVP_PKEY_get_bn_param(k1, "n", &n), 1);
    ck_assert(one != NULL && BN_set_word(one, 1) == 1);
    pem = weak_rsa_pem(n, one);
    h = b64u(HDR_RS256, strlen(HDR_RS256));
    c = b64u(claims, strlen(claims));
    input = malloc(strlen(h) + strlen(c) + 2);
    sprintf(input, "%s.%s", h, c);
    /* EM = 00 01 FF..FF 00 DigestInfo(SHA-256) hash (RFC 8017 section 9.2) */
    memset(em, 0xff, sizeof(em));
    em[0] = 0x00;
    em[1] = 0x01;
    em[sizeof(em) - 32 - sizeof(sha256_info) - 1] = 0x00;
    memcpy(em + sizeof(em) - 32 - sizeof(sha256_info), sha256_info, sizeof(sha256_info));
    SHA256((unsigned char *)input, strlen(input), em + sizeof(em) - 32);
    sig = b64u(em, sizeof(em));
    tok = malloc(strlen(input) + strlen(sig) + 2);
    sprintf(tok, "%s.%s", input, sig);
    hdr = bearer(tok);
    fx.pem = pem;
    fx.version = 7;
    rc = run(&q, NULL, ACC, hdr, NT_AUTH_USER);
    assert_denied(q, rc, NT_EUNAUTH, "the account's public key cannot verify tokens");
    ck_assert_ptr_nonnull(strstr(fh_log(host), "public exponent must be 65537"));
    free(pem), free(claims), free(h), free(c), free(input), free(sig), free(tok), free(hdr);
    BN_free(n);
    BN_free(one);
}
END_TEST

START_TEST(test_auth_admin_or_user)
{
    char *tok = good_token(NULL), *hdr = bearer(tok);
    fh_req *q = NULL;
    int rc;

    ck_assert_int_eq(run(&q, API_KEY, ACC, hdr, NT_AUTH_ADMIN_OR_USER), NT_OK);
    ck_assert(!(fh_req_user(q) != NULL)); /* x-api-key present: admin */
    ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_ADMIN_OR_USER), NT_OK);
    ck_assert((fh_req_user(q) != NULL));
    ck_assert_str_eq(fh_req_user(q), UID);
    rc = run(&q, "wrong", ACC, hdr, NT_AUTH_ADMIN_OR_USER); /* a bad key is not retried */
    assert_denied(q, rc, NT_EUNAUTH, "x-api-key");
    rc = run(&q, NULL, NULL, NULL, NT_AUTH_ADMIN_OR_USER);
    assert_denied(q, rc, NT_EUNAUTH, "nettu-account");
    free(tok), free(hdr);
}
END_TEST

START_TEST(test_auth_public_account)
{
    fh_req *q = NULL;
    int rc;

    ck_assert_int_eq(run(&q, NULL, ACC, NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_OK);
    ck_assert_str_eq(fh_req_account(q), ACC);
    ck_assert(!(fh_req_user(q) != NULL));
    ck_assert_ptr_null(fh_req_policy(q));
    fx.pem = NULL; /* no key needed */
    fx.version = 0;
    ck_assert_int_eq(run(&q, NULL, ACC, NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_OK);
    rc = run(&q, API_KEY, "nope", NULL, NT_AUTH_PUBLIC_ACCOUNT);
    assert_denied(q, rc, NT_EINVAL, "nettu-account");
    rc = run(&q, NULL, ACC_OTHER, NULL, NT_AUTH_PUBLIC_ACCOUNT);
    assert_denied(q, rc, NT_EUNAUTH, "no such account");
    /* absent: admin authentication */
    ck_assert_int_eq(run(&q, API_KEY, NULL, NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_OK);
    ck_assert_str_eq(fh_req_account(q), ACC);
    rc = run(&q, NULL, NULL, NULL, NT_AUTH_PUBLIC_ACCOUNT);
    assert_denied(q, rc, NT_EUNAUTH, "missing x-api-key header");
    fx.storage_rc = NT_EUNAVAIL;
    ck_assert_int_eq(run(&q, NULL, ACC, NULL, NT_AUTH_PUBLIC_ACCOUNT), NT_EUNAVAIL);
    ck_assert(!(fh_req_principal_calls(q) > 0));
}
END_TEST

START_TEST(test_auth_caches_off)
{
    char *tok = good_token(NULL), *hdr = bearer(tok);
    fh_req *q = NULL;

    auth_teardown();
    memset(&fx, 0, sizeof(fx));
    fx.pem = k1_pem;
    fx.version = 1;
    ck_assert_int_eq(fx_start("token_cache_size", "0", "key_cache_size", "0"), NT_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(run(&q, NULL, ACC, hdr, NT_AUTH_USER), NT_OK);
        ck_assert_str_eq(fh_req_user(q), UID);
    }
    ck_assert_int_eq(fx.n_public_key, 3);
    free(tok), free(hdr);
}
END_TEST

START_TEST(test_auth_config)
{
    auth_teardown();
    memset(&fx, 0, sizeof(fx));
    ck_assert_int_eq(fx_start("cache", "1", NULL, NULL), NT_EINVAL);
    ck_assert_int_eq(fx.provided, 0);
    ck_assert_int_eq(fx_start("token_cache_size", "-1", NULL, NULL), NT_EINVAL);
    ck_assert_int_eq(fx_start("key_cache_size", "lots", NULL, NULL), NT_EINVAL);
    ck_assert_int_eq(fx_start("token_cache_size", "10", "key_cache_size", "3"), NT_OK);
    auth_teardown();
    fx.no_accounts = 1;
    ck_assert_int_lt(fx_start(NULL, NULL, NULL, NULL), 0);
    ck_assert(strstr(fh_log(host), "INIT_ERROR") != NULL);
    ck_assert(strstr(strstr(fh_log(host), "INIT_ERROR"), "accounts") != NULL);
}
END_TEST

static Suite *
jwt_suite(void)
{
    Suite *s = suite_create("auth_nettu");
    TCase *tc = tcase_create("jwt");

    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_add_test(tc, test_good_token);
    tcase_add_test(tc, test_documented_example);
    tcase_add_test(tc, test_exp_bounds);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_nbf_iat);
    tcase_add_loop_test(tc, test_crit, 0, (int)(sizeof(crit_headers) / sizeof(crit_headers[0])));
    tcase_add_loop_test(tc, test_bad_claims, 0, (int)(sizeof(bad_claims) / sizeof(bad_claims[0])));
    tcase_add_loop_test(tc, test_bad_alg, 0,
                        (int)(sizeof(bad_alg_headers) / sizeof(bad_alg_headers[0])));
    tcase_add_test(tc, test_alg_attacks);
    tcase_add_test(tc, test_other_key);
    tcase_add_test(tc, test_tampered);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_too_long);
    tcase_add_test(tc, test_user_and_policy_passed);
    tcase_add_test(tc, test_uuid_valid);
    tcase_add_test(tc, test_b64url);
    suite_add_tcase(s, tc);

    tc = tcase_create("key");
    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_add_test(tc, test_key_public_pem);
    tcase_add_test(tc, test_key_rsa_public_pem);
    tcase_add_test(tc, test_key_variants_accepted);
    tcase_add_test(tc, test_key_refused);
    tcase_add_test(tc, test_key_pkcs1_body_in_spki_frame);
    tcase_add_loop_test(tc, test_key_weak_refused, 0, WEAK_RSA_COUNT);
    tcase_add_test(tc, test_key_8192_accepted);
    suite_add_tcase(s, tc);

    tc = tcase_create("cache");
    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_add_test(tc, test_keycache);
    tcase_add_test(tc, test_keycache_bounded);
    tcase_add_test(tc, test_tokcache);
    tcase_add_test(tc, test_tokcache_bounded);
    tcase_add_test(tc, test_tokcache_valid_from);
    tcase_add_test(tc, test_caches_threads);
    suite_add_tcase(s, tc);

    tc = tcase_create("authenticate");
    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_add_checked_fixture(tc, auth_setup, auth_teardown);
    tcase_add_test(tc, test_auth_admin);
    tcase_add_test(tc, test_auth_admin_memo);
    tcase_add_test(tc, test_auth_user);
    tcase_add_test(tc, test_auth_user_default_policy);
    tcase_add_test(tc, test_auth_user_headers);
    tcase_add_test(tc, test_auth_user_token_refused);
    tcase_add_test(tc, test_auth_key_changes);
    tcase_add_test(tc, test_auth_cached_token_expires);
    tcase_add_test(tc, test_auth_nbf_and_cache);
    tcase_add_test(tc, test_auth_weak_stored_key_forgery);
    tcase_add_test(tc, test_auth_admin_or_user);
    tcase_add_test(tc, test_auth_public_account);
    tcase_add_test(tc, test_auth_caches_off);
    tcase_add_test(tc, test_auth_config);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(jwt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(kec);
    free(k1_pem);
    free(k2_pem);
    free(k1_pkcs1_pem);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

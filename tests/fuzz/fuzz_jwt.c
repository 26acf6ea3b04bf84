/* Fuzz target: JWT verification (plugins/auth_nettu/jwt.c, b64url.c), the PEM key parser
 * (jwt_key.c) and the policy validation applied to a token's schedulerPolicy
 * (plugins/policy/policy_rules.c). The first byte selects the mode:
 *   0  the rest is a compact token, verified with the test key;
 *   1  the rest is the claims JSON of a token with an RS256 header, signed with the test key
 *      (made once per process), so the claims parser is reached;
 *   2  the rest is header NUL claims (both fuzzed), signed with the test key;
 *   3  the rest is an account's PEM public key (jwt_key_parse), then used to verify a token.
 *
 * Oracle: a refusal is NT_EUNAUTH with a message; an accepted token has exp >= now,
 * 0 <= iat <= now + JWT_LEEWAY_S, 0 <= nbf <= now + JWT_LEEWAY_S, valid_from <= now (the
 * token cache relies on it), a lower-case UUID user and a policy object or none; a parsed
 * PEM key is an RSA key of 2048 to 8192 bits with e = 65537; the OpenSSL error queue is left
 * empty.
 */
#include <ctype.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "fuzz.h"
#include "fuzz_jwtmint.h"
#include "jwt.h"
#include "jwt_key.h"
#include "policy_rules.h"

#define NOW_S 1700000000LL
#define RS256 "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_key();
    return 0;
}

/* Verifies a token and checks jwt_verify's contract. */
static void
verify(const char *tok, size_t len, EVP_PKEY *key)
{
    static const char *const perms[] = {"CreateCalendar", "DeleteCalendar", NULL};
    jwt_claims c;
    const char *why = NULL;
    int rc = jwt_verify(tok, len, key, NOW_S, &c, &why);

    FUZZ_CHECK(ERR_peek_error() == 0, "the OpenSSL error queue is not empty");
    if (rc != NT_OK) {
        FUZZ_CHECK(rc == NT_EUNAUTH, "jwt_verify returned %d", rc);
        FUZZ_CHECK(why != NULL && why[0] != '\0', "a refusal without a message");
        FUZZ_CHECK(c.policy == NULL && c.user_id[0] == '\0', "claims left after a refusal");
        return;
    }
    FUZZ_CHECK(why == NULL, "a message on success");
    FUZZ_CHECK(c.exp >= NOW_S && c.iat >= 0, "exp %lld iat %lld", (long long)c.exp,
               (long long)c.iat);
    FUZZ_CHECK(c.iat - JWT_LEEWAY_S <= NOW_S && c.nbf >= 0 && c.nbf - JWT_LEEWAY_S <= NOW_S &&
                   c.valid_from <= NOW_S,
               "iat %lld nbf %lld valid_from %lld accepted at %lld", (long long)c.iat,
               (long long)c.nbf, (long long)c.valid_from, NOW_S);
    FUZZ_CHECK(jwt_uuid_valid(c.user_id), "user '%s'", c.user_id);
    for (int i = 0; i < NT_UUID_LEN; i++)
        FUZZ_CHECK(!isupper((unsigned char)c.user_id[i]), "user id not in lower case");
    FUZZ_CHECK(c.policy == NULL || json_is_object(c.policy), "a policy that is no object");
    /* What the authenticator does next with the policy. */
    if (policy_rules_validate(c.policy) == NT_OK) {
        int r = policy_rules_check(c.policy, perms);
        FUZZ_CHECK(r == NT_OK || r == NT_EUNAUTH, "policy check %d", r);
        FUZZ_CHECK(policy_rules_check(c.policy, NULL) == NT_OK, "no permission needed");
    } else {
        FUZZ_CHECK(policy_rules_check(c.policy, perms) == NT_EUNAUTH,
                   "an invalid policy grants a permission");
    }
    jwt_claims_fini(&c);
}

/* Signs header.claims with the test key and verifies the token. */
static void
signed_token(const void *header, size_t hlen, const void *claims, size_t clen)
{
    char *tok;

    if (hlen + clen > JWT_MAX_LEN)
        return;
    tok = fuzz_token(header, hlen, claims, clen);
    verify(tok, strlen(tok), fuzz_key());
    free(tok);
}

/* Parses a PEM key and checks jwt_key_parse's contract; a parsed key verifies a token. */
static void
pem_key(const uint8_t *pem, size_t len)
{
    static const char claims[] = "{\"nettuSchedulerUserId\":\"0b1e7c1e-5d0a-4f3e-9f40-"
                                 "2a5c0c4b8f11\",\"iat\":19,\"exp\":5609418990073}";
    EVP_PKEY *k = (EVP_PKEY *)&len;
    const char *why = NULL;
    char *tok;
    int rc = jwt_key_parse((const char *)pem, len, &k, &why);

    FUZZ_CHECK(ERR_peek_error() == 0, "the OpenSSL error queue is not empty");
    if (rc != NT_OK) {
        FUZZ_CHECK(rc == NT_EINVAL, "jwt_key_parse returned %d", rc);
        FUZZ_CHECK(k == NULL && why != NULL && why[0] != '\0', "a refusal without a message");
        return;
    }
    FUZZ_CHECK(k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA, "not an RSA key");
    FUZZ_CHECK(EVP_PKEY_get_bits(k) >= 2048 && EVP_PKEY_get_bits(k) <= 8192,
               "an RSA key of %d bits", EVP_PKEY_get_bits(k));
    {
        BIGNUM *e = NULL;
        FUZZ_CHECK(EVP_PKEY_get_bn_param(k, "e", &e) == 1 && BN_is_word(e, 65537),
                   "an exponent other than 65537");
        BN_free(e);
    }
    tok = fuzz_token(RS256, strlen(RS256), claims, strlen(claims));
    verify(tok, strlen(tok), k);
    free(tok);
    EVP_PKEY_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest = data + 1, *nul;
    size_t n = size - 1;

    if (size < 1)
        return 0;
    LLVMFuzzerInitialize(NULL, NULL);
    switch (data[0] % 4) {
    case 0:
        verify((const char *)rest, n, fuzz_key());
        break;
    case 1:
        signed_token(RS256, strlen(RS256), rest, n);
        break;
    case 2:
        nul = memchr(rest, '\0', n);
        if (nul == NULL)
            signed_token(rest, n, "{}", 2);
        else
            signed_token(rest, (size_t)(nul - rest), nul + 1, n - (size_t)(nul - rest) - 1);
        break;
    default:
        pem_key(rest, n);
        break;
    }
    return 0;
}

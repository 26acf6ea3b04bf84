/* Secret keys of accounts: generation from a CSPRNG without modulo bias, the hex SHA-256
 * stored in place of the key, and constant-time comparison of those hashes.
 */
#include "account.h"
#include "ntc_sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static const char acct_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* 62 symbols: bytes >= 248 (= 4 * 62) are thrown away so that every symbol keeps the same
 * probability. */
#define ACCT_ALPHABET_SIZE 62u
#define ACCT_BYTE_LIMIT (256u - 256u % ACCT_ALPHABET_SIZE)

int
acct_random_alnum(acct_random_fn rnd, char *out, size_t n)
{
    unsigned char buf[64];
    size_t have = 0, i = 0;
    int rc = NT_OK;

    while (have < n) {
        rc = rnd(buf, sizeof(buf));
        if (rc != NT_OK)
            goto out;
        for (i = 0; i < sizeof(buf) && have < n; i++) {
            if (buf[i] < ACCT_BYTE_LIMIT)
                out[have++] = acct_alphabet[buf[i] % ACCT_ALPHABET_SIZE];
        }
    }
    out[n] = '\0';
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != NT_OK)
        OPENSSL_cleanse(out, n);
    return rc;
}

int
acct_key_new(acct_random_fn rnd, char out[ACCT_KEY_BUF])
{
    memcpy(out, ACCT_KEY_PREFIX, 3);
    return acct_random_alnum(rnd, out + 3, ACCT_KEY_RANDOM);
}

int
acct_hash_hex(const char *s, char out[ACCT_HASH_BUF])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = NT_ERR;

    if (s == NULL || ntc_sha256(s, strlen(s), md) != NT_OK)
        goto out;
    mdlen = 32;
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[2 * mdlen] = '\0';
    rc = NT_OK;
out:
    OPENSSL_cleanse(md, sizeof(md));
    return rc;
}

int
acct_hash_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL || strlen(a) != ACCT_HASH_BUF - 1 || strlen(b) != ACCT_HASH_BUF - 1)
        return 0;
    return CRYPTO_memcmp(a, b, ACCT_HASH_BUF - 1) == 0;
}

int
acct_visible_ascii(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return 0;
    }
    return 1;
}

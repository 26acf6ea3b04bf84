/* Test tokens for the fuzz targets (see fuzz_jwtmint.h). */
#include "fuzz_jwtmint.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "fuzz.h"

static EVP_PKEY *key;

EVP_PKEY *
fuzz_key(void)
{
    if (key == NULL)
        key = EVP_RSA_gen(2048);
    FUZZ_CHECK(key != NULL, "cannot make the test RSA key");
    return key;
}

char *
fuzz_key_pem(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *s;
    long n;

    FUZZ_CHECK(b != NULL && PEM_write_bio_PUBKEY(b, fuzz_key()) == 1, "PEM");
    n = BIO_get_mem_data(b, &data);
    FUZZ_CHECK(n > 0, "PEM");
    s = fuzz_text((const uint8_t *)data, (size_t)n);
    BIO_free(b);
    return s;
}

/* Appends base64url (no padding) of n bytes at p to out; returns the new end. */
static char *
b64url(char *out, const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
        *out++ = abc[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
    }
    return out;
}

char *
fuzz_token(const void *header, size_t hlen, const void *claims, size_t clen)
{
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    char *tok = malloc(4 * (hlen + clen + sizeof(sig)) / 3 + 16), *end;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    FUZZ_CHECK(tok != NULL && ctx != NULL, "out of memory");
    end = b64url(tok, header, hlen);
    *end++ = '.';
    end = b64url(end, claims, clen);
    FUZZ_CHECK(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, fuzz_key()) == 1 &&
                   EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)tok, (size_t)(end - tok)) ==
                       1,
               "signing");
    *end++ = '.';
    end = b64url(end, sig, siglen);
    *end = '\0';
    EVP_MD_CTX_free(ctx);
    return tok;
}

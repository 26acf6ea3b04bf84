/* Public-key checks for PUT /account/pubkey and the default account: only an
 * RSA public key in one PEM block is accepted, and only when it is strong enough
 * (ntc_rsakey.h); EC/Ed25519 keys, private keys, junk inside a PEM frame and surrounding
 * text are refused.
 */
#include "account.h"
#include "ntc_rsakey.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* 1 when nothing but white space is left to read in bio, else 0. */
static int
pem_rest_blank(BIO *bio)
{
    char buf[256];
    int n;

    while ((n = BIO_read(bio, buf, (int)sizeof(buf))) > 0) {
        for (int i = 0; i < n; i++) {
            if (!isspace((unsigned char)buf[i]))
                return 0;
        }
    }
    return 1;
}

/* NT_OK when the DER of a PEM block called `name` is an RSA public key of that kind, the DER
 * is used up exactly, and the key passes ntc_rsa_key_check(); NT_EINVAL with *why set
 * otherwise, NT_ENOMEM. */
static int
pem_der_rsa_public(const char *name, const unsigned char *der, long len, const char **why)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = NULL;
    int rc = NT_EINVAL;

    if (strcmp(name, "PUBLIC KEY") == 0)
        pkey = d2i_PUBKEY(NULL, &p, len);
    else if (strcmp(name, "RSA PUBLIC KEY") == 0)
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
    if (pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && p == der + len)
        rc = ntc_rsa_key_check(pkey, NTC_RSA_FULL, why);
    EVP_PKEY_free(pkey);
    return rc;
}

int
acct_pem_rsa_public(const char *pem, size_t len, const char **why)
{
    static const char begin[] = "-----BEGIN ";
    BIO *bio = NULL;
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long derlen = 0;
    size_t i = 0;
    int rc = NT_EINVAL;

    *why = ACCT_PEM_FORM;
    if (pem == NULL || len == 0 || len > INT_MAX || memchr(pem, '\0', len) != NULL)
        goto out;
    while (i < len && isspace((unsigned char)pem[i]))
        i++;
    if (len - i < sizeof(begin) - 1 || memcmp(pem + i, begin, sizeof(begin) - 1) != 0)
        goto out;
    /* From the BEGIN line on: OpenSSL wants it at the start of a line. */
    bio = BIO_new_mem_buf(pem + i, (int)(len - i));
    if (bio == NULL) {
        rc = NT_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    if (PEM_read_bio(bio, &name, &header, &der, &derlen) != 1)
        goto out;
    if (header == NULL || header[0] != '\0' || !pem_rest_blank(bio))
        goto out;
    rc = pem_der_rsa_public(name, der, derlen, why);
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

char *
acct_pem_unescape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1), *w = out;

    if (out == NULL)
        return NULL;
    while (*s != '\0') {
        if (s[0] == '\\' && s[1] == 'n') {
            *w++ = '\n';
            s += 2;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
    return out;
}

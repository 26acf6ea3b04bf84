/* PEM public-key parsing for token verification: RSA only, public only, strong enough. */
#include "jwt_key.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <nettu/plugin.h>

#include "ntc_rsakey.h"

int
jwt_key_parse(const char *pem, size_t len, EVP_PKEY **out, const char **why)
{
    BIO *bio = NULL;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    const unsigned char *p;
    long dlen = 0;
    EVP_PKEY *key = NULL;
    int rc = NT_EINVAL;

    *out = NULL;
    *why = "public key: not a PEM-encoded RSA public key";
    if (pem == NULL || len == 0 || len > (size_t)1 << 20)
        goto out;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        rc = NT_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1 || dlen <= 0)
        goto out;
    if (header != NULL && header[0] != '\0') {
        *why = "public key: encrypted PEM blocks are not supported";
        goto out;
    }
    p = data;
    if (strcmp(name, "PUBLIC KEY") == 0) {
        key = d2i_PUBKEY(NULL, &p, dlen);
    } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dlen);
    } else {
        *why = strstr(name, "PRIVATE") != NULL
                   ? "public key: a private key is not accepted"
                   : "public key: expected a PUBLIC KEY or RSA PUBLIC KEY PEM block";
        goto out;
    }
    if (key == NULL || p != data + dlen) {
        *why = "public key: the PEM block does not hold a valid public key";
        goto out;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        *why = "public key: not an RSA key";
        goto out;
    }
    /* Keys stored before the rule existed are checked here too, so a weak one never
     * verifies; the quick checks only: this runs on the request path (on a key cache miss),
     * and every key uploaded since has passed the primality test as well. */
    rc = ntc_rsa_key_check(key, NTC_RSA_QUICK, why);
    if (rc != NT_OK)
        goto out;
    *out = key;
    key = NULL;
    *why = NULL;
    rc = NT_OK;
out:
    EVP_PKEY_free(key);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

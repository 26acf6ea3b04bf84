/* SHA-256 through one EVP_MD fetched once per process (OpenSSL 3 otherwise looks the
 * implementation up again on every call). Linked into the plugins that hash or verify.
 */
#ifndef NTC_SHA256_H
#define NTC_SHA256_H

#include <stddef.h>

#include <openssl/evp.h>

/* The fetched SHA-256 (borrowed, valid until exit), or NULL if OpenSSL has none. Fetched on
 * first use, so OpenSSL is not initialised before a request needs it. Thread-safe. */
const EVP_MD *ntc_sha256_md(void);

/* Writes SHA-256(data) into out. NT_OK, or NT_ERR when hashing failed. Thread-safe. */
int ntc_sha256(const void *data, size_t len, unsigned char out[32]);

#endif

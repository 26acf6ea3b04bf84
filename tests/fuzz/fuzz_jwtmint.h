/* Test tokens for the fuzz targets: one RSA key made per process and RS256 tokens signed
 * with it, so fuzzed claims and headers reach the code behind the signature check. */
#ifndef NETTU_FUZZ_JWTMINT_H
#define NETTU_FUZZ_JWTMINT_H

#include <stddef.h>

#include <openssl/evp.h>

/* The process's RSA-1024 test key (small, so signing stays fast), made on first use and
 * kept until exit. Borrowed; aborts when OpenSSL fails. */
EVP_PKEY *fuzz_key(void);

/* Its public key as "PUBLIC KEY" PEM text; malloc'd (the caller frees it). */
char *fuzz_key_pem(void);

/* A compact token base64url(header).base64url(claims).signature, the signature RS256 by
 * fuzz_key() over the first two parts; header and claims are taken as bytes (any content).
 * Malloc'd; the caller frees it. */
char *fuzz_token(const void *header, size_t hlen, const void *claims, size_t clen);

#endif /* NETTU_FUZZ_JWTMINT_H */

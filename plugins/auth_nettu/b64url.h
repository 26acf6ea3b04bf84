/* Strict base64url decoding (RFC 4648 section 5, no padding) for JWS segments; pure. */
#ifndef AUTH_B64URL_H
#define AUTH_B64URL_H

#include <stddef.h>

/* Decodes the `len` characters at `in`: only A-Z a-z 0-9 - _, no '=' padding, no white
 * space, a length that is not 1 modulo 4, and zero unused bits in the last character (the
 * one canonical encoding). On success *out is a malloc'd buffer (the caller frees it) of
 * *outlen bytes plus a NUL byte after them, and NT_OK is returned. NT_EINVAL for bad text,
 * NT_ENOMEM when out of memory; *out is NULL then. Thread-safe. */
int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif /* AUTH_B64URL_H */

/* Strict unpadded base64url decoding. */
#include "b64url.h"

#include <stdlib.h>

#include <nettu/plugin.h>

/* The 6-bit value of base64url character c, or -1. */
static int
b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int
b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *buf = NULL;
    size_t n = 0, rem = len % 4;
    uint32_t acc = 0;
    int bits = 0, rc = NT_EINVAL;

    *out = NULL;
    *outlen = 0;
    if (rem == 1)
        goto out;
    buf = malloc(len / 4 * 3 + 3);
    if (buf == NULL) {
        rc = NT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64url_val((unsigned char)in[i]);
        if (v < 0)
            goto out;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* leftover bits of the last character must be zero */
        goto out;
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;
    rc = NT_OK;
out:
    free(buf);
    return rc;
}

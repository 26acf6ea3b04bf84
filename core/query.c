/* Form-style query decoding. */
#include "query.h"

#include <string.h>

#include <nettu/plugin.h>

static int
query_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..n) into dst (NUL-terminated). NT_EINVAL when it decodes to a NUL. */
static int
query_unescape(const char *src, size_t n, char *dst)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n) {
            int hi = query_hex(src[i + 1]), lo = hi >= 0 ? query_hex(src[i + 2]) : -1;
            if (lo >= 0) {
                c = (char)(hi * 16 + lo);
                if (c == '\0')
                    return NT_EINVAL;
                i += 2;
            }
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return NT_OK;
}

int
query_decode(const char *raw, arena *a, query_pair **pairs, size_t *n)
{
    size_t len = raw != NULL ? strlen(raw) : 0, count = 1, k = 0;
    query_pair *out;
    char *text;

    *pairs = NULL;
    *n = 0;
    if (len == 0)
        return NT_OK;
    for (size_t i = 0; i < len; i++)
        count += raw[i] == '&';
    out = arena_alloc(a, count * sizeof(*out));
    text = arena_alloc(a, len + count + 1);
    if (out == NULL || text == NULL)
        return NT_ENOMEM;
    for (const char *p = raw; *p != '\0';) {
        size_t piece = strcspn(p, "&"), name;
        const char *eq = memchr(p, '=', piece);
        if (piece > 0) {
            if (eq == NULL || eq == p)
                return NT_EINVAL;
            name = (size_t)(eq - p);
            if (query_unescape(p, name, text) != NT_OK)
                return NT_EINVAL;
            out[k].name = text;
            text += strlen(text) + 1;
            if (query_unescape(eq + 1, piece - name - 1, text) != NT_OK)
                return NT_EINVAL;
            out[k].value = text;
            text += strlen(text) + 1;
            k++;
        }
        p += piece;
        if (*p == '&')
            p++;
    }
    *pairs = out;
    *n = k;
    return NT_OK;
}

const char *
query_find(const query_pair *pairs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pairs[i].name, name) == 0)
            return pairs[i].value;
    return NULL;
}

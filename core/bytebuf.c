/* Growable byte buffer. */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

int
bytebuf_reserve(bytebuf *b, size_t extra)
{
    size_t cap = b->cap != 0 ? b->cap : 256;
    char *p;

    if (b->cap - b->len >= extra)
        return NT_OK;
    if (extra > (size_t)-1 / 2 - b->len)
        return NT_ENOMEM;
    while (cap - b->len < extra)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return NT_ENOMEM;
    b->data = p;
    b->cap = cap;
    return NT_OK;
}

int
bytebuf_add(bytebuf *b, const void *p, size_t n)
{
    if (n == 0)
        return NT_OK;
    if (bytebuf_reserve(b, n) != NT_OK)
        return NT_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return NT_OK;
}

int
bytebuf_adds(bytebuf *b, const char *s)
{
    return bytebuf_add(b, s, strlen(s));
}

int
bytebuf_add_uint(bytebuf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return bytebuf_add(b, tmp + i, sizeof(tmp) - i);
}

void
bytebuf_consume(bytebuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void
bytebuf_free(bytebuf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void
bytebuf_shrink(bytebuf *b, size_t keep)
{
    if (b->len == 0 && b->cap > keep)
        bytebuf_free(b);
}

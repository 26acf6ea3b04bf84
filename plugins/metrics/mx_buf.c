/* metrics: a growable text buffer for the Prometheus exposition. Writes after a failed
 * allocation are dropped and remembered, so a renderer checks once at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"

/* Makes room for n more bytes and a NUL. Returns 0, or -1 (and sets failed). */
static int
mx_buf_reserve(mx_buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->failed)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    cap = b->cap != 0 ? b->cap : 4096;
    while (cap < b->len + n + 1) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    if ((p = realloc(b->data, cap)) == NULL)
        goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

/* Appends n bytes of s (copied). */
void
mx_buf_put(mx_buf *b, const char *s, size_t n)
{
    if (mx_buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Appends printf-style text. */
void
mx_buf_printf(mx_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (mx_buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends v as a label value: \ " and newline escaped as the text format requires. */
void
mx_buf_label(mx_buf *b, const char *v)
{
    const char *run = v;

    for (; *v != '\0'; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        if (esc == NULL)
            continue;
        mx_buf_put(b, run, (size_t)(v - run));
        mx_buf_put(b, esc, 2);
        run = v + 1;
    }
    mx_buf_put(b, run, (size_t)(v - run));
}

/* Frees the buffer's text and empties it; NULL is fine. */
void
mx_buf_free(mx_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

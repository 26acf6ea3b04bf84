/* A growable byte buffer: the connection's request bytes, the worker's reply staging area,
 * a serialised JSON body. One thread at a time; zero-initialise it.
 */
#ifndef NETTU_BYTEBUF_H
#define NETTU_BYTEBUF_H

#include <stddef.h>

typedef struct bytebuf {
    char *data; /* malloc'd, cap bytes; NULL while cap is 0 */
    size_t len, cap;
} bytebuf;

/* Makes room for at least `extra` more bytes after len (growing by doubling). NT_OK or
 * NT_ENOMEM (the buffer is unchanged then). */
int bytebuf_reserve(bytebuf *b, size_t extra);

/* Appends n bytes. NT_OK or NT_ENOMEM. */
int bytebuf_add(bytebuf *b, const void *p, size_t n);

/* Appends a NUL-terminated string (without the NUL). NT_OK or NT_ENOMEM. */
int bytebuf_adds(bytebuf *b, const char *s);

/* Appends the decimal text of v. NT_OK or NT_ENOMEM. */
int bytebuf_add_uint(bytebuf *b, unsigned long long v);

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void bytebuf_consume(bytebuf *b, size_t n);

/* Frees the memory; the buffer is empty and reusable afterwards. NULL is fine. */
void bytebuf_free(bytebuf *b);

/* Frees the memory when more than `keep` bytes are allocated and none are used (a burst
 * is over). */
void bytebuf_shrink(bytebuf *b, size_t keep);

#endif

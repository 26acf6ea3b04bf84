/* The HTTP/1.1 request parser: the request line and header fields (RFC 9110 / 9112, strict),
 * and the chunked transfer coding. Pure functions over a caller's buffer: no I/O and no
 * allocation. The head is parsed in place (names and values are NUL-terminated where they
 * lie), so the parsed head refers to its bytes by offsets from the start of the request and
 * stays valid when the caller moves the buffer.
 *
 * Refused (an error with a status and a message; the connection must close after the
 * answer): a request line that is not `token SP target SP HTTP/1.x`, a header name that is
 * not a token (`Transfer-Encoding : chunked`), obs-fold, control bytes, bare CR or LF, more
 * than HTTP_MAX_FIELDS fields or more than max_head bytes (431), a Content-Length that is not
 * plain digits or is given twice, a Transfer-Encoding other than exactly `chunked` (or given
 * twice, or with Content-Length, or in HTTP/1.0), a body on HEAD, TRACE or CONNECT, HTTP/1.1
 * without Host or with two, a method that is not one of the nine of RFC 9110 (501).
 */
#ifndef NETTU_HTTP_PARSE_H
#define NETTU_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_FIELDS 100

/* Results of the parse functions. Errors are negative; the head (or the chunked state) then
 * holds the HTTP status and a message. */
#define HTTP_PARSE_MORE 0 /* incomplete: call again with more bytes */
#define HTTP_PARSE_DONE 1 /* complete */
#define HTTP_PARSE_ERROR -1

/* An offset meaning "none" (no query) or, for the path, "/" (an absolute-form target
 * without a path). */
#define HTTP_NONE UINT32_MAX

typedef enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_PATCH,
    HTTP_OPTIONS,
    HTTP_TRACE,
    HTTP_CONNECT,
    HTTP_OTHER
} http_method;

typedef struct http_field {
    uint32_t name, value; /* offsets of the NUL-terminated name and value (trimmed) */
} http_field;

typedef struct http_head {
    http_method method;
    uint32_t method_text; /* offset of the method as sent */
    uint32_t path;        /* offset of the path (the target before '?'), HTTP_NONE = "/" */
    uint32_t query;       /* offset of the text after '?', HTTP_NONE without one */
    int minor;            /* HTTP/1.minor: 0 or 1 */
    int nfields;
    http_field fields[HTTP_MAX_FIELDS];
    size_t head_len;         /* bytes of the head, final empty line included */
    uint64_t content_length; /* with has_length (saturates at UINT64_MAX / 2) */
    int has_length, chunked;
    int keep_alive;      /* the connection may serve another request after this one */
    int expect_continue; /* Expect: 100-continue */
    int status;          /* on error: the HTTP status to answer */
    char error[200];     /* on error: what is wrong */
} http_head;

/* Parses the head of the request at buf[0..len). `scanned` (0 for a new request) remembers
 * how far the search for the end of the head got, so a head that arrives a byte at a time is
 * not searched again from the start. HTTP_PARSE_MORE, HTTP_PARSE_DONE (h filled, the head
 * bytes rewritten in place) or HTTP_PARSE_ERROR (h->status, h->error). Also an error: more
 * than max_head bytes without the end of the head, or bytes that cannot start a request. */
int http_parse_head(char *buf, size_t len, size_t max_head, size_t *scanned, http_head *h);

/* The text at offset `off` of a parsed head whose request starts at base. */
static inline const char *
http_at(const char *base, uint32_t off)
{
    return base + off;
}

/* The path of a parsed head ("/" for HTTP_NONE). */
const char *http_head_path(const http_head *h, const char *base);

/* The value of the first field named `name` (case-insensitive), or NULL. */
const char *http_head_field(const http_head *h, const char *base, const char *name);

/* How many fields are named `name` (case-insensitive). */
int http_head_count(const http_head *h, const char *base, const char *name);

/* The method's name ("GET" ...; "OTHER" for HTTP_OTHER). */
const char *http_method_name(http_method m);

/* 1 when c is an RFC 9110 tchar. */
int http_is_tchar(unsigned char c);

/* The decoder of a chunked body. Zero-initialise it for each body. */
typedef struct http_chunked {
    int state;
    int digits;        /* hex digits of the current size */
    uint64_t left;     /* the size being read, then the bytes left of the current chunk */
    uint64_t total;    /* body bytes decoded so far */
    size_t line;       /* bytes of the current chunk-size line */
    size_t trailer;    /* bytes of trailer fields so far */
    int status;        /* on error: the HTTP status (400 or 413) */
    const char *error; /* on error: what is wrong (static text) */
} http_chunked;

/* Decodes the chunked body in buf[*rd..len) in place: data bytes are moved down to
 * buf[*wr...] (*wr <= *rd always), framing is dropped, chunk extensions are ignored and
 * trailer fields are skipped (at most max_trailer bytes). A body that would exceed max_body
 * bytes is refused (413) as soon as a chunk size says so, before its data is read.
 * HTTP_PARSE_MORE (all bytes consumed), HTTP_PARSE_DONE (*rd is just past the body) or
 * HTTP_PARSE_ERROR (c->status, c->error). */
int http_chunked_decode(http_chunked *c, char *buf, size_t len, size_t *rd, size_t *wr,
                        uint64_t max_body, size_t max_trailer);

#endif

/* Writing replies into a connection's output buffer: the status line, the headers every
 * reply carries (Date, Content-Type, Content-Length, CORS, Cache-Control: no-store and
 * Connection when it matters), JSON bodies, the JSON error body {"error", "message"}, CORS
 * preflights, and the mapping from NT_E* codes to HTTP statuses. No I/O.
 */
#ifndef NETTU_REPLY_H
#define NETTU_REPLY_H

#include <stddef.h>

#include <jansson.h>

#include "bytebuf.h"

/* Where a reply's status, content type and body landed in the output buffer (for the
 * Idempotency-Key records): body bytes are out->data[off .. off + len). */
typedef struct reply_capture {
    int set; /* a reply was written */
    int status;
    char type[128];
    size_t off, len;
} reply_capture;

/* What a reply needs to know about its request and connection. */
typedef struct reply_ctx {
    bytebuf *out;           /* the reply is appended here */
    bytebuf *scratch;       /* reused to serialise JSON bodies (may be the same for many replies) */
    const char *origin;     /* the request's Origin, or NULL */
    const char *acrh;       /* its Access-Control-Request-Headers, or NULL */
    int head_only;          /* a HEAD request: the same headers, no body bytes */
    int close;              /* the connection closes after this reply: Connection: close */
    int keep_alive_10;      /* an HTTP/1.0 client asked for keep-alive: Connection: keep-alive */
    int retry_after;        /* seconds for a Retry-After header; 0 = none */
    int replayed;           /* a kept reply sent again: Idempotent-Replayed: true */
    reply_capture *capture; /* NULL, or where to record the reply written */
} reply_ctx;

/* The HTTP status of an NT_E* code (NT_EINVAL -> 400 ...; unknown negatives -> 500). */
int reply_status_of(int code);

/* The "error" kind of an error status ("bad_request", "not_found" ...). */
const char *reply_kind(int status);

/* Answers a CORS preflight (OPTIONS): 204 with the allowed methods and headers and a max age
 * so browsers cache it. NT_OK, or NT_ENOMEM with out unchanged (the caller must close). */
int reply_preflight(const reply_ctx *rc);

/* Sends `body` (borrowed; NULL sends {}) as JSON with status. NT_OK or NT_ENOMEM as above. */
int reply_json(const reply_ctx *rc, int status, const json_t *body);

/* Sends len bytes of body (copied) with a content type and status. NT_OK or NT_ENOMEM. */
int reply_text(const reply_ctx *rc, int status, const char *type, const char *body, size_t len);

/* Sends {"error": kind-of-status, "message": msg} with status. NT_OK or NT_ENOMEM. */
int reply_error(const reply_ctx *rc, int status, const char *msg);

#endif

/* HTTP/1.1 on one connection, without sockets: bytes in (the connection's unanswered input),
 * replies out. Frames requests with the parser (head, Content-Length or chunked body), refuses
 * what the parser refuses and bodies over max_body_bytes (413, before reading them) with JSON
 * errors, answers Expect: 100-continue, hands complete requests to the pipeline in order
 * (pipelining), and tells the connection layer what to keep, when to stop and when to close.
 */
#ifndef NETTU_HTTP_PROTO_H
#define NETTU_HTTP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "http_parse.h"
#include "pipeline.h"

/* Replies queued past this many bytes make proto_feed stop (flush first). */
#define PROTO_OUT_HIGH (256 * 1024)

typedef struct proto_limits {
    size_t max_head;   /* [server] max_header_bytes */
    uint64_t max_body; /* [server] max_body_bytes */
} proto_limits;

/* One connection's request in progress and what the pipeline needs to know about the
 * connection. Zero-initialise it, then set the connection members. */
typedef struct proto_conn {
    /* the connection (set by its owner) */
    const char *peer;
    const unsigned char *peer_addr;
    int fd;
    int throttle_exempt;
    int closing; /* shutting down: every reply closes the connection */
    /* the request in progress */
    int stage; /* 0 head, 1 body */
    size_t scanned;
    size_t rd, wr; /* chunked body: raw bytes read / decoded bytes, from the request start */
    int continue_sent;
    http_head head;
    http_chunked ck;
} proto_conn;

typedef struct proto_result {
    size_t consumed; /* leading bytes of the input that are done with (complete requests) */
    size_t pending;  /* the bytes after them to keep (possibly fewer than were there: a chunked
                        body is decoded in place) */
    size_t want;     /* bytes the pending request needs in all, when known (0 otherwise) */
    int close;       /* close the connection once out is written */
    int linger;      /* ... and expect unread bytes: drain before closing */
    int more;        /* stopped with complete requests pending: feed again after flushing */
} proto_result;

/* Serves every complete request at the start of buf[0..len) (buf starts at the first byte of
 * the oldest unanswered request) and appends the replies to out. */
void proto_feed(proto_conn *pc, pipeline *p, const proto_limits *lim, char *buf, size_t len,
                bytebuf *out, proto_result *res);

/* Answers the request in progress (whose bytes start at buf) with an error, e.g. 408 when
 * it took too long or 503 when the server holds too many request bytes; the connection
 * must close afterwards. The request is forgotten. */
void proto_refuse(proto_conn *pc, pipeline *p, char *buf, int status, const char *msg,
                  int retry_after, bytebuf *out);

/* 1 while some bytes of a request have arrived but not the whole request. */
static inline int
proto_in_request(const proto_result *res)
{
    return res->pending > 0 && !res->more;
}

#endif

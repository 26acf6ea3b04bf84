/* The host-side request object behind nt_req: everything a handler can ask about one HTTP
 * request, plus its principal, error message and scratch memory. Lives on the worker's stack
 * for the duration of one request.
 */
#ifndef NETTU_REQUEST_H
#define NETTU_REQUEST_H

#include <jansson.h>

#include <nettu/plugin.h>

#include "arena.h"
#include "memo.h"
#include "http_parse.h"
#include "query.h"
#include "router.h"

/* A complete HTTP request as the HTTP layer hands it to the pipeline (all borrowed). */
typedef struct http_request {
    const http_head *head;
    char *base;       /* the request's first byte: the head's offsets count from here */
    const char *body; /* the body (de-chunked) */
    size_t body_len;
    const char *peer;               /* the client's address as text, "" when unknown */
    const unsigned char *peer_addr; /* the same as 16 bytes (IPv4-mapped), or NULL */
    int fd;                         /* the client's socket (client-gone check), or -1 */
    int throttle_exempt;            /* the peer is in [server] auth_fail_exempt */
    int closing;                    /* the connection closes after this request */
} http_request;

struct nt_req {
    const http_request *http; /* NULL when a test builds the request by hand */
    const char *method;
    const route_entry *route;
    const char *values[ROUTER_MAX_PARAMS]; /* param values in route->params order; they point
                                              into the worker's path scratch */
    const char *query_raw;
    query_pair *query; /* decoded on first use, from scratch */
    size_t nquery;
    int query_parsed; /* 0 not yet, 1 parsed, -1 malformed */
    json_t *body;     /* owned */
    nt_db *db;
    char account[64], user[64];
    int has_account, has_user;
    json_t *policy; /* owned */
    char msg[512];
    int has_msg;
    arena scratch; /* req_alloc */
    char *text;    /* a non-JSON reply body set by req_reply_text, malloc'd */
    size_t text_len;
    int has_text;
    char text_type[128];
    int64_t cpu0_us;      /* the worker thread's CPU time when the request began */
    int64_t next_peek_us; /* req_check looks at the socket again after this CPU time */
    int64_t wall0_us;     /* CLOCK_MONOTONIC when the request began */
    int64_t look_us;      /* req_check reads the CPU clock again once this much wall time has
                           * passed since wall0_us (before it, no limit can have been reached) */
    int gone;             /* req_check saw the client close its connection */
    int attempts;         /* runs of the handler when it gave up retrying (NT_ERETRY) */
    group_memo *memo;     /* the memo of the group commit the request runs in, else NULL */
};

/* Prepares r for one request (http may be NULL) with the worker's db. */
void request_init(nt_req *r, const http_request *http, nt_db *db);

/* Drops what a handler attempt left behind (message, text reply, scratch memory and what
 * lives in it, the parsed body) so the handler can run again; keeps the route, the path
 * values and the principal. */
void request_reset_attempt(nt_req *r);

/* Frees everything r owns. */
void request_fini(nt_req *r);

#endif

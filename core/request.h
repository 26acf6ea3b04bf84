/* The host-side request object behind nt_req: everything a handler can ask about one HTTP
 * request, plus its principal, error message and scratch memory. Lives on the worker's stack
 * for the duration of one request.
 */
#ifndef NETTU_REQUEST_H
#define NETTU_REQUEST_H

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include <nettu/plugin.h>

#include "arena.h"
#include "router.h"

struct nt_req {
    struct evhttp_request *ev;
    const char *method;
    const route_entry *route;
    const char *values[ROUTER_MAX_PARAMS]; /* param values in route->params order; they point
                                              into the request's scratch memory */
    const char *query_raw;
    struct evkeyvalq query;
    int query_parsed; /* 0 not yet, 1 parsed, -1 malformed */
    json_t *body;     /* owned */
    nt_db *db;
    char account[64], user[64];
    int has_account, has_user;
    json_t *policy; /* owned */
    char msg[512];
    int has_msg;
    arena scratch;         /* req_alloc */
    struct evbuffer *text; /* a non-JSON reply body set by req_reply_text, owned */
    char text_type[128];
    int64_t cpu0_us;      /* the worker thread's CPU time when the request began */
    int64_t next_peek_us; /* req_check looks at the socket again after this CPU time */
    int gone;             /* req_check saw the client close its connection */
};

/* Prepares r for one request on ev with the worker's db. */
void request_init(nt_req *r, struct evhttp_request *ev, nt_db *db);

/* Frees everything r owns. */
void request_fini(nt_req *r);

#endif

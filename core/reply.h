/* Writing replies: JSON bodies, the JSON error body of API.md A8.2, CORS headers, and the
 * mapping from NT_E* codes to HTTP statuses.
 */
#ifndef NETTU_REPLY_H
#define NETTU_REPLY_H

#include <jansson.h>

struct evhttp_request;

/* The HTTP status of an NT_E* code (NT_EINVAL -> 400 ...; unknown negatives -> 500). */
int reply_status_of(int code);

/* Adds the CORS headers every response carries (API.md A1): the request's Origin echoed (or
 * "*" without one), credentials allowed. */
void reply_cors(struct evhttp_request *ev);

/* Answers a CORS preflight (OPTIONS): 204 with the allowed methods and headers and a max age
 * so browsers cache it. */
void reply_preflight(struct evhttp_request *ev);

/* Sends `body` (borrowed; NULL sends {}) with status. */
void reply_json(struct evhttp_request *ev, int status, const json_t *body);

/* Sends `body` (its content is moved out) with a content type and status. */
struct evbuffer;
void reply_text(struct evhttp_request *ev, int status, const char *type, struct evbuffer *body);

/* Sends {"error": kind-of-status, "message": msg} with status. */
void reply_error(struct evhttp_request *ev, int status, const char *msg);

#endif

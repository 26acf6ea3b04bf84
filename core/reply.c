/* Reply writing. JSON is serialised straight into the evhttp output buffer. */
#include "reply.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include <nettu/plugin.h>

int
reply_status_of(int code)
{
    switch (code) {
    case NT_EINVAL:
        return 400;
    case NT_EUNAUTH:
        return 401;
    case NT_ENOTFOUND:
        return 404;
    case NT_ECONFLICT:
        return 409;
    case NT_ETOOBIG:
        return 413;
    case NT_EBUDGET:
        return 422;
    case NT_EUNAVAIL:
    case NT_ERETRY:
        return 503;
    default:
        return 500;
    }
}

static const char *
reply_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300 ? "OK" : "Internal Server Error";
    }
}

static const char *
reply_kind(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 404:
        return "not_found";
    case 409:
        return "conflict";
    case 413:
        return "payload_too_large";
    case 422:
        return "unprocessable";
    case 429:
        return "too_many_requests";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

void
reply_cors(struct evhttp_request *ev)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(ev);
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(ev), "Origin");

    if (origin != NULL && origin[0] != '\0' && strpbrk(origin, "\r\n") == NULL) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(out, "Access-Control-Allow-Credentials", "true");
        evhttp_add_header(out, "Vary", "Origin");
    } else {
        evhttp_add_header(out, "Access-Control-Allow-Origin", "*");
    }
}

void
reply_preflight(struct evhttp_request *ev)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(ev);
    struct evkeyvalq *out = evhttp_request_get_output_headers(ev);
    const char *hdrs = evhttp_find_header(in, "Access-Control-Request-Headers");

    reply_cors(ev);
    evhttp_add_header(out, "Access-Control-Allow-Methods",
                      "GET, POST, PUT, DELETE, PATCH, OPTIONS");
    if (hdrs != NULL && strpbrk(hdrs, "\r\n") == NULL)
        evhttp_add_header(out, "Access-Control-Allow-Headers", hdrs);
    else
        evhttp_add_header(out, "Access-Control-Allow-Headers",
                          "authorization, content-type, nettu-account, x-api-key");
    evhttp_add_header(out, "Access-Control-Max-Age", "86400");
    evhttp_send_reply(ev, 204, "No Content", NULL);
}

/* jansson dump callback appending to an evbuffer. */
static int
reply_dump_cb(const char *buf, size_t size, void *data)
{
    return evbuffer_add(data, buf, size);
}

/* Serialises body into buf: small documents through one stack buffer and one evbuffer_add
 * (jansson's callback form adds every fragment separately), large ones by the callback. */
static int
reply_dump(const json_t *body, struct evbuffer *buf)
{
    char small[4096];
    size_t n = json_dumpb(body, small, sizeof(small), JSON_COMPACT);

    if (n == 0)
        return -1;
    if (n <= sizeof(small))
        return evbuffer_add(buf, small, n);
    return json_dump_callback(body, reply_dump_cb, buf, JSON_COMPACT);
}

void
reply_json(struct evhttp_request *ev, int status, const json_t *body)
{
    struct evbuffer *buf = evhttp_request_get_output_buffer(ev);

    reply_cors(ev);
    evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Type", "application/json");
    if (body == NULL || reply_dump(body, buf) != 0) {
        evbuffer_drain(buf, evbuffer_get_length(buf));
        evbuffer_add(buf, "{}", 2);
    }
    if (evhttp_request_get_command(ev) == EVHTTP_REQ_CONNECT) {
        /* libevent frames replies to CONNECT as tunnels: no length of its own. */
        char len[32];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(buf));
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Length", len);
    }
    evhttp_send_reply(ev, status, reply_reason(status), NULL);
}

void
reply_text(struct evhttp_request *ev, int status, const char *type, struct evbuffer *body)
{
    reply_cors(ev);
    evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Type", type);
    evbuffer_add_buffer(evhttp_request_get_output_buffer(ev), body);
    evhttp_send_reply(ev, status, reply_reason(status), NULL);
}

void
reply_error(struct evhttp_request *ev, int status, const char *msg)
{
    json_t *body = json_object();

    if (body != NULL) {
        json_object_set_new(body, "error", json_string(reply_kind(status)));
        /* json_string refuses invalid UTF-8; fall back to a generic message then. */
        if (json_object_set_new(body, "message", json_string(msg)) != 0)
            json_object_set_new(body, "message", json_string("request failed"));
    }
    reply_json(ev, status, body);
    json_decref(body);
}

/* Reply writing: one status line and header block per reply, assembled into the output
 * buffer, then the body. */
#include "reply.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nettu/plugin.h>

#include "json_out.h"

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
    case 100:
        return "Continue";
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
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

const char *
reply_kind(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 404:
        return "not_found";
    case 408:
        return "request_timeout";
    case 409:
        return "conflict";
    case 413:
        return "payload_too_large";
    case 422:
        return "unprocessable";
    case 429:
        return "too_many_requests";
    case 431:
        return "headers_too_large";
    case 501:
        return "not_implemented";
    case 503:
        return "unavailable";
    default:
        return status < 500 ? "bad_request" : "internal";
    }
}

/* "Date: <IMF-fixdate>\r\n", formatted once a second per thread. */
static const char *
reply_date(void)
{
    static __thread time_t last = -1;
    static __thread char line[64];
    time_t now = time(NULL);
    struct tm tm;

    if (now != last) {
        gmtime_r(&now, &tm);
        strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        last = now;
    }
    return line;
}

/* Appends the status line and the headers. `type` NULL: no content headers (204). */
static int
reply_head(const reply_ctx *rc, int status, const char *type, size_t len)
{
    bytebuf *o = rc->out;
    int err = 0;

    err |= bytebuf_adds(o, "HTTP/1.1 ");
    err |= bytebuf_add_uint(o, (unsigned)status);
    err |= bytebuf_adds(o, " ");
    err |= bytebuf_adds(o, reply_reason(status));
    err |= bytebuf_adds(o, "\r\n");
    err |= bytebuf_adds(o, reply_date());
    if (type != NULL) {
        err |= bytebuf_adds(o, "Content-Type: ");
        err |= bytebuf_adds(o, type);
        err |= bytebuf_adds(o, "\r\nContent-Length: ");
        err |= bytebuf_add_uint(o, len);
        err |= bytebuf_adds(o, "\r\n");
    }
    /* CORS: the request's Origin echoed (or "*" without one), credentials
     * allowed. Header values never hold CR or LF (the parser refuses control bytes). */
    if (rc->origin != NULL && rc->origin[0] != '\0') {
        err |= bytebuf_adds(o, "Access-Control-Allow-Origin: ");
        err |= bytebuf_adds(o, rc->origin);
        err |= bytebuf_adds(o, "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
    } else {
        err |= bytebuf_adds(o, "Access-Control-Allow-Origin: *\r\n");
    }
    err |= bytebuf_adds(o, "Cache-Control: no-store\r\n");
    if (rc->retry_after > 0) {
        err |= bytebuf_adds(o, "Retry-After: ");
        err |= bytebuf_add_uint(o, (unsigned)rc->retry_after);
        err |= bytebuf_adds(o, "\r\n");
    }
    if (rc->replayed)
        err |= bytebuf_adds(o, "Idempotent-Replayed: true\r\n"
                               "Access-Control-Expose-Headers: Idempotent-Replayed\r\n");
    if (rc->close)
        err |= bytebuf_adds(o, "Connection: close\r\n");
    else if (rc->keep_alive_10)
        err |= bytebuf_adds(o, "Connection: keep-alive\r\n");
    return err;
}

/* The whole reply; on failure out is put back as it was. */
static int
reply_send(const reply_ctx *rc, int status, const char *type, const char *body, size_t len)
{
    size_t mark = rc->out->len;
    int bodyless = status == 204 || status == 304 || status < 200;
    int err;

    err = reply_head(rc, status, bodyless ? NULL : type, len);
    err |= bytebuf_adds(rc->out, "\r\n");
    if (!bodyless && !rc->head_only)
        err |= bytebuf_add(rc->out, body, len);
    if (err != 0) {
        rc->out->len = mark;
        return NT_ENOMEM;
    }
    if (rc->capture != NULL) {
        rc->capture->set = 1;
        rc->capture->status = status;
        snprintf(rc->capture->type, sizeof(rc->capture->type), "%s", type);
        rc->capture->len = bodyless || rc->head_only ? 0 : len;
        rc->capture->off = rc->out->len - rc->capture->len;
    }
    return NT_OK;
}

int
reply_preflight(const reply_ctx *rc)
{
    size_t mark = rc->out->len;
    int err;

    err = reply_head(rc, 204, NULL, 0);
    err |= bytebuf_adds(rc->out,
                        "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, PATCH, OPTIONS\r\n"
                        "Access-Control-Allow-Headers: ");
    err |= bytebuf_adds(rc->out, rc->acrh != NULL
                                     ? rc->acrh
                                     : "authorization, content-type, nettu-account, x-api-key");
    err |= bytebuf_adds(rc->out, "\r\nAccess-Control-Max-Age: 86400\r\n\r\n");
    if (err != 0) {
        rc->out->len = mark;
        return NT_ENOMEM;
    }
    return NT_OK;
}

int
reply_json(const reply_ctx *rc, int status, const json_t *body)
{
    bytebuf *s = rc->scratch;
    size_t n = 0;

    s->len = 0;
    if (body != NULL && json_out_compact(body, s) == NT_OK)
        return reply_send(rc, status, "application/json", s->data, s->len);
    /* Reals and very deep documents: jansson's dumper. Small documents in one pass; larger
     * ones are measured by the first pass. */
    s->len = 0;
    if (body != NULL && bytebuf_reserve(s, 4096) == NT_OK) {
        n = json_dumpb(body, s->data, s->cap, JSON_COMPACT);
        if (n > s->cap)
            n = bytebuf_reserve(s, n) == NT_OK ? json_dumpb(body, s->data, s->cap, JSON_COMPACT)
                                               : 0;
    }
    if (n == 0 || n > s->cap)
        return reply_send(rc, status, "application/json", "{}", 2);
    return reply_send(rc, status, "application/json", s->data, n);
}

int
reply_text(const reply_ctx *rc, int status, const char *type, const char *body, size_t len)
{
    return reply_send(rc, status, type, body, len);
}

int
reply_error(const reply_ctx *rc, int status, const char *msg)
{
    json_t *body = json_object();
    int rc2;

    if (body != NULL) {
        json_object_set_new(body, "error", json_string(reply_kind(status)));
        /* json_string refuses invalid UTF-8; fall back to a generic message then. */
        if (json_object_set_new(body, "message", json_string(msg)) != 0)
            json_object_set_new(body, "message", json_string("request failed"));
    }
    rc2 = reply_json(rc, status, body);
    json_decref(body);
    return rc2;
}

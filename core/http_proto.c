/* Request framing on one connection (see http_proto.h). */
#include "http_proto.h"

#include <stdio.h>
#include <string.h>

/* Forgets the request in progress. */
static void
proto_reset(proto_conn *pc)
{
    pc->stage = 0;
    pc->scanned = 0;
    pc->rd = pc->wr = 0;
    pc->continue_sent = 0;
}

/* The request view of the bytes at buf; with_head when its head was parsed. */
static void
proto_request(const proto_conn *pc, char *buf, int with_head, http_request *hr)
{
    memset(hr, 0, sizeof(*hr));
    hr->head = with_head ? &pc->head : NULL;
    hr->base = buf;
    hr->peer = pc->peer != NULL ? pc->peer : "";
    hr->peer_addr = pc->peer_addr;
    hr->fd = pc->fd;
    hr->throttle_exempt = pc->throttle_exempt;
    hr->closing = pc->closing;
}

void
proto_refuse(proto_conn *pc, pipeline *p, char *buf, int status, const char *msg, int retry_after,
             bytebuf *out)
{
    http_request hr;

    proto_request(pc, buf, pc->stage == 1, &hr);
    pipeline_refuse(p, &hr, status, msg, retry_after, out);
    proto_reset(pc);
}

/* Interim "100 Continue" when the client waits for it before sending its body. */
static void
proto_continue(proto_conn *pc, bytebuf *out)
{
    if (pc->head.expect_continue && pc->head.minor == 1 && !pc->continue_sent) {
        pc->continue_sent = 1;
        bytebuf_adds(out, "HTTP/1.1 100 Continue\r\n\r\n");
    }
}

void
proto_feed(proto_conn *pc, pipeline *p, const proto_limits *lim, char *buf, size_t len,
           bytebuf *out, proto_result *res)
{
    size_t pos = 0;

    memset(res, 0, sizeof(*res));
    while (pos < len) {
        char *rq = buf + pos;
        size_t avail = len - pos, used;
        const char *body = NULL;
        size_t body_len = 0;
        http_request hr;
        int rc, close = 0;

        if (pc->stage == 0) {
            rc = http_parse_head(rq, avail, lim->max_head, &pc->scanned, &pc->head);
            if (rc == HTTP_PARSE_MORE)
                break;
            if (rc != HTTP_PARSE_DONE) {
                proto_refuse(pc, p, rq, pc->head.status, pc->head.error, 0, out);
                goto refused;
            }
            if (pc->head.has_length && pc->head.content_length > lim->max_body) {
                char msg[160];
                snprintf(msg, sizeof(msg), "request body is %llu bytes; the limit is %llu",
                         (unsigned long long)pc->head.content_length,
                         (unsigned long long)lim->max_body);
                pc->stage = 1;
                proto_refuse(pc, p, rq, 413, msg, 0, out);
                goto refused;
            }
            pc->stage = 1;
            pc->rd = pc->wr = pc->head.head_len;
            memset(&pc->ck, 0, sizeof(pc->ck));
        }
        if (pc->head.chunked) {
            rc = http_chunked_decode(&pc->ck, rq, avail, &pc->rd, &pc->wr, lim->max_body,
                                     lim->max_head);
            if (rc == HTTP_PARSE_ERROR) {
                char msg[160];
                if (pc->ck.status == 413)
                    snprintf(msg, sizeof(msg), "the chunked request body is larger than %llu bytes",
                             (unsigned long long)lim->max_body);
                else
                    snprintf(msg, sizeof(msg), "%s", pc->ck.error);
                proto_refuse(pc, p, rq, pc->ck.status, msg, 0, out);
                goto refused;
            }
            if (rc == HTTP_PARSE_MORE) {
                /* Every byte was consumed: what is left is the head and the data so far. */
                res->pending = pc->wr;
                pc->rd = pc->wr;
                proto_continue(pc, out);
                break;
            }
            body = rq + pc->head.head_len;
            body_len = pc->wr - pc->head.head_len;
            used = pc->rd;
        } else if (pc->head.has_length) {
            size_t need = pc->head.head_len + (size_t)pc->head.content_length;
            if (avail < need) {
                res->want = need;
                proto_continue(pc, out);
                break;
            }
            body = rq + pc->head.head_len;
            body_len = (size_t)pc->head.content_length;
            used = need;
        } else {
            used = pc->head.head_len;
        }
        proto_request(pc, rq, 1, &hr);
        hr.body = body;
        hr.body_len = body_len;
        pipeline_serve(p, &hr, out, &close);
        proto_reset(pc);
        pos += used;
        if (close) {
            res->close = 1;
            res->linger = pos < len;
            res->consumed = len;
            return;
        }
        if (out->len >= PROTO_OUT_HIGH && pos < len) {
            res->more = 1;
            break;
        }
    }
    res->consumed = pos;
    if (res->pending == 0)
        res->pending = len - pos;
    return;
refused:
    res->close = res->linger = 1;
    res->consumed = len;
    res->pending = 0;
}

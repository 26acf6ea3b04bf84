/* The request pipeline (see pipeline.h). */
#include "pipeline.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostapi.h"
#include "idem.h"
#include "log.h"
#include "reply.h"
#include "util.h"

struct pipeline {
    const server_deps *deps;
    nt_db *db;
    throttle *throttle;
    long long max_body;
    int64_t idem_ttl_ms;   /* how long a kept reply is replayed */
    size_t idem_max_reply; /* larger replies are recorded as not kept */
    bytebuf json;          /* reply serialisation scratch */
    group_memo *(*group_hook)(void *arg, int groupable); /* see pipeline_set_group_hook */
    void *group_arg;
    char scratch[8192]; /* the current request's decoded path segments */
};

pipeline *
pipeline_new(const server_deps *deps, nt_db *db, throttle *t, long long max_body_bytes)
{
    pipeline *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->deps = deps;
    p->db = db;
    p->throttle = t;
    p->max_body = max_body_bytes;
    p->idem_ttl_ms = (int64_t)IDEM_TTL_DEFAULT_S * 1000;
    p->idem_max_reply = IDEM_MAX_REPLY_DEFAULT;
    return p;
}

void
pipeline_set_idempotency(pipeline *p, int64_t ttl_ms, size_t max_reply)
{
    p->idem_ttl_ms = ttl_ms;
    p->idem_max_reply = max_reply;
}

void
pipeline_set_group_hook(pipeline *p, group_memo *(*hook)(void *arg, int groupable), void *arg)
{
    p->group_hook = hook;
    p->group_arg = arg;
}

void
pipeline_free(pipeline *p)
{
    if (p == NULL)
        return;
    bytebuf_free(&p->json);
    free(p);
}

void
pipeline_trim(pipeline *p)
{
    bytebuf_shrink(&p->json, 64 * 1024);
}

/* 1 when the store backend offers read transactions (ABI 1.1 members). */
static int
store_has_read_txn(const nt_store_v1 *st)
{
    return st != NULL && NT_HAS_MEMBER(st, nt_store_v1, end_read) && st->begin_read != NULL &&
           st->end_read != NULL;
}

/* A path parameter named like "calendarId" must be a UUID (else 404). */
static int
param_is_id(const char *name)
{
    size_t n = strlen(name);

    return n >= 2 && strcmp(name + n - 2, "Id") == 0;
}

/* Sets r's message (as fail() does) and returns code. */
static int pipeline_msg(nt_req *r, int code, const char *fmt, ...) NT_PRINTF(3, 4);
static int
pipeline_msg(nt_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->has_msg = 1;
    return code;
}

/* 1 when the request carries the header `name`. */
static int
pipeline_has(const nt_req *r, const char *name)
{
    return r->http != NULL && http_head_field(r->http->head, r->http->base, name) != NULL;
}

/* Copies msg into out with the header forms that log scanners treat as credentials
 * ("Authorization", "Bearer ", "x-api-key:") spelled out in words: the log says why, it never
 * looks like a header line. */
static void
pipeline_plain(const char *msg, char *out, size_t n)
{
    static const char *const from[] = {"authorization", "bearer ", "x-api-key:"};
    static const char *const to[] = {"auth header", "token type ", "API key:"};
    size_t o = 0;

    while (*msg != '\0' && o + 16 < n) {
        size_t k;
        for (k = 0; k < 3; k++)
            if (strncasecmp(msg, from[k], strlen(from[k])) == 0)
                break;
        if (k < 3) {
            o += (size_t)snprintf(out + o, n - o, "%s", to[k]);
            msg += strlen(from[k]);
        } else {
            out[o++] = *msg++;
        }
    }
    out[o] = '\0';
}

/* At debug: why a request got 401 and which credentials it carried (by kind, never a value). */
static void
pipeline_log_401(const nt_req *r, const char *msg)
{
    char plain[700];

    pipeline_plain(msg, plain, sizeof(plain));
    log_msg(NT_LOG_DEBUG, r->route != NULL ? r->route->path : NULL,
            "%s answered 401 to %s (credentials sent:%s%s%s): %s", r->method,
            r->http != NULL && r->http->peer != NULL ? r->http->peer : "?",
            pipeline_has(r, "x-api-key") ? " api key" : "",
            pipeline_has(r, "nettu-account") ? " account id" : "",
            pipeline_has(r, "authorization") ? " token" : "", plain);
}

/* Answers the request's failure `code` with the handler's message, or else the storage
 * error, or else a generic message. Returns the status sent. */
static int
pipeline_fail(pipeline *p, nt_req *r, int code, reply_ctx *rc)
{
    const nt_store_v1 *st = p->deps->store;
    int status = reply_status_of(code);
    char msg[600];

    if (r->has_msg) {
        snprintf(msg, sizeof(msg), "%s", r->msg);
    } else if (p->db != NULL && st != NULL && st->errcode(p->db) != NT_OK) {
        snprintf(msg, sizeof(msg), "storage: %s", st->errmsg(p->db));
        status = reply_status_of(st->errcode(p->db));
    } else if (status == 401) {
        snprintf(msg, sizeof(msg), "unauthorized");
    } else {
        snprintf(msg, sizeof(msg), "internal error");
    }
    if (status >= 500)
        log_msg(NT_LOG_ERROR, r->route != NULL ? r->route->path : NULL, "%s failed (%d): %s",
                r->method, code, msg);
    if (status == 401) /* why, for the operator; never the credentials */
        pipeline_log_401(r, msg);
    if (reply_error(rc, status, msg) != NT_OK)
        rc->close = 1;
    return status;
}

/* Parses the JSON body of a POST/PUT/PATCH/DELETE into r->body. Returns NT_OK or a code
 * with r->msg set. An empty body is {}. */
static int
pipeline_body(pipeline *p, nt_req *r)
{
    size_t len = r->http != NULL ? r->http->body_len : 0;
    json_error_t jerr;

    if ((long long)len > p->max_body)
        return pipeline_msg(r, NT_ETOOBIG, "request body is %zu bytes; the limit is %lld", len,
                            p->max_body);
    if (len == 0)
        return NT_OK; /* req_body() gives {} */
    r->body = json_loadb(r->http->body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (r->body == NULL)
        return pipeline_msg(r, NT_EINVAL, "invalid JSON body: %s (line %d, column %d)", jerr.text,
                            jerr.line, jerr.column);
    if (!json_is_object(r->body))
        return pipeline_msg(r, NT_EINVAL, "the request body must be a JSON object");
    return NT_OK;
}

/* Credentials must be unambiguous: a proxy in front might have checked the other copy. */
static int
pipeline_single_credentials(nt_req *r)
{
    static const char *const creds[] = {"x-api-key", "nettu-account", "authorization"};

    if (r->http == NULL)
        return NT_OK;
    for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
        if (http_head_count(r->http->head, r->http->base, creds[i]) > 1)
            return pipeline_msg(r, NT_EUNAUTH, "%s: the header is given more than once", creds[i]);
    return NT_OK;
}

/* Authentication and policy for the matched route. */
static int
pipeline_auth(pipeline *p, nt_req *r)
{
    const server_deps *d = p->deps;
    const route_entry *rt = r->route;
    int rc;

    if (rt->auth == NT_AUTH_PUBLIC)
        return NT_OK;
    if ((rc = pipeline_single_credentials(r)) != NT_OK)
        return rc;
    if (d->auth == NULL)
        return pipeline_msg(r, NT_ERR, "no authenticator is configured");
    rc = d->auth->authenticate(d->auth_state, r, rt->auth);
    if (rc != NT_OK)
        return rc;
    if (!r->has_account)
        return pipeline_msg(r, NT_EUNAUTH, "unauthorized");
    if (!r->has_user)
        return NT_OK; /* admins are never subject to a policy */
    if (d->policy == NULL)
        return pipeline_msg(r, NT_ERR, "no policy service is configured");
    rc = d->policy->check(d->policy_state, r->policy, (const char *const *)rt->perms);
    if (rc != NT_OK)
        return pipeline_msg(r, NT_EUNAUTH, "the token's policy does not allow %s",
                            rt->perms != NULL && rt->perms[0] != NULL ? rt->perms[0]
                                                                      : "this action");
    return NT_OK;
}

/* 1 when a handler's result asks for another attempt: NT_ERETRY, or a failure while the
 * storage connection's error is NT_ERETRY. */
static int
pipeline_retryable(pipeline *p, int status)
{
    if (status == NT_ERETRY)
        return 1;
    return status < 0 && p->db != NULL && p->deps->store != NULL &&
           p->deps->store->errcode(p->db) == NT_ERETRY;
}

/* Runs the handler, up to PIPELINE_ATTEMPTS times while it fails retryably: each retry
 * rolls back, forgets the attempt's message, reply text, scratch memory and body (parsed
 * again, in case the handler changed it) and reopens the read transaction of a read.
 * Returns the handler's status, or NT_ERETRY when every attempt failed retryably. */
static int
pipeline_handle(pipeline *p, nt_req *r, int has_body, int read_txn, json_t **out)
{
    const nt_store_v1 *st = p->deps->store;
    int64_t t0 = util_mono_us();
    int status, last;

    for (int attempt = 1;; attempt++) {
        *out = NULL;
        status = r->route->handler(r, r->route->state, out);
        /* A request of a group that failed, or runs again, may have changed what the group's
         * memo keeps (a plugin updates it with its writes), and its writes are undone: the
         * memo starts again (ABI 1.6, memo_put). */
        if (r->memo != NULL && (status < 200 || status > 299))
            memo_clear(r->memo);
        if (!pipeline_retryable(p, status))
            return status;
        json_decref(*out);
        *out = NULL;
        /* Conflicts that fail fast (a serialization failure) are worth running again; one
         * that already waited out a lock timeout is not run again past the window. */
        last = attempt == PIPELINE_ATTEMPTS ||
               util_mono_us() - t0 > (int64_t)PIPELINE_RETRY_WINDOW_MS * 1000;
        if (last && !r->has_msg && p->db != NULL && st->errcode(p->db) != NT_OK) {
            /* Keep the store's reason for the reply before the rollback clears it. */
            snprintf(r->msg, sizeof(r->msg), "storage: %s", st->errmsg(p->db));
            r->has_msg = 1;
        }
        if (p->db != NULL)
            st->rollback(p->db);
        if (last) {
            r->attempts = attempt;
            return NT_ERETRY;
        }
        request_reset_attempt(r);
        if (p->db != NULL)
            st->clear_error(p->db);
        if (has_body && (status = pipeline_body(p, r)) != NT_OK)
            return status;
        if (read_txn && (status = st->begin_read(p->db)) != NT_OK)
            return status;
    }
}

/* The seconds an address must wait before it may try to authenticate again, or 0. Public
 * GET routes (health, metrics) are never throttled. */
static int
pipeline_throttled(pipeline *p, const nt_req *r, int is_get)
{
    const http_request *h = r->http;

    if (p->throttle == NULL || h == NULL || h->throttle_exempt || h->peer_addr == NULL)
        return 0;
    if (r->route->auth == NT_AUTH_PUBLIC && is_get)
        return 0;
    return throttle_blocked(p->throttle, h->peer_addr, util_now_ms());
}

/* 503 with Retry-After after r->attempts runs that all conflicted (NT_ERETRY). */
static int
pipeline_gave_up(nt_req *r, reply_ctx *rc)
{
    char msg[600];

    snprintf(msg, sizeof(msg), "%s (%d attempt%s); retry",
             r->has_msg ? r->msg : "storage: the request conflicted with concurrent changes",
             r->attempts, r->attempts == 1 ? "" : "s");
    log_msg(NT_LOG_WARN, r->route->path, "%s gave up after %d attempts", r->method, r->attempts);
    rc->retry_after = 1;
    if (reply_error(rc, 503, msg) != NT_OK)
        rc->close = 1;
    return 503;
}

/* Runs the authenticated request's handler and writes its reply; returns the status sent. */
static int
pipeline_invoke(pipeline *p, nt_req *r, int has_body, int read_txn, reply_ctx *rc)
{
    const nt_store_v1 *st = p->deps->store;
    json_t *out = NULL;
    int code, status;

    status = pipeline_handle(p, r, has_body, read_txn, &out);
    if (status == NT_EGONE || r->gone) {
        json_decref(out);
        if (p->db != NULL)
            st->rollback(p->db);
        rc->close = 1; /* nothing is sent: the client has closed */
        return 499;
    }
    if (status == NT_ERETRY)
        return pipeline_gave_up(r, rc);
    if (status < 200 || status > 299) {
        json_decref(out);
        if (p->db != NULL)
            st->rollback(p->db); /* never leave a transaction open */
        return pipeline_fail(p, r, status < 0 ? status : NT_ERR, rc);
    }
    if (r->has_text)
        code = reply_text(rc, status, r->text_type, r->text, r->text_len);
    else
        code = reply_json(rc, status, out);
    if (code != NT_OK)
        rc->close = 1;
    json_decref(out);
    return status;
}

/* The Idempotency-Key of a POST to a route with credentials (public routes ignore it):
 * *key is NULL without one. NT_OK, or NT_EINVAL with the message set for a key given twice
 * or outside 1..255 printable ASCII characters. */
static int
pipeline_idem_key(nt_req *r, const char **key)
{
    const http_request *h = r->http;
    int n;

    *key = NULL;
    if (h == NULL || r->route->auth == NT_AUTH_PUBLIC || r->route->auth == NT_AUTH_PUBLIC_ACCOUNT)
        return NT_OK;
    n = http_head_count(h->head, h->base, "Idempotency-Key");
    if (n == 0)
        return NT_OK;
    if (n > 1)
        return pipeline_msg(r, NT_EINVAL, "Idempotency-Key: the header is given more than once");
    *key = http_head_field(h->head, h->base, "Idempotency-Key");
    if (idem_key_check(*key, r->msg, sizeof(r->msg)) != NT_OK) {
        r->has_msg = 1;
        return NT_EINVAL;
    }
    return NT_OK;
}

/* Records the outcome of the claim c: keeps the reply cap located in out, or (cap NULL)
 * releases the key. Tries up to PIPELINE_ATTEMPTS times while the store answers NT_ERETRY;
 * returns the last code. */
static int
pipeline_idem_write(pipeline *p, const idem_claim *c, int status, const reply_capture *cap,
                    const bytebuf *out)
{
    const nt_store_v1 *st = p->deps->store;
    int code = NT_ERETRY;

    for (int attempt = 0; attempt < PIPELINE_ATTEMPTS && code == NT_ERETRY; attempt++) {
        st->clear_error(p->db);
        if (cap != NULL)
            code = idem_keep(st, p->db, c, status, cap->type, out->data + cap->off, cap->len,
                             util_now_ms(), p->idem_ttl_ms, p->idem_max_reply);
        else
            code = idem_release(st, p->db, c);
    }
    return code;
}

/* A keyed request: claims the key in the store, then replays the kept reply, refuses
 * (422 another request used the key, 409 it is still running), or runs the handler and keeps
 * its reply; a 5xx, or a client that left, releases the key so a retry runs again. The claim
 * is taken once, before the handler's attempts (pipeline_handle's NT_ERETRY re-runs happen
 * inside it), and its outcome is written once after them. Returns the status sent. */
static int
pipeline_keyed(pipeline *p, nt_req *r, const char *key, const char *path, int has_body,
               int read_txn, reply_ctx *rc)
{
    const nt_store_v1 *st = p->deps->store;
    idem_claim c = {r->account, r->has_user ? r->user : "", key, "", ""};
    idem_verdict v = IDEM_RUN;
    idem_kept kept = {0};
    reply_capture cap = {0};
    int64_t t0 = util_mono_us();
    int code, status;

    if (p->db == NULL)
        return pipeline_invoke(p, r, has_body, read_txn, rc);
    if (idem_fingerprint(r->method, path, r->query_raw, r->http->body, r->http->body_len, c.fp) !=
        NT_OK)
        return pipeline_fail(
            p, r, pipeline_msg(r, NT_ERR, "Idempotency-Key: cannot fingerprint the request"), rc);
    for (int attempt = 1;; attempt++) {
        code = idem_claim_key(st, p->db, &c, util_now_ms(), &v, &kept);
        r->attempts = attempt;
        if (code != NT_ERETRY || attempt == PIPELINE_ATTEMPTS ||
            util_mono_us() - t0 > (int64_t)PIPELINE_RETRY_WINDOW_MS * 1000)
            break;
        st->clear_error(p->db);
    }
    if (code == NT_ERETRY) {
        snprintf(r->msg, sizeof(r->msg), "storage: %s", st->errmsg(p->db));
        r->has_msg = 1;
        return pipeline_gave_up(r, rc);
    }
    if (code != NT_OK)
        return pipeline_fail(p, r, code, rc);
    switch (v) {
    case IDEM_REPLAY:
        rc->replayed = 1;
        if (reply_text(rc, kept.status, kept.type, kept.body, kept.len) != NT_OK)
            rc->close = 1;
        status = kept.status;
        idem_kept_free(&kept);
        return status;
    case IDEM_UNKEPT:
        pipeline_msg(r, NT_ECONFLICT,
                     "Idempotency-Key: the request with this key was answered %d, but its "
                     "reply (%zu bytes) was over the %zu bytes a kept reply may have; it is not "
                     "run again",
                     kept.status, kept.len, p->idem_max_reply);
        return pipeline_fail(p, r, NT_ECONFLICT, rc);
    case IDEM_MISMATCH:
        pipeline_msg(r, 0,
                     "Idempotency-Key: the key was already used for a different request "
                     "(method, path, query or body); use a new key for a new request");
        if (reply_error(rc, 422, r->msg) != NT_OK)
            rc->close = 1;
        return 422;
    case IDEM_INFLIGHT:
        rc->retry_after = 1;
        pipeline_msg(r, NT_ECONFLICT,
                     "Idempotency-Key: a request with this key is still in progress; retry "
                     "after it is answered");
        return pipeline_fail(p, r, NT_ECONFLICT, rc);
    case IDEM_RUN:
        break;
    }
    rc->capture = &cap;
    status = pipeline_invoke(p, r, has_body, read_txn, rc);
    rc->capture = NULL;
    if (cap.set && cap.status == status && status < 500)
        code = pipeline_idem_write(p, &c, status, &cap, rc->out);
    else
        code = pipeline_idem_write(p, &c, status, NULL, rc->out);
    if (code != NT_OK) {
        log_msg(NT_LOG_WARN, r->route->path,
                "%s: cannot record the outcome of an Idempotency-Key request (%s); the key is "
                "held until its %d s lease ends",
                r->method, st->errmsg(p->db), IDEM_LEASE_MS / 1000);
        st->clear_error(p->db);
    }
    return status;
}

/* Runs one request through the pipeline; returns the status sent. */
static int
pipeline_run(pipeline *p, nt_req *r, http_method method, const char *path, reply_ctx *rc)
{
    const nt_store_v1 *st = p->deps->store;
    int is_get = method == HTTP_GET || method == HTTP_HEAD;
    int has_body =
        method == HTTP_POST || method == HTTP_PUT || method == HTTP_PATCH || method == HTTP_DELETE;
    int read_txn = is_get && p->db != NULL && store_has_read_txn(st);
    router_result m;
    const char *idem_key = NULL;
    /* Decoded path segments live in the pipeline's buffer until its next request (observers
     * read them after this returns); longer paths match no route. */
    size_t scratchlen = strlen(path) + ROUTER_MAX_SEGS + 1;
    int code, wait;

    if (method == HTTP_OPTIONS) {
        if (reply_preflight(rc) != NT_OK)
            rc->close = 1;
        return 204;
    }
    /* HEAD is GET without the body bytes. */
    if (scratchlen > sizeof(p->scratch) ||
        router_match(p->deps->router, method == HTTP_HEAD ? "GET" : r->method, path, p->scratch,
                     scratchlen, &m) != NT_OK) {
        pipeline_msg(r, NT_ENOTFOUND, "no route for %s %.200s", r->method, path);
        return pipeline_fail(p, r, NT_ENOTFOUND, rc);
    }
    r->route = m.route;
    memcpy(r->values, m.values, sizeof(r->values)); /* observers read them after we return */
    for (int i = 0; i < m.route->nparams; i++) {
        if (param_is_id(m.route->params[i]) && !util_uuid_valid(m.values[i])) {
            pipeline_msg(r, NT_ENOTFOUND, "%s: '%.60s' is not a valid id", m.route->params[i],
                         m.values[i]);
            return pipeline_fail(p, r, NT_ENOTFOUND, rc);
        }
    }
    if (has_body && (code = pipeline_body(p, r)) != NT_OK)
        return pipeline_fail(p, r, code, rc);
    if (method == HTTP_POST && (code = pipeline_idem_key(r, &idem_key)) != NT_OK)
        return pipeline_fail(p, r, code, rc);
    if ((wait = pipeline_throttled(p, r, is_get)) > 0) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "too many failed authentications from this address; retry in %d s", wait);
        rc->retry_after = wait;
        if (reply_error(rc, 429, msg) != NT_OK)
            rc->close = 1;
        return 429;
    }
    if (p->group_hook != NULL)
        r->memo = p->group_hook(p->group_arg, (r->route->flags & NT_ROUTE_GROUP_COMMIT) != 0);
    if (p->db != NULL)
        st->clear_error(p->db);
    /* A read shares one read transaction between authentication and the handler's queries
     * (one snapshot, one lock); pipeline_serve ends it. */
    if (read_txn && (code = st->begin_read(p->db)) != NT_OK)
        return pipeline_fail(p, r, code, rc);
    if ((code = pipeline_auth(p, r)) != NT_OK)
        return pipeline_fail(p, r, code, rc);
    if (idem_key != NULL)
        return pipeline_keyed(p, r, idem_key, path, has_body, read_txn, rc);
    return pipeline_invoke(p, r, has_body, read_txn, rc);
}

/* The reply context of a request. */
static void
pipeline_reply_ctx(pipeline *p, const http_request *hr, bytebuf *out, reply_ctx *rc)
{
    const http_head *h = hr != NULL ? hr->head : NULL;

    memset(rc, 0, sizeof(*rc));
    rc->out = out;
    rc->scratch = &p->json;
    if (h == NULL) {
        rc->close = 1;
        return;
    }
    rc->origin = http_head_field(h, hr->base, "Origin");
    rc->acrh = h->method == HTTP_OPTIONS
                   ? http_head_field(h, hr->base, "Access-Control-Request-Headers")
                   : NULL;
    rc->head_only = h->method == HTTP_HEAD;
    rc->close = !h->keep_alive || hr->closing;
    rc->keep_alive_10 = h->minor == 0 && h->keep_alive;
}

int
pipeline_serve(pipeline *p, const http_request *hr, bytebuf *out, int *close)
{
    const server_deps *d = p->deps;
    const http_head *h = hr->head;
    const char *path = http_head_path(h, hr->base);
    int64_t t0 = util_mono_us(), micros;
    reply_ctx rc;
    nt_req r;
    int status;

    for (int i = 0; i < d->nobservers; i++)
        if (d->observers[i].ops->request_start != NULL)
            d->observers[i].ops->request_start(d->observers[i].state);
    request_init(&r, hr, p->db);
    r.method = http_method_name(h->method);
    r.query_raw = h->query != HTTP_NONE ? hr->base + h->query : NULL;
    pipeline_reply_ctx(p, hr, out, &rc);
    status = pipeline_run(p, &r, h->method, path, &rc);
    if (p->db != NULL && store_has_read_txn(d->store))
        d->store->end_read(p->db);
    if (status == 401 && p->throttle != NULL && !hr->throttle_exempt && hr->peer_addr != NULL)
        throttle_fail(p->throttle, hr->peer_addr, util_now_ms());
    micros = util_mono_us() - t0;
    log_access(r.method, path, status, micros);
    for (int i = 0; i < d->nobservers; i++)
        if (d->observers[i].ops->request_done != NULL)
            d->observers[i].ops->request_done(d->observers[i].state, &r, status, micros);
    request_fini(&r);
    *close = rc.close;
    return status;
}

int
pipeline_refuse(pipeline *p, const http_request *hr, int status, const char *msg, int retry_after,
                bytebuf *out)
{
    const http_head *h = hr != NULL ? hr->head : NULL;
    const char *method = "-", *path = "-";
    reply_ctx rc;
    int code;

    if (h == NULL || h->head_len == 0)
        hr = NULL; /* nothing parsed (or a broken head): no Origin to echo */
    pipeline_reply_ctx(p, hr, out, &rc);
    rc.close = 1;
    rc.head_only = 0; /* the connection closes: the error body may as well be read */
    rc.retry_after = retry_after;
    if (hr != NULL) {
        method = http_method_name(h->method);
        path = http_head_path(h, hr->base);
    }
    code = reply_error(&rc, status, msg);
    log_access(method, path, status, 0);
    return code;
}

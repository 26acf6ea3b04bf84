/* Unit tests of the request pipeline (core/pipeline.c) behind the HTTP framing of one
 * connection (core/http_proto.c), without sockets: raw request bytes in, reply bytes out.
 * A fake store, authenticator and policy stand in for the plugins. Every check of the
 * pipeline has a test here that fails when the check is removed: routing 404, path ids 404,
 * JSON bodies 400/413, duplicate credentials 401, authentication and policy 401, handler
 * errors mapped to statuses, CORS on every reply and preflights, HEAD, the framing refusals,
 * pipelining, the authentication throttle, and the retry of NT_ERETRY. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <nettu/services.h>

#include "health.h"
#include "hostapi.h"
#include "http_proto.h"
#include "log.h"
#include "pipeline.h"
#include "router.h"
#include "throttle.h"
#include "util.h"

#undef fail /* Check's deprecated macro: the host table's fail() is meant here */

#define ID "0b6d2c3e-9f0a-4d55-8c1e-1234567890ab"
#define MAX_BODY 1024

/* ---- fakes ------------------------------------------------------------------------------- */

static struct {
    int errcode;
    int rollbacks, begin_reads, end_reads, clears;
} st;

static nt_db *const fake_db = (nt_db *)&st;

static int
fs_rollback(nt_db *db)
{
    (void)db;
    st.rollbacks++;
    return NT_OK;
}

static const char *
fs_errmsg(nt_db *db)
{
    (void)db;
    return st.errcode == NT_ERETRY ? "database is busy (snapshot)" : "disk I/O error";
}

static int
fs_errcode(nt_db *db)
{
    (void)db;
    return st.errcode;
}

static void
fs_clear(nt_db *db)
{
    (void)db;
    st.errcode = NT_OK;
    st.clears++;
}

static int
fs_begin_read(nt_db *db)
{
    (void)db;
    st.begin_reads++;
    return NT_OK;
}

static int
fs_end_read(nt_db *db)
{
    (void)db;
    st.end_reads++;
    return NT_OK;
}

static const nt_store_v1 fake_store = {
    .size = sizeof(nt_store_v1),
    .rollback = fs_rollback,
    .errmsg = fs_errmsg,
    .errcode = fs_errcode,
    .clear_error = fs_clear,
    .begin_read = fs_begin_read,
    .end_read = fs_end_read,
};

/* x-api-key "good": an admin of account "acc"; "user-ok"/"user-no": an end user whose policy
 * allows or not; anything else: 401. */
static int
fa_authenticate(void *state, nt_req *req, nt_auth_kind need)
{
    const nt_host_api *api = hostapi_table();
    const char *key = api->req_header(req, "x-api-key");

    (void)state;
    (void)need;
    if (key != NULL && strcmp(key, "good") == 0)
        return api->req_set_principal(req, "acc", NULL, NULL);
    if (key != NULL && strncmp(key, "user-", 5) == 0)
        return api->req_set_principal(req, "acc", "usr",
                                      json_pack("{s:b}", "allow", strcmp(key, "user-ok") == 0));
    return api->fail(req, NT_EUNAUTH, "bad key");
}

static const nt_authenticator_v1 fake_auth = {.size = sizeof(nt_authenticator_v1),
                                              .authenticate = fa_authenticate};

static int
fp_check(void *state, const json_t *policy, const char *const *perms)
{
    (void)state;
    (void)perms;
    return json_is_true(json_object_get(policy, "allow")) ? NT_OK : NT_EUNAUTH;
}

static const nt_policy_v1 fake_policy = {.size = sizeof(nt_policy_v1), .check = fp_check};

/* ---- handlers ---------------------------------------------------------------------------- */

static int calls;    /* handler runs */
static int fail_for; /* how many runs fail retryably first (-1 = always) */

static int
h_thing_get(nt_req *req, void *state, json_t **out)
{
    (void)state;
    calls++;
    *out = json_pack("{s:s}", "id", hostapi_table()->req_param(req, "thingId"));
    return 200;
}

static int
h_thing_post(nt_req *req, void *state, json_t **out)
{
    (void)state;
    calls++;
    *out = json_deep_copy(hostapi_table()->req_body(req));
    return 201;
}

static int
h_thing_put(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    calls++;
    *out = json_pack("{s:b}", "updated", 1);
    return 200;
}

/* Burns about `us` microseconds of the thread's CPU. */
static void
burn_cpu(int64_t us)
{
    int64_t t0 = util_thread_cpu_us();
    volatile unsigned x = 1;

    while (util_thread_cpu_us() - t0 < us)
        for (int i = 0; i < 1000; i++)
            x = x * 1103515245u + 12345u;
}

/* GET /budget/{how}: "spin" works in 200 us steps, asking req_check after each, until it
 * refuses; "nap" sleeps 150 ms (wall time, no CPU), then works 20 ms asking req_check. The
 * reply carries the CPU the handler used and req_check's code. */
static int
h_budget(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = hostapi_table();
    const char *how = api->req_param(req, "how");
    int64_t t0 = util_thread_cpu_us(), w0 = util_mono_us();
    int rc = NT_OK;

    (void)state;
    if (strcmp(how, "nap") == 0) {
        struct timespec nap = {0, 150 * 1000 * 1000};
        nanosleep(&nap, NULL);
        for (int i = 0; i < 100 && rc == NT_OK; i++) {
            burn_cpu(200);
            rc = api->req_check(req);
        }
    } else {
        while (rc == NT_OK && util_mono_us() - w0 < 5000000) {
            burn_cpu(200);
            rc = api->req_check(req);
        }
    }
    if (rc != NT_OK && rc != NT_EBUDGET)
        return rc;
    *out = json_pack("{s:I,s:i}", "cpuUs", (json_int_t)(util_thread_cpu_us() - t0), "code", rc);
    return 200;
}

/* GET /fail/{kind}: an error of each kind. */
static int
h_fail(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = hostapi_table();
    const char *k = api->req_param(req, "kind");

    (void)state;
    (void)out;
    calls++;
    if (strcmp(k, "einval") == 0)
        return api->fail(req, NT_EINVAL, "startTs: expected an integer");
    if (strcmp(k, "enotfound") == 0)
        return api->fail(req, NT_ENOTFOUND, "calendar not found");
    if (strcmp(k, "econflict") == 0)
        return api->fail(req, NT_ECONFLICT, "already exists");
    if (strcmp(k, "ebudget") == 0)
        return api->fail(req, NT_EBUDGET, "too much work");
    if (strcmp(k, "eunavail") == 0) {
        st.errcode = NT_EUNAVAIL;
        return NT_EUNAVAIL; /* no message: the storage error is used */
    }
    if (strcmp(k, "enomem") == 0)
        return NT_ENOMEM;
    if (strcmp(k, "status302") == 0)
        return 302;
    if (strcmp(k, "text") == 0) {
        api->req_reply_text(req, "text/plain; version=0.0.4", "a 1\n", 4);
        return 200;
    }
    if (strcmp(k, "gone") == 0)
        return NT_EGONE;
    return api->fail(req, NT_ERR, "unknown kind");
}

/* GET /retry/{how}: fails retryably `fail_for` times, then answers 200. how = "code": returns
 * NT_ERETRY; "store": returns NT_EUNAVAIL while the store's error is NT_ERETRY. */
static int
h_retry(nt_req *req, void *state, json_t **out)
{
    const nt_host_api *api = hostapi_table();
    const char *how = api->req_param(req, "how");
    char *scratch = api->req_alloc(req, 64);

    (void)state;
    calls++;
    ck_assert_ptr_nonnull(scratch);
    if (fail_for < 0 || calls <= fail_for) {
        api->req_reply_text(req, "text/plain", "half-done", 9); /* must not leak into the reply */
        if (strcmp(how, "store") == 0) {
            st.errcode = NT_ERETRY;
            return NT_EUNAVAIL;
        }
        return api->fail(req, NT_ERETRY, "write conflict");
    }
    *out = json_pack("{s:i,s:s?}", "attempt", calls, "q", api->req_query(req, "q"));
    return 200;
}

/* POST /retrybody: changes its body, fails retryably once; the retry sees the original. */
static int
h_retry_body(nt_req *req, void *state, json_t **out)
{
    json_t *b = hostapi_table()->req_body(req);

    (void)state;
    calls++;
    ck_assert_ptr_null(json_object_get(b, "seen"));
    json_object_set_new(b, "seen", json_true());
    if (calls == 1)
        return NT_ERETRY;
    *out = json_pack("{s:O}", "got", json_object_get(b, "v"));
    return 200;
}

/* GET /q: echoes a query value. */
static int
h_query(nt_req *req, void *state, json_t **out)
{
    const char *v = hostapi_table()->req_query(req, "name");

    (void)state;
    *out = json_pack("{s:s?}", "name", v);
    return 200;
}

/* ---- the fixture ------------------------------------------------------------------------- */

static router *rt;
static server_deps deps;
static pipeline *pl;
static throttle *thr;
static proto_conn pc;
static proto_limits lim = {.max_head = 4096, .max_body = MAX_BODY};
static unsigned char peer_addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};

static void
add_route(const char *method, const char *path, nt_auth_kind auth, nt_handler_fn h)
{
    static const char *const perms[] = {"UpdateThing", NULL};
    char err[256];
    nt_route r = {.size = sizeof(nt_route),
                  .method = method,
                  .path = path,
                  .auth = auth,
                  .perms = auth == NT_AUTH_USER ? perms : NULL,
                  .handler = h};

    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
}

static void
setup(void)
{
    log_setup(NT_LOG_ERROR, 0);
    memset(&st, 0, sizeof(st));
    calls = 0;
    fail_for = 0;
    rt = router_new();
    ck_assert_int_eq(health_register(rt), NT_OK);
    add_route("GET", "/api/v1/thing/{thingId}", NT_AUTH_ADMIN, h_thing_get);
    add_route("POST", "/api/v1/thing", NT_AUTH_ADMIN, h_thing_post);
    add_route("PUT", "/api/v1/thing/{thingId}", NT_AUTH_USER, h_thing_put);
    add_route("GET", "/api/v1/fail/{kind}", NT_AUTH_PUBLIC, h_fail);
    add_route("GET", "/api/v1/budget/{how}", NT_AUTH_PUBLIC, h_budget);
    add_route("GET", "/api/v1/retry/{how}", NT_AUTH_PUBLIC, h_retry);
    add_route("POST", "/api/v1/retrybody", NT_AUTH_PUBLIC, h_retry_body);
    add_route("GET", "/api/v1/q", NT_AUTH_PUBLIC, h_query);
    ck_assert_int_eq(router_compile(rt), NT_OK);
    memset(&deps, 0, sizeof(deps));
    deps.router = rt;
    deps.store = &fake_store;
    deps.auth = &fake_auth;
    deps.policy = &fake_policy;
    thr = throttle_new(3, 60, 64);
    pl = pipeline_new(&deps, fake_db, thr, MAX_BODY);
    ck_assert_ptr_nonnull(pl);
    memset(&pc, 0, sizeof(pc));
    pc.peer = "192.0.2.7";
    pc.peer_addr = peer_addr;
    pc.fd = -1;
}

static void
teardown(void)
{
    pipeline_free(pl);
    throttle_free(thr);
    router_free(rt);
}

/* ---- driving it -------------------------------------------------------------------------- */

typedef struct reply {
    int status;
    char head[4096]; /* the header block, NUL-terminated */
    char body[8192];
    size_t body_len;
} reply;

/* Splits the first reply off *p (with *n bytes); HEAD replies have no body. */
static void
next_reply(const char **p, size_t *n, int head, reply *r)
{
    const char *end = memmem(*p, *n, "\r\n\r\n", 4), *cl;
    size_t hl;

    ck_assert_msg(end != NULL, "no complete reply in %.*s", (int)*n, *p);
    hl = (size_t)(end - *p) + 4;
    ck_assert(hl < sizeof(r->head));
    memcpy(r->head, *p, hl);
    r->head[hl] = '\0';
    ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
    cl = strcasestr(r->head, "\r\nContent-Length: ");
    r->body_len = cl != NULL && !head ? strtoul(cl + 18, NULL, 10) : 0;
    ck_assert(hl + r->body_len <= *n);
    memcpy(r->body, *p + hl, r->body_len);
    r->body[r->body_len] = '\0';
    *p += hl + r->body_len;
    *n -= hl + r->body_len;
}

/* The value of header name in a reply, or NULL (a static copy). */
static const char *
header(const reply *r, const char *name)
{
    static char v[512];
    char pat[128];
    const char *at;

    snprintf(pat, sizeof(pat), "\r\n%s: ", name);
    at = strcasestr(r->head, pat);
    if (at == NULL)
        return NULL;
    at += strlen(pat);
    snprintf(v, sizeof(v), "%.*s", (int)strcspn(at, "\r"), at);
    return v;
}

static bytebuf out;
static proto_result res;
static int refusals; /* the replies are refusals: they carry a body even for HEAD */

/* Feeds raw bytes (a copy) and returns the first reply. */
static reply
serve_n(const char *raw, size_t n)
{
    char *copy = malloc(n + 1);
    const char *p;
    size_t left;
    reply r;

    memcpy(copy, raw, n);
    copy[n] = '\0';
    out.len = 0;
    proto_feed(&pc, pl, &lim, copy, n, &out, &res);
    p = out.data;
    left = out.len;
    next_reply(&p, &left, strncmp(raw, "HEAD ", 5) == 0 && !refusals, &r);
    free(copy);
    return r;
}

static reply
serve(const char *raw)
{
    return serve_n(raw, strlen(raw));
}

/* Asserts a JSON error reply of status and kind. */
static void
assert_error(const reply *r, int status, const char *kind)
{
    json_t *j = json_loads(r->body, 0, NULL);

    ck_assert_msg(r->status == status, "status %d, want %d: %s", r->status, status, r->body);
    ck_assert_str_eq(header(r, "Content-Type"), "application/json");
    ck_assert_msg(j != NULL, "not JSON: %s", r->body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "error")), kind);
    ck_assert(json_string_length(json_object_get(j, "message")) > 0);
    json_decref(j);
}

#define REQ(line, hdrs) line " HTTP/1.1\r\nHost: t\r\n" hdrs "\r\n"

/* ---- routing and path ids ---------------------------------------------------------------- */

START_TEST(test_routing)
{
    reply r = serve(REQ("GET /api/v1/nope", "x-api-key: good\r\n"));

    assert_error(&r, 404, "not_found");
    ck_assert(strstr(r.body, "no route for GET /api/v1/nope") != NULL);
    r = serve(REQ("DELETE /api/v1/thing/" ID, "x-api-key: good\r\n"));
    assert_error(&r, 404, "not_found");
    r = serve(REQ("GET /api/v1/thing/not-a-uuid", "x-api-key: good\r\n"));
    assert_error(&r, 404, "not_found");
    ck_assert(strstr(r.body, "thingId") != NULL);
    ck_assert_int_eq(calls, 0);
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n"));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"id\":\"" ID "\"}");
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(res.close, 0);
    /* A GET reads inside one read transaction. */
    ck_assert_int_eq(st.begin_reads, 1);
    ck_assert_int_ge(st.end_reads, 1);
    /* Absolute-form targets route by their path. */
    r = serve(REQ("GET http://example.com/api/v1/thing/" ID, "x-api-key: good\r\n"));
    ck_assert_int_eq(r.status, 200);
}
END_TEST

/* ---- the group commit hook ---------------------------------------------------------------- */

static int hook_calls, hook_groupable, hook_handler_calls;
static group_memo hook_memo;

static group_memo *
group_hook(void *arg, int groupable)
{
    ck_assert_ptr_eq(arg, &hook_calls);
    hook_calls++;
    hook_groupable = groupable;
    hook_handler_calls = calls; /* the handler has not run yet */
    return groupable ? &hook_memo : NULL;
}

/* Answers {"kept": what the memo holds under "test/k" or null, "put": memo_put's code of a
 * new value}. */
static int
h_memo(nt_req *req, void *state, json_t **answer)
{
    const nt_host_api *api = hostapi_table();
    const char *kept = api->memo_get(req, "test/k");
    char *v = strdup("first");
    int put;

    (void)state;
    calls++;
    *answer = json_pack("{s:s?}", "kept", kept);
    put = api->memo_put(req, "test/k", v, free);
    if (put != NT_OK)
        free(v);
    json_object_set_new(*answer, "put", json_integer(put));
    return 200;
}

/* Keeps a value, then fails (409). */
static int
h_memo_fail(nt_req *req, void *state, json_t **answer)
{
    const nt_host_api *api = hostapi_table();
    char *v = strdup("undone");

    (void)state;
    (void)answer;
    calls++;
    if (api->memo_put(req, "test/f", v, free) != NT_OK)
        free(v);
    return api->fail(req, NT_ECONFLICT, "conflict");
}

/* A groupable request's handler sees the memo the hook returned (a value one request kept is
 * there for the next), a request outside a group has none, and a request that fails empties
 * it (its writes are undone). */
START_TEST(test_group_memo)
{
    char err[256];
    nt_route r = {.size = sizeof(nt_route),
                  .method = "POST",
                  .path = "/api/v1/memo",
                  .auth = NT_AUTH_ADMIN,
                  .handler = h_memo,
                  .flags = NT_ROUTE_GROUP_COMMIT};
    reply rep;

    router_free(rt);
    rt = router_new();
    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    r.path = "/api/v1/memofail";
    r.handler = h_memo_fail;
    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    r.path = "/api/v1/nomemo";
    r.handler = h_memo;
    r.flags = 0;
    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    ck_assert_int_eq(router_compile(rt), NT_OK);
    deps.router = rt;
    pipeline_set_group_hook(pl, group_hook, &hook_calls);
    rep = serve(REQ("POST /api/v1/memo", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_int_eq(rep.status, 200);
    ck_assert_ptr_nonnull(strstr(rep.body, "\"kept\":null"));
    ck_assert_ptr_nonnull(strstr(rep.body, "\"put\":0"));
    ck_assert_uint_eq(hook_memo.n, 1);
    rep = serve(REQ("POST /api/v1/memo", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_ptr_nonnull(strstr(rep.body, "\"kept\":\"first\""));
    ck_assert_msg(strstr(rep.body, "\"put\":-5") != NULL, "%s", rep.body); /* NT_ECONFLICT */
    rep = serve(REQ("POST /api/v1/nomemo", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_ptr_nonnull(strstr(rep.body, "\"kept\":null"));
    ck_assert_msg(strstr(rep.body, "\"put\":-8") != NULL, "%s", rep.body); /* NT_EUNAVAIL */
    rep = serve(REQ("POST /api/v1/memofail", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_int_eq(rep.status, 409);
    ck_assert_uint_eq(hook_memo.n, 0);
    rep = serve(REQ("POST /api/v1/memo", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_ptr_nonnull(strstr(rep.body, "\"kept\":null"));
    memo_clear(&hook_memo);
    pipeline_set_group_hook(pl, NULL, NULL);
}
END_TEST

/* The hook runs once per routed request, before authentication and the handler, and says
 * whether the route is flagged NT_ROUTE_GROUP_COMMIT; refusals before routing skip it. */
START_TEST(test_group_hook)
{
    char err[256];
    nt_route r = {.size = sizeof(nt_route),
                  .method = "POST",
                  .path = "/api/v1/grouped",
                  .auth = NT_AUTH_ADMIN,
                  .handler = h_thing_post,
                  .flags = NT_ROUTE_GROUP_COMMIT};
    reply rep;

    router_free(rt);
    rt = router_new();
    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    r.method = "GET";
    r.path = "/api/v1/thing/{thingId}";
    r.handler = h_thing_get;
    r.flags = 0;
    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    ck_assert_int_eq(router_compile(rt), NT_OK);
    deps.router = rt;
    pipeline_set_group_hook(pl, group_hook, &hook_calls);
    hook_calls = 0;
    rep = serve(REQ("POST /api/v1/grouped", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_int_eq(hook_groupable, 1);
    ck_assert_int_eq(hook_handler_calls, 0);
    ck_assert_int_eq(calls, 1);
    rep = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n"));
    ck_assert_int_eq(rep.status, 200);
    ck_assert_int_eq(hook_calls, 2);
    ck_assert_int_eq(hook_groupable, 0);
    ck_assert_int_eq(hook_handler_calls, 1);
    rep = serve(REQ("GET /api/v1/nope", "x-api-key: good\r\n"));
    ck_assert_int_eq(rep.status, 404);
    ck_assert_int_eq(hook_calls, 2);
    pipeline_set_group_hook(pl, NULL, NULL);
    rep = serve(REQ("POST /api/v1/grouped", "x-api-key: good\r\nContent-Length: 2\r\n") "{}");
    ck_assert_int_eq(hook_calls, 2);
}
END_TEST

/* ---- bodies ------------------------------------------------------------------------------ */

START_TEST(test_bodies)
{
    char big[MAX_BODY + 200];
    reply r;

    r = serve(
        REQ("POST /api/v1/thing", "x-api-key: good\r\nContent-Length: 9\r\n") "{\"a\":\"b\"}");
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.body, "{\"a\":\"b\"}");
    r = serve(REQ("POST /api/v1/thing", "x-api-key: good\r\n"));
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.body, "{}"); /* no body is {} */
    r = serve(REQ("POST /api/v1/thing", "x-api-key: good\r\nContent-Length: 5\r\n") "{\"a\":");
    assert_error(&r, 400, "bad_request");
    r = serve(REQ("POST /api/v1/thing", "x-api-key: good\r\nContent-Length: 2\r\n") "[]");
    assert_error(&r, 400, "bad_request");
    r = serve(REQ("POST /api/v1/thing",
                  "x-api-key: good\r\nContent-Length: 15\r\n") "{\"a\":1,\"a\":2}  ");
    assert_error(&r, 400, "bad_request");
    /* Chunked bodies are decoded. */
    r = serve(REQ("POST /api/v1/thing",
                  "x-api-key: good\r\nTransfer-Encoding: chunked\r\n") "4\r\n{\"a\"\r\n5\r\n:\"b\"}"
                                                                       "\r\n0\r\n\r\n");
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.body, "{\"a\":\"b\"}");
    /* Over max_body_bytes: 413 before the body is read, and the connection closes. */
    r = serve(REQ("POST /api/v1/thing", "x-api-key: good\r\nContent-Length: 1025\r\n"));
    assert_error(&r, 413, "payload_too_large");
    ck_assert(strstr(r.body, "1024") != NULL);
    ck_assert_str_eq(header(&r, "Connection"), "close");
    ck_assert_int_eq(res.close, 1);
    memset(&pc.stage, 0, sizeof(pc) - offsetof(proto_conn, stage));
    memset(big, 'x', sizeof(big));
    snprintf(big, sizeof(big), REQ("POST /api/v1/thing", "Transfer-Encoding: chunked\r\n") "%x\r\n",
             MAX_BODY + 1);
    r = serve(big);
    assert_error(&r, 413, "payload_too_large");
    ck_assert_int_eq(res.close, 1);
    ck_assert_int_eq(calls, 3);
}
END_TEST

/* ---- authentication ---------------------------------------------------------------------- */

/* A bad Idempotency-Key is 400 naming the header, before authentication and the handler
 * (keyed requests themselves need the store: tests/unit/test_idem.c and
 * tests/hardening/idempotency.test.mjs). */
START_TEST(test_idempotency_key_refused)
{
    static const char *const bad[] = {
        REQ("POST /api/v1/thing", "x-api-key: good\r\nIdempotency-Key:\r\n"),
        REQ("POST /api/v1/thing",
            "x-api-key: good\r\nIdempotency-Key: a\r\nIdempotency-Key: a\r\n"),
        REQ("POST /api/v1/thing", "Idempotency-Key: caf\xc3\xa9\r\n"), /* no credentials */
        REQ("POST /api/v1/thing", "x-api-key: bad\r\nIdempotency-Key: a\x7f\r\n"),
    };
    char big[1024];
    reply r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = serve(bad[i]);
        assert_error(&r, 400, "bad_request");
        ck_assert_msg(strstr(r.body, "Idempotency-Key: ") != NULL, "%s", r.body);
    }
    snprintf(big, sizeof(big),
             REQ("POST /api/v1/thing", "x-api-key: good\r\nIdempotency-Key: %s\r\n"),
             "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234"
             "5678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
             "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234"
             "5");
    r = serve(big);
    assert_error(&r, 400, "bad_request");
    ck_assert_ptr_nonnull(strstr(r.body, "got 256 characters"));
    /* Other methods ignore the header. */
    r = serve(REQ("GET /api/v1/thing/00000000-0000-4000-8000-000000000000",
                  "x-api-key: good\r\nIdempotency-Key:\r\n"));
    ck_assert_int_ne(r.status, 400);
}
END_TEST

START_TEST(test_auth)
{
    reply r;

    pc.throttle_exempt = 1; /* many 401s from one address: see test_throttle */
    r = serve(REQ("GET /api/v1/thing/" ID, ""));
    assert_error(&r, 401, "unauthorized");
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: bad\r\n"));
    assert_error(&r, 401, "unauthorized");
    /* Two copies of a credential header: 401 even when the first is valid. */
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\nX-API-KEY: bad\r\n"));
    assert_error(&r, 401, "unauthorized");
    ck_assert(strstr(r.body, "more than once") != NULL);
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\nauthorization: a\r\n"
                                           "Authorization: b\r\n"));
    assert_error(&r, 401, "unauthorized");
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\nnettu-account: a\r\n"
                                           "nettu-account: a\r\n"));
    assert_error(&r, 401, "unauthorized");
    ck_assert_int_eq(calls, 0);
    /* End users: the policy decides, before the handler runs. */
    r = serve(REQ("PUT /api/v1/thing/" ID, "x-api-key: user-no\r\n"));
    assert_error(&r, 401, "unauthorized");
    ck_assert(strstr(r.body, "UpdateThing") != NULL);
    ck_assert_int_eq(calls, 0);
    r = serve(REQ("PUT /api/v1/thing/" ID, "x-api-key: user-ok\r\n"));
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(calls, 1);
    /* Admins are not subject to a policy. */
    r = serve(REQ("PUT /api/v1/thing/" ID, "x-api-key: good\r\n"));
    ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_throttle)
{
    reply r;

    for (int i = 0; i < 3; i++) {
        r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: bad\r\n"));
        assert_error(&r, 401, "unauthorized");
    }
    /* The address is blocked now, valid credentials included. */
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n"));
    assert_error(&r, 429, "too_many_requests");
    ck_assert_msg(atoi(header(&r, "Retry-After")) >= 59, "Retry-After %s",
                  header(&r, "Retry-After"));
    ck_assert_int_eq(calls, 0);
    /* Public reads go on. */
    r = serve(REQ("GET /api/v1/", ""));
    ck_assert_int_eq(r.status, 200);
    /* Another address is not affected. */
    peer_addr[15] = 8;
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n"));
    ck_assert_int_eq(r.status, 200);
    /* Exempt addresses are never counted nor blocked. */
    peer_addr[15] = 9;
    pc.throttle_exempt = 1;
    for (int i = 0; i < 5; i++) {
        r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: bad\r\n"));
        assert_error(&r, 401, "unauthorized");
    }
    pc.throttle_exempt = 0;
    r = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n"));
    ck_assert_int_eq(r.status, 200);
    peer_addr[15] = 7;
}
END_TEST

/* ---- handler results --------------------------------------------------------------------- */

START_TEST(test_handler_errors)
{
    static const struct {
        const char *kind;
        int status;
        const char *error;
    } cases[] = {
        {"einval", 400, "bad_request"},   {"enotfound", 404, "not_found"},
        {"econflict", 409, "conflict"},   {"ebudget", 422, "unprocessable"},
        {"eunavail", 503, "unavailable"}, {"enomem", 500, "internal"},
        {"status302", 500, "internal"},
    };
    char req[256];
    reply r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rollbacks = st.rollbacks;
        snprintf(req, sizeof(req), REQ("GET /api/v1/fail/%s", ""), cases[i].kind);
        r = serve(req);
        assert_error(&r, cases[i].status, cases[i].error);
        ck_assert_msg(st.rollbacks > rollbacks, "%s: no rollback after a failure", cases[i].kind);
    }
    r = serve(REQ("GET /api/v1/fail/eunavail", ""));
    ck_assert(strstr(r.body, "storage: disk I/O error") != NULL);
    r = serve(REQ("GET /api/v1/fail/einval", ""));
    ck_assert(strstr(r.body, "startTs: expected an integer") != NULL);
    r = serve(REQ("GET /api/v1/fail/text", ""));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(header(&r, "Content-Type"), "text/plain; version=0.0.4");
    ck_assert_str_eq(r.body, "a 1\n");
    /* The client is gone: nothing is sent and the connection closes. */
    {
        char *raw = strdup(REQ("GET /api/v1/fail/gone", ""));
        out.len = 0;
        proto_feed(&pc, pl, &lim, raw, strlen(raw), &out, &res);
        free(raw);
    }
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(res.close, 1);
}
END_TEST

/* req_check refuses once the request has used its CPU budget (measured in CPU time: it reads
 * the CPU clock only once enough wall time has passed, so time asleep is not charged). */
START_TEST(test_request_budget)
{
    json_t *j;
    reply r;

    hostapi_set_request_budget(30);
    r = serve(REQ("GET /api/v1/budget/spin", ""));
    ck_assert_int_eq(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), NT_EBUDGET);
    ck_assert_int_ge(json_integer_value(json_object_get(j, "cpuUs")), 30000);
    ck_assert_int_lt(json_integer_value(json_object_get(j, "cpuUs")), 60000);
    json_decref(j);
    /* 150 ms asleep, then 20 ms of work: under the 30 ms budget. */
    r = serve(REQ("GET /api/v1/budget/nap", ""));
    ck_assert_int_eq(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), NT_OK);
    json_decref(j);
    hostapi_set_request_budget(100);
}
END_TEST

/* ---- retries ----------------------------------------------------------------------------- */

START_TEST(test_retry_then_success)
{
    reply r;

    fail_for = 2;
    r = serve(REQ("GET /api/v1/retry/code?q=v", ""));
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_int_eq(calls, 3);
    ck_assert_str_eq(r.body, "{\"attempt\":3,\"q\":\"v\"}");
    ck_assert_ptr_null(header(&r, "Retry-After"));
    ck_assert_int_ge(st.rollbacks, 2);
    ck_assert_int_eq(st.begin_reads, 3); /* a fresh read transaction per attempt */
    calls = 0;
    memset(&st, 0, sizeof(st));
    r = serve(REQ("GET /api/v1/retry/store", ""));
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(calls, 3);
    ck_assert_int_ge(st.rollbacks, 2);
    /* The body is parsed again for every attempt. */
    calls = 0;
    r = serve(REQ("POST /api/v1/retrybody", "Content-Length: 8\r\n") "{\"v\":42}");
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_str_eq(r.body, "{\"got\":42}");
    ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(test_retry_gives_up)
{
    reply r;

    fail_for = -1;
    r = serve(REQ("GET /api/v1/retry/code", ""));
    assert_error(&r, 503, "unavailable");
    ck_assert_int_eq(calls, PIPELINE_ATTEMPTS);
    ck_assert_str_eq(header(&r, "Retry-After"), "1");
    ck_assert(strstr(r.body, "write conflict") != NULL);
    ck_assert_int_eq(st.rollbacks, PIPELINE_ATTEMPTS);
    calls = 0;
    r = serve(REQ("GET /api/v1/retry/store", ""));
    assert_error(&r, 503, "unavailable");
    ck_assert_int_eq(calls, PIPELINE_ATTEMPTS);
    ck_assert_str_eq(header(&r, "Retry-After"), "1");
}
END_TEST

/* ---- CORS, caching, HEAD, queries ------------------------------------------------------------ */

START_TEST(test_cors_and_caching)
{
    reply r = serve(REQ("GET /api/v1/", "Origin: https://app.example\r\n"));

    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Credentials"), "true");
    ck_assert_str_eq(header(&r, "Vary"), "Origin");
    ck_assert_str_eq(header(&r, "Cache-Control"), "no-store");
    ck_assert_ptr_nonnull(header(&r, "Date"));
    r = serve(REQ("GET /api/v1/thing/" ID, "Origin: https://app.example\r\n"));
    assert_error(&r, 401, "unauthorized");
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    ck_assert_str_eq(header(&r, "Cache-Control"), "no-store");
    r = serve(REQ("GET /api/v1/nope", ""));
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "*");
    /* Preflight. */
    r = serve(REQ("OPTIONS /api/v1/thing/" ID, "Origin: https://app.example\r\n"
                                               "Access-Control-Request-Headers: x-api-key\r\n"));
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Methods"),
                     "GET, POST, PUT, DELETE, PATCH, OPTIONS");
    ck_assert_str_eq(header(&r, "Access-Control-Allow-Headers"), "x-api-key");
    ck_assert_str_eq(header(&r, "Access-Control-Max-Age"), "86400");
    ck_assert_ptr_null(header(&r, "Content-Length"));
    ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_head)
{
    reply g = serve(REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n"));
    reply h = serve(REQ("HEAD /api/v1/thing/" ID, "x-api-key: good\r\n"));

    ck_assert_int_eq(h.status, 200);
    ck_assert_str_eq(header(&h, "Content-Length"), header(&g, "Content-Length"));
    ck_assert_str_eq(header(&h, "Content-Type"), "application/json");
    ck_assert_uint_eq(out.len, strlen(h.head)); /* no body bytes */
    ck_assert_int_eq(res.close, 0);
    h = serve(REQ("HEAD /api/v1/nope", ""));
    ck_assert_int_eq(h.status, 404);
    ck_assert_uint_eq(out.len, strlen(h.head));
}
END_TEST

START_TEST(test_query_decoding)
{
    reply r = serve(REQ("GET /api/v1/q?Name=x&name=a+b%2Bc%20d&name=second", ""));

    ck_assert_str_eq(r.body, "{\"name\":\"a b+c d\"}");
    r = serve(REQ("GET /api/v1/q?flag&name=a", ""));
    ck_assert_str_eq(r.body, "{\"name\":null}"); /* a malformed query has no values */
}
END_TEST

/* ---- framing ----------------------------------------------------------------------------- */

START_TEST(test_framing_refusals)
{
    static const struct {
        const char *raw;
        int status;
    } cases[] = {
        {"POST /api/v1/thing HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n"
         "Content-Length: 3\r\n\r\n0\r\n\r\n",
         400},
        {"POST /api/v1/thing HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
         400},
        {"POST /api/v1/thing HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\n{}", 400},
        {"POST /api/v1/thing HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
         "\r\n{}",
         400},
        {"HEAD /api/v1/ HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nGET", 400},
        {"TRACE /api/v1/ HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nGET", 400},
        {"GET /api/v1/ HTTP/1.1\r\nX: y\r\n\r\n", 400},
        {"GET /api/v1/ HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400},
        {"BREW /api/v1/ HTTP/1.1\r\nHost: t\r\n\r\n", 501},
        {"POST /api/v1/thing HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
    };

    refusals = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        memset(&pc.stage, 0, sizeof(pc) - offsetof(proto_conn, stage));
        r = serve(cases[i].raw);
        ck_assert_msg(r.status == cases[i].status, "case %zu: %d %s", i, r.status, r.body);
        assert_error(&r, cases[i].status,
                     cases[i].status == 501 ? "not_implemented" : "bad_request");
        ck_assert_str_eq(header(&r, "Connection"), "close");
        ck_assert_msg(res.close && res.linger, "case %zu: the connection must close", i);
        ck_assert_uint_eq(res.pending, 0);
    }
    ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_pipelining_and_keepalive)
{
    const char *raw = REQ("GET /api/v1/thing/" ID, "x-api-key: good\r\n")
        REQ("POST /api/v1/thing", "x-api-key: good\r\nContent-Length: 8\r\n") "{\"n\":2}\n" REQ(
            "GET /api/v1/nope", "") "GET /api/v1/ HTT";
    char *copy = strdup(raw);
    const char *p;
    size_t left;
    reply r;

    out.len = 0;
    proto_feed(&pc, pl, &lim, copy, strlen(copy), &out, &res);
    p = out.data;
    left = out.len;
    next_reply(&p, &left, 0, &r);
    ck_assert_int_eq(r.status, 200);
    next_reply(&p, &left, 0, &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.body, "{\"n\":2}");
    next_reply(&p, &left, 0, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_uint_eq(left, 0);
    ck_assert_int_eq(res.close, 0);
    ck_assert_uint_eq(res.pending, strlen("GET /api/v1/ HTT"));
    ck_assert(memcmp(copy + res.consumed, "GET /api/v1/ HTT", res.pending) == 0);
    free(copy);
    /* Connection: close is honoured and said. */
    memset(&pc.stage, 0, sizeof(pc) - offsetof(proto_conn, stage));
    r = serve(REQ("GET /api/v1/", "Connection: close\r\n"));
    ck_assert_str_eq(header(&r, "Connection"), "close");
    ck_assert_int_eq(res.close, 1);
    /* HTTP/1.0 keep-alive. */
    r = serve("GET /api/v1/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ck_assert_str_eq(header(&r, "Connection"), "keep-alive");
    ck_assert_int_eq(res.close, 0);
    r = serve("GET /api/v1/ HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(res.close, 1);
}
END_TEST

START_TEST(test_partial_and_continue)
{
    const char *raw = REQ("POST /api/v1/thing", "x-api-key: good\r\nContent-Length: 9\r\n"
                                                "Expect: 100-continue\r\n") "{\"a\":\"b\"}";
    size_t n = strlen(raw), head = n - 9;
    char *buf = malloc(n);
    const char *p;
    size_t left;
    reply r;

    /* The head alone: 100 Continue, and the whole head is kept. */
    memcpy(buf, raw, n);
    out.len = 0;
    proto_feed(&pc, pl, &lim, buf, head, &out, &res);
    ck_assert_uint_eq(out.len, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
    ck_assert(memcmp(out.data, "HTTP/1.1 100 Continue\r\n\r\n", out.len) == 0);
    ck_assert_uint_eq(res.consumed, 0);
    ck_assert_uint_eq(res.pending, head);
    ck_assert_uint_eq(res.want, n);
    ck_assert(proto_in_request(&res));
    /* The rest arrives. */
    out.len = 0;
    proto_feed(&pc, pl, &lim, buf, n, &out, &res);
    p = out.data;
    left = out.len;
    next_reply(&p, &left, 0, &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_uint_eq(res.pending, 0);
    /* A request that never completes is answered 408 by the connection's timer. */
    memcpy(buf, raw, n);
    out.len = 0;
    proto_feed(&pc, pl, &lim, buf, head + 3, &out, &res);
    out.len = 0;
    proto_refuse(&pc, pl, buf, 408, "too slow", 0, &out);
    p = out.data;
    left = out.len;
    next_reply(&p, &left, 0, &r);
    assert_error(&r, 408, "request_timeout");
    ck_assert_str_eq(header(&r, "Connection"), "close");
    free(buf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_routing);
    tcase_add_test(tc, test_group_hook);
    tcase_add_test(tc, test_group_memo);
    tcase_add_test(tc, test_bodies);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_throttle);
    tcase_add_test(tc, test_handler_errors);
    tcase_add_test(tc, test_request_budget);
    tcase_add_test(tc, test_retry_then_success);
    tcase_add_test(tc, test_retry_gives_up);
    tcase_add_test(tc, test_cors_and_caching);
    tcase_add_test(tc, test_head);
    tcase_add_test(tc, test_query_decoding);
    tcase_add_test(tc, test_framing_refusals);
    tcase_add_test(tc, test_pipelining_and_keepalive);
    tcase_add_test(tc, test_partial_and_continue);
    tcase_add_test(tc, test_idempotency_key_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    bytebuf_free(&out);
    return failed == 0 ? 0 : 1;
}

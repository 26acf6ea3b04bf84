/* Fuzz target: the HTTP/1.1 request parser (core/http_parse.c) and the framing of one
 * connection (core/http_proto.c) with the request pipeline behind it. The input is a step
 * byte and the bytes a client sends on one connection.
 *
 * Oracles:
 *  - the head parsed from the whole input and the head parsed from growing prefixes (`step`
 *    bytes more each time, as the network delivers them) give the same result: the same
 *    status on error, the same fields, framing and rewritten bytes when complete;
 *  - a complete head's field names are tokens, its values hold no CR, LF or NUL, its
 *    Content-Length / Transfer-Encoding are never both set;
 *  - a chunked body decodes to the same bytes in one call and in `step`-sized pieces, never
 *    writes past what it read, and never exceeds the body limit;
 *  - the connection, fed `step` bytes at a time and keeping only what proto_feed says to
 *    keep (as core/http_conn.c does), only ever writes well-formed replies ("HTTP/1.1 NNN"),
 *    never keeps more than it was given, and stops at the first refusal.
 */
#include "fuzz.h"
#include "health.h"
#include "hostapi.h"
#include "http_parse.h"
#include "http_proto.h"
#include "log.h"
#include "pipeline.h"
#include "router.h"

#define MAX_HEAD 4096
#define MAX_BODY 8192

static router *table;
static server_deps deps;
static pipeline *pl;

/* POST /api/v1/echo (public): the body back. */
static int
h_echo(nt_req *req, void *state, json_t **out)
{
    (void)state;
    *out = json_deep_copy(hostapi_table()->req_body(req));
    return 201;
}

/* GET /api/v1/q (public): a query value back. */
static int
h_query(nt_req *req, void *state, json_t **out)
{
    (void)state;
    *out = json_pack("{s:s?}", "v", hostapi_table()->req_query(req, "v"));
    return 200;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const struct {
        const char *method, *path;
        nt_handler_fn h;
    } routes[] = {{"POST", "/api/v1/echo", h_echo}, {"GET", "/api/v1/q", h_query}};
    char err[256];

    (void)argc;
    (void)argv;
    if (pl != NULL)
        return 0;
    log_setup(NT_LOG_ERROR, 0);
    table = router_new();
    FUZZ_CHECK(table != NULL && health_register(table) == NT_OK, "routes");
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        nt_route r = {.size = sizeof(nt_route),
                      .method = routes[i].method,
                      .path = routes[i].path,
                      .auth = NT_AUTH_PUBLIC,
                      .handler = routes[i].h};
        FUZZ_CHECK(router_add(table, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    }
    FUZZ_CHECK(router_compile(table) == NT_OK, "compile");
    deps.router = table;
    pl = pipeline_new(&deps, NULL, NULL, MAX_BODY);
    FUZZ_CHECK(pl != NULL, "pipeline");
    return 0;
}

static char *
copy_of(const uint8_t *d, size_t n)
{
    char *b = malloc(n > 0 ? n : 1);

    FUZZ_CHECK(b != NULL, "out of memory");
    if (n > 0)
        memcpy(b, d, n);
    return b;
}

/* Checks what a complete head promises. */
static void
check_head(const http_head *h, const char *b)
{
    FUZZ_CHECK(!(h->has_length && h->chunked), "Content-Length and chunked");
    FUZZ_CHECK(h->minor == 0 || h->minor == 1, "minor %d", h->minor);
    FUZZ_CHECK(h->method != HTTP_OTHER, "unknown methods are refused");
    FUZZ_CHECK(h->nfields >= 0 && h->nfields <= HTTP_MAX_FIELDS, "nfields");
    for (int i = 0; i < h->nfields; i++) {
        const char *name = b + h->fields[i].name, *value = b + h->fields[i].value;
        FUZZ_CHECK(name[0] != '\0', "empty name");
        for (const char *p = name; *p != '\0'; p++)
            FUZZ_CHECK(http_is_tchar((unsigned char)*p), "name byte %02x", (unsigned char)*p);
        for (const char *p = value; *p != '\0'; p++)
            FUZZ_CHECK(*p != '\r' && *p != '\n', "CR or LF in a value");
        FUZZ_CHECK(h->fields[i].value < h->head_len, "value beyond the head");
    }
    FUZZ_CHECK(http_head_path(h, b)[0] != '\0', "empty path");
}

/* The head from the whole input and from growing prefixes must agree. Returns the one-shot
 * result; *out gets the parsed copy (the caller frees it). */
static int
check_incremental_head(const uint8_t *d, size_t n, size_t step, http_head *h, char **out)
{
    char *a = copy_of(d, n), *b = copy_of(d, n);
    size_t sa = 0, sb = 0, len = 0;
    http_head hb;
    int ra, rb = HTTP_PARSE_MORE;

    ra = http_parse_head(a, n, MAX_HEAD, &sa, h);
    while (rb == HTTP_PARSE_MORE && len < n) {
        len = len + step < n ? len + step : n;
        rb = http_parse_head(b, len, MAX_HEAD, &sb, &hb);
    }
    if (len == n || rb != HTTP_PARSE_MORE) {
        /* An error may show up earlier in pieces (a limit reached at a prefix), but a head
         * that completes must complete the same way. */
        if (ra == HTTP_PARSE_DONE) {
            FUZZ_CHECK(rb == HTTP_PARSE_DONE, "one-shot DONE, incremental %d (%s)", rb, hb.error);
            FUZZ_CHECK(hb.head_len == h->head_len, "head_len %zu vs %zu", hb.head_len, h->head_len);
            FUZZ_CHECK(hb.nfields == h->nfields && hb.method == h->method &&
                           hb.content_length == h->content_length && hb.chunked == h->chunked &&
                           hb.keep_alive == h->keep_alive && hb.path == h->path &&
                           hb.query == h->query,
                       "heads differ");
            FUZZ_CHECK(memcmp(a, b, h->head_len) == 0, "rewritten heads differ");
            check_head(h, a);
        } else if (ra == HTTP_PARSE_ERROR && rb == HTTP_PARSE_ERROR) {
            FUZZ_CHECK(h->status == hb.status || h->status == 431 || hb.status == 431,
                       "statuses %d vs %d (%s / %s)", h->status, hb.status, h->error, hb.error);
        } else if (ra == HTTP_PARSE_MORE) {
            FUZZ_CHECK(rb != HTTP_PARSE_DONE, "one-shot MORE, incremental DONE");
        }
    }
    free(b);
    *out = a;
    return ra;
}

/* A chunked body decodes the same in one call and in pieces. */
static void
check_chunked(const char *body, size_t n, size_t step)
{
    char *a = copy_of((const uint8_t *)body, n), *b = copy_of((const uint8_t *)body, n);
    http_chunked ca, cb;
    size_t ra = 0, wa = 0, rb = 0, wb = 0, len = 0;
    int xa, xb = HTTP_PARSE_MORE;

    memset(&ca, 0, sizeof(ca));
    memset(&cb, 0, sizeof(cb));
    xa = http_chunked_decode(&ca, a, n, &ra, &wa, MAX_BODY, MAX_HEAD);
    FUZZ_CHECK(wa <= ra && ra <= n && wa <= MAX_BODY, "positions");
    while (xb == HTTP_PARSE_MORE && len < n) {
        len = len + step < n ? len + step : n;
        xb = http_chunked_decode(&cb, b, len, &rb, &wb, MAX_BODY, MAX_HEAD);
        FUZZ_CHECK(wb <= rb && rb <= len, "positions in pieces");
    }
    FUZZ_CHECK(xa == xb, "chunked: one-shot %d, in pieces %d", xa, xb);
    if (xa == HTTP_PARSE_DONE) {
        FUZZ_CHECK(ra == rb && wa == wb, "chunked: end %zu/%zu, body %zu/%zu", ra, rb, wa, wb);
        FUZZ_CHECK(memcmp(a, b, wa) == 0, "chunked: bodies differ");
    }
    free(a);
    free(b);
}

/* Feeds the input to one connection `step` bytes at a time. */
static void
check_connection(const uint8_t *d, size_t n, size_t step)
{
    proto_limits lim = {.max_head = MAX_HEAD, .max_body = MAX_BODY};
    proto_conn pc;
    bytebuf in = {0}, out = {0};
    size_t fed = 0;

    memset(&pc, 0, sizeof(pc));
    pc.peer = "192.0.2.1";
    pc.fd = -1;
    while (fed < n) {
        size_t k = n - fed < step ? n - fed : step;
        proto_result res;
        FUZZ_CHECK(bytebuf_add(&in, d + fed, k) == NT_OK, "out of memory");
        fed += k;
        for (;;) {
            size_t before = out.len;
            proto_feed(&pc, pl, &lim, in.data, in.len, &out, &res);
            FUZZ_CHECK(res.consumed <= in.len && res.pending <= in.len - res.consumed,
                       "consumed %zu + pending %zu > %zu", res.consumed, res.pending, in.len);
            if (out.len > before)
                FUZZ_CHECK(out.len - before >= 12 && memcmp(out.data + before, "HTTP/1.1 ", 9) == 0,
                           "a reply that is not HTTP/1.1: %.20s", out.data + before);
            if (res.close)
                goto done;
            memmove(in.data, in.data + res.consumed, res.pending);
            in.len = res.pending;
            out.len = 0;
            if (!res.more)
                break;
        }
        FUZZ_CHECK(in.len <= MAX_HEAD + MAX_BODY + step + 64, "keeps %zu bytes", in.len);
    }
done:
    bytebuf_free(&in);
    bytebuf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step;
    http_head h;
    char *parsed = NULL;

    if (size < 1 || size > 65536)
        return 0;
    LLVMFuzzerInitialize(NULL, NULL);
    step = (size_t)(data[0] % 32) + 1;
    data++;
    size--;
    if (check_incremental_head(data, size, step, &h, &parsed) == HTTP_PARSE_DONE && h.chunked)
        check_chunked(parsed + h.head_len, size - h.head_len, step);
    free(parsed);
    check_connection(data, size, step);
    return 0;
}

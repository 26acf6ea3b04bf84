/* Unit tests of the HTTP/1.1 request parser (core/http_parse.c), the query decoder
 * (core/query.c), address ranges (core/cidr.c) and the per-address tables (core/addrtab.c,
 * core/throttle.c, core/ipcount.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

#include "addrtab.h"
#include "arena.h"
#include "cidr.h"
#include "http_parse.h"
#include "ipcount.h"
#include "query.h"
#include "throttle.h"

/* Parses text (a copy) in one go; returns the result and leaves the head in *h. */
static int
parse(const char *text, http_head *h, char **copy)
{
    size_t n = strlen(text), scanned = 0;

    *copy = malloc(n + 1);
    memcpy(*copy, text, n + 1);
    return http_parse_head(*copy, n, 16384, &scanned, h);
}

/* ---- heads that parse ---------------------------------------------------------------------- */

START_TEST(test_simple_get)
{
    static const char text[] = "GET /api/v1/user?key=a&value=b HTTP/1.1\r\nHost: x\r\n"
                               "X-Api-Key:  sk_1 \r\nConnection: keep-alive\r\n\r\nNEXT";
    http_head h;
    char *b;

    ck_assert_int_eq(parse(text, &h, &b), HTTP_PARSE_DONE);
    ck_assert_int_eq(h.method, HTTP_GET);
    ck_assert_str_eq(http_head_path(&h, b), "/api/v1/user");
    ck_assert_str_eq(b + h.query, "key=a&value=b");
    ck_assert_int_eq(h.minor, 1);
    ck_assert_int_eq(h.keep_alive, 1);
    ck_assert_int_eq(h.has_length, 0);
    ck_assert_int_eq(h.chunked, 0);
    ck_assert_str_eq(http_head_field(&h, b, "x-api-key"), "sk_1");
    ck_assert_str_eq(http_head_field(&h, b, "HOST"), "x");
    ck_assert_ptr_null(http_head_field(&h, b, "authorization"));
    ck_assert_uint_eq(h.head_len, strlen(text) - 4);
    ck_assert_str_eq(b + h.head_len, "NEXT");
    free(b);
}
END_TEST

START_TEST(test_framing_fields)
{
    http_head h;
    char *b;

    ck_assert_int_eq(parse("POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 0042\r\n"
                           "Connection: Upgrade, close\r\nExpect: 100-Continue\r\n\r\n",
                           &h, &b),
                     HTTP_PARSE_DONE);
    ck_assert_int_eq(h.has_length, 1);
    ck_assert_uint_eq(h.content_length, 42);
    ck_assert_int_eq(h.keep_alive, 0);
    ck_assert_int_eq(h.expect_continue, 1);
    free(b);
    ck_assert_int_eq(
        parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, &b),
        HTTP_PARSE_DONE);
    ck_assert_int_eq(h.chunked, 1);
    free(b);
    /* HTTP/1.0: no Host needed; keep-alive only when asked for. */
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &h, &b), HTTP_PARSE_DONE);
    ck_assert_int_eq(h.minor, 0);
    ck_assert_int_eq(h.keep_alive, 0);
    free(b);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &b),
                     HTTP_PARSE_DONE);
    ck_assert_int_eq(h.keep_alive, 1);
    free(b);
    /* Empty lines before the request line are skipped (RFC 9112 2.2). */
    ck_assert_int_eq(parse("\r\n\r\nGET /x HTTP/1.1\r\nHost: y\r\n\r\n", &h, &b), HTTP_PARSE_DONE);
    ck_assert_str_eq(http_head_path(&h, b), "/x");
    free(b);
    /* A huge Content-Length parses (the caller refuses it with 413). */
    ck_assert_int_eq(parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "
                           "99999999999999999999999999\r\n\r\n",
                           &h, &b),
                     HTTP_PARSE_DONE);
    ck_assert(h.content_length > (1ull << 40));
    free(b);
}
END_TEST

START_TEST(test_targets)
{
    http_head h;
    char *b;

    ck_assert_int_eq(
        parse("GET http://example.com/api/v1/?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", &h, &b),
        HTTP_PARSE_DONE);
    ck_assert_str_eq(http_head_path(&h, b), "/api/v1/");
    ck_assert_str_eq(b + h.query, "q=1");
    free(b);
    ck_assert_int_eq(parse("GET HTTPS://example.com HTTP/1.1\r\nHost: x\r\n\r\n", &h, &b),
                     HTTP_PARSE_DONE);
    ck_assert_str_eq(http_head_path(&h, b), "/");
    ck_assert_uint_eq(h.query, HTTP_NONE);
    free(b);
    ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &h, &b), HTTP_PARSE_DONE);
    ck_assert_str_eq(http_head_path(&h, b), "*");
    free(b);
    ck_assert_int_eq(parse("CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: x\r\n\r\n", &h, &b),
                     HTTP_PARSE_DONE);
    ck_assert_str_eq(http_head_path(&h, b), "127.0.0.1:80");
    free(b);
    /* obs-text is allowed in the target (the router decides). */
    ck_assert_int_eq(parse("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", &h, &b), HTTP_PARSE_DONE);
    free(b);
}
END_TEST

/* ---- heads that are refused ----------------------------------------------------------------- */

static const struct {
    const char *name, *text;
    int status;
} refused[] = {
    {"space before the colon (TE.CL smuggling)",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n", 400},
    {"tab in a header name", "GET / HTTP/1.1\r\nHost: x\r\nX\tY: 1\r\n\r\n", 400},
    {"empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400},
    {"header without colon", "GET / HTTP/1.1\r\nHost: x\r\nx-api-key k\r\n\r\n", 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
    {"control byte in a value",
     "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01"
     "b\r\n\r\n",
     400},
    {"bare LF", "GET / HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n", 400},
    {"bare CR", "GET / HTTP/1.1\r\nHost: x\rX-A: a\r\n\r\n", 400},
    {"TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     400},
    {"TE chunked twice",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     400},
    {"TE and CL",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"CL +2", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n", 400},
    {"CL -1", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
    {"CL 2, 2", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n", 400},
    {"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x2\r\n\r\n", 400},
    {"CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400},
    {"CL twice, same value",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 400},
    {"HEAD with a body", "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 400},
    {"TRACE with a body", "TRACE / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"CONNECT with a body", "CONNECT a:1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", 400},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
    {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400},
    {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 400},
    {"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
    {"no target", "GET\r\n\r\n", 400},
    {"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"relative target", "GET api/v1 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"control byte in the target", "GET /a\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"unknown method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
    {"lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
    {"NUL in the head", "GET / HTTP/1.1\r\nHost: x\r\nA: \0b\r\n\r\n", 400},
};

START_TEST(test_refused)
{
    http_head h;
    const char *text = refused[_i].text;
    /* The NUL case: its length is up to the final CRLFCRLF, not strlen. */
    size_t n = strlen(text), scanned = 0;
    char *b;
    int rc;

    if (strstr(refused[_i].name, "NUL") != NULL)
        n = strlen(text) + 1 + strlen(text + strlen(text) + 1);
    b = malloc(n + 1);
    memcpy(b, text, n);
    b[n] = '\0';
    rc = http_parse_head(b, n, 16384, &scanned, &h);
    ck_assert_msg(rc == HTTP_PARSE_ERROR, "%s: parsed (rc %d)", refused[_i].name, rc);
    ck_assert_msg(h.status == refused[_i].status, "%s: status %d, want %d (%s)", refused[_i].name,
                  h.status, refused[_i].status, h.error);
    ck_assert_msg(h.error[0] != '\0', "%s: no message", refused[_i].name);
    free(b);
}
END_TEST

START_TEST(test_limits_and_partial)
{
    char buf[40000];
    http_head h;
    size_t scanned = 0, n;

    /* A head that arrives a byte at a time: MORE until the last byte. */
    const char *text = "GET /api/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n\r\n";
    n = strlen(text);
    memcpy(buf, text, n);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(http_parse_head(buf, i, 16384, &scanned, &h) == HTTP_PARSE_MORE, "at %zu", i);
    ck_assert_int_eq(http_parse_head(buf, n, 16384, &scanned, &h), HTTP_PARSE_DONE);
    /* Longer than max_head without its end: 431 as soon as the limit is reached. */
    scanned = 0;
    memcpy(buf, "GET / HTTP/1.1\r\nX-Pad: ", 23);
    memset(buf + 23, 'a', sizeof(buf) - 23);
    ck_assert_int_eq(http_parse_head(buf, 2000, 4096, &scanned, &h), HTTP_PARSE_MORE);
    ck_assert_int_eq(http_parse_head(buf, 4096, 4096, &scanned, &h), HTTP_PARSE_ERROR);
    ck_assert_int_eq(h.status, 431);
    /* More than HTTP_MAX_FIELDS fields: 431. */
    n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < HTTP_MAX_FIELDS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: 1\r\n", i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
    scanned = 0;
    ck_assert_int_eq(http_parse_head(buf, n, sizeof(buf), &scanned, &h), HTTP_PARSE_ERROR);
    ck_assert_int_eq(h.status, 431);
    /* Bytes that cannot start a request (a TLS hello) are refused before the head ends. */
    scanned = 0;
    memcpy(buf, "\x16\x03\x01\x02\x00", 5);
    ck_assert_int_eq(http_parse_head(buf, 5, 16384, &scanned, &h), HTTP_PARSE_ERROR);
    ck_assert_int_eq(h.status, 400);
    scanned = 0;
    ck_assert_int_eq(http_parse_head(buf, 0, 16384, &scanned, &h), HTTP_PARSE_MORE);
    memcpy(buf, "\r", 1);
    ck_assert_int_eq(http_parse_head(buf, 1, 16384, &scanned, &h), HTTP_PARSE_MORE);
}
END_TEST

/* ---- chunked ----------------------------------------------------------------------------- */

/* Decodes text, fed `step` bytes at a time; returns the result, the body in out. */
static int
dechunk(const char *text, size_t step, uint64_t max, char *out, size_t *outlen, int *status)
{
    size_t n = strlen(text), rd = 0, wr = 0, fed = 0;
    char *b = malloc(n + 1);
    http_chunked c;
    int rc = HTTP_PARSE_MORE;

    memset(&c, 0, sizeof(c));
    memcpy(b, text, n + 1);
    while (rc == HTTP_PARSE_MORE && fed < n) {
        fed = fed + step < n ? fed + step : n;
        rc = http_chunked_decode(&c, b, fed, &rd, &wr, max, 1024);
    }
    memcpy(out, b, wr);
    *outlen = wr;
    *status = c.status;
    free(b);
    return rc;
}

START_TEST(test_chunked)
{
    char out[256];
    size_t n;
    int status;

    for (size_t step = 1; step <= 64; step *= 2) {
        ck_assert_int_eq(dechunk("5\r\nhello\r\n1;ext=\"x\"\r\n \r\n6\r\nworld!\r\n0\r\n"
                                 "Trailer: t\r\n\r\nNEXT",
                                 step, 100, out, &n, &status),
                         HTTP_PARSE_DONE);
        ck_assert_uint_eq(n, 12);
        ck_assert(memcmp(out, "hello world!", 12) == 0);
    }
    ck_assert_int_eq(dechunk("A\r\n0123456789\r\n0\r\n\r\n", 3, 100, out, &n, &status),
                     HTTP_PARSE_DONE);
    ck_assert_uint_eq(n, 10);
    /* Over the limit: refused (413) as soon as the size line is read. */
    ck_assert_int_eq(dechunk("65\r\n", 100, 100, out, &n, &status), HTTP_PARSE_ERROR);
    ck_assert_int_eq(status, 413);
    ck_assert_int_eq(dechunk("40\r\n"
                             "0123456789012345678901234567890123456789012345678901234567890123"
                             "\r\n40\r\n",
                             100, 100, out, &n, &status),
                     HTTP_PARSE_ERROR);
    ck_assert_int_eq(status, 413);
    ck_assert_int_eq(dechunk("11111111111111111\r\n", 100, 100, out, &n, &status),
                     HTTP_PARSE_ERROR);
    /* Broken framing: 400. */
    static const char *const bad[] = {"zz\r\n",       "\r\n",           "5\r\nhelloX\r\n",
                                      "5\nhello\r\n", "5\r\nhello\r\r", "0\r\nT: \x01\r\n\r\n",
                                      "0\r\n\r\r",    "5;\x01\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(dechunk(bad[i], 100, 100, out, &n, &status) == HTTP_PARSE_ERROR, "case %zu",
                      i);
        ck_assert_int_eq(status, 400);
    }
    /* Incomplete: MORE. */
    ck_assert_int_eq(dechunk("5\r\nhel", 100, 100, out, &n, &status), HTTP_PARSE_MORE);
    ck_assert_int_eq(dechunk("0\r\n", 100, 100, out, &n, &status), HTTP_PARSE_MORE);
}
END_TEST

/* ---- query ------------------------------------------------------------------------------- */

START_TEST(test_query)
{
    arena a = {0};
    query_pair *p;
    size_t n;

    ck_assert_int_eq(
        query_decode("key=a+b%20c&Key=X&value=%e2%9c%93&&x=1=2&empty=&key=second&", &a, &p, &n),
        NT_OK);
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(query_find(p, n, "key"), "a b c");
    ck_assert_str_eq(query_find(p, n, "Key"), "X");
    ck_assert_str_eq(query_find(p, n, "value"), "\xe2\x9c\x93");
    ck_assert_str_eq(query_find(p, n, "x"), "1=2");
    ck_assert_str_eq(query_find(p, n, "empty"), "");
    ck_assert_ptr_null(query_find(p, n, "KEY"));
    ck_assert_int_eq(query_decode("a=%zz%4&b=%41", &a, &p, &n), NT_OK);
    ck_assert_str_eq(query_find(p, n, "a"), "%zz%4");
    ck_assert_str_eq(query_find(p, n, "b"), "A");
    ck_assert_int_eq(query_decode("a+b%3D=1", &a, &p, &n), NT_OK);
    ck_assert_str_eq(query_find(p, n, "a b="), "1");
    ck_assert_int_eq(query_decode(NULL, &a, &p, &n), NT_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(query_decode("", &a, &p, &n), NT_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(query_decode("flag", &a, &p, &n), NT_EINVAL);
    ck_assert_int_eq(query_decode("a=1&=2", &a, &p, &n), NT_EINVAL);
    ck_assert_int_eq(query_decode("a=x%00y", &a, &p, &n), NT_EINVAL);
    arena_free(&a);
}
END_TEST

/* ---- addresses --------------------------------------------------------------------------- */

static void
addr(const char *text, unsigned char out[16])
{
    ck_assert_msg(cidr_addr_parse(text, out) == 0, "%s", text);
}

START_TEST(test_cidr)
{
    cidr_list l;
    char err[160];
    unsigned char a[16];

    ck_assert_int_eq(
        cidr_list_parse("127.0.0.0/8, ::1/128,10.1.2.3 , 2001:db8::/32", &l, err, sizeof(err)), 0);
    ck_assert_int_eq(l.n, 4);
    addr("127.0.0.1", a);
    ck_assert(cidr_list_match(&l, a));
    addr("127.255.1.1", a);
    ck_assert(cidr_list_match(&l, a));
    addr("128.0.0.1", a);
    ck_assert(!cidr_list_match(&l, a));
    addr("::ffff:127.0.0.2", a);
    ck_assert(cidr_list_match(&l, a));
    addr("::1", a);
    ck_assert(cidr_list_match(&l, a));
    addr("::2", a);
    ck_assert(!cidr_list_match(&l, a));
    addr("10.1.2.3", a);
    ck_assert(cidr_list_match(&l, a));
    addr("10.1.2.4", a);
    ck_assert(!cidr_list_match(&l, a));
    addr("2001:db8:ffff::1", a);
    ck_assert(cidr_list_match(&l, a));
    addr("2001:db9::1", a);
    ck_assert(!cidr_list_match(&l, a));
    ck_assert_int_eq(cidr_list_parse("", &l, err, sizeof(err)), 0);
    ck_assert_int_eq(l.n, 0);
    ck_assert(!cidr_list_match(&l, a));
    ck_assert_int_eq(cidr_list_parse("0.0.0.0/0", &l, err, sizeof(err)), 0);
    addr("8.8.8.8", a);
    ck_assert(cidr_list_match(&l, a));
    ck_assert_int_eq(cidr_list_parse("10.0.0.0/33", &l, err, sizeof(err)), -1);
    ck_assert_int_eq(cidr_list_parse("10.0.0.0/", &l, err, sizeof(err)), -1);
    ck_assert_int_eq(cidr_list_parse("localhost", &l, err, sizeof(err)), -1);
    ck_assert_int_eq(cidr_list_parse("::/129", &l, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_addrtab)
{
    addrtab t;
    unsigned char a[16] = {0};

    ck_assert_int_eq(addrtab_init(&t, 100), NT_OK);
    for (int i = 0; i < 100; i++) {
        a[15] = (unsigned char)i;
        addrtab_entry *e = addrtab_get(&t, a);
        ck_assert_ptr_nonnull(e);
        e->count = (uint32_t)i + 1;
    }
    a[15] = 200;
    ck_assert_ptr_null(addrtab_get(&t, a)); /* full */
    for (int i = 0; i < 100; i += 2) {
        a[15] = (unsigned char)i;
        addrtab_remove(&t, addrtab_find(&t, a));
    }
    for (int i = 0; i < 100; i++) {
        a[15] = (unsigned char)i;
        addrtab_entry *e = addrtab_find(&t, a);
        if (i % 2 == 0)
            ck_assert_ptr_null(e);
        else
            ck_assert_msg(e != NULL && e->count == (uint32_t)i + 1, "entry %d", i);
    }
    addrtab_fini(&t);
    /* IPv6 addresses count by /64. */
    unsigned char k1[16], k2[16], x[16], y[16];
    addr("2001:db8:1:2::1", x);
    addr("2001:db8:1:2:ffff::9", y);
    addrtab_key_of(x, k1);
    addrtab_key_of(y, k2);
    ck_assert(memcmp(k1, k2, 16) == 0);
    addr("10.0.0.1", x);
    addr("10.0.0.2", y);
    addrtab_key_of(x, k1);
    addrtab_key_of(y, k2);
    ck_assert(memcmp(k1, k2, 16) != 0);
}
END_TEST

START_TEST(test_throttle)
{
    throttle *t = throttle_new(3, 10, 4);
    unsigned char a[16], b[16];

    addr("192.0.2.1", a);
    addr("192.0.2.2", b);
    ck_assert_int_eq(throttle_blocked(t, a, 1000), 0);
    throttle_fail(t, a, 1000);
    throttle_fail(t, a, 2000);
    ck_assert_int_eq(throttle_blocked(t, a, 2000), 0);
    throttle_fail(t, a, 3000);
    /* Blocked until the window that began at 1000 ms ends (11000 ms): 8 s from 3000. */
    ck_assert_int_eq(throttle_blocked(t, a, 3000), 8);
    ck_assert_int_eq(throttle_blocked(t, a, 10500), 1);
    ck_assert_int_eq(throttle_blocked(t, b, 3000), 0);  /* another address */
    ck_assert_int_eq(throttle_blocked(t, a, 11000), 0); /* the window is over */
    throttle_fail(t, a, 11000);
    ck_assert_int_eq(throttle_blocked(t, a, 11001), 0); /* a new window: 1 failure */
    /* Bounded: more addresses than the capacity still work (old ones are dropped). */
    for (int i = 0; i < 50; i++) {
        unsigned char c[16];
        char text[32];
        snprintf(text, sizeof(text), "198.51.100.%d", i);
        addr(text, c);
        for (int k = 0; k < 3; k++)
            throttle_fail(t, c, 20000);
        ck_assert_int_gt(throttle_blocked(t, c, 20000), 0);
    }
    throttle_free(t);
}
END_TEST

START_TEST(test_ipcount)
{
    ipcount *c = ipcount_new(2, 8);
    unsigned char a[16], b[16];

    addr("192.0.2.1", a);
    addr("2001:db8::1", b);
    ck_assert_int_eq(ipcount_acquire(c, a), NT_OK);
    ck_assert_int_eq(ipcount_acquire(c, a), NT_OK);
    ck_assert_int_eq(ipcount_acquire(c, a), NT_EUNAVAIL);
    ck_assert_int_eq(ipcount_acquire(c, b), NT_OK);
    ipcount_release(c, a);
    ck_assert_int_eq(ipcount_acquire(c, a), NT_OK);
    ipcount_release(c, a);
    ipcount_release(c, a);
    ipcount_release(c, b);
    ck_assert_int_eq(ipcount_acquire(c, a), NT_OK);
    ipcount_free(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("http_parse");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_simple_get);
    tcase_add_test(tc, test_framing_fields);
    tcase_add_test(tc, test_targets);
    tcase_add_loop_test(tc, test_refused, 0, (int)(sizeof(refused) / sizeof(refused[0])));
    tcase_add_test(tc, test_limits_and_partial);
    tcase_add_test(tc, test_chunked);
    tcase_add_test(tc, test_query);
    tcase_add_test(tc, test_cidr);
    tcase_add_test(tc, test_addrtab);
    tcase_add_test(tc, test_throttle);
    tcase_add_test(tc, test_ipcount);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

/* Strict HTTP/1.1 request parsing (see http_parse.h). */
#include "http_parse.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
 * "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static const unsigned char tchar_table[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static const char *const method_names[] = {"GET",   "HEAD",    "POST",  "PUT",     "DELETE",
                                           "PATCH", "OPTIONS", "TRACE", "CONNECT", "OTHER"};

int
http_is_tchar(unsigned char c)
{
    return tchar_table[c];
}

const char *
http_method_name(http_method m)
{
    return (unsigned)m <= HTTP_OTHER ? method_names[m] : "OTHER";
}

/* Records an error on h; returns HTTP_PARSE_ERROR. */
static int head_fail(http_head *h, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
head_fail(http_head *h, int status, const char *fmt, ...)
{
    va_list ap;

    h->status = status;
    va_start(ap, fmt);
    vsnprintf(h->error, sizeof(h->error), fmt, ap);
    va_end(ap);
    return HTTP_PARSE_ERROR;
}

/* A field-value byte (RFC 9110 5.5): VCHAR, obs-text, SP or HTAB. */
/* A byte a field value may hold: HTAB, SP, visible ASCII and obs-text (0x80..0xff). */
static inline int
value_byte_ok(unsigned char c)
{
    return c >= 0x20 ? c != 0x7f : c == '\t';
}

static http_method
method_of(const char *m, size_t n)
{
    for (int i = 0; i < HTTP_OTHER; i++)
        if (strlen(method_names[i]) == n && memcmp(method_names[i], m, n) == 0)
            return (http_method)i;
    return HTTP_OTHER;
}

/* Parses the request line buf[0..end) (end is its CR). */
static int
parse_request_line(char *buf, size_t end, http_head *h)
{
    size_t i = 0, t0, t1;

    while (i < end && tchar_table[(unsigned char)buf[i]])
        i++;
    if (i == 0 || i == end || buf[i] != ' ')
        return head_fail(h, 400, "malformed request line: expected METHOD SP TARGET SP HTTP/1.1");
    h->method = method_of(buf, i);
    h->method_text = 0;
    buf[i++] = '\0';
    t0 = i;
    while (i < end && (unsigned char)buf[i] > 0x20 && buf[i] != 0x7f)
        i++;
    t1 = i;
    if (t1 == t0 || i == end || buf[i] != ' ')
        return head_fail(h, 400,
                         "malformed request line: the target must be one word of visible "
                         "characters followed by the HTTP version");
    i++;
    if (end - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
        (buf[i + 7] != '0' && buf[i + 7] != '1'))
        return head_fail(h, 400,
                         "unsupported HTTP version '%.*s': HTTP/1.0 and HTTP/1.1 are served",
                         (int)(end - i < 16 ? end - i : 16), buf + i);
    h->minor = buf[i + 7] - '0';
    buf[t1] = '\0';
    h->path = (uint32_t)t0;
    h->query = HTTP_NONE;
    return HTTP_PARSE_DONE;
}

/* Splits the target at h->path into path and query, resolving absolute-form targets. */
static int
parse_target(char *buf, http_head *h)
{
    char *t = buf + h->path, *q;

    if (t[0] != '/' && !(h->method == HTTP_OPTIONS && strcmp(t, "*") == 0) &&
        h->method != HTTP_CONNECT) {
        size_t skip = strncasecmp(t, "http://", 7) == 0    ? 7
                      : strncasecmp(t, "https://", 8) == 0 ? 8
                                                           : 0;
        if (skip == 0)
            return head_fail(h, 400, "the request target must be an absolute path ('/...')");
        t += skip;
        t += strcspn(t, "/?");
        h->path = *t == '/' ? (uint32_t)(t - buf) : HTTP_NONE;
    }
    q = strchr(t, '?');
    if (q != NULL) {
        if (h->path == HTTP_NONE || q == buf + h->path)
            h->path = HTTP_NONE; /* "http://host?x" or "?x": the path is "/" */
        *q = '\0';
        h->query = (uint32_t)(q + 1 - buf);
    }
    return HTTP_PARSE_DONE;
}

/* Tracks what the framing fields said. */
typedef struct framing {
    int hosts, te_seen, conn_close, conn_keep;
} framing;

/* Reads the Connection field's tokens. */
static void
parse_connection(const char *v, framing *f)
{
    while (*v != '\0') {
        size_t n;
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        n = strcspn(v, ", \t");
        if (n == 5 && strncasecmp(v, "close", 5) == 0)
            f->conn_close = 1;
        else if (n == 10 && strncasecmp(v, "keep-alive", 10) == 0)
            f->conn_keep = 1;
        v += n;
    }
}

/* Applies one field the framing depends on. */
static int
parse_special(const char *name, const char *value, http_head *h, framing *f)
{
    switch (name[0] | 0x20) {
    case 'c':
        if (strcasecmp(name, "content-length") == 0) {
            uint64_t n = 0;
            if (h->has_length)
                return head_fail(h, 400, "Content-Length: the header is given more than once");
            if (value[0] == '\0')
                return head_fail(h, 400, "Content-Length: expected digits, got nothing");
            for (const char *p = value; *p != '\0'; p++) {
                if (*p < '0' || *p > '9')
                    return head_fail(h, 400, "Content-Length: expected plain digits, got '%.40s'",
                                     value);
                n = n < UINT64_MAX / 20 ? n * 10 + (uint64_t)(*p - '0') : UINT64_MAX / 2;
            }
            h->has_length = 1;
            h->content_length = n;
        } else if (strcasecmp(name, "connection") == 0) {
            parse_connection(value, f);
        }
        break;
    case 't':
        if (strcasecmp(name, "transfer-encoding") == 0) {
            if (f->te_seen)
                return head_fail(h, 400, "Transfer-Encoding: the header is given more than once");
            f->te_seen = 1;
            if (strcasecmp(value, "chunked") != 0)
                return head_fail(
                    h, 400, "Transfer-Encoding: only 'chunked' is supported, got '%.40s'", value);
            h->chunked = 1;
        }
        break;
    case 'h':
        if (strcasecmp(name, "host") == 0 && ++f->hosts > 1)
            return head_fail(h, 400, "Host: the header is given more than once");
        break;
    case 'e':
        if (strcasecmp(name, "expect") == 0 && strcasecmp(value, "100-continue") == 0)
            h->expect_continue = 1;
        break;
    default:
        break;
    }
    return HTTP_PARSE_DONE;
}

/* Parses one field line buf[i..end) (end is its CR). */
static int
parse_field(char *buf, size_t i, size_t end, http_head *h, framing *f)
{
    size_t n = i, v, ve;

    if (buf[i] == ' ' || buf[i] == '\t')
        return head_fail(h, 400, "a header line starts with whitespace (obs-fold is not accepted)");
    while (n < end && tchar_table[(unsigned char)buf[n]])
        n++;
    if (n == end)
        return head_fail(h, 400, "header line without a colon: '%.*s'",
                         (int)(end - i < 40 ? end - i : 40), buf + i);
    if (buf[n] != ':' || n == i)
        return head_fail(h, 400, "header name '%.*s' is not a token (RFC 9110)",
                         (int)(n + 1 - i < 40 ? n + 1 - i : 40), buf + i);
    if (h->nfields == HTTP_MAX_FIELDS)
        return head_fail(h, 431, "more than %d header fields", HTTP_MAX_FIELDS);
    buf[n] = '\0';
    for (v = n + 1; v < end && (buf[v] == ' ' || buf[v] == '\t'); v++)
        ;
    for (size_t k = v; k < end; k++)
        if (!value_byte_ok((unsigned char)buf[k]))
            return head_fail(h, 400, "header %.40s: the value holds a control character", buf + i);
    for (ve = end; ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'); ve--)
        ;
    buf[ve] = '\0';
    h->fields[h->nfields].name = (uint32_t)i;
    h->fields[h->nfields].value = (uint32_t)v;
    h->nfields++;
    return parse_special(buf + i, buf + v, h, f);
}

/* The checks that need every field. */
static int
check_framing(http_head *h, const framing *f)
{
    if (h->has_length && h->chunked)
        return head_fail(h, 400, "Content-Length and Transfer-Encoding are both given");
    if (h->chunked && h->minor == 0)
        return head_fail(h, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (h->minor == 1 && f->hosts == 0)
        return head_fail(h, 400, "Host: required in HTTP/1.1");
    if ((h->method == HTTP_HEAD || h->method == HTTP_TRACE || h->method == HTTP_CONNECT) &&
        (h->chunked || (h->has_length && h->content_length > 0)))
        return head_fail(h, 400, "%s requests must not have a body", method_names[h->method]);
    h->keep_alive = h->minor == 1 ? !f->conn_close : f->conn_keep && !f->conn_close;
    return HTTP_PARSE_DONE;
}

/* Returns an error when the bytes so far cannot start a request line (TLS, binary junk). */
static int
check_start(const char *buf, size_t start, size_t len, http_head *h)
{
    for (size_t i = start; i < len; i++) {
        if (i == start && buf[i] == '\r' && i + 1 == len)
            return HTTP_PARSE_MORE; /* perhaps an empty line before the request line */
        if (buf[i] == ' ')
            return i > start ? HTTP_PARSE_MORE
                             : head_fail(h, 400, "malformed request line: no method");
        if (!tchar_table[(unsigned char)buf[i]])
            return head_fail(h, 400, "malformed request line: the method is not a token");
    }
    return HTTP_PARSE_MORE;
}

int
http_parse_head(char *buf, size_t len, size_t max_head, size_t *scanned, http_head *h)
{
    size_t start = 0, from, lim, end, i;
    const char *e;
    framing f = {0, 0, 0, 0};
    int rc;

    /* RFC 9112 2.2: empty lines before the request line are ignored. */
    while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
        start += 2;
    memset(h, 0, offsetof(http_head, fields));
    memset(&h->head_len, 0, sizeof(*h) - offsetof(http_head, head_len));
    /* Empty lines before the request line count towards the limit too. */
    lim = len < max_head ? len : max_head;
    from = *scanned > start + 3 ? *scanned - 3 : start;
    e = lim > from ? memmem(buf + from, lim - from, "\r\n\r\n", 4) : NULL;
    if (e == NULL) {
        if (len >= max_head)
            return head_fail(h, 431,
                             "the request line and headers are longer than %zu bytes "
                             "([server] max_header_bytes)",
                             max_head);
        *scanned = len;
        if (check_start(buf, start, len, h) != HTTP_PARSE_MORE)
            return HTTP_PARSE_ERROR;
        return HTTP_PARSE_MORE;
    }
    end = (size_t)(e - buf);
    /* Every line of the head ends in CRLF; a CR or LF anywhere else is refused. (memchr
     * looks at many bytes per step: a byte loop here was a tenth of a JWT request.) */
    if (memchr(buf + start, '\0', end - start) != NULL)
        return head_fail(h, 400, "a NUL byte in the request head");
    for (i = start; i < end && (e = memchr(buf + i, '\r', end - i)) != NULL;) {
        i = (size_t)(e - buf);
        if (buf[i + 1] != '\n')
            return head_fail(h, 400, "a bare CR or LF in the request head");
        i += 2;
    }
    for (i = start; i < end && (e = memchr(buf + i, '\n', end - i)) != NULL;) {
        i = (size_t)(e - buf);
        if (i == start || buf[i - 1] != '\r')
            return head_fail(h, 400, "a bare CR or LF in the request head");
        i++;
    }
    e = memchr(buf + start, '\r', end + 2 - start);
    if ((rc = parse_request_line(buf + start, (size_t)(e - buf) - start, h)) != HTTP_PARSE_DONE)
        return rc;
    h->method_text += (uint32_t)start;
    h->path += (uint32_t)start;
    for (i = (size_t)(e - buf) + 2; i < end + 2;) {
        const char *cr = memchr(buf + i, '\r', end + 2 - i);
        if ((rc = parse_field(buf, i, (size_t)(cr - buf), h, &f)) != HTTP_PARSE_DONE)
            return rc;
        i = (size_t)(cr - buf) + 2;
    }
    if ((rc = check_framing(h, &f)) != HTTP_PARSE_DONE)
        return rc;
    if ((rc = parse_target(buf, h)) != HTTP_PARSE_DONE)
        return rc;
    if (h->method == HTTP_OTHER)
        return head_fail(h, 501, "method '%.20s' is not implemented", buf + h->method_text);
    h->head_len = end + 4;
    return HTTP_PARSE_DONE;
}

const char *
http_head_path(const http_head *h, const char *base)
{
    return h->path == HTTP_NONE ? "/" : base + h->path;
}

const char *
http_head_field(const http_head *h, const char *base, const char *name)
{
    for (int i = 0; i < h->nfields; i++)
        if (strcasecmp(base + h->fields[i].name, name) == 0)
            return base + h->fields[i].value;
    return NULL;
}

int
http_head_count(const http_head *h, const char *base, const char *name)
{
    int n = 0;

    for (int i = 0; i < h->nfields; i++)
        n += strcasecmp(base + h->fields[i].name, name) == 0;
    return n;
}

/* ---- chunked ----------------------------------------------------------------------------- */

enum {
    CK_SIZE,
    CK_EXT,
    CK_SIZE_LF,
    CK_DATA,
    CK_DATA_CR,
    CK_DATA_LF,
    CK_TRAILER_START,
    CK_TRAILER,
    CK_TRAILER_LF,
    CK_END_LF,
    CK_DONE
};

/* The longest chunk-size line (size and extensions). */
#define CK_MAX_LINE 4096

static int
ck_fail(http_chunked *c, int status, const char *msg)
{
    c->status = status;
    c->error = msg;
    return HTTP_PARSE_ERROR;
}

static int
ck_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int
http_chunked_decode(http_chunked *c, char *buf, size_t len, size_t *rd, size_t *wr,
                    uint64_t max_body, size_t max_trailer)
{
    while (*rd < len) {
        unsigned char ch = (unsigned char)buf[*rd];
        int v;
        size_t n;

        switch (c->state) {
        case CK_SIZE:
            if ((v = ck_hex((char)ch)) >= 0) {
                if (c->digits == 16)
                    return ck_fail(c, 413, "chunk size: too many digits");
                c->left = c->left * 16 + (uint64_t)v;
                c->digits++;
            } else if (c->digits == 0) {
                return ck_fail(c, 400, "chunk size: expected hexadecimal digits");
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->state = CK_EXT;
            } else if (ch == '\r') {
                c->state = CK_SIZE_LF;
            } else {
                return ck_fail(c, 400, "chunk size: expected hexadecimal digits");
            }
            if (++c->line > CK_MAX_LINE)
                return ck_fail(c, 400, "chunk size line too long");
            (*rd)++;
            break;
        case CK_EXT:
            if (ch == '\r')
                c->state = CK_SIZE_LF;
            else if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
                return ck_fail(c, 400, "chunk extension: control character");
            if (++c->line > CK_MAX_LINE)
                return ck_fail(c, 400, "chunk size line too long");
            (*rd)++;
            break;
        case CK_SIZE_LF:
            if (ch != '\n')
                return ck_fail(c, 400, "chunk size line: expected CRLF");
            (*rd)++;
            c->line = 0;
            c->digits = 0;
            if (c->left == 0) {
                c->state = CK_TRAILER_START;
            } else {
                if (c->left > max_body || c->total + c->left > max_body)
                    return ck_fail(c, 413, "chunked body larger than the limit");
                c->state = CK_DATA;
            }
            break;
        case CK_DATA:
            n = len - *rd < c->left ? len - *rd : (size_t)c->left;
            if (*wr != *rd)
                memmove(buf + *wr, buf + *rd, n);
            *wr += n;
            *rd += n;
            c->left -= n;
            c->total += n;
            if (c->left == 0)
                c->state = CK_DATA_CR;
            break;
        case CK_DATA_CR:
            if (ch != '\r')
                return ck_fail(c, 400, "chunk data: expected CRLF after the chunk");
            c->state = CK_DATA_LF;
            (*rd)++;
            break;
        case CK_DATA_LF:
            if (ch != '\n')
                return ck_fail(c, 400, "chunk data: expected CRLF after the chunk");
            c->state = CK_SIZE;
            (*rd)++;
            break;
        case CK_TRAILER_START:
            if (ch == '\r') {
                c->state = CK_END_LF;
                (*rd)++;
            } else {
                c->state = CK_TRAILER;
            }
            break;
        case CK_TRAILER:
            if (ch == '\r')
                c->state = CK_TRAILER_LF;
            else if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
                return ck_fail(c, 400, "trailer field: control character");
            if (++c->trailer > max_trailer)
                return ck_fail(c, 431, "trailer fields too long");
            (*rd)++;
            break;
        case CK_TRAILER_LF:
            if (ch != '\n')
                return ck_fail(c, 400, "trailer field: expected CRLF");
            c->state = CK_TRAILER_START;
            (*rd)++;
            break;
        case CK_END_LF:
            if (ch != '\n')
                return ck_fail(c, 400, "chunked body: expected CRLF at the end");
            (*rd)++;
            c->state = CK_DONE;
            return HTTP_PARSE_DONE;
        default:
            return HTTP_PARSE_DONE;
        }
    }
    return c->state == CK_DONE ? HTTP_PARSE_DONE : HTTP_PARSE_MORE;
}

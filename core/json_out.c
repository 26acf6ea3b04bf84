/* Compact JSON text without jansson's dumper (see json_out.h). */
#include "json_out.h"

#include <string.h>

#include <nettu/plugin.h>

/* 1 when byte c is written escaped in a JSON string: '"', '\\' and the control characters. */
static inline int
out_escaped(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* The escape of c (out_escaped) into e; its length. As jansson writes it: the short forms,
 * else "\u00XX" with upper-case hex digits. */
static size_t
out_escape(unsigned char c, char e[6])
{
    static const char hex[] = "0123456789ABCDEF";
    char two = 0;

    switch (c) {
    case '"':
        two = '"';
        break;
    case '\\':
        two = '\\';
        break;
    case '\b':
        two = 'b';
        break;
    case '\f':
        two = 'f';
        break;
    case '\n':
        two = 'n';
        break;
    case '\r':
        two = 'r';
        break;
    case '\t':
        two = 't';
        break;
    default:
        break;
    }
    e[0] = '\\';
    if (two != 0) {
        e[1] = two;
        return 2;
    }
    memcpy(e + 1, "u00", 3);
    e[4] = hex[c >> 4];
    e[5] = hex[c & 15];
    return 6;
}

/* A JSON string: '"', '\\' and the control characters escaped as jansson does. The common
 * case (nothing to escape) is one copy. */
static int
out_string(bytebuf *b, const char *s, size_t n)
{
    size_t i = 0, from = 0;
    int err;

    while (i < n && !out_escaped((unsigned char)s[i]))
        i++;
    err = bytebuf_reserve(b, n + 2);
    if (err != NT_OK)
        return err;
    b->data[b->len++] = '"';
    while (i < n && err == NT_OK) {
        char e[6];
        size_t k = out_escape((unsigned char)s[i], e);
        err = bytebuf_add(b, s + from, i - from);
        if (err == NT_OK)
            err = bytebuf_add(b, e, k);
        from = ++i;
        while (i < n && !out_escaped((unsigned char)s[i]))
            i++;
    }
    if (err == NT_OK)
        err = bytebuf_add(b, s + from, n - from);
    return err == NT_OK ? bytebuf_add(b, "\"", 1) : err;
}

static int
out_value(const json_t *v, bytebuf *b, int depth)
{
    const char *key;
    json_t *item;
    size_t i;
    int err = NT_OK;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (depth >= JSON_OUT_MAX_DEPTH)
            return NT_EINVAL;
        err = bytebuf_add(b, "{", 1);
        i = 0;
        for (void *it = json_object_iter((json_t *)v); it != NULL && err == NT_OK;
             it = json_object_iter_next((json_t *)v, it), i++) {
            key = json_object_iter_key(it);
            if (i > 0)
                err = bytebuf_add(b, ",", 1);
            if (err == NT_OK)
                err = out_string(b, key, json_object_iter_key_len(it));
            if (err == NT_OK)
                err = bytebuf_add(b, ":", 1);
            if (err == NT_OK)
                err = out_value(json_object_iter_value(it), b, depth + 1);
        }
        return err == NT_OK ? bytebuf_add(b, "}", 1) : err;
    case JSON_ARRAY:
        if (depth >= JSON_OUT_MAX_DEPTH)
            return NT_EINVAL;
        err = bytebuf_add(b, "[", 1);
        json_array_foreach(v, i, item)
        {
            if (err == NT_OK && i > 0)
                err = bytebuf_add(b, ",", 1);
            if (err == NT_OK)
                err = out_value(item, b, depth + 1);
        }
        return err == NT_OK ? bytebuf_add(b, "]", 1) : err;
    case JSON_STRING:
        return out_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        json_int_t n = json_integer_value(v);
        if (n < 0 && (err = bytebuf_add(b, "-", 1)) != NT_OK)
            return err;
        /* the magnitude of INT64_MIN too: negate as unsigned */
        return bytebuf_add_uint(b, n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n);
    }
    case JSON_TRUE:
        return bytebuf_add(b, "true", 4);
    case JSON_FALSE:
        return bytebuf_add(b, "false", 5);
    case JSON_NULL:
        return bytebuf_add(b, "null", 4);
    case JSON_REAL:
    default:
        return NT_EINVAL;
    }
}

int
json_out_compact(const json_t *v, bytebuf *out)
{
    if (v == NULL)
        return NT_EINVAL;
    return out_value(v, out, 0);
}

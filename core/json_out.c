/* Compact JSON text without jansson's dumper (see json_out.h). */
#include "json_out.h"

#include <string.h>

#include <nettu/plugin.h>

/* A JSON string: '"', '\\' and the control characters escaped as jansson does. */
static int
out_string(bytebuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, from = 0;
    int err = bytebuf_add(b, "\"", 1);

    for (i = 0; i < n && err == NT_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        const char *esc;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        err = bytebuf_add(b, s + from, i - from);
        from = i + 1;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            esc = NULL;
            break;
        }
        if (err == NT_OK)
            err = esc != NULL ? bytebuf_add(b, esc, 2) : bytebuf_add(b, u, sizeof(u));
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

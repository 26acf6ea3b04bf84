/* Compact JSON text of stored values (metadata, id lists, rules) with the host's serialiser
 * (core/json_out.c, compiled into this library): jansson's json_dumps runs a cycle check, a
 * hash table per container and a callback per fragment, about 5k instructions for a small
 * object; a booking stores four such texts.
 */
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "json_out.h"

/* 1 when the keys of every object in v are in ascending byte order (as JSON_SORT_KEYS
 * writes them) up to depth levels down; 0 otherwise or when deeper. */
static int
ntc_json_sorted(const json_t *v, int depth)
{
    const char *prev = NULL, *key;
    size_t i;
    json_t *x;

    if (depth > JSON_OUT_MAX_DEPTH)
        return 0;
    if (json_is_array(v)) {
        json_array_foreach((json_t *)v, i, x) if (!ntc_json_sorted(x, depth + 1)) return 0;
        return 1;
    }
    if (!json_is_object(v))
        return 1;
    json_object_foreach((json_t *)v, key, x)
    {
        if ((prev != NULL && strcmp(prev, key) >= 0) || !ntc_json_sorted(x, depth + 1))
            return 0;
        prev = key;
    }
    return 1;
}

char *
ntc_json_dump(const json_t *v, int sort_keys)
{
    bytebuf b = {0};
    int rc;

    if (v == NULL)
        return NULL;
    if (sort_keys && !ntc_json_sorted(v, 0))
        return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    rc = json_out_compact(v, &b);
    if (rc == NT_OK)
        rc = bytebuf_add(&b, "", 1);
    if (rc == NT_OK)
        return b.data;
    bytebuf_free(&b);
    if (rc != NT_EINVAL)
        return NULL;
    /* a real number, or deeper than the serialiser goes */
    return json_dumps(v, JSON_COMPACT | (sort_keys ? JSON_SORT_KEYS : 0) | JSON_ENCODE_ANY);
}

/* openapi: route templates to OpenAPI path parameters and operation ids. The host's router
 * and OpenAPI share the {name} syntax, so a template is already an OpenAPI path key; what is
 * left is to describe its parameters.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oa.h"

/* 1 when the n-byte name ends in "Id" (the core checks those as UUIDs). */
static int
oa_is_id(const char *name, size_t n)
{
    return n >= 2 && name[n - 2] == 'I' && name[n - 1] == 'd';
}

/* One path parameter object for the n-byte name. */
static json_t *
oa_param(const char *name, size_t n)
{
    json_t *schema = oa_is_id(name, n) ? json_pack("{s:s, s:s}", "type", "string", "format", "uuid")
                                       : json_pack("{s:s}", "type", "string");

    if (schema == NULL)
        return NULL;
    return json_pack("{s:s%, s:s, s:b, s:o}", "name", name, n, "in", "path", "required", 1,
                     "schema", schema);
}

/* See oa.h: one parameter per {name} segment, in order. */
json_t *
oa_path_params(const char *path)
{
    json_t *params = json_array(), *p;
    const char *seg = path, *end;

    if (params == NULL || path == NULL || path[0] != '/')
        goto fail;
    while (seg != NULL) {
        seg++; /* past '/' */
        end = strchr(seg, '/');
        size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (n >= 2 && seg[0] == '{' && seg[n - 1] == '}') {
            if (n == 2 || memchr(seg + 1, '{', n - 2) != NULL || memchr(seg + 1, '}', n - 2))
                goto fail;
            if ((p = oa_param(seg + 1, n - 2)) == NULL || json_array_append_new(params, p) != 0)
                goto fail;
        } else if (memchr(seg, '{', n) != NULL || memchr(seg, '}', n) != NULL) {
            goto fail; /* a {param} must be a whole segment */
        }
        seg = end;
    }
    return params;
fail:
    json_decref(params);
    return NULL;
}

/* Appends the n bytes of s to out camel-cased: the first letter after a dropped character
 * (or the start, when `cap`) upper-case. Returns the new end of out. */
static char *
oa_camel(char *out, const char *s, size_t n, int cap)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c)) {
            cap = 1;
            continue;
        }
        *out++ = cap ? (char)toupper(c) : (char)c;
        cap = 0;
    }
    return out;
}

/* See oa.h. */
char *
oa_operation_id(const char *method, const char *path)
{
    size_t mlen, plen;
    char *id, *o;
    const char *seg, *end;

    if (method == NULL || path == NULL)
        return NULL;
    mlen = strlen(method);
    plen = strlen(path);
    /* a literal segment yields at most its own length, a {name} segment "By" + name: also
     * at most its length; the slashes yield nothing */
    if ((id = malloc(mlen + plen + 1)) == NULL)
        return NULL;
    o = id;
    for (size_t i = 0; i < mlen; i++)
        *o++ = (char)tolower((unsigned char)method[i]);
    for (seg = path; seg != NULL && *seg != '\0'; seg = end) {
        if (*seg == '/')
            seg++;
        end = strchr(seg, '/');
        size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (n >= 2 && seg[0] == '{' && seg[n - 1] == '}') {
            *o++ = 'B';
            *o++ = 'y';
            o = oa_camel(o, seg + 1, n - 2, 1);
        } else {
            o = oa_camel(o, seg, n, 1);
        }
    }
    *o = '\0';
    return id;
}

/* See oa.h. */
const char *
oa_auth_name(nt_auth_kind auth)
{
    switch (auth) {
    case NT_AUTH_PUBLIC:
        return "public";
    case NT_AUTH_ADMIN:
        return "admin";
    case NT_AUTH_USER:
        return "user";
    case NT_AUTH_ADMIN_OR_USER:
        return "admin_or_user";
    case NT_AUTH_PUBLIC_ACCOUNT:
        return "public_account";
    default:
        return NULL;
    }
}

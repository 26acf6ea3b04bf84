/* Helpers for the memo of a group commit (ABI 1.6 memo_get / memo_put): whether a request
 * may use it, keys, and arrays of fixed-size items kept in it.
 */
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* An array as the memo keeps it. */
typedef struct ntc_kept_array {
    size_t n;
    unsigned char v[]; /* n items */
} ntc_kept_array;

int
ntc_memo_on(const nt_host_api *api, const nt_req *req)
{
    return req != NULL && NT_HAS_MEMBER(api, nt_host_api, memo_put) && api->memo_get != NULL &&
           api->memo_put != NULL;
}

int
ntc_key(char *out, size_t cap, size_t n, const char *const *parts)
{
    size_t len = 0;

    if (cap == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = parts[i] != NULL ? parts[i] : "-";
        size_t k = strlen(s);
        if (len + k + (i > 0) >= cap) {
            out[0] = '\0';
            return 0;
        }
        if (i > 0)
            out[len++] = '/';
        memcpy(out + len, s, k);
        len += k;
    }
    out[len] = '\0';
    return 1;
}

int
ntc_memo_get_array(const nt_host_api *api, nt_req *req, const char *key, size_t size, void **out,
                   size_t *n)
{
    const ntc_kept_array *kept = api->memo_get(req, key);

    if (kept == NULL)
        return 0;
    *out = NULL;
    *n = kept->n;
    if (kept->n == 0)
        return 1;
    if ((*out = malloc(kept->n * size)) == NULL)
        return -1;
    memcpy(*out, kept->v, kept->n * size);
    return 1;
}

void
ntc_memo_keep_array(const nt_host_api *api, nt_req *req, const char *key, const void *v, size_t n,
                    size_t size)
{
    ntc_kept_array *copy = malloc(sizeof(*copy) + n * size);

    if (copy == NULL)
        return;
    copy->n = n;
    if (n > 0)
        memcpy(copy->v, v, n * size);
    if (api->memo_put(req, key, copy, free) != NT_OK)
        free(copy);
}

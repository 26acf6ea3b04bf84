/* JSON field readers shared by the host table and the plugin tests' fake host. */
#include "jsonfield.h"

#include <string.h>

/* Shared front part: finds obj[key] and handles absent/null/required. Returns 1 when a
 * value is there to check, 0 when absent (with *rc set). */
static int
jsonfield_find(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key, int required,
               int *present, json_t **v, int *rc)
{
    *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (present != NULL)
        *present = 0;
    *rc = NT_OK;
    if (*v == NULL || json_is_null(*v)) {
        if (required)
            *rc = fail(r, NT_EINVAL, "%s: required", key);
        return 0;
    }
    if (present != NULL)
        *present = 1;
    return 1;
}

int
jsonfield_int(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key, int required,
              int64_t *out, int *present)
{
    json_t *v;
    int rc;

    if (!jsonfield_find(fail, r, obj, key, required, present, &v, &rc))
        return rc;
    if (!json_is_integer(v))
        return fail(r, NT_EINVAL, "%s: expected an integer", key);
    *out = json_integer_value(v);
    return NT_OK;
}

int
jsonfield_str(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key, int required,
              const char **out, int *present)
{
    json_t *v;
    int rc;

    if (!jsonfield_find(fail, r, obj, key, required, present, &v, &rc))
        return rc;
    if (!json_is_string(v))
        return fail(r, NT_EINVAL, "%s: expected a string", key);
    *out = json_string_value(v);
    return NT_OK;
}

int
jsonfield_bool(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key, int required,
               int *out, int *present)
{
    json_t *v;
    int rc;

    if (!jsonfield_find(fail, r, obj, key, required, present, &v, &rc))
        return rc;
    if (!json_is_boolean(v))
        return fail(r, NT_EINVAL, "%s: expected true or false", key);
    *out = json_is_true(v);
    return NT_OK;
}

int
jsonfield_metadata(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key,
                   int required, json_t **out, int *present)
{
    json_t *v, *val;
    const char *k;
    int rc;

    if (!jsonfield_find(fail, r, obj, key, required, present, &v, &rc))
        return rc;
    if (!json_is_object(v))
        return fail(r, NT_EINVAL, "%s: expected an object of strings", key);
    /* The count first: a body with 100k keys is refused without walking them. */
    if (json_object_size(v) > JSONFIELD_META_MAX_KEYS)
        return fail(r, NT_EINVAL, "%s: at most %d keys (got %zu)", key, JSONFIELD_META_MAX_KEYS,
                    json_object_size(v));
    json_object_foreach(v, k, val)
    {
        if (strlen(k) > JSONFIELD_META_MAX_KEY_BYTES)
            return fail(r, NT_EINVAL, "%s: the key '%.40s...' is longer than %d bytes", key, k,
                        JSONFIELD_META_MAX_KEY_BYTES);
        if (!json_is_string(val))
            return fail(r, NT_EINVAL, "%s: the value of '%.100s' must be a string", key, k);
        if (json_string_length(val) > JSONFIELD_META_MAX_VALUE_BYTES)
            return fail(r, NT_EINVAL, "%s: the value of '%s' is longer than %d bytes (%zu)", key, k,
                        JSONFIELD_META_MAX_VALUE_BYTES, json_string_length(val));
    }
    *out = v;
    return NT_OK;
}

/* The JSON field readers behind nt_host_api's json_get_* functions (strict JSON typing: no
 * coercion of strings to numbers or the reverse; messages naming the field). Host-independent: the
 * caller passes its fail() so the fake host of the plugin tests shares this exact code.
 */
#ifndef NETTU_JSONFIELD_H
#define NETTU_JSONFIELD_H

#include <stdint.h>

#include <jansson.h>
#include <nettu/plugin.h>

/* Metadata caps (the wire format sets none; these are the server's limits, README "Limits"):
 * keys per object, bytes per key, bytes per value. More is refused with 400 naming the limit. */
#define JSONFIELD_META_MAX_KEYS 50
#define JSONFIELD_META_MAX_KEY_BYTES 64
#define JSONFIELD_META_MAX_VALUE_BYTES 512

/* Records a message on the request and returns code (nt_host_api.fail). */
typedef int (*jsonfield_fail_fn)(nt_req *r, int code, const char *fmt, ...);

/* Each reads obj[key] as nt_host_api documents json_get_int/str/bool/metadata: absent or
 * null is NT_OK with *present = 0 (present may be NULL) unless required; a wrong type is
 * NT_EINVAL with a message through fail. Values are borrowed from obj. */
int jsonfield_int(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key,
                  int required, int64_t *out, int *present);
int jsonfield_str(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key,
                  int required, const char **out, int *present);
int jsonfield_bool(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key,
                   int required, int *out, int *present);
/* A metadata object: every value a string, within the JSONFIELD_META_* caps. */
int jsonfield_metadata(jsonfield_fail_fn fail, nt_req *r, const json_t *obj, const char *key,
                       int required, json_t **out, int *present);

#endif

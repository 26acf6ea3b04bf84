/* Compact JSON text of a jansson value, byte for byte what json_dumpb(v, .., JSON_COMPACT)
 * writes (keys in insertion order, "\uXXXX" escapes in upper case, '/' and non-ASCII left as
 * they are), without jansson's dumper: that runs a cycle check with a formatted pointer and
 * a hash table per object and array, and a callback per fragment, 15% of an API request.
 */
#ifndef NETTU_JSON_OUT_H
#define NETTU_JSON_OUT_H

#include <jansson.h>

#include <nettu/plugin.h>

#include "bytebuf.h"

/* Deeper documents are left to jansson. */
#define JSON_OUT_MAX_DEPTH 64

/* Appends the compact text of v to out. NT_OK; NT_EINVAL when v holds a real number or is
 * nested deeper than JSON_OUT_MAX_DEPTH (nothing useful is appended then: the caller cuts
 * out back and uses json_dumpb); NT_ENOMEM. */
int json_out_compact(const json_t *v, bytebuf *out);

#endif

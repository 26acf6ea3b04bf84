/* Query strings (form style, as browsers and the published client send them):
 * "name=value&name2=a+b%20c". Names and values are percent-decoded and '+' is a space;
 * names are case-sensitive; the first of repeated names wins (query_find).
 */
#ifndef NETTU_QUERY_H
#define NETTU_QUERY_H

#include <stddef.h>

#include "arena.h"

typedef struct query_pair {
    const char *name, *value;
} query_pair;

/* Decodes `raw` (NULL or "" = no pairs) into *pairs (n of them), all allocated from `a`.
 * Empty pieces ("a=1&&b=2", a trailing '&') are skipped; an invalid escape ("%zz") stays as
 * it is. NT_EINVAL when a piece has no '=' or an empty name, or decodes to a NUL byte (the
 * whole query is then unusable); NT_ENOMEM. */
int query_decode(const char *raw, arena *a, query_pair **pairs, size_t *n);

/* The value of the first pair named exactly `name`, or NULL. */
const char *query_find(const query_pair *pairs, size_t n, const char *name);

#endif

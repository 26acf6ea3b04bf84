/* The bearer token of an Authorization header value; pure. */
#ifndef AUTH_BEARER_H
#define AUTH_BEARER_H

#include <stddef.h>

/* Finds the token in the Authorization header value `value` (NULL allowed): when the value
 * is shorter than 6 characters or its first 6 characters are not "bearer" in any case, there
 * is none; otherwise it is the value after those 6 characters, with white space trimmed on
 * both sides. Returns a pointer into `value` (borrowed) and sets *len; returns NULL with
 * *len = 0 when the token is missing or empty. Thread-safe. */
const char *bearer_token(const char *value, size_t *len);

#endif /* AUTH_BEARER_H */

/* Authorization header parsing: "Bearer <token>" as the original reads it. */
#include "bearer.h"

#include <string.h>
#include <strings.h>

/* 1 for the ASCII white space a header value may be trimmed of. */
static int
bearer_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const char *
bearer_token(const char *value, size_t *len)
{
    const char *start, *end;

    *len = 0;
    if (value == NULL || strlen(value) < 6 || strncasecmp(value, "bearer", 6) != 0)
        return NULL;
    start = value + 6;
    end = start + strlen(start);
    while (start < end && bearer_space(*start))
        start++;
    while (end > start && bearer_space(end[-1]))
        end--;
    if (start == end)
        return NULL;
    *len = (size_t)(end - start);
    return start;
}

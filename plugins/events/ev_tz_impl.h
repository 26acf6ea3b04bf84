/* events: the in-memory form of a time zone, shared by the TZif reader (ev_tzfile.c) and the
 * offset arithmetic (ev_tz.c). Private to those two files.
 */
#ifndef EV_TZ_IMPL_H
#define EV_TZ_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ev_time.h"

#define TZ_FILE_MAX (1 << 20) /* real TZif files are a few KiB */

/* One rule of a POSIX TZ string: Jn (kind 'J'), n (kind 'D') or Mm.w.d (kind 'M'). */
typedef struct tz_rule {
    char kind;
    int a, b, c;  /* J: a = n; D: a = n; M: a = month, b = week, c = weekday (0 = Sunday) */
    int32_t time; /* local time of day of the change, seconds (may be < 0 or > 24 h) */
} tz_rule;

struct ev_tz {
    char *name;
    int64_t *trans; /* transition instants, ascending */
    int32_t *after; /* offset in force from trans[i] on */
    size_t n;
    int32_t before; /* offset before the first transition */
    int footer;     /* 0 none, 1 fixed offset (std_off), 2 daylight rules */
    int32_t std_off, dst_off;
    tz_rule start, end; /* footer == 2: to daylight time, back to standard time */
    struct ev_tz *next; /* cache chain */
};

#endif /* EV_TZ_IMPL_H */

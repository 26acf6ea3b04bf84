/* events: civil-date arithmetic (proleptic Gregorian) and time zones read from the system tz
 * database. Pure code, no host needed; used by the recurrence engine and its tests.
 *
 * Why not libical's icaltimezone: libical 3.0.16 (Debian 12) converts 33 of the 598 system
 * zones wrongly somewhere between 2000 and 2147 (e.g. Canada/Newfoundland after 2038,
 * Australia/Lord_Howe, Asia/Jerusalem), resolves a local time in a DST gap backwards (02:30
 * becomes 01:30 instead of RFC 5545's 03:30) and an ambiguous one to the second occurrence,
 * and serialises every lookup on one global mutex. This module reads the same TZif files that
 * ntc_tz_valid() accepts (links included), follows RFC 8536 (64-bit data and the POSIX TZ
 * footer for times after the last transition), and its zones are immutable once loaded.
 */
#ifndef EV_TIME_H
#define EV_TIME_H

#include <stdint.h>

#define EV_DAY_S 86400

/* ---- integer helpers ------------------------------------------------------------------- */

/* floor(a / b) for b > 0. */
int64_t ev_floor_div(int64_t a, int64_t b);

/* a + b, clamped to [INT64_MIN, INT64_MAX] instead of overflowing. */
int64_t ev_sat_add(int64_t a, int64_t b);

/* a - b, clamped to [INT64_MIN, INT64_MAX] instead of overflowing. */
int64_t ev_sat_sub(int64_t a, int64_t b);

/* ---- civil dates (days are counted from 1970-01-01 = 0) -------------------------------- */

int ev_is_leap(int64_t y);
int ev_days_in_month(int64_t y, int m); /* m = 1..12 */
int64_t ev_days_from_civil(int64_t y, int m, int d);
void ev_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int ev_weekday(int64_t days); /* 0 = Monday .. 6 = Sunday */

/* ---- time zones ------------------------------------------------------------------------ */

typedef struct ev_tz ev_tz;

/* The zone `name` (an IANA name that ntc_tz_valid() accepts), loaded once from TZDIR or
 * /usr/share/zoneinfo and cached for the life of the process (until ev_tz_cache_clear()).
 * Borrowed; NULL when the name is not a valid zone, the file is malformed, or out of memory.
 * Thread-safe. */
const ev_tz *ev_tz_get(const char *name);

/* Frees every cached zone. Call only when no other thread uses a zone (plugin fini). */
void ev_tz_cache_clear(void);

/* Loads a zone without the cache (tests). Free with ev_tz_free(); NULL on failure. */
ev_tz *ev_tz_load(const char *name);
void ev_tz_free(ev_tz *tz);

/* The UTC offset in seconds (local = utc + offset) in force at the instant utc_s (seconds
 * since the epoch). Lock-free; tz is read-only. */
int ev_tz_offset(const ev_tz *tz, int64_t utc_s);

/* The instant of the local wall-clock time local_s (seconds since 1970-01-01T00:00 local).
 * RFC 5545 3.3.5: a time in a gap is read with the offset in force before the gap (02:30
 * becomes 03:30 when clocks jump from 02:00 to 03:00); an ambiguous time takes its first
 * occurrence. */
int64_t ev_tz_local_to_utc(const ev_tz *tz, int64_t local_s);

/* A stretch of time with one UTC offset, remembered between calls of
 * ev_tz_local_to_utc_span() (zero-initialise it; valid for one zone). */
typedef struct ev_tz_span {
    int64_t lo, hi; /* the offset is constant for instants in [lo, hi) */
    int32_t off;
    int valid;
} ev_tz_span;

/* ev_tz_local_to_utc() that first tries the span of the previous answer: successive local
 * times away from any transition cost no lookup. */
int64_t ev_tz_local_to_utc_span(const ev_tz *tz, int64_t local_s, ev_tz_span *span);

/* The local wall-clock seconds of the instant utc_s. */
int64_t ev_tz_utc_to_local(const ev_tz *tz, int64_t utc_s);

/* ---- local times near offset changes (ev_local.c) -------------------------------------- */

/* How one local wall-clock time maps to instants (seconds since the epoch). */
typedef struct ev_local_map {
    int n;         /* instants showing this wall-clock time: 0 (skipped by a gap), 1, or 2
                      and more (an overlap: the clocks were set back over it) */
    int64_t first; /* n >= 1: the earliest such instant; n == 0: the instant of the change
                      that skipped it (the first instant of the new offset) */
    int64_t last;  /* n >= 1: the latest such instant (first when n == 1); n == 0: first */
} ev_local_map;

/* Fills *out for the local wall-clock seconds local_s (since 1970-01-01T00:00 local).
 * Lock-free; tz is read-only. */
void ev_tz_local_map(const ev_tz *tz, int64_t local_s, ev_local_map *out);

/* ev_tz_local_map() that first tries the span of the previous call (as
 * ev_tz_local_to_utc_span() does): local times away from any change cost no lookup. */
void ev_tz_local_map_span(const ev_tz *tz, int64_t local_s, ev_tz_span *span, ev_local_map *out);

#endif /* EV_TIME_H */

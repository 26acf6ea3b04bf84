/* events: the recurrence rule (parsing, validation, printing) and the
 * expansion of an event into instances. Pure code over jansson and libical, no host
 * needed.
 *
 * Expansion (rrule_expand.c) follows python-dateutil's rrule (which rrule.js and the
 * original's Rust port copy), as the original does, for FREQ=DAILY..YEARLY with one time of day.
 * libical's icalrecur_iterator enumerates the candidate days in floating local time
 * (rrule_ical.c); dateutil's filter (rrule_norm.c) checks each one, and the interval,
 * BYSETPOS, COUNT, UNTIL, exdates and the window are applied around libical, because
 * libical 3.0.16 differs from dateutil on rules the API accepts (README.md). Local times
 * become UTC through ev_tz (ev_time.h), not libical's zones.
 *
 * Validation refuses the combinations RFC 5545 forbids (byweekno outside yearly, byyearday
 * with daily/weekly/monthly, bymonthday with weekly, ordinals with byweekno).
 */
#ifndef EV_RRULE_H
#define EV_RRULE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "budget.h"
#include "ev_time.h"
#include "intervals.h"

enum { EV_YEARLY = 0, EV_MONTHLY = 1, EV_WEEKLY = 2, EV_DAILY = 3 };

/* Upper bounds of the distinct values a list can hold (every valid value once). */
#define EV_MONTH_MAX 12
#define EV_MDAY_MAX 63  /* -31..31, 0 included (accepted and ignored, as dateutil does) */
#define EV_YDAY_MAX 732 /* -366..-1, 1..366 */
#define EV_WNO_MAX 106  /* -53..-1, 1..53 */
#define EV_SETPOS_MAX 732
#define EV_WDAY_MAX 742 /* distinct (ordinal, day) pairs accepted in one byweekday list */

#define EV_ORDINAL_MAX 499          /* byweekday ordinals: 1..499 or -1..-499 */
#define EV_COUNT_MAX 739            /* count: 1..739 */
#define EV_UNTIL_SPAN 63244800000LL /* until <= startTs + 2 x 366 days */
#define EV_INTERVAL_MAX 65535
/* A recurring event starts between 0001-01-01 and 9999-12-31 (UTC), dateutil's range: it
 * bounds every iteration to at most ten thousand years of periods. */
#define EV_RECUR_START_MIN (-62135596800000LL)
#define EV_RECUR_START_MAX 253402300799999LL

/* endTs of a recurring event without count or until. */
#define EV_END_FOREVER 5609882500905LL

typedef struct ev_wday {
    int16_t n;  /* ordinal, 0 when none */
    int8_t day; /* 0 = Monday .. 6 = Sunday */
} ev_wday;

/* A validated rule. A list with n == 0 is "not set" (printed as null). */
typedef struct ev_rrule {
    int freq;
    int interval;
    int count; /* 0 = not set */
    int has_until;
    int64_t until; /* ms */
    int n_setpos, n_mday, n_month, n_yday, n_wno, n_wday;
    int16_t setpos[EV_SETPOS_MAX];
    int16_t mday[EV_MDAY_MAX];
    int16_t month[EV_MONTH_MAX];
    int16_t yday[EV_YDAY_MAX];
    int16_t wno[EV_WNO_MAX];
    ev_wday wday[EV_WDAY_MAX];
} ev_rrule;

/* Reads a recurrence object for an event starting at start_ts (ms) into *r. Accepts
 * freq in any case, byweekday as integers 0..6, "Mon"/"1Mon"/"+2Tue"/"-1Fri", "MO"/"1MO"/
 * "-1FR" (and long names), bymonth as integers 1..12 or English month names, and null for
 * every optional key. Returns 0, or -1 with a message naming the field ("recurrence.count:
 * ...") in err. */
int ev_rrule_parse(const json_t *v, int64_t start_ts, ev_rrule *r, char *err, size_t errlen);

/* The rule as printed: all ten keys, null when unset. New reference; NULL when out of
 * memory. */
json_t *ev_rrule_json(const ev_rrule *r);

/* ---- expansion --------------------------------------------------------------------------- */

/* What is expanded: an event's timing. exdates are milliseconds, any order. */
typedef struct ev_series {
    int64_t start_ts, duration;
    int busy;
    const ev_rrule *rrule; /* NULL: not recurring */
    const int64_t *exdates;
    size_t n_exdates;
} ev_series;

/* Where and how: the calendar's zone and week start, and the window. With windowed = 0 every
 * occurrence of a bounded rule is produced (for the stored endTs). */
typedef struct ev_expand_opts {
    const ev_tz *tz;
    int wkst;             /* 0 = Monday .. 6 = Sunday */
    int windowed;         /* 1: dateutil's window filter on [ws, we] */
    int64_t ws, we;       /* ms */
    size_t max_instances; /* more is an error, never a silent cut */
    /* The work budget charged (one step per libical candidate or repositioning, per daily
     * candidate and per single event); shared across the expansions of one request. NULL:
     * a private budget of EV_EXPAND_DEFAULT_STEPS steps. */
    ev_budget *budget;
} ev_expand_opts;

/* The cap of an expansion without a budget of its own (about a second of libical): a guard
 * against runaway iterations for callers that do not budget. */
#define EV_EXPAND_DEFAULT_STEPS 400000

/* ev_expand() and ev_end_ts() results besides 0 (done), -1 (a refused rule or query, message
 * in err) and -2 (out of memory): */
#define EV_EXPAND_ELIMIT -3  /* the budget's own cap (steps or CPU) was reached; err says which */
#define EV_EXPAND_EBUDGET -4 /* the budget's hook said the caller's budget is used up */
#define EV_EXPAND_EGONE -5   /* the budget's hook said the caller has gone */

/* Appends the instances of s (ascending) to out. A non-recurring event yields its single
 * instance unless exdated, whatever the window. A recurring one: DTSTART = startTs
 * truncated to the second as local time in tz; occurrences keep that local time of day;
 * count counts before exdates; until is inclusive; an exdate removes the occurrence in the
 * same second; windowed, an occurrence o is kept iff o >= ws - 1 and o + duration <= we.
 * Returns 0; -1 with a message in err when more than max_instances would be produced; -2 when
 * out of memory; EV_EXPAND_ELIMIT, _EBUDGET or _EGONE when the budget stopped it (out then
 * holds a partial list: discard it). Far-future windows are fast: rules without count start
 * at the period nearest the window instead of at DTSTART; a rule with count is walked from
 * DTSTART, so its cost is at most that of its ev_end_ts(). */
int ev_expand(const ev_series *s, const ev_expand_opts *o, ev_ilist *out, char *err, size_t errlen);

/* The stored endTs: startTs + duration when not recurring; the end of the last
 * occurrence left after exdates (0 if none) with count or until; EV_END_FOREVER otherwise.
 * The expansion is charged to budget (NULL: as in ev_expand_opts). Run at create and update
 * with a budget capped in CPU time, it is the affordability check of a rule: every later
 * windowed expansion of the event costs at most what this one did. Returns 0, or what
 * ev_expand() returns. */
int ev_end_ts(const ev_series *s, const ev_tz *tz, int wkst, size_t max_instances,
              ev_budget *budget, int64_t *end_ts, char *err, size_t errlen);

/* Whether the event's start (startTs truncated to the second) is itself an occurrence of its
 * rule, exdates aside, in zone tz with week start wkst: dateutil does not add a start
 * the rule does not select, as RFC 5545 readers may. Sets *on (1 for a non-recurring
 * event). Computed from the rule's filter over its first period, without libical. Returns 0,
 * -1 (err) when tz is NULL, -2 when out of memory, or what ev_expand() returns when the
 * budget stopped it. */
int ev_starts_on_rule(const ev_series *s, const ev_tz *tz, int wkst, ev_budget *budget, int *on,
                      char *err, size_t errlen);

/* libical for code that uses it directly (the events plugin's iCalendar export): opens it
 * on the first call (it is not linked, so an idle server does not map it), keeps it loaded
 * for the life of the process and fills its lazily set globals (the TZID prefix, the UTC
 * zone, the tz database folder) once, so that threads can then use it. Returns the dlopen()
 * handle to look functions up in with dlsym() (never to be closed), or NULL when libical
 * cannot be loaded. Thread-safe. */
void *ev_libical_open(void);

#endif /* EV_RRULE_H */

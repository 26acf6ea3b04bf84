/* events: the recurrence iteration engine, a port of python-dateutil's rrule._iter and
 * _iterinfo for FREQ=DAILY..YEARLY with one time of day. It works on local wall-clock day
 * numbers (days since 1970-01-01 in the calendar's zone); rrule_expand.c turns the days into
 * instants and instances.
 */
#ifndef EV_RRULE_ITER_H
#define EV_RRULE_ITER_H

#include <stdint.h>

#include "rrule.h"

/* The rule compiled for iteration, with dateutil's defaults applied. */
typedef struct rr_plan {
    int freq, interval, wkst;
    int has_month;
    uint16_t month_mask; /* bit m for month m */
    int has_mday;
    uint32_t mday_pos, mday_neg; /* bit d for day d / day -d */
    int has_wday;
    uint8_t wday_mask;       /* bit d for weekday d (0 = Monday) */
    int n_nwday;             /* ordinal weekdays, YEARLY and MONTHLY only */
    const ev_wday *wday_src; /* the rule's byweekday list; ordinals are read from it */
    int n_wday_src;
    int n_wno;
    const int16_t *wno;
    int has_yday;
    uint8_t yday_pos[367], yday_neg[367];
    int n_setpos;
    const int16_t *setpos;
} rr_plan;

/* Called for each occurrence (a local day number) in order: 0 goes on, 1 stops, < 0 fails. */
typedef int (*rr_emit_fn)(void *ctx, int64_t day);

/* Compiles rule r for iteration with week start wkst from DTSTART's local day, applying
 * dateutil's defaults (no day-selecting list: repeat on DTSTART's day). */
void rr_plan_init(rr_plan *p, const ev_rrule *r, int wkst, int64_t dtstart_day);

/* Iterates the rule from DTSTART (a local day number), or, when from_day is later (callers
 * pass it only for rules without count), from the period holding from_day; stops after the
 * period starting past stop_day or after year 9999. emit sees each occurrence day in order.
 * Returns 0, or emit's negative result. */
int rr_iterate(const rr_plan *p, int64_t dtstart_day, int64_t from_day, int64_t stop_day,
               rr_emit_fn emit, void *ctx);

#endif /* EV_RRULE_ITER_H */

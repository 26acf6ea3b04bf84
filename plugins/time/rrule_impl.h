/* events: internals of the recurrence expansion (rrule_expand.c), shared by its parts:
 *  - rrule_norm.c: the validated rule in python-dateutil's terms (DTSTART defaults applied,
 *    ordinals sorted out, impossible values dropped) and dateutil's per-day filter;
 *  - rrule_ical.c: libical's icalrecur_iterator driven as a generator of candidate dates in
 *    floating local time, inside a 400-year frame that libical handles.
 * Not part of the plugin's interface: only rrule_*.c include it.
 */
#ifndef EV_RRULE_IMPL_H
#define EV_RRULE_IMPL_H

#include <libical/ical.h>

#include "rrule.h"

/* Days in 400 Gregorian years: the calendar (weekdays, leap years, week numbers) repeats. */
#define RR_CYCLE_DAYS 146097
#define RR_MAX_DAY 2932896 /* 9999-12-31, dateutil's last day */

/* The rule as dateutil reads it, for one DTSTART and week start. */
typedef struct rr_norm {
    int freq, interval, wkst;
    int64_t d0;  /* DTSTART's local day (days since 1970-01-01) */
    int64_t y0;  /* its year */
    int m0, wd0; /* its month (1..12) and weekday (0 = Monday) */
    int hour, minute, second;
    int never;                     /* no day can ever match: expand nothing */
    uint16_t months;               /* bit m: month m is allowed; 0 = no month filter */
    uint32_t mday_pos, mday_neg;   /* bit d: day d / day -d of the month; both 0 = no filter */
    uint8_t wdays;                 /* bit d: plain weekday filter (0 = Monday); 0 = none */
    int n_nwday;                   /* ordinal weekdays (possible ones) */
    int nwday_in_year;             /* 1: ordinals count in the year, 0: in the month */
    uint64_t nw_pos[7], nw_neg[7]; /* bit n: the n-th / n-th last weekday d */
    int n_yday;
    uint8_t yday_pos[367], yday_neg[367];
    int n_wno;
    const int16_t *wno;
    int n_setpos;
    const int16_t *setpos;
} rr_norm;

/* dateutil's week-number mask of one year, cached by the filter. */
typedef struct rr_wno_cache {
    int64_t year; /* INT64_MIN: empty */
    uint8_t mask[366];
} rr_wno_cache;

/* Fills *n from rule r for DTSTART local day d0 at local seconds-of-day tod and week start
 * wkst (0 = Monday). Pure; n borrows r's week-number and setpos lists. */
void rr_norm_init(rr_norm *n, const ev_rrule *r, int64_t d0, int tod, int wkst);

/* 1 when local day `day` passes every filter of dateutil (month, week number, weekday,
 * ordinal weekday, day of month, day of year), 0 otherwise. c caches week-number masks. */
int rr_norm_match(const rr_norm *n, rr_wno_cache *c, int64_t day);

/* The days of the year (1..366) that some year's week numbers can select: a superset used to
 * narrow libical's candidates. Writes up to cap values into out; returns how many there are
 * (more than cap when they do not fit). */
int rr_norm_wno_ydays(const rr_norm *n, int16_t *out, int cap);

/* A candidate generator over libical: the days (with the time of day) of the rule's day
 * selection, in order, one per day, possibly more than dateutil keeps (rr_norm_match()
 * decides). */
typedef struct rr_gen {
    struct icalrecurrencetype rule; /* what libical iterates */
    int native_daily;               /* FREQ=DAILY with the rule's interval (no filters) */
    int64_t next_day;               /* native daily: the next candidate (plain arithmetic) */
    int setpos_done;                /* libical applies BYSETPOS (exact days, same period) */
    int interval;
    int64_t d0;               /* native daily: the day the interval counts from */
    icalrecur_iterator *it;   /* NULL: none yet, or the frame is exhausted */
    int64_t frame;            /* the frame: real years 2000 + 400 * frame .. */
    int64_t shift;            /* real day = frame day + shift */
    int64_t frame_end;        /* the first real day after the iterator's frame */
    int64_t it_day;           /* the real day the iterator was last positioned at */
    int64_t last_day;         /* the last candidate returned since then */
    int64_t resume;           /* where the next frame starts when this one is exhausted */
    int got;                  /* the iterator returned a candidate */
    int empty_frames;         /* consecutive frames without a candidate */
    int done;                 /* nothing more up to year 9999 */
    size_t calls;             /* libical calls made (next and repositioning) */
    int hour, minute, second; /* the time of day libical returned last */
    ev_budget *budget;        /* charged one step per libical call and per daily candidate */
} rr_gen;

/* rr_gen_seek() and rr_gen_next() result when the budget stopped the generator (the reason
 * is the budget's sticky stop code). */
#define RR_STOPPED -3

/* Sets g up for normalised rule n (which must not be `never`), charging its work to budget
 * (NULL: none). Returns 0. */
int rr_gen_init(rr_gen *g, const rr_norm *n, ev_budget *budget);

/* Makes the next rr_gen_next() return the first candidate on or after local day `day`. For a
 * native daily generator, day must be one of the rule's days. 0, -2 when out of memory, or
 * RR_STOPPED. */
int rr_gen_seek(rr_gen *g, int64_t day);

/* The next candidate day in *day: 1; 0 when there is none up to 9999-12-31; -2 out of memory;
 * -1 when libical misbehaves (a message is written to err); RR_STOPPED when the budget
 * stopped it. */
int rr_gen_next(rr_gen *g, int64_t *day, char *err, size_t errlen);

/* Frees libical's iterator. Accepts NULL. */
void rr_gen_free(rr_gen *g);

#endif /* EV_RRULE_IMPL_H */

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
 * (NULL: none). Returns 0, or -1 when libical (opened on the first call) could not be
 * loaded. */
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

/* ---- periods (rrule_period.c) ------------------------------------------------------------ */

#define RR_PERIOD_MAX 372 /* candidates in one period: at most the days of a year */
#define RR_MEMO_KEYS 256  /* calendar shapes of a period (rr_period.c) */

/* The rule's periods: a year, a month, a week from WKST or a day, numbered from DTSTART's
 * (0). dateutil's first weekly period starts at DTSTART itself, the others at WKST. The
 * state of one expansion (heap-allocated by rrule_expand.c, zeroed). */
typedef struct rr_walk {
    const rr_norm *n;
    int64_t w0; /* the first day of DTSTART's week */
    rr_gen gen;
    rr_wno_cache wc;
    int64_t buf[RR_PERIOD_MAX];
    int16_t memo[RR_MEMO_KEYS]; /* occurrences + 1 of a period of each shape; 0 = unknown */
} rr_walk;

int rr_mod7(int v);

/* qsort() order of int64_t values. */
int rr_cmp_i64(const void *a, const void *b);

/* The period holding local day `day`, and the first day of period k (the calendar's: for the
 * weekly period 0 that is WKST's day, not DTSTART). */
int64_t rr_period_of(const rr_walk *w, int64_t day);
int64_t rr_period_start(const rr_walk *w, int64_t k);

/* Days after which the rule's periods repeat with the calendar (400 years): a stretch that
 * long without an occurrence means there will never be one. */
int64_t rr_cycle_days(const rr_norm *n);

/* BYSETPOS over the nb days of one period (ascending): keeps the chosen positions; returns
 * how many. */
size_t rr_setpos(const rr_norm *n, int64_t *days, size_t nb);

/* The occurrences of period k (local days, ascending) into days[RR_PERIOD_MAX], as the libical
 * walk finds them, computed from the filter alone: the days rr_norm_match() keeps (the weekly
 * period 0 from DTSTART on), BYSETPOS, then only days from DTSTART on, none after
 * 9999-12-31. Returns how many. */
size_t rr_period_days(rr_walk *w, int64_t k, int64_t *days);

/* How many occurrences period k has (rr_period_days), remembered by the period's calendar
 * shape where that decides it (w->memo). */
int rr_period_occ(rr_walk *w, int64_t k);

/* Counts occurrences without libical: walks the periods k = 0, interval, 2 x interval, ...
 * below k_end (and up to 9999-12-31) adding their occurrences until `target` is reached.
 * *k_at is the first period at which the total reaches target (k_end when it is not
 * reached); *before the occurrences of the periods before *k_at (when target is not reached:
 * all of them, at most target); *ended is 1 when the rule has no occurrence after those
 * counted (the calendar ends, or a whole 400-year cycle passed without one); *k_last the
 * last period with an occurrence among those counted (-1: none). Charges w->gen.budget one
 * step per EV_BUDGET_EVERY periods. 0, or RR_STOPPED. Uses w->buf and w->memo. */
int rr_count_walk(rr_walk *w, int64_t k_end, int target, int64_t *k_at, int *before, int *ended,
                  int64_t *k_last);

#endif /* EV_RRULE_IMPL_H */

/* libical's recurrence iterator as a generator of candidate days (see rrule_impl.h).
 *
 * What libical is given: a floating (zone-less) DTSTART, BYHOUR/BYMINUTE/BYSECOND fixed to
 * DTSTART's local time of day, INTERVAL=1 except for plain daily rules, no COUNT or UNTIL, and
 * one of these iterations:
 *  - FREQ=DAILY;INTERVAL=n for daily rules without filters (every occurrence is a candidate);
 *  - FREQ=MONTHLY with BYMONTH, BYMONTHDAY and BYDAY (plain or ordinal) for rules whose days
 *    are chosen within months: monthly, weekly and daily rules, and yearly rules without
 *    BYYEARDAY, BYWEEKNO or ordinals counted in the year;
 *  - FREQ=YEARLY with every allowed month in BYMONTH for those yearly rules when they have
 *    BYSETPOS (the set is the year's);
 *  - FREQ=YEARLY with BYYEARDAY or BYDAY for the other yearly rules (week numbers are
 *    narrowed to the days of the year they can fall on).
 * The interval, COUNT and UNTIL are applied by rrule_expand.c, and so is BYSETPOS unless
 * libical's days are exactly the rule's and its period is the rule's (monthly and yearly
 * rules). Every candidate is checked by rr_norm_match(). These are the parts libical 3.0.16
 * gets right when compared with python-dateutil (README.md lists what it gets wrong).
 *
 * libical 3.0.16 iterates years 0 to 2582 only and, built with ICU as Debian does, uses the
 * Julian calendar before 1582-10-15. Since the Gregorian calendar repeats every 400 years
 * (146097 days, a whole number of weeks), libical works in a frame: a real day is moved by a
 * multiple of 400 years into 2000..2399 and libical's dates are moved back. When libical
 * reaches the end of its range the generator continues in the next frame.
 *
 * Thread safety: an iterator is used by one thread. libical is opened on first use and
 * stays loaded (see rr_ical_init()). libical writes one global on first use
 * (the TZID prefix, which icalrecur_iterator_new() reads through icaltimezone_tzid_prefix());
 * a first iterator is made under pthread_once before any other. libical's error number is
 * thread-local (a pthread key), floating times never touch its time-zone cache or its
 * mutexes, and ICU's calendars (one per iterator) are independent objects.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NODELETE */
#endif
#include "ntc.h"
#include "rrule_impl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_FRAME_YEAR 2000 /* frames start at years 2000..2399 */
#define RR_ICAL_LAST_YEAR 2582
#define RR_EMPTY_FRAMES 3 /* frames (over 400 years) without a candidate: none ever */

static pthread_once_t rr_ical_once = PTHREAD_ONCE_INIT;
static atomic_int rr_ical_ran; /* rr_ical_init() has loaded libical */

/* libical, opened on first use. Linking it would map libical, ICU and libstdc++ into every
 * server at start (about 2.9 MiB of resident memory, a third of an idle server) whether or
 * not a recurring event is ever expanded; so the nine functions used here are looked up in
 * the library when the first generator is set up, and called through this table. */
static struct {
    int ok;       /* every member below was found */
    void *handle; /* the library (kept open: RTLD_NODELETE) */
    icalrecur_iterator *(*iterator_new)(struct icalrecurrencetype, struct icaltimetype);
    void (*iterator_free)(icalrecur_iterator *);
    struct icaltimetype (*iterator_next)(icalrecur_iterator *);
    int (*iterator_set_start)(icalrecur_iterator *, struct icaltimetype);
    void (*recurrencetype_clear)(struct icalrecurrencetype *);
    struct icaltimetype (*null_time)(void);
    int (*is_null_time)(const struct icaltimetype);
    icalerrorenum *(*errno_return)(void);
    void (*clear_errno)(void);
} rr_lib;

#ifndef NT_LIBICAL_SONAME
#define NT_LIBICAL_SONAME "libical.so.3"
#endif

/* The calls below go through rr_lib (the names stay libical's, for reading). */
#undef icalerrno
#define icalerrno (*rr_lib.errno_return())
#define icalrecur_iterator_new rr_lib.iterator_new
#define icalrecur_iterator_free rr_lib.iterator_free
#define icalrecur_iterator_next rr_lib.iterator_next
#define icalrecur_iterator_set_start rr_lib.iterator_set_start
#define icalrecurrencetype_clear rr_lib.recurrencetype_clear
#define icaltime_null_time rr_lib.null_time
#define icaltime_is_null_time rr_lib.is_null_time
#define icalerror_clear_errno rr_lib.clear_errno

/* Runs once: opens libical (and ICU under it) for the life of the process, looks up the
 * functions of rr_lib, then runs libical's first-use initialisation. libical registers a
 * pthread key whose destructor is its own code and ICU keeps process-wide caches: unloading
 * them (a dlclose, also of a plugin that had linked them) would leave threads exiting into
 * unmapped code and the caches unreachable, so the library is opened with RTLD_NODELETE and
 * the handle kept on purpose. Then icalrecur_iterator_new() fills a global (the TZID
 * prefix, via the unexported icaltimezone_tzid_prefix()) the first time it runs. */
static void
rr_ical_init(void)
{
    struct icalrecurrencetype r;
    struct icaltimetype t;
    icalrecur_iterator *it;
    void *h = dlopen(NT_LIBICAL_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

    if (h == NULL || ntc_dlsym(h, "icalrecur_iterator_new", &rr_lib.iterator_new) != 0 ||
        ntc_dlsym(h, "icalrecur_iterator_free", &rr_lib.iterator_free) != 0 ||
        ntc_dlsym(h, "icalrecur_iterator_next", &rr_lib.iterator_next) != 0 ||
        ntc_dlsym(h, "icalrecur_iterator_set_start", &rr_lib.iterator_set_start) != 0 ||
        ntc_dlsym(h, "icalrecurrencetype_clear", &rr_lib.recurrencetype_clear) != 0 ||
        ntc_dlsym(h, "icaltime_null_time", &rr_lib.null_time) != 0 ||
        ntc_dlsym(h, "icaltime_is_null_time", &rr_lib.is_null_time) != 0 ||
        ntc_dlsym(h, "icalerrno_return", &rr_lib.errno_return) != 0 ||
        ntc_dlsym(h, "icalerror_clear_errno", &rr_lib.clear_errno) != 0)
        return;
    rr_lib.handle = h;
    rr_lib.ok = 1;
    t = icaltime_null_time();
    icalrecurrencetype_clear(&r);
    r.freq = ICAL_DAILY_RECURRENCE;
    t.year = RR_FRAME_YEAR;
    t.month = 1;
    t.day = 1;
    it = icalrecur_iterator_new(r, t);
    if (it != NULL)
        icalrecur_iterator_free(it);
    atomic_store_explicit(&rr_ical_ran, 1, memory_order_release);
}

static pthread_once_t rr_ical_zone_once = PTHREAD_ONCE_INIT;
static int rr_ical_zone_ok;

/* Runs once, after rr_ical_init(): libical's lazily filled zone globals (its UTC zone and
 * built-in zone list, the folder of the system tz database) are set here, before worker
 * threads read them. */
static void
rr_ical_zone_init(void)
{
    icaltimezone *(*utc)(void);
    const char *(*zone_dir)(void);

    if (ntc_dlsym(rr_lib.handle, "icaltimezone_get_utc_timezone", &utc) != 0 ||
        ntc_dlsym(rr_lib.handle, "icaltzutil_get_zone_directory", &zone_dir) != 0)
        return;
    (void)utc();
    (void)zone_dir();
    rr_ical_zone_ok = 1;
}

void *
ev_libical_open(void)
{
    (void)pthread_once(&rr_ical_once, rr_ical_init);
    if (!rr_lib.ok)
        return NULL;
    (void)pthread_once(&rr_ical_zone_once, rr_ical_zone_init);
    return rr_ical_zone_ok ? rr_lib.handle : NULL;
}

/* libical's weekday (1 = Sunday .. 7 = Saturday) of our weekday (0 = Monday). */
static int
rr_ical_wday(int d)
{
    return (d + 1) % 7 + 1;
}

/* Appends weekday `day` with ordinal n to the BYDAY list (libical's encoding). */
static void
rr_add_day(struct icalrecurrencetype *r, int *k, int day, int n)
{
    int code = (n < 0 ? -n : n) * 8 + rr_ical_wday(day);

    r->by_day[(*k)++] = (short)(n < 0 ? -code : code);
}

/* BYDAY from plain weekday bits, in week order from WKST (as libical's parser sorts). */
static void
rr_set_plain_days(struct icalrecurrencetype *r, uint8_t wdays, int wkst)
{
    int k = 0;

    for (int j = 0; j < 7; j++)
        if (wdays & (1u << ((wkst + j) % 7)))
            rr_add_day(r, &k, (wkst + j) % 7, 0);
}

/* BYDAY from the ordinals of n; 0, or -1 when they do not fit libical's list. */
static int
rr_set_ordinal_days(struct icalrecurrencetype *r, const rr_norm *n)
{
    int k = 0;

    if (n->n_nwday > ICAL_BY_DAY_SIZE - 1)
        return -1;
    for (int j = 0; j < 7; j++) {
        int day = (n->wkst + j) % 7;
        for (int o = 1; o <= 53; o++) {
            if (n->nw_pos[day] & (1ull << o))
                rr_add_day(r, &k, day, o);
            if (n->nw_neg[day] & (1ull << o))
                rr_add_day(r, &k, day, -o);
        }
    }
    return 0;
}

/* The weekdays of n's ordinals as plain weekday bits. */
static uint8_t
rr_ordinal_wdays(const rr_norm *n)
{
    uint8_t bits = 0;

    for (int d = 0; d < 7; d++)
        if (n->nw_pos[d] != 0 || n->nw_neg[d] != 0)
            bits |= (uint8_t)(1u << d);
    return bits;
}

/* BYMONTHDAY from n when the values fit libical's list; 1 when set. */
static int
rr_set_mdays(struct icalrecurrencetype *r, const rr_norm *n)
{
    int k = 0;

    for (int d = 1; d <= 31; d++) {
        if ((n->mday_pos & (1u << d)) && k < ICAL_BY_MONTHDAY_SIZE - 1)
            r->by_month_day[k++] = (short)d;
        if ((n->mday_neg & (1u << d)) && k < ICAL_BY_MONTHDAY_SIZE - 1)
            r->by_month_day[k++] = (short)-d;
    }
    if (k == ICAL_BY_MONTHDAY_SIZE - 1) { /* may be cut: leave the days to the filter */
        for (int i = 0; i < ICAL_BY_MONTHDAY_SIZE; i++)
            r->by_month_day[i] = ICAL_RECURRENCE_ARRAY_MAX;
        return 0;
    }
    return k > 0;
}

/* BYYEARDAY from n when the values fit; 1 when set. */
static int
rr_set_ydays(struct icalrecurrencetype *r, const rr_norm *n)
{
    int k = 0;

    for (int d = 1; d <= 366; d++)
        k += n->yday_pos[d] + n->yday_neg[d];
    if (k > ICAL_BY_YEARDAY_SIZE - 1)
        return 0;
    k = 0;
    for (int d = 1; d <= 366; d++) {
        if (n->yday_pos[d])
            r->by_year_day[k++] = (short)d;
        if (n->yday_neg[d])
            r->by_year_day[k++] = (short)-d;
    }
    return 1;
}

/* 1 when n has a month-day filter. */
static int
rr_has_mday(const rr_norm *n)
{
    return n->mday_pos != 0 || n->mday_neg != 0;
}

/* A yearly iteration: days chosen by year day, week number or ordinals within the year.
 * Returns 1 when libical's days are exactly the rule's (the filter then changes nothing). */
static int
rr_gen_yearly(rr_gen *g, const rr_norm *n)
{
    struct icalrecurrencetype *r = &g->rule;
    int16_t ydays[ICAL_BY_YEARDAY_SIZE - 1];
    int have_yday = 0, have_day = 0, exact = 0;

    r->freq = ICAL_YEARLY_RECURRENCE;
    if (n->n_yday > 0) {
        have_yday = rr_set_ydays(r, n);
        exact = have_yday && n->months == 0 && !rr_has_mday(n) && n->n_nwday == 0;
    } else if (n->n_wno > 0) {
        int k = rr_norm_wno_ydays(n, ydays, ICAL_BY_YEARDAY_SIZE - 1);
        if (k <= ICAL_BY_YEARDAY_SIZE - 1) {
            for (int i = 0; i < k; i++)
                r->by_year_day[i] = ydays[i];
            have_yday = 1;
        }
    } else if (n->n_nwday > 0) {
        if (rr_set_ordinal_days(r, n) == 0) {
            exact = !rr_has_mday(n);
        } else {
            rr_set_plain_days(r, rr_ordinal_wdays(n), n->wkst);
        }
        have_day = 1;
    }
    /* Plain weekdays narrow year days in libical (BYYEARDAY + BYDAY); ordinals do not mix. */
    if (!have_day && n->wdays != 0 && n->n_nwday == 0) {
        rr_set_plain_days(r, n->wdays, n->wkst);
        have_day = 1;
    }
    if (!have_yday && !have_day)
        rr_set_plain_days(r, 0x7f, n->wkst);
    return exact;
}

/* An iteration by months (FREQ=MONTHLY, or FREQ=YEARLY with every allowed month listed, as
 * libical 3.0.16 takes only DTSTART's month when BYMONTH is missing): BYMONTH with BYDAY
 * (ordinals or plain) and/or BYMONTHDAY. Returns 1 when libical's days are exactly the
 * rule's. */
static int
rr_gen_months(rr_gen *g, const rr_norm *n, icalrecurrencetype_frequency freq)
{
    struct icalrecurrencetype *r = &g->rule;
    int k = 0, have = 0, exact;

    r->freq = freq;
    for (int m = 1; m <= 12; m++)
        if ((n->months & (1u << m)) || (n->months == 0 && freq == ICAL_YEARLY_RECURRENCE))
            r->by_month[k++] = (short)m;
    if (n->n_nwday > 0) {
        have = rr_set_ordinal_days(r, n) == 0;
        exact = have && !rr_has_mday(n);
    } else {
        int mdays;
        if (n->wdays != 0) {
            rr_set_plain_days(r, n->wdays, n->wkst);
            have = 1;
        }
        mdays = rr_set_mdays(r, n);
        have |= mdays;
        exact = mdays || !rr_has_mday(n);
    }
    if (!have)
        rr_set_plain_days(r, 0x7f, n->wkst);
    return exact;
}

/* 1 when a positive and a negative value of a list can name the same day (for a month of
 * 28..31 days, or a year of 365..366): libical would count that day twice for BYSETPOS. */
static int
rr_may_repeat(const rr_norm *n)
{
    for (int d = 1; d <= 31; d++)
        for (int len = 28; (n->mday_pos & (1u << d)) && len <= 31; len++)
            if (len - d + 1 >= 1 && (n->mday_neg & (1u << (len - d + 1))))
                return 1;
    for (int d = 1; d <= 366; d++)
        for (int len = 365; n->yday_pos[d] && len <= 366; len++)
            if (len - d + 1 >= 1 && len - d + 1 <= 366 && n->yday_neg[len - d + 1])
                return 1;
    return 0;
}

/* The fewest days every period of an exactly generated monthly or yearly rule holds: a
 * month has at least 4 of each weekday and 28 days, a year 52 of each weekday and 365 days. */
static int
rr_period_least(const rr_norm *n)
{
    int per_month = 28, days = 0, months = n->months != 0 ? __builtin_popcount(n->months) : 12;

    if (n->n_yday > 0) {
        for (int d = 1; d <= 365; d++)
            days += n->yday_pos[d] + n->yday_neg[d];
        return n->wdays != 0 ? 0 : days;
    }
    if (n->n_nwday > 0) {
        int most = n->nwday_in_year ? 52 : 4;
        for (int d = 0; d < 7; d++)
            days += (n->nw_pos[d] & ((2ull << most) - 2)) || (n->nw_neg[d] & ((2ull << most) - 2));
        if (n->nwday_in_year)
            return days;
        per_month = days;
    } else if (rr_has_mday(n)) {
        per_month = 0;
        for (int d = 1; d <= 28 && n->wdays == 0; d++)
            per_month += ((n->mday_pos >> d) & 1) + ((n->mday_neg >> d) & 1);
    } else if (n->wdays != 0) {
        per_month = 4 * __builtin_popcount(n->wdays);
    }
    return n->freq == EV_MONTHLY ? per_month : per_month * months;
}

/* Hands BYSETPOS to libical when its days are exactly the rule's, its period is the rule's
 * (a month or a year) and some position exists in every period: libical then returns only
 * the chosen days, instead of every day of the period going through the filter. (A period
 * left empty would make libical scan forward, up to the year 20000 for a rule that never
 * matches.) */
static void
rr_gen_setpos(rr_gen *g, const rr_norm *n, int exact)
{
    icalrecurrencetype_frequency want =
        n->freq == EV_MONTHLY ? ICAL_MONTHLY_RECURRENCE : ICAL_YEARLY_RECURRENCE;
    int least, fits = 0;

    if (n->n_setpos == 0 || !exact || (n->freq != EV_MONTHLY && n->freq != EV_YEARLY) ||
        g->rule.freq != want || n->n_setpos > ICAL_BY_SETPOS_SIZE - 1 || rr_may_repeat(n))
        return;
    least = rr_period_least(n);
    for (int i = 0; i < n->n_setpos; i++)
        fits |= n->setpos[i] <= least && n->setpos[i] >= -least;
    if (!fits)
        return;
    for (int i = 0; i < n->n_setpos; i++)
        g->rule.by_set_pos[i] = n->setpos[i];
    g->setpos_done = 1;
}

int
rr_gen_init(rr_gen *g, const rr_norm *n, ev_budget *budget)
{
    struct icalrecurrencetype *r = &g->rule;

    /* The first call opens libical (about 12 ms of CPU, more under sanitizers): that is not
     * the rule's cost, so a rule's CPU cap (rule_cpu_ms, 20 ms) never counts it. Only then:
     * reading the thread's CPU clock costs about a microsecond, and a multi-user free/busy
     * sets up a thousand generators. */
    if (!atomic_load_explicit(&rr_ical_ran, memory_order_acquire)) {
        int64_t t0 = ev_thread_cpu_us();
        (void)pthread_once(&rr_ical_once, rr_ical_init);
        ev_budget_exclude(budget, ev_thread_cpu_us() - t0);
    }
    (void)pthread_once(&rr_ical_once, rr_ical_init);
    if (!rr_lib.ok)
        return -1;
    memset(g, 0, sizeof(*g));
    g->budget = budget;
    icalrecurrencetype_clear(r);
    r->interval = 1;
    r->week_start = (icalrecurrencetype_weekday)rr_ical_wday(n->wkst);
    r->by_hour[0] = (short)n->hour;
    r->by_minute[0] = (short)n->minute;
    r->by_second[0] = (short)n->second;
    g->interval = n->interval;
    g->d0 = n->d0;
    g->hour = n->hour;
    g->minute = n->minute;
    g->second = n->second;
    if (n->freq == EV_DAILY && n->months == 0 && n->mday_pos == 0 && n->mday_neg == 0 &&
        n->wdays == 0 && n->interval <= 32767) { /* libical's interval is a short */
        r->freq = ICAL_DAILY_RECURRENCE;
        r->interval = (short)n->interval;
        g->native_daily = 1;
        g->next_day = n->d0;
    } else if (n->n_yday > 0 || n->n_wno > 0 || (n->n_nwday > 0 && n->nwday_in_year)) {
        rr_gen_setpos(g, n, rr_gen_yearly(g, n));
    } else if (n->freq == EV_YEARLY && n->n_setpos > 0) {
        rr_gen_setpos(g, n, rr_gen_months(g, n, ICAL_YEARLY_RECURRENCE));
    } else {
        rr_gen_setpos(g, n, rr_gen_months(g, n, ICAL_MONTHLY_RECURRENCE));
    }
    return 0;
}

/* Counts one libical call (or daily candidate) and charges it: 0, or RR_STOPPED. */
static int
rr_gen_charge(rr_gen *g)
{
    g->calls++;
    return ev_budget_charge(g->budget, 1) == EV_GO ? 0 : RR_STOPPED;
}

/* The first day on or after `day` that a native daily generator can return. */
static int64_t
rr_daily_align(const rr_gen *g, int64_t day)
{
    int64_t k = day - g->d0;

    if (k <= 0)
        return g->d0;
    return g->d0 + (k + g->interval - 1) / g->interval * g->interval;
}

/* Starts a new iterator at real day `day` in its frame: 0; -2 out of memory; RR_STOPPED. When
 * libical finds no candidate in the frame, it->NULL and resume points at the next frame. */
static int
rr_gen_open(rr_gen *g, int64_t day)
{
    struct icaltimetype t = icaltime_null_time();
    int64_t y, k;
    int m, d;

    rr_gen_free(g);
    ev_civil_from_days(day, &y, &m, &d);
    k = ev_floor_div(y - RR_FRAME_YEAR, 400);
    g->frame = k;
    g->shift = k * RR_CYCLE_DAYS;
    g->frame_end = ev_days_from_civil(RR_ICAL_LAST_YEAR + 1, 1, 1) + g->shift;
    g->it_day = day;
    g->last_day = INT64_MIN;
    g->got = 0;
    t.year = (int)(y - 400 * k);
    t.month = m;
    t.day = d;
    t.hour = g->hour;
    t.minute = g->minute;
    t.second = g->second;
    if (rr_gen_charge(g) != 0)
        return RR_STOPPED;
    icalerror_clear_errno();
    g->it = icalrecur_iterator_new(g->rule, t);
    if (g->it == NULL) {
        if (icalerrno == ICAL_NEWFAILED_ERROR || icalerrno == ICAL_ALLOCATION_ERROR)
            return -2;
        /* No candidate up to libical's last year: go on in the next frame. */
        g->empty_frames++;
        g->resume = g->native_daily ? rr_daily_align(g, g->frame_end) : g->frame_end;
    }
    return 0;
}

int
rr_gen_seek(rr_gen *g, int64_t day)
{
    struct icaltimetype t = icaltime_null_time();
    int64_t y;
    int m, d;

    g->done = day > RR_MAX_DAY;
    g->empty_frames = 0;
    if (g->done)
        return 0;
    if (g->native_daily) {
        /* A daily cadence without any day selection is arithmetic; libical (whose every step
         * goes through an ICU calendar, about 2 us) iterates the rules that select days. */
        g->next_day = rr_daily_align(g, day);
        return 0;
    }
    ev_civil_from_days(day, &y, &m, &d);
    if (g->native_daily || g->it == NULL || day < g->it_day ||
        ev_floor_div(y - RR_FRAME_YEAR, 400) != g->frame)
        return rr_gen_open(g, day);
    /* The same frame: libical moves its iterator. */
    ev_civil_from_days(day - g->shift, &y, &m, &d);
    t.year = (int)y;
    t.month = m;
    t.day = d;
    t.hour = g->hour;
    t.minute = g->minute;
    t.second = g->second;
    if (rr_gen_charge(g) != 0)
        return RR_STOPPED;
    g->last_day = INT64_MIN;
    g->got = 0;
    g->it_day = day;
    icalerror_clear_errno();
    if (!icalrecur_iterator_set_start(g->it, t)) {
        rr_gen_free(g);
        g->empty_frames++;
        g->resume = g->frame_end;
    }
    return 0;
}

int
rr_gen_next(rr_gen *g, int64_t *day, char *err, size_t errlen)
{
    if (g->native_daily) {
        if (g->done || g->next_day > RR_MAX_DAY) {
            g->done = 1;
            return 0;
        }
        /* A daily candidate is plain arithmetic, about a twentieth of a libical one: one
         * step per four, though every one reads the budget's verdict. */
        if (ev_budget_charge(g->budget, (++g->calls & 3) == 0) != EV_GO)
            return RR_STOPPED;
        *day = g->next_day;
        g->next_day += g->interval;
        return 1;
    }
    for (;;) {
        struct icaltimetype t;
        int64_t d;
        int rc;
        if (g->done)
            return 0;
        if (g->it == NULL) {
            if (g->resume > RR_MAX_DAY || g->empty_frames >= RR_EMPTY_FRAMES) {
                g->done = 1;
                return 0;
            }
            rc = rr_gen_open(g, g->resume);
            if (rc != 0)
                return rc;
            continue;
        }
        if (rr_gen_charge(g) != 0)
            return RR_STOPPED;
        t = icalrecur_iterator_next(g->it);
        if (icaltime_is_null_time(t)) {
            /* libical's range ends: continue from the next frame. */
            g->empty_frames = g->got ? 0 : g->empty_frames + 1;
            rr_gen_free(g);
            g->resume = g->native_daily ? rr_daily_align(g, g->frame_end) : g->frame_end;
            continue;
        }
        d = ev_days_from_civil(t.year, t.month, t.day) + g->shift;
        if (d <= g->last_day || t.hour != g->hour || t.minute != g->minute ||
            t.second != g->second) {
            snprintf(err, errlen,
                     "recurrence: libical returned %04d-%02d-%02dT%02d:%02d:%02d (out of order or "
                     "at another time of day)",
                     t.year, t.month, t.day, t.hour, t.minute, t.second);
            return -1;
        }
        g->last_day = d;
        g->got = 1;
        g->empty_frames = 0;
        if (d > RR_MAX_DAY) {
            g->done = 1;
            return 0;
        }
        *day = d;
        return 1;
    }
}

void
rr_gen_free(rr_gen *g)
{
    if (g == NULL || g->it == NULL)
        return;
    icalrecur_iterator_free(g->it);
    g->it = NULL;
}

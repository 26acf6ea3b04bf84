/* Expansion of events into instances: libical's recurrence iterator
 * (icalrecur_iterator, rrule_ical.c) enumerates the candidate days of the rule in floating
 * local time; this file walks the rule's periods (FREQ and INTERVAL, WKST), applies BYSETPOS
 * per period, COUNT (before exdates), UNTIL (inclusive), exdates and the window, and converts
 * each local occurrence to UTC with ev_tz (ev_tz.c).
 *
 * Why the local-to-UTC conversion is not libical's (measured on Debian 12, libical 3.0.16,
 * tzdata of this system; README.md has the details):
 *  - zone data: libical turns each TZif file into RRULE-based VTIMEZONE components, and for
 *    33 of the 598 zone names of /usr/share/zoneinfo its UTC offset differs from glibc's
 *    between 2000 and 2146 (sampled every 6 h 7 min 11 s), e.g. America/St_Johns,
 *    Australia/Lord_Howe and Pacific/Chatham from 2038, Africa/Cairo from 2041,
 *    Asia/Jerusalem from 2013, America/Sao_Paulo from 2014, Asia/Tehran from 2002; ev_tz.c
 *    reads the same files as glibc (its tests compare every zone with glibc);
 *  - the DST gap and overlap: libical reads America/New_York 2024-03-10 02:30, a time that
 *    does not exist, as 01:30 EST (06:30Z) where RFC 5545 3.3.5 says 03:30 EDT (07:30Z), and
 *    the ambiguous 2024-11-03 01:30 as the second one, EST (06:30Z), where RFC 5545 takes
 *    the first, EDT (05:30Z);
 *  - locking: every offset lookup (icaltimezone_get_utc_offset*) takes libical's global
 *    changes_mutex; the worker threads would serialise on it. ev_tz zones are immutable.
 * So libical iterates floating times (no zone) with BYHOUR/BYMINUTE/BYSECOND fixed to
 * DTSTART's local time of day, as dateutil maps them, and ev_tz applies RFC 5545's rules.
 */
#include "rrule_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_SEEK_GAP 31 /* days: farther than this, reposition libical instead of stepping */

/* ---- occurrences to instances ------------------------------------------------------------ */

typedef struct rr_ctx {
    const ev_series *s;
    const ev_expand_opts *o;
    int64_t tod;     /* local seconds of the day of DTSTART */
    int64_t until_s; /* inclusive, whole seconds */
    int generated;   /* occurrences so far, before exdates (for count) */
    int none;        /* rr_start found nothing to walk */
    ev_tz_span span; /* local-to-UTC cache across occurrences */
    int64_t *ex;     /* exdates as whole seconds, sorted */
    size_t n_ex, added;
    ev_ilist *out;
    char *err;
    size_t errlen;
} rr_ctx;

/* 1 when an exdate falls in second sec (binary search in the sorted exdates). */
static int
rr_exdated(const rr_ctx *c, int64_t sec)
{
    size_t lo = 0, hi = c->n_ex;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ex[mid] < sec)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_ex && c->ex[lo] == sec;
}

/* Writes the message into err and returns -1. */
static int __attribute__((format(printf, 3, 4)))
rr_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends one instance, enforcing the cap. */
static int
rr_add(rr_ctx *c, int64_t start)
{
    if (c->added >= c->o->max_instances)
        return rr_fail(c->err, c->errlen,
                       "recurrence: the expansion exceeds the limit of %zu instances",
                       c->o->max_instances);
    if (ev_ilist_push(c->out, start, ev_sat_add(start, c->s->duration), c->s->busy) != 0)
        return -2;
    c->added++;
    return 0;
}

/* One occurrence on local day `day`: 0 goes on, 1 stops (until, count, window end), < 0
 * fails. */
static int
rr_emit(rr_ctx *c, int64_t day)
{
    int64_t utc = ev_tz_local_to_utc_span(c->o->tz, day * EV_DAY_S + c->tod, &c->span), ms;

    if (c->s->rrule->has_until && utc > c->until_s)
        return 1;
    if (c->s->rrule->count > 0 && ++c->generated > c->s->rrule->count)
        return 1;
    ms = utc * 1000;
    if (c->o->windowed) {
        if (ev_sat_add(ms, c->s->duration) > c->o->we)
            return 1; /* occurrences only move forward */
        if (ev_sat_add(ms, 1) < c->o->ws)
            return 0;
    }
    if (rr_exdated(c, utc))
        return 0;
    return rr_add(c, ms);
}

/* ---- the walk ---------------------------------------------------------------------------- */

/* Moves the generator to period k when its next candidate lies in an earlier period. */
static int
rr_catch_up(rr_walk *w, int64_t k, int64_t *cand, int *have, char *err, size_t errlen)
{
    int64_t target = rr_period_start(w, k);
    int rc;

    if (*have <= 0 || rr_period_of(w, *cand) >= k || target - *cand <= RR_SEEK_GAP)
        return 0;
    rc = rr_gen_seek(&w->gen, target);
    if (rc != 0)
        return rc;
    *have = rr_gen_next(&w->gen, cand, err, errlen);
    return *have < 0 ? *have : 0;
}

/* Walks the periods from period k (a multiple of the interval) while their first day is at
 * most stop_day, emitting occurrences through c. Returns 0 or a failure. */
static int
rr_walk_periods(rr_walk *w, rr_ctx *c, int64_t k, int64_t stop_day)
{
    const rr_norm *n = w->n;
    int64_t cand = 0, cycle = rr_cycle_days(n), last_hit;
    int have, rc;

    rc = rr_gen_seek(&w->gen, rr_period_start(w, k));
    if (rc != 0)
        return rc;
    have = rr_gen_next(&w->gen, &cand, c->err, c->errlen);
    last_hit = rr_period_start(w, k);
    while (have > 0) {
        int64_t start = rr_period_start(w, k), j;
        size_t nb = 0;
        if (start > stop_day || start > RR_MAX_DAY || start - last_hit > cycle)
            break;
        j = rr_period_of(w, cand);
        if (j < k) { /* a candidate of a period the interval skips */
            have = rr_gen_next(&w->gen, &cand, c->err, c->errlen);
            continue;
        }
        if (j > k) { /* no candidate in period k: go to the first chosen period from j */
            k = (j + n->interval - 1) / n->interval * n->interval;
            rc = rr_catch_up(w, k, &cand, &have, c->err, c->errlen);
            if (rc != 0)
                return rc;
            continue;
        }
        while (have > 0 && rr_period_of(w, cand) == k) {
            if ((n->freq != EV_WEEKLY || k != 0 || cand >= n->d0) && rr_norm_match(n, &w->wc, cand))
                w->buf[nb++] = cand;
            have = rr_gen_next(&w->gen, &cand, c->err, c->errlen);
        }
        if (have < 0)
            break;
        if (!w->gen.setpos_done)
            nb = rr_setpos(n, w->buf, nb);
        for (size_t i = 0; i < nb; i++) {
            if (w->buf[i] < n->d0)
                continue;
            rc = rr_emit(c, w->buf[i]);
            if (rc != 0)
                return rc > 0 ? 0 : rc;
            last_hit = start;
        }
        k += n->interval;
        rc = rr_catch_up(w, k, &cand, &have, c->err, c->errlen);
        if (rc != 0)
            return rc;
    }
    return have < 0 ? have : 0;
}

/* Where a windowed walk of a rule with count may start instead of DTSTART's period, when the
 * number of occurrences before it follows from arithmetic alone: every period of a daily rule
 * without filters has one, every full week of a weekly rule without bymonth and bysetpos has
 * as many as it has weekdays. Returns 1 and sets *k (moved to at most the period after the
 * count ends) and *before; 0 when the rule is not of these. */
static int
rr_count_skip(const rr_walk *w, int64_t *k, int *before)
{
    const rr_norm *n = w->n;
    int per_week = 0, first = 0;

    *before = 0;
    if (*k <= 0)
        return 1;
    if (w->gen.native_daily) {
        *before = (int)(*k / n->interval > EV_COUNT_MAX ? EV_COUNT_MAX + 1 : *k / n->interval);
        return 1;
    }
    if (n->freq != EV_WEEKLY || n->months != 0 || n->n_setpos > 0)
        return 0;
    for (int d = 0; d < 7; d++) {
        if (!(n->wdays & (1u << d)))
            continue;
        per_week++;
        if (rr_mod7(d - n->wkst) >= rr_mod7(n->wd0 - n->wkst))
            first++;
    }
    if (*k / n->interval > EV_COUNT_MAX)
        *k = (int64_t)(EV_COUNT_MAX + 1) * n->interval;
    *before = first + (int)(*k / n->interval - 1) * per_week;
    return 1;
}

/* The local day of instant ms in tz. */
static int64_t
rr_local_day(const ev_tz *tz, int64_t ms)
{
    return ev_floor_div(ev_tz_utc_to_local(tz, ev_floor_div(ms, 1000)), EV_DAY_S);
}

/* endTs of a rule with count (tail): the last occurrence left after exdates, found without
 * libical. The count is walked to the period holding the count-th occurrence (or the rule's
 * last one), and the periods are then read backwards from there, each directly from the
 * filter, until an occurrence that no exdate removes. Emits that one instance. 0, -1, -2 or
 * RR_STOPPED. */
static int
rr_tail(rr_walk *w, rr_ctx *c)
{
    const ev_rrule *r = c->s->rrule;
    int64_t at, k, last;
    int before = 0, ended = 0, rc, take = RR_PERIOD_MAX;
    uint64_t pending = 0;

    rc = rr_count_walk(w, INT64_MAX, r->count, &at, &before, &ended, &last);
    if (rc != 0 || last < 0)
        return rc;
    if (at != INT64_MAX)
        take = r->count - before; /* the count ends inside period `last` */
    for (k = last; k >= 0; k -= r->interval) {
        size_t nb;
        /* One step per EV_BUDGET_EVERY periods; every period reads the budget's verdict. */
        if (ev_budget_charge(w->gen.budget, ++pending % EV_BUDGET_EVERY == 0) != EV_GO)
            return RR_STOPPED;
        if (rr_period_occ(w, k) == 0)
            continue;
        nb = rr_period_days(w, k, w->buf);
        if (k == last && (size_t)take < nb)
            nb = (size_t)take;
        while (nb-- > 0) {
            int64_t utc =
                ev_tz_local_to_utc_span(c->o->tz, w->buf[nb] * EV_DAY_S + c->tod, &c->span);
            if (!rr_exdated(c, utc))
                return rr_add(c, utc * 1000);
        }
    }
    return 0;
}

/* The period a walk starts at (*k, a multiple of the interval) and the occurrences before it
 * (c->generated): the window's period (for a rule with count, once the occurrences before it
 * are counted, by arithmetic or rr_count_walk). Sets c->none when there is nothing to walk.
 * 0, or RR_STOPPED. */
static int
rr_start(rr_walk *w, rr_ctx *c, int64_t day, int64_t *k)
{
    const ev_rrule *r = c->s->rrule;
    const ev_expand_opts *o = c->o;
    /* Occurrences are at most ~26 h away from their local day: two days of margin. */
    int64_t from, at, last;
    int before = 0, ended = 0, rc;

    *k = 0;
    if (!o->windowed)
        return 0;
    from = ev_sat_add(rr_local_day(o->tz, o->ws), -2);
    if (from <= day)
        return 0;
    *k = ev_floor_div(rr_period_of(w, from), r->interval) * r->interval;
    if (r->count == 0 || rr_count_skip(w, k, &c->generated))
        return 0;
    if (r->has_until) { /* until ends the walk within two years of DTSTART */
        *k = 0;
        return 0;
    }
    rc = rr_count_walk(w, *k, r->count, &at, &before, &ended, &last);
    /* The count ends before the window, or no occurrence comes any more. */
    c->none = at < *k || ended;
    c->generated = before;
    return rc;
}

/* ev_expand() of a recurring event: DTSTART's local day and time, dateutil's reading of the
 * rule, the first period to walk (rr_start) and the last day worth walking to. With tail, only
 * the last instance of out is meaningful (ev_end_ts). The walk's state is allocated here and
 * freed before returning. */
static int
rr_expand_recurring(const ev_series *s, const ev_expand_opts *o, ev_ilist *out, char *err,
                    size_t errlen, int tail)
{
    const ev_rrule *r = s->rrule;
    rr_ctx c = {.s = s, .o = o, .out = out, .err = err, .errlen = errlen};
    rr_norm norm;
    rr_walk *w = NULL;
    int64_t local, day, k = 0, stop_day = INT64_MAX;
    int rc = -2;

    if (o->tz == NULL)
        return rr_fail(err, errlen, "recurrence: the calendar's time zone cannot be loaded");
    local = ev_tz_utc_to_local(o->tz, ev_floor_div(s->start_ts, 1000));
    day = ev_floor_div(local, EV_DAY_S);
    c.tod = local - day * EV_DAY_S;
    c.until_s = r->has_until ? ev_floor_div(r->until, 1000) : 0;
    rr_norm_init(&norm, r, day, (int)c.tod, o->wkst);
    if (norm.never)
        return 0;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        goto out;
    w->n = &norm;
    w->w0 = day - rr_mod7(norm.wd0 - o->wkst);
    w->wc.year = INT64_MIN;
    if (rr_gen_init(&w->gen, &norm, o->budget) != 0) {
        rc = rr_fail(err, errlen, "recurrence: the recurrence library (libical) cannot be loaded");
        goto out;
    }
    if (s->n_exdates > 0) {
        c.ex = malloc(s->n_exdates * sizeof(*c.ex));
        if (c.ex == NULL)
            goto out;
        for (size_t i = 0; i < s->n_exdates; i++)
            c.ex[i] = ev_floor_div(s->exdates[i], 1000);
        qsort(c.ex, s->n_exdates, sizeof(*c.ex), rr_cmp_i64);
        c.n_ex = s->n_exdates;
    }
    if (tail && r->count > 0 && !r->has_until) {
        rc = rr_tail(w, &c);
        goto out;
    }
    rc = rr_start(w, &c, day, &k);
    if (rc != 0)
        goto out;
    if (o->windowed) {
        /* A negative duration (stored before durations were checked) ends before it starts:
         * occurrences up to we - duration can still fit. */
        stop_day = ev_sat_add(
            rr_local_day(o->tz, ev_sat_sub(o->we, s->duration < 0 ? s->duration : 0)), 2);
    }
    if (r->has_until) {
        int64_t u = ev_sat_add(rr_local_day(o->tz, r->until), 2);
        if (u < stop_day)
            stop_day = u;
    }
    rc = 0;
    if (!c.none && (r->count == 0 || c.generated < r->count))
        rc = rr_walk_periods(w, &c, k, stop_day);
out:
    if (w != NULL)
        rr_gen_free(&w->gen);
    free(w);
    free(c.ex);
    return rc;
}

/* The result of an expansion the budget b stopped (RR_STOPPED), with a message. */
static int
rr_stopped(const ev_budget *b, char *err, size_t errlen)
{
    char what[64];

    switch (b->stop) {
    case EV_STOP_GONE:
        snprintf(err, errlen, "recurrence: the expansion was abandoned (the caller has gone)");
        return EV_EXPAND_EGONE;
    case EV_STOP_BUDGET:
        snprintf(err, errlen, "recurrence: the expansion used up the caller's work budget");
        return EV_EXPAND_EBUDGET;
    default:
        ev_budget_describe(b, what, sizeof(what));
        snprintf(err, errlen, "recurrence: the rule is too costly to expand (it needs %s)", what);
        return EV_EXPAND_ELIMIT;
    }
}

/* ev_expand(), and with tail the expansion of ev_end_ts(). */
static int
rr_expand(const ev_series *s, const ev_expand_opts *o, ev_ilist *out, char *err, size_t errlen,
          int tail)
{
    ev_expand_opts own;
    ev_budget b;
    int rc;

    if (o->budget == NULL) {
        ev_budget_init(&b, EV_EXPAND_DEFAULT_STEPS, 0, NULL, NULL);
        own = *o;
        own.budget = &b;
        o = &own;
    }
    if (s->rrule != NULL) {
        rc = rr_expand_recurring(s, o, out, err, errlen, tail);
        return rc == RR_STOPPED ? rr_stopped(o->budget, err, errlen) : rc;
    }
    if (ev_budget_charge(o->budget, 1) != EV_GO)
        return rr_stopped(o->budget, err, errlen);
    for (size_t i = 0; i < s->n_exdates; i++)
        if (s->exdates[i] == s->start_ts)
            return 0;
    if (o->max_instances < 1)
        return rr_fail(err, errlen,
                       "recurrence: the expansion exceeds the limit of %zu "
                       "instances",
                       o->max_instances);
    if (ev_ilist_push(out, s->start_ts, ev_sat_add(s->start_ts, s->duration), s->busy) != 0)
        return -2;
    return 0;
}

int
ev_expand(const ev_series *s, const ev_expand_opts *o, ev_ilist *out, char *err, size_t errlen)
{
    return rr_expand(s, o, out, err, errlen, 0);
}

int
ev_starts_on_rule(const ev_series *s, const ev_tz *tz, int wkst, ev_budget *budget, int *on,
                  char *err, size_t errlen)
{
    int64_t start = ev_floor_div(s->start_ts, 1000), local, day;
    rr_norm norm;
    rr_walk *w;
    size_t nb;
    int rc = 0;

    *on = s->rrule == NULL;
    if (s->rrule == NULL)
        return 0;
    if (tz == NULL)
        return rr_fail(err, errlen, "recurrence: the calendar's time zone cannot be loaded");
    local = ev_tz_utc_to_local(tz, start);
    day = ev_floor_div(local, EV_DAY_S);
    rr_norm_init(&norm, s->rrule, day, (int)(local - day * EV_DAY_S), wkst);
    /* The second instant of an ambiguous local time is never an occurrence. */
    if (norm.never || ev_tz_local_to_utc(tz, local) != start)
        return 0;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -2;
    w->n = &norm;
    w->w0 = day - rr_mod7(norm.wd0 - wkst);
    w->wc.year = INT64_MIN;
    w->gen.budget = budget;
    /* Period 0's occurrences from the filter alone (no libical): DTSTART is one iff it is
     * their first day. */
    nb = rr_period_days(w, 0, w->buf);
    if (budget != NULL && budget->stop != EV_GO)
        rc = rr_stopped(budget, err, errlen);
    else
        *on = nb > 0 && w->buf[0] == day;
    free(w);
    return rc;
}

int
ev_end_ts(const ev_series *s, const ev_tz *tz, int wkst, size_t max_instances, ev_budget *budget,
          int64_t *end_ts, char *err, size_t errlen)
{
    ev_expand_opts o = {
        .tz = tz, .wkst = wkst, .windowed = 0, .max_instances = max_instances, .budget = budget};
    ev_ilist l = {0};
    int rc;

    if (s->rrule == NULL) {
        *end_ts = ev_sat_add(s->start_ts, s->duration);
        return 0;
    }
    if (s->rrule->count == 0 && !s->rrule->has_until) {
        *end_ts = EV_END_FOREVER;
        return 0;
    }
    rc = rr_expand(s, &o, &l, err, errlen, 1);
    if (rc == 0)
        *end_ts = l.n > 0 ? l.v[l.n - 1].end : 0;
    ev_ilist_free(&l);
    return rc;
}

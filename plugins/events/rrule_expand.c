/* Expansion of events into instances (API.md B1): a port of python-dateutil's rrule
 * iteration (rrule._iter and _iterinfo) for FREQ=DAILY..YEARLY with one time of day, in
 * local wall-clock days of the calendar's zone, followed by the conversion of each
 * occurrence to UTC (RFC 5545 gap/overlap rules), until/count, exdates and the window.
 */
#include "rrule.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_MASK 380      /* day masks cover a year plus a week of the next, with margin */
#define RR_MAX_YEAR 9999 /* dateutil's datetime.MAXYEAR: iteration ends after it */

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

/* dateutil's _iterinfo: masks of one year (plus seven days of the next). */
typedef struct rr_year {
    int64_t year;
    int month; /* the month nwdaymask was built for */
    int yearlen, nextyearlen;
    int64_t yearordinal; /* day number of 1 January */
    uint8_t mmask[RR_MASK], wdaymask[RR_MASK];
    int8_t mdaymask[RR_MASK], nmdaymask[RR_MASK];
    int mrange[13];
    uint8_t wnomask[RR_MASK];
    uint8_t nwdaymask[RR_MASK];
} rr_year;

static int
rr_mod7(int v)
{
    return ((v % 7) + 7) % 7;
}

static int
rr_in16(const int16_t *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* ---- the plan ---------------------------------------------------------------------------- */

static void
rr_plan_init(rr_plan *p, const ev_rrule *r, int wkst, int64_t dtstart_day)
{
    int64_t y;
    int m, d;

    memset(p, 0, sizeof(*p));
    ev_civil_from_days(dtstart_day, &y, &m, &d);
    p->freq = r->freq;
    p->interval = r->interval;
    p->wkst = wkst;
    for (int i = 0; i < r->n_month; i++)
        p->month_mask |= (uint16_t)(1u << r->month[i]);
    for (int i = 0; i < r->n_mday; i++) {
        if (r->mday[i] > 0)
            p->mday_pos |= 1u << r->mday[i];
        else if (r->mday[i] < 0)
            p->mday_neg |= 1u << -r->mday[i];
    }
    for (int i = 0; i < r->n_wday; i++) {
        /* Ordinals only mean something within a month or a year. */
        if (r->wday[i].n == 0 || r->freq == EV_WEEKLY || r->freq == EV_DAILY)
            p->wday_mask |= (uint8_t)(1u << r->wday[i].day);
        else
            p->n_nwday++;
    }
    p->wday_src = r->wday;
    p->n_wday_src = r->n_wday;
    for (int i = 0; i < r->n_yday; i++) {
        if (r->yday[i] > 0)
            p->yday_pos[r->yday[i]] = 1;
        else
            p->yday_neg[-r->yday[i]] = 1;
    }
    p->has_yday = r->n_yday > 0;
    p->n_wno = r->n_wno;
    p->wno = r->wno;
    p->n_setpos = r->n_setpos;
    p->setpos = r->setpos;
    /* dateutil's defaults: with no day-selecting list, repeat on DTSTART's day. */
    if (r->n_wno == 0 && r->n_yday == 0 && r->n_mday == 0 && r->n_wday == 0) {
        if (r->freq == EV_YEARLY) {
            if (r->n_month == 0)
                p->month_mask = (uint16_t)(1u << m);
            p->mday_pos = 1u << d;
        } else if (r->freq == EV_MONTHLY) {
            p->mday_pos = 1u << d;
        } else if (r->freq == EV_WEEKLY) {
            p->wday_mask = (uint8_t)(1u << ev_weekday(dtstart_day));
        }
    }
    p->has_month = p->month_mask != 0;
    p->has_mday = p->mday_pos != 0 || p->mday_neg != 0;
    p->has_wday = p->wday_mask != 0;
}

/* ---- year info (dateutil _iterinfo.rebuild) ---------------------------------------------- */

/* The week-number mask of dateutil for year yi->year. */
static void
rr_build_wno(const rr_plan *p, rr_year *yi, int yearweekday)
{
    int wkst = p->wkst, no1wkst, firstwkst, wyearlen, numweeks;

    memset(yi->wnomask, 0, sizeof(yi->wnomask));
    no1wkst = firstwkst = (7 - yearweekday + wkst) % 7;
    if (no1wkst >= 4) {
        no1wkst = 0;
        wyearlen = yi->yearlen + rr_mod7(yearweekday - wkst);
    } else {
        wyearlen = yi->yearlen - no1wkst;
    }
    numweeks = wyearlen / 7 + (wyearlen % 7) / 4;
    for (int k = 0; k < p->n_wno; k++) {
        int n = p->wno[k], i;
        if (n < 0)
            n += numweeks + 1;
        if (!(n > 0 && n <= numweeks))
            continue;
        if (n > 1) {
            i = no1wkst + (n - 1) * 7;
            if (no1wkst != firstwkst)
                i -= 7 - firstwkst;
        } else {
            i = no1wkst;
        }
        for (int j = 0; j < 7 && i >= 0 && i < RR_MASK - 1; j++) {
            yi->wnomask[i++] = 1;
            if (yi->wdaymask[i] == wkst)
                break;
        }
    }
    if (rr_in16(p->wno, p->n_wno, 1)) {
        /* Week 1 of the next year may start in this one. */
        int i = no1wkst + numweeks * 7;
        if (no1wkst != firstwkst)
            i -= 7 - firstwkst;
        if (i < yi->yearlen) {
            for (int j = 0; j < 7 && i >= 0 && i < RR_MASK - 1; j++) {
                yi->wnomask[i++] = 1;
                if (yi->wdaymask[i] == wkst)
                    break;
            }
        }
    }
    if (no1wkst) {
        /* The days before week 1 belong to the last week of the previous year. */
        int lnumweeks;
        if (!rr_in16(p->wno, p->n_wno, -1)) {
            int lyearweekday = ev_weekday(ev_days_from_civil(yi->year - 1, 1, 1));
            int lno1wkst = (7 - lyearweekday + wkst) % 7;
            int lyearlen = 365 + ev_is_leap(yi->year - 1);
            if (lno1wkst >= 4)
                lnumweeks = 52 + ((lyearlen + rr_mod7(lyearweekday - wkst)) % 7) / 4;
            else
                lnumweeks = 52 + ((yi->yearlen - no1wkst) % 7) / 4;
        } else {
            lnumweeks = -1;
        }
        if (rr_in16(p->wno, p->n_wno, lnumweeks))
            for (int i = 0; i < no1wkst; i++)
                yi->wnomask[i] = 1;
    }
}

/* The ordinal-weekday mask (1MO, -1FR) of the month or of the year. */
static void
rr_build_nwday(const rr_plan *p, rr_year *yi, int month)
{
    int ranges[12][2], nr = 0;

    memset(yi->nwdaymask, 0, sizeof(yi->nwdaymask));
    if (p->freq == EV_YEARLY) {
        if (p->has_month) {
            for (int m = 1; m <= 12; m++) {
                if (p->month_mask & (1u << m)) {
                    ranges[nr][0] = yi->mrange[m - 1];
                    ranges[nr++][1] = yi->mrange[m];
                }
            }
        } else {
            ranges[nr][0] = 0;
            ranges[nr++][1] = yi->yearlen;
        }
    } else {
        ranges[nr][0] = yi->mrange[month - 1];
        ranges[nr++][1] = yi->mrange[month];
    }
    for (int r = 0; r < nr; r++) {
        int first = ranges[r][0], last = ranges[r][1] - 1;
        for (int k = 0; k < p->n_wday_src; k++) {
            const ev_wday *w = &p->wday_src[k];
            int i;
            if (w->n == 0)
                continue;
            if (w->n < 0) {
                i = last + (w->n + 1) * 7;
                if (i < first)
                    continue;
                i -= rr_mod7(yi->wdaymask[i] - w->day);
            } else {
                i = first + (w->n - 1) * 7;
                if (i > last)
                    continue;
                i += rr_mod7(7 - yi->wdaymask[i] + w->day);
            }
            if (first <= i && i <= last)
                yi->nwdaymask[i] = 1;
        }
    }
}

/* Rebuilds the masks for (year, month) when they changed (dateutil's rebuild). */
static void
rr_rebuild(const rr_plan *p, rr_year *yi, int64_t year, int month)
{
    int year_changed = yi->yearlen == 0 || yi->year != year;

    if (year_changed) {
        int yearweekday;
        yi->year = year;
        yi->yearlen = 365 + ev_is_leap(year);
        yi->nextyearlen = 365 + ev_is_leap(year + 1);
        yi->yearordinal = ev_days_from_civil(year, 1, 1);
        yearweekday = ev_weekday(yi->yearordinal);
        /* Walk the days from 1 January on (into the next year for the last entries). */
        {
            int64_t y = year;
            int m = 1, d = 1, dim = 31;
            for (int i = 0; i < RR_MASK; i++) {
                yi->mmask[i] = (uint8_t)m;
                yi->mdaymask[i] = (int8_t)d;
                yi->nmdaymask[i] = (int8_t)(d - dim - 1);
                yi->wdaymask[i] = (uint8_t)((yearweekday + i) % 7);
                if (++d > dim) {
                    d = 1;
                    if (++m > 12) {
                        m = 1;
                        y++;
                    }
                    dim = ev_days_in_month(y, m);
                }
            }
        }
        yi->mrange[0] = 0;
        for (int m = 1; m <= 12; m++)
            yi->mrange[m] = yi->mrange[m - 1] + ev_days_in_month(year, m);
        if (p->n_wno > 0)
            rr_build_wno(p, yi, yearweekday);
    }
    if (p->n_nwday > 0 && (year_changed || yi->month != month))
        rr_build_nwday(p, yi, month);
    yi->month = month;
}

/* 1 when day index i of the year passes every BY* filter (dateutil's dayset filter). */
static int
rr_day_ok(const rr_plan *p, const rr_year *yi, int i)
{
    if (p->has_month && !(p->month_mask & (1u << yi->mmask[i])))
        return 0;
    if (p->n_wno > 0 && !yi->wnomask[i])
        return 0;
    if (p->has_wday && !(p->wday_mask & (1u << yi->wdaymask[i])))
        return 0;
    if (p->n_nwday > 0 && (i >= yi->yearlen || !yi->nwdaymask[i]))
        return 0;
    if (p->has_mday && !(p->mday_pos & (1u << yi->mdaymask[i])) &&
        !(p->mday_neg & (1u << -yi->nmdaymask[i])))
        return 0;
    if (p->has_yday) {
        if (i < yi->yearlen)
            return p->yday_pos[i + 1] || p->yday_neg[yi->yearlen - i];
        return p->yday_pos[i + 1 - yi->yearlen] || p->yday_neg[yi->nextyearlen + yi->yearlen - i];
    }
    return 1;
}

static int
rr_cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Emits the days of one period [start, end) (indices into the year) that pass the filters,
 * reduced by BYSETPOS when given. Returns what emit returned when not 0, else 0. */
static int
rr_period(const rr_plan *p, const rr_year *yi, int start, int end, int64_t dtstart_day,
          rr_emit_fn emit, void *ctx)
{
    int days[RR_MASK], n = 0, pos[RR_MASK], np = 0, rc;

    for (int i = start; i < end; i++)
        if (rr_day_ok(p, yi, i))
            days[n++] = i;
    if (p->n_setpos > 0) {
        for (int k = 0; k < p->n_setpos; k++) {
            int idx = p->setpos[k] > 0 ? p->setpos[k] - 1 : n + p->setpos[k], j;
            if (idx < 0 || idx >= n)
                continue;
            for (j = 0; j < np && pos[j] != days[idx]; j++)
                ;
            if (j == np)
                pos[np++] = days[idx];
        }
        qsort(pos, (size_t)np, sizeof(int), rr_cmp_int);
        memcpy(days, pos, (size_t)np * sizeof(int));
        n = np;
    }
    for (int k = 0; k < n; k++) {
        int64_t day = yi->yearordinal + days[k];
        if (day < dtstart_day)
            continue;
        rc = emit(ctx, day);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Moves (year, month) forward by `months`. */
static void
rr_add_months(int64_t *year, int *month, int64_t months)
{
    int64_t mi = *year * 12 + (*month - 1) + months;

    *year = ev_floor_div(mi, 12);
    *month = (int)(mi - *year * 12) + 1;
}

/* Iterates the rule from DTSTART (a local day number), or, when from_day is later and the
 * rule has no count, from the period holding from_day; stops after the period starting past
 * stop_day or after year 9999. Returns 0 or emit's failure. */
static int
rr_iterate(const rr_plan *p, int64_t dtstart_day, int64_t from_day, int64_t stop_day,
           rr_emit_fn emit, void *ctx)
{
    rr_year yinfo, *yi = &yinfo;
    int64_t year, cur = dtstart_day;
    int month, mday, rc = 0;

    yi->yearlen = 0; /* nothing built yet */
    yi->month = 0;
    ev_civil_from_days(dtstart_day, &year, &month, &mday);
    if (from_day > dtstart_day) {
        int64_t fy;
        int fm, fd;
        ev_civil_from_days(from_day, &fy, &fm, &fd);
        if (p->freq == EV_DAILY) {
            cur += (from_day - dtstart_day) / p->interval * p->interval;
        } else if (p->freq == EV_WEEKLY) {
            int64_t w0 = dtstart_day - rr_mod7(ev_weekday(dtstart_day) - p->wkst);
            int64_t k = (from_day - w0) / (7 * (int64_t)p->interval);
            if (k >= 1)
                cur = w0 + k * 7 * p->interval;
        } else if (p->freq == EV_MONTHLY) {
            int64_t k = ((fy * 12 + fm) - (year * 12 + month)) / p->interval;
            if (k >= 1)
                rr_add_months(&year, &month, k * p->interval);
        } else {
            int64_t k = (fy - year) / p->interval;
            if (k >= 1)
                year += k * p->interval;
        }
    }
    if (p->freq == EV_DAILY || p->freq == EV_WEEKLY)
        ev_civil_from_days(cur, &year, &month, &mday);
    while (year <= RR_MAX_YEAR) {
        int start, end;
        rr_rebuild(p, yi, year, month);
        if (p->freq == EV_YEARLY) {
            start = 0;
            end = yi->yearlen;
        } else if (p->freq == EV_MONTHLY) {
            start = yi->mrange[month - 1];
            end = yi->mrange[month];
        } else if (p->freq == EV_WEEKLY) {
            int i = (int)(cur - yi->yearordinal);
            start = i;
            for (int j = 0; j < 7; j++) {
                i++;
                if (yi->wdaymask[i] == p->wkst)
                    break;
            }
            end = i;
        } else {
            start = (int)(cur - yi->yearordinal);
            end = start + 1;
        }
        if (yi->yearordinal + start > stop_day)
            break;
        rc = rr_period(p, yi, start, end, dtstart_day, emit, ctx);
        if (rc != 0)
            break;
        if (p->freq == EV_YEARLY) {
            year += p->interval;
        } else if (p->freq == EV_MONTHLY) {
            rr_add_months(&year, &month, p->interval);
        } else {
            int64_t idx;
            if (p->freq == EV_WEEKLY)
                cur = cur - rr_mod7(ev_weekday(cur) - p->wkst) + 7 * (int64_t)p->interval;
            else
                cur += p->interval;
            idx = cur - yi->yearordinal;
            if (idx >= 0 && idx < yi->yearlen) /* same year: the masks know the month */
                month = yi->mmask[idx];
            else
                ev_civil_from_days(cur, &year, &month, &mday);
        }
    }
    return rc > 0 ? 0 : rc;
}
/* ---- occurrences to instances ------------------------------------------------------------ */

typedef struct rr_ctx {
    const ev_series *s;
    const ev_expand_opts *o;
    int64_t tod;     /* local seconds of the day of DTSTART */
    int64_t until_s; /* inclusive, whole seconds */
    int generated;   /* occurrences so far, before exdates (for count) */
    ev_tz_span span; /* local-to-UTC cache across occurrences */
    int64_t *ex;     /* exdates as whole seconds, sorted */
    size_t n_ex, added;
    ev_ilist *out;
    char *err;
    size_t errlen;
} rr_ctx;

static int
rr_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

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

static int
rr_emit(void *arg, int64_t day)
{
    rr_ctx *c = arg;
    const rr_ctx *cc = c;
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
    if (rr_exdated(cc, utc))
        return 0;
    return rr_add(c, ms);
}

/* The local day of instant ms in tz. */
static int64_t
rr_local_day(const ev_tz *tz, int64_t ms)
{
    return ev_floor_div(ev_tz_utc_to_local(tz, ev_floor_div(ms, 1000)), EV_DAY_S);
}

static int
rr_expand_recurring(const ev_series *s, const ev_expand_opts *o, ev_ilist *out, char *err,
                    size_t errlen)
{
    const ev_rrule *r = s->rrule;
    rr_ctx c = {.s = s, .o = o, .out = out, .err = err, .errlen = errlen};
    rr_plan plan;
    int64_t local, day, from_day = INT64_MIN, stop_day = INT64_MAX;
    int rc = -2;

    if (o->tz == NULL)
        return rr_fail(err, errlen, "recurrence: the calendar's time zone cannot be loaded");
    local = ev_tz_utc_to_local(o->tz, ev_floor_div(s->start_ts, 1000));
    day = ev_floor_div(local, EV_DAY_S);
    c.tod = local - day * EV_DAY_S;
    c.until_s = r->has_until ? ev_floor_div(r->until, 1000) : 0;
    if (s->n_exdates > 0) {
        c.ex = malloc(s->n_exdates * sizeof(*c.ex));
        if (c.ex == NULL)
            goto out;
        for (size_t i = 0; i < s->n_exdates; i++)
            c.ex[i] = ev_floor_div(s->exdates[i], 1000);
        qsort(c.ex, s->n_exdates, sizeof(*c.ex), rr_cmp_i64);
        c.n_ex = s->n_exdates;
    }
    rr_plan_init(&plan, r, o->wkst, day);
    /* Occurrences are at most ~26 h away from their local day: two days of margin. */
    if (o->windowed) {
        if (r->count == 0)
            from_day = ev_sat_add(rr_local_day(o->tz, o->ws), -2);
        stop_day = ev_sat_add(
            rr_local_day(o->tz, ev_sat_add(o->we, -(s->duration < 0 ? s->duration : 0))), 2);
    }
    if (r->has_until) {
        int64_t u = ev_sat_add(rr_local_day(o->tz, r->until), 2);
        if (u < stop_day)
            stop_day = u;
    }
    rc = rr_iterate(&plan, day, from_day, stop_day, rr_emit, &c);
out:
    free(c.ex);
    return rc;
}

int
ev_expand(const ev_series *s, const ev_expand_opts *o, ev_ilist *out, char *err, size_t errlen)
{
    if (s->rrule != NULL)
        return rr_expand_recurring(s, o, out, err, errlen);
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
ev_end_ts(const ev_series *s, const ev_tz *tz, int wkst, size_t max_instances, int64_t *end_ts,
          char *err, size_t errlen)
{
    ev_expand_opts o = {.tz = tz, .wkst = wkst, .windowed = 0, .max_instances = max_instances};
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
    rc = ev_expand(s, &o, &l, err, errlen);
    if (rc == 0)
        *end_ts = l.n > 0 ? l.v[l.n - 1].end : 0;
    ev_ilist_free(&l);
    return rc;
}

/* The recurrence iteration engine (see rrule_iter.h): dateutil's day masks per year, the BY*
 * filters, BYSETPOS per period, and the period stepping with a jump close to the window.
 */
#include "rrule_iter.h"

#include <stdlib.h>
#include <string.h>

#define RR_MASK 380      /* day masks cover a year plus a week of the next, with margin */
#define RR_MAX_YEAR 9999 /* dateutil's datetime.MAXYEAR: iteration ends after it */

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

void
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
int
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

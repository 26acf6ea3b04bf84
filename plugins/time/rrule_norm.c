/* The recurrence rule in python-dateutil's terms (rules are evaluated the way
 * dateutil does) and dateutil's per-day filter. libical (rrule_ical.c) enumerates candidate
 * days; every candidate then passes through rr_norm_match(), so a day libical returns that
 * dateutil would not keep is dropped (libical 3.0.16 differs from dateutil in several places,
 * see README.md).
 *
 * dateutil's reading of a rule, reproduced here:
 *  - with none of byweekno, byyearday, bymonthday, byweekday, DTSTART gives the default day
 *    (yearly: its month and day; monthly: its day; weekly: its weekday);
 *  - byweekday ordinals count within the month (monthly, or yearly with bymonth) or the year
 *    (yearly without bymonth); daily and weekly rules ignore them (1MO means every Monday);
 *  - a day must pass every filter: plain weekdays AND ordinal weekdays when both are given
 *    (so MO,1TU selects nothing), bymonthday 0 selects nothing and filters nothing;
 *  - week numbers follow WKST: week 1 is the first week with at least four days in the year.
 */
#include "rrule_impl.h"

#include <string.h>

#define RR_ORD_MONTH_MAX 5 /* the 5th weekday of a month exists, the 6th never */
#define RR_ORD_YEAR_MAX 53

/* 1 when x is one of the n values of v. */
static int
rr_has(const int16_t *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* 1 when some allowed month can hold one of the month days (February up to 29). */
static int
rr_mday_possible(const rr_norm *n)
{
    static const int longest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    for (int m = 1; m <= 12; m++) {
        if (n->months != 0 && !(n->months & (1u << m)))
            continue;
        for (int d = 1; d <= longest[m]; d++)
            if ((n->mday_pos & (1u << d)) || (n->mday_neg & (1u << d)))
                return 1;
    }
    return 0;
}

/* The smaller of a and b. */
static int
rr_min(int a, int b)
{
    return a < b ? a : b;
}

/* At most how many days one period can select (a day, a week, a month, a year). */
static int
rr_period_most(const rr_norm *n)
{
    int most, wd = __builtin_popcount(n->wdays), md;

    md = __builtin_popcount(n->mday_pos) + __builtin_popcount(n->mday_neg);
    switch (n->freq) {
    case EV_DAILY:
        return 1;
    case EV_WEEKLY:
        return wd > 0 ? wd : 7;
    case EV_MONTHLY:
        most = 31;
        if (wd > 0)
            most = rr_min(most, 5 * wd);
        if (n->n_nwday > 0)
            most = rr_min(most, n->n_nwday);
        if (md > 0)
            most = rr_min(most, md);
        return most;
    default:
        most = 366;
        if (n->months != 0)
            most = rr_min(most, 31 * __builtin_popcount(n->months));
        if (wd > 0)
            most = rr_min(most, 53 * wd);
        if (n->n_nwday > 0)
            most = rr_min(most, n->n_nwday * (n->months != 0 ? 12 : 1));
        if (md > 0)
            most = rr_min(most, 12 * md);
        if (n->n_yday > 0)
            most = rr_min(most, n->n_yday);
        return most;
    }
}

/* 1 when some bysetpos position fits in a period. */
static int
rr_setpos_possible(const rr_norm *n)
{
    int most = rr_period_most(n);

    for (int i = 0; i < n->n_setpos; i++)
        if (n->setpos[i] <= most && n->setpos[i] >= -most)
            return 1;
    return 0;
}

/* 1 when day x of a month of dim days is one of the month days. */
static int
rr_mday_has(const rr_norm *n, int x, int dim)
{
    return (n->mday_pos & (1u << x)) || (n->mday_neg & (1u << (dim - x + 1)));
}

/* 1 when some month day can also be one of the ordinal weekdays (any date falls on every
 * weekday in some year, so only the ordinal's position in the month or year matters). */
static int
rr_nwday_mday_possible(const rr_norm *n)
{
    for (int leap = 0; leap <= 1; leap++) {
        int yday = 0, ylen = 365 + leap;
        for (int m = 1; m <= 12; m++) {
            int dim = m == 2 ? 28 + leap : ev_days_in_month(2001, m);
            for (int x = 1; x <= dim; x++) {
                int first, last;
                yday++;
                if ((n->months != 0 && !(n->months & (1u << m))) || !rr_mday_has(n, x, dim))
                    continue;
                first = n->nwday_in_year ? (yday - 1) / 7 + 1 : (x - 1) / 7 + 1;
                last = n->nwday_in_year ? (ylen - yday) / 7 + 1 : (dim - x) / 7 + 1;
                for (int d = 0; d < 7; d++)
                    if ((n->nw_pos[d] & (1ull << first)) || (n->nw_neg[d] & (1ull << last)))
                        return 1;
            }
        }
    }
    return 0;
}

/* Sorts the byweekday list into plain weekdays and possible ordinals. Returns 1 when the
 * list holds ordinals but none can ever match (the rule then selects nothing). */
static int
rr_norm_wdays(rr_norm *n, const ev_rrule *r)
{
    int ordinals = 0, max;

    n->nwday_in_year = r->freq == EV_YEARLY && r->n_month == 0;
    max = n->nwday_in_year ? RR_ORD_YEAR_MAX : RR_ORD_MONTH_MAX;
    for (int i = 0; i < r->n_wday; i++) {
        const ev_wday *w = &r->wday[i];
        if (w->n == 0 || r->freq == EV_WEEKLY || r->freq == EV_DAILY) {
            n->wdays |= (uint8_t)(1u << w->day);
            continue;
        }
        ordinals++;
        if (w->n > max || w->n < -max)
            continue; /* the n-th weekday does not exist in any month (year) */
        if (w->n > 0)
            n->nw_pos[w->day] |= 1ull << w->n;
        else
            n->nw_neg[w->day] |= 1ull << -w->n;
        n->n_nwday++;
    }
    if (n->n_nwday > 0 && n->wdays != 0) {
        /* Both filters apply: the n-th Monday passes only if Monday is a plain day too. */
        n->n_nwday = 0;
        for (int d = 0; d < 7; d++) {
            if (!(n->wdays & (1u << d))) {
                n->nw_pos[d] = n->nw_neg[d] = 0;
                continue;
            }
            n->n_nwday += __builtin_popcountll(n->nw_pos[d]) + __builtin_popcountll(n->nw_neg[d]);
        }
        n->wdays = 0;
    }
    return ordinals > 0 && n->n_nwday == 0;
}

void
rr_norm_init(rr_norm *n, const ev_rrule *r, int64_t d0, int tod, int wkst)
{
    int d;

    memset(n, 0, sizeof(*n));
    n->freq = r->freq;
    n->interval = r->interval;
    n->wkst = wkst;
    n->d0 = d0;
    ev_civil_from_days(d0, &n->y0, &n->m0, &d);
    n->wd0 = ev_weekday(d0);
    n->hour = tod / 3600;
    n->minute = tod / 60 % 60;
    n->second = tod % 60;
    for (int i = 0; i < r->n_month; i++)
        n->months |= (uint16_t)(1u << r->month[i]);
    for (int i = 0; i < r->n_mday; i++) {
        if (r->mday[i] > 0)
            n->mday_pos |= 1u << r->mday[i];
        else if (r->mday[i] < 0)
            n->mday_neg |= 1u << -r->mday[i];
    }
    for (int i = 0; i < r->n_yday; i++) {
        if (r->yday[i] > 0)
            n->yday_pos[r->yday[i]] = 1;
        else
            n->yday_neg[-r->yday[i]] = 1;
    }
    n->n_yday = r->n_yday;
    n->n_wno = r->n_wno;
    n->wno = r->wno;
    n->n_setpos = r->n_setpos;
    n->setpos = r->setpos;
    n->never = rr_norm_wdays(n, r);
    /* dateutil's defaults: with no day-selecting list, repeat on DTSTART's day. */
    if (r->n_wno == 0 && r->n_yday == 0 && r->n_mday == 0 && r->n_wday == 0) {
        if (r->freq == EV_YEARLY) {
            if (n->months == 0)
                n->months = (uint16_t)(1u << n->m0);
            n->mday_pos = 1u << d;
        } else if (r->freq == EV_MONTHLY) {
            n->mday_pos = 1u << d;
        } else if (r->freq == EV_WEEKLY) {
            n->wdays = (uint8_t)(1u << n->wd0);
        }
    }
    if ((n->mday_pos != 0 || n->mday_neg != 0) &&
        (!rr_mday_possible(n) || (n->n_nwday > 0 && !rr_nwday_mday_possible(n))))
        n->never = 1;
    /* A daily rule stepping whole weeks stays on DTSTART's weekday. */
    if (r->freq == EV_DAILY && r->interval % 7 == 0 && n->wdays != 0 &&
        !(n->wdays & (1u << n->wd0)))
        n->never = 1;
    if (n->n_setpos > 0 && !rr_setpos_possible(n))
        n->never = 1;
}

/* Marks the days of one week in mask from index i: up to the day before the next WKST. */
static void
rr_mark_week(uint8_t *mask, int len, int i, int yearweekday, int wkst)
{
    for (int j = 0; j < 7 && i >= 0 && i < len; j++) {
        mask[i++] = 1;
        if (rr_mod7(yearweekday + i) == wkst)
            break;
    }
}

/* dateutil's week-number mask (_iterinfo.rebuild) of year y: mask[i] for day index i. */
static void
rr_wno_build(const rr_norm *n, int64_t y, uint8_t *mask, int len)
{
    int yearlen = 365 + ev_is_leap(y), wkst = n->wkst;
    int yearweekday = ev_weekday(ev_days_from_civil(y, 1, 1));
    int no1wkst, firstwkst, wyearlen, numweeks;

    memset(mask, 0, (size_t)len);
    no1wkst = firstwkst = rr_mod7(7 - yearweekday + wkst);
    if (no1wkst >= 4) {
        no1wkst = 0;
        wyearlen = yearlen + rr_mod7(yearweekday - wkst);
    } else {
        wyearlen = yearlen - no1wkst;
    }
    numweeks = wyearlen / 7 + (wyearlen % 7) / 4;
    for (int k = 0; k < n->n_wno; k++) {
        int w = n->wno[k], i;
        if (w < 0)
            w += numweeks + 1;
        if (!(w > 0 && w <= numweeks))
            continue;
        i = w > 1 ? no1wkst + (w - 1) * 7 : no1wkst;
        if (w > 1 && no1wkst != firstwkst)
            i -= 7 - firstwkst;
        rr_mark_week(mask, len, i, yearweekday, wkst);
    }
    if (rr_has(n->wno, n->n_wno, 1)) {
        /* Week 1 of the next year may start in this one. */
        int i = no1wkst + numweeks * 7;
        if (no1wkst != firstwkst)
            i -= 7 - firstwkst;
        if (i < yearlen)
            rr_mark_week(mask, len, i, yearweekday, wkst);
    }
    if (no1wkst) {
        /* The days before week 1 belong to the last week of the previous year. */
        int lnumweeks = -1;
        if (!rr_has(n->wno, n->n_wno, -1)) {
            int lyearweekday = ev_weekday(ev_days_from_civil(y - 1, 1, 1));
            int lno1wkst = rr_mod7(7 - lyearweekday + wkst);
            int lyearlen = 365 + ev_is_leap(y - 1);
            if (lno1wkst >= 4)
                lnumweeks = 52 + ((lyearlen + rr_mod7(lyearweekday - wkst)) % 7) / 4;
            else
                lnumweeks = 52 + ((yearlen - no1wkst) % 7) / 4;
        }
        if (rr_has(n->wno, n->n_wno, lnumweeks))
            for (int i = 0; i < no1wkst && i < len; i++)
                mask[i] = 1;
    }
}

int
rr_norm_wno_ydays(const rr_norm *n, int16_t *out, int cap)
{
    uint8_t any[366] = {0}, mask[366];
    int count = 0;

    /* Week masks depend on the year modulo 400 only. */
    for (int64_t y = 2000; y < 2400; y++) {
        rr_wno_build(n, y, mask, 365 + ev_is_leap(y));
        for (int i = 0; i < 365 + ev_is_leap(y); i++)
            any[i] |= mask[i];
    }
    for (int i = 0; i < 366; i++) {
        if (!any[i])
            continue;
        if (count < cap)
            out[count] = (int16_t)(i + 1);
        count++;
    }
    return count;
}

int
rr_norm_match(const rr_norm *n, rr_wno_cache *c, int64_t day)
{
    int64_t y;
    int m, d, wd = ev_weekday(day), dim, yearlen, i;

    ev_civil_from_days(day, &y, &m, &d);
    if (n->months != 0 && !(n->months & (1u << m)))
        return 0;
    if (n->wdays != 0 && !(n->wdays & (1u << wd)))
        return 0;
    dim = ev_days_in_month(y, m);
    yearlen = 365 + ev_is_leap(y);
    i = (int)(day - ev_days_from_civil(y, 1, 1)); /* 0-based day of the year */
    if (n->n_nwday > 0) {
        int first = n->nwday_in_year ? i / 7 + 1 : (d - 1) / 7 + 1;
        int last = n->nwday_in_year ? (yearlen - 1 - i) / 7 + 1 : (dim - d) / 7 + 1;
        if (!(n->nw_pos[wd] & (1ull << first)) && !(n->nw_neg[wd] & (1ull << last)))
            return 0;
    }
    if ((n->mday_pos != 0 || n->mday_neg != 0) && !(n->mday_pos & (1u << d)) &&
        !(n->mday_neg & (1u << (dim - d + 1))))
        return 0;
    if (n->n_yday > 0 && !n->yday_pos[i + 1] && !n->yday_neg[yearlen - i])
        return 0;
    if (n->n_wno > 0) {
        if (c->year != y) {
            rr_wno_build(n, y, c->mask, yearlen);
            c->year = y;
        }
        if (!c->mask[i])
            return 0;
    }
    return 1;
}

/* Time-zone arithmetic over loaded zones: UTC offsets, transitions, RFC 5545 local-to-UTC
 * resolution, and a process-wide cache of loaded zones.
 *
 * Offsets follow glibc's reading of the same files: before the first transition the first
 * standard-time type applies; from the last transition on, the footer's rule.
 */
#include "ev_tz_impl.h"

#include <pthread.h>
#include <string.h>

#define TZ_SPAN_S (30 * 3600) /* more than any UTC offset */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static ev_tz *tz_cache;

/* Local seconds of the change described by r in year y. */
static int64_t
tz_rule_local(const tz_rule *r, int64_t y)
{
    int64_t jan1 = ev_days_from_civil(y, 1, 1), day;

    if (r->kind == 'J') {
        day = jan1 + r->a - 1 + (ev_is_leap(y) && r->a >= 60 ? 1 : 0);
    } else if (r->kind == 'D') {
        day = jan1 + r->a;
    } else {
        int64_t first = ev_days_from_civil(y, r->a, 1);
        int want = (r->c + 6) % 7; /* POSIX 0 = Sunday; ours 0 = Monday */
        int dim = ev_days_in_month(y, r->a);
        day = first + (want - ev_weekday(first) + 7) % 7 + (int64_t)(r->b - 1) * 7;
        while (day >= first + dim)
            day -= 7;
    }
    return day * EV_DAY_S + r->time;
}

/* The footer's changes in year y as instants: [0] to daylight time, [1] to standard. */
static void
tz_rule_year(const ev_tz *tz, int64_t y, int64_t out[2])
{
    out[0] = tz_rule_local(&tz->start, y) - tz->std_off;
    out[1] = tz_rule_local(&tz->end, y) - tz->dst_off;
}

/* The year (UTC) of instant t. */
static int64_t
tz_year_of(int64_t t)
{
    int64_t y;
    int m, d;

    ev_civil_from_days(ev_floor_div(t, EV_DAY_S), &y, &m, &d);
    return y;
}

/* The footer rule's offset at t: that of the latest change at or before t (a change to
 * daylight time wins a tie, so "all year daylight" rules stay in daylight time). */
static int32_t
tz_rule_offset(const ev_tz *tz, int64_t t)
{
    int64_t y0 = tz_year_of(t), best = INT64_MIN, ch[2];
    int32_t off = tz->std_off;

    for (int64_t y = y0 - 1; y <= y0 + 1; y++) {
        tz_rule_year(tz, y, ch);
        if (ch[1] <= t && ch[1] > best) {
            best = ch[1];
            off = tz->std_off;
        }
        if (ch[0] <= t && ch[0] >= best) {
            best = ch[0];
            off = tz->dst_off;
        }
    }
    return off;
}

/* ---- offsets and transitions ----------------------------------------------------------- */

int
ev_tz_offset(const ev_tz *tz, int64_t t)
{
    size_t lo, hi;

    if (tz->n == 0 || t < tz->trans[0])
        return tz->before;
    if (t >= tz->trans[tz->n - 1]) {
        if (tz->footer == 2)
            return tz_rule_offset(tz, t);
        if (tz->footer == 1)
            return tz->std_off;
        return tz->after[tz->n - 1];
    }
    lo = 0;
    hi = tz->n - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->after[lo];
}

/* The first transition instant after t into *next; 0 when there is none, else 1. */
static int
tz_next_change(const ev_tz *tz, int64_t t, int64_t *next)
{
    if (tz->n == 0)
        return 0;
    if (t < tz->trans[tz->n - 1]) {
        size_t lo = 0, hi = tz->n - 1;
        if (t < tz->trans[0]) {
            *next = tz->trans[0];
            return 1;
        }
        while (hi - lo > 1) { /* trans[lo] <= t < trans[hi] */
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        *next = tz->trans[hi];
        return 1;
    }
    if (tz->footer != 2)
        return 0;
    {
        int64_t y0 = tz_year_of(t), best = INT64_MAX, ch[2];
        for (int64_t y = y0 - 1; y <= y0 + 2; y++) {
            tz_rule_year(tz, y, ch);
            for (int i = 0; i < 2; i++)
                if (ch[i] > t && ch[i] < best)
                    best = ch[i];
        }
        *next = best;
        return best != INT64_MAX;
    }
}

int64_t
ev_tz_local_to_utc(const ev_tz *tz, int64_t local)
{
    /* Walk the pieces of constant offset from well before the answer; in each piece the
     * only candidate is local - offset. The first piece that holds its candidate gives the
     * first occurrence; a candidate that falls before its piece's start means the local
     * time was skipped, and is then read with the previous piece's offset. */
    int64_t seg = ev_sat_add(local, -TZ_SPAN_S), end = ev_sat_add(local, TZ_SPAN_S);
    int32_t off = ev_tz_offset(tz, seg), prev = off;

    for (int i = 0; i < 64; i++) {
        int64_t next = INT64_MAX, cand = local - off;
        if (!tz_next_change(tz, seg, &next))
            next = INT64_MAX;
        if (i > 0 && cand < seg)
            return local - prev;
        if (cand < next || next > end)
            return cand;
        prev = off;
        seg = next;
        off = ev_tz_offset(tz, seg);
    }
    return local - off;
}

/* The last transition at or before t into *prev (INT64_MIN when none is known). */
static int64_t
tz_prev_change(const ev_tz *tz, int64_t t)
{
    if (tz->n == 0 || t < tz->trans[0])
        return INT64_MIN;
    if (t >= tz->trans[tz->n - 1] && tz->footer == 2) {
        int64_t y0 = tz_year_of(t), best = tz->trans[tz->n - 1], ch[2];
        for (int64_t y = y0 - 2; y <= y0 + 1; y++) {
            tz_rule_year(tz, y, ch);
            for (int i = 0; i < 2; i++)
                if (ch[i] <= t && ch[i] > best)
                    best = ch[i];
        }
        return best;
    }
    if (t >= tz->trans[tz->n - 1])
        return tz->trans[tz->n - 1];
    {
        size_t lo = 0, hi = tz->n - 1; /* trans[lo] <= t < trans[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        return tz->trans[lo];
    }
}

int64_t
ev_tz_local_to_utc_span(const ev_tz *tz, int64_t local, ev_tz_span *span)
{
    int64_t lo = ev_sat_add(local, -TZ_SPAN_S), hi = ev_sat_add(local, TZ_SPAN_S), next;

    /* Every candidate instant lies within TZ_SPAN_S of local: when that whole range has one
     * offset there is neither gap nor overlap. */
    if (span->valid && lo >= span->lo && hi < span->hi)
        return local - span->off;
    span->valid = 0;
    span->lo = tz_prev_change(tz, lo);
    span->off = ev_tz_offset(tz, lo);
    if (!tz_next_change(tz, lo, &next))
        next = INT64_MAX;
    span->hi = next;
    span->valid = 1;
    if (hi < span->hi)
        return local - span->off;
    return ev_tz_local_to_utc(tz, local);
}

int64_t
ev_tz_utc_to_local(const ev_tz *tz, int64_t utc)
{
    return ev_sat_add(utc, ev_tz_offset(tz, utc));
}

const ev_tz *
ev_tz_get(const char *name)
{
    ev_tz *tz;

    if (name == NULL)
        return NULL;
    pthread_mutex_lock(&tz_lock);
    for (tz = tz_cache; tz != NULL; tz = tz->next)
        if (strcmp(tz->name, name) == 0)
            break;
    if (tz == NULL) {
        tz = ev_tz_load(name);
        if (tz != NULL) {
            tz->next = tz_cache;
            tz_cache = tz;
        }
    }
    pthread_mutex_unlock(&tz_lock);
    return tz;
}

void
ev_tz_cache_clear(void)
{
    pthread_mutex_lock(&tz_lock);
    while (tz_cache != NULL) {
        ev_tz *next = tz_cache->next;
        ev_tz_free(tz_cache);
        tz_cache = next;
    }
    pthread_mutex_unlock(&tz_lock);
}

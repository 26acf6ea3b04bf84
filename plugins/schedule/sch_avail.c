/* The free time of a schedule in a window: one local date after the other,
 * the rule of that date (a Date rule, else the weekday's rule), its intervals made instants
 * with the DST rules (README), then clipped to the window. Pure code over the time engine.
 */
#include "sch.h"

#include <stdlib.h>
#include <string.h>

#define SCH_CHECK_DAYS 16    /* check() every this many days */
#define SCH_CHECK_RULES 1024 /* and every this many rules while indexing them */
#define SCH_HOUR_TRIES 48    /* a start moves at most this many whole hours forward */

/* A Date rule's day and its place in the rule list, for binary search. */
typedef struct avail_date {
    int64_t day;
    size_t idx;
} avail_date;

/* The rules indexed for lookups by day. */
typedef struct avail_index {
    const sch_rule *wday[7]; /* the last WDay rule of each weekday, or NULL */
    avail_date *dates;       /* Date rules by day, then by position */
    size_t ndates;
} avail_index;

static int
avail_date_cmp(const void *a, const void *b)
{
    const avail_date *x = a, *y = b;

    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/* Builds the index of rules; NT_OK, NT_ENOMEM or check's code. */
static int
avail_index_build(const sch_rules *rules, sch_check_fn check, void *ctx, avail_index *ix)
{
    memset(ix, 0, sizeof(*ix));
    if (rules->n > 0) {
        ix->dates = malloc(rules->n * sizeof(*ix->dates));
        if (ix->dates == NULL)
            return NT_ENOMEM;
    }
    for (size_t i = 0; i < rules->n; i++) {
        const sch_rule *r = &rules->v[i];
        if (check != NULL && i % SCH_CHECK_RULES == SCH_CHECK_RULES - 1) {
            int rc = check(ctx);
            if (rc != NT_OK)
                return rc;
        }
        if (r->kind == SCH_WDAY && r->weekday >= 0 && r->weekday < 7)
            ix->wday[r->weekday] = r;
        else if (r->kind == SCH_DATE)
            ix->dates[ix->ndates++] = (avail_date){r->day, i};
    }
    if (ix->ndates > 1)
        qsort(ix->dates, ix->ndates, sizeof(*ix->dates), avail_date_cmp);
    return NT_OK;
}

/* The rule of local date `day`: its last Date rule, else its weekday's; NULL when none. */
static const sch_rule *
avail_rule(const sch_rules *rules, const avail_index *ix, int64_t day)
{
    size_t lo = 0, hi = ix->ndates; /* first entry with a later day */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->dates[mid].day <= day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && ix->dates[lo - 1].day == day)
        return &rules->v[ix->dates[lo - 1].idx];
    return ix->wday[ev_weekday(day)];
}

/* The instant (seconds) an interval starting at local time `local` starts: the local time
 * itself when it exists once, else the next whole local hour that does. 0 when none does
 * within SCH_HOUR_TRIES hours (no such zone exists). */
static int
avail_start(const ev_tz *tz, int64_t local, ev_tz_span *span, int64_t *out)
{
    ev_local_map m;

    for (int i = 0; i < SCH_HOUR_TRIES; i++) {
        ev_tz_local_map_span(tz, local, span, &m);
        if (m.n == 1) {
            *out = m.first;
            return 1;
        }
        local = (ev_floor_div(local, 3600) + 1) * 3600;
    }
    return 0;
}

/* The instant (seconds) an interval ending at local time `local` ends: the transition
 * instant when the time was skipped, the earlier instant when it is ambiguous. */
static int64_t
avail_end(const ev_tz *tz, int64_t local, ev_tz_span *span)
{
    ev_local_map m;

    ev_tz_local_map_span(tz, local, span, &m);
    return m.first;
}

/* Appends [start, end] (ms, free) to out. NT_OK or NT_ENOMEM. */
static int
avail_push(nt_intervals *out, int64_t start, int64_t end)
{
    if (out->n == out->cap) {
        size_t cap = out->cap > 0 ? out->cap * 2 : 32;
        nt_interval *v = realloc(out->v, cap * sizeof(*v));
        if (v == NULL)
            return NT_ENOMEM;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = (nt_interval){start, end, 0};
    return NT_OK;
}

/* Adds the intervals of `rule` on local date `day`, dropping those that end up with
 * start > end or overlap the previous one. */
static int
avail_day(const ev_tz *tz, const sch_rule *rule, int64_t day, ev_tz_span *span, nt_intervals *out)
{
    int64_t midnight = day * EV_DAY_S;

    for (size_t i = 0; i < rule->n; i++) {
        int64_t start, end;

        if (!avail_start(tz, midnight + rule->iv[i].start * 60, span, &start))
            continue;
        end = avail_end(tz, midnight + rule->iv[i].end * 60, span);
        if (start > end)
            continue;
        start *= 1000;
        end *= 1000;
        if (out->n > 0 && out->v[out->n - 1].end > start)
            continue;
        if (avail_push(out, start, end) != NT_OK)
            return NT_ENOMEM;
    }
    return NT_OK;
}

/* Clips the list to [ws, we] in place: parts outside are cut, intervals outside dropped. */
static void
avail_clip(nt_intervals *out, int64_t ws, int64_t we)
{
    size_t kept = 0;

    for (size_t i = 0; i < out->n; i++) {
        nt_interval v = out->v[i];
        if (v.start < ws) {
            if (v.end <= ws)
                continue;
            v.start = ws;
        }
        if (v.end > we) {
            if (v.start >= we)
                continue;
            v.end = we;
        }
        out->v[kept++] = v;
    }
    out->n = kept;
}

int
sch_avail(const sch_rules *rules, const ev_tz *tz, int64_t ws, int64_t we, sch_check_fn check,
          void *ctx, nt_intervals *out)
{
    const int64_t min_ms = ev_days_from_civil(1, 1, 1) * EV_DAY_S * 1000;
    const int64_t max_ms = ev_days_from_civil(10000, 1, 1) * EV_DAY_S * 1000 - 1;
    ev_tz_span span = {0};
    avail_index ix = {0};
    int64_t first, last;
    int rc = NT_OK;

    memset(out, 0, sizeof(*out));
    if (ws < min_ms || ws > max_ms || we < min_ms || we > max_ms ||
        (we > ws && we - ws > NT_SCHEDULES_MAX_WINDOW_MS))
        return NT_EINVAL;
    if (we < ws)
        return NT_OK;
    rc = avail_index_build(rules, check, ctx, &ix);
    if (rc != NT_OK)
        goto out;
    first = ev_floor_div(ev_tz_utc_to_local(tz, ev_floor_div(ws, 1000)), EV_DAY_S);
    last = ev_floor_div(ev_tz_utc_to_local(tz, ev_floor_div(we, 1000)), EV_DAY_S);
    for (int64_t day = first; day <= last; day++) {
        const sch_rule *rule = avail_rule(rules, &ix, day);
        if (check != NULL && (day - first) % SCH_CHECK_DAYS == SCH_CHECK_DAYS - 1) {
            rc = check(ctx);
            if (rc != NT_OK)
                goto out;
        }
        if (rule != NULL && (rc = avail_day(tz, rule, day, &span, out)) != NT_OK)
            goto out;
    }
    avail_clip(out, ws, we);
out:
    free(ix.dates);
    if (rc != NT_OK) {
        free(out->v);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

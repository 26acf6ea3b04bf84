/* Expansion of events into instances (API.md B1): the occurrences of rrule_iter.c (local
 * wall-clock days of the calendar's zone) converted to UTC with RFC 5545's gap/overlap rules,
 * then until/count, exdates, the window and the instance cap; and the stored endTs (A13.7).
 */
#include "rrule.h"
#include "rrule_iter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Local wall-clock times near UTC-offset changes: whether a local time was skipped (a DST
 * gap), exists once, or twice (a DST overlap), and which instants those are. The schedule
 * plugin's availability needs the gap's transition instant and the overlap's
 * two readings, which ev_tz_local_to_utc() (RFC 5545's single answer) does not tell apart.
 *
 * Only the public zone functions of ev_time.h are used: ev_tz_local_to_utc_span() reports
 * a stretch [lo, hi) of instants with one offset; walking those stretches across every
 * instant that could carry the local time (within EV_LOCAL_SPAN_S of it, more than any UTC
 * offset) gives each offset's candidate instant, valid when it lies in its own stretch.
 */
#include "ev_time.h"

#define EV_LOCAL_SPAN_S (30 * 3600) /* as ev_tz.c: more than any UTC offset */
#define EV_LOCAL_MAX_STRETCH 32     /* real zones have at most a handful in 60 hours */

/* The stretch of constant offset that holds instant x: *off and its end *hi (exclusive;
 * INT64_MAX when no change follows). */
static void
local_stretch(const ev_tz *tz, int64_t x, int32_t *off, int64_t *hi)
{
    ev_tz_span span = {0};

    /* With a fresh span, the stretch is computed for the instant local - EV_LOCAL_SPAN_S. */
    (void)ev_tz_local_to_utc_span(tz, ev_sat_add(x, EV_LOCAL_SPAN_S), &span);
    *off = span.off;
    *hi = span.hi;
}

void
ev_tz_local_map(const ev_tz *tz, int64_t local_s, ev_local_map *out)
{
    int64_t x = ev_sat_add(local_s, -EV_LOCAL_SPAN_S), end = ev_sat_add(local_s, EV_LOCAL_SPAN_S);
    int64_t prev_cand = 0, gap_at = 0;
    int have_prev = 0, have_gap = 0;

    out->n = 0;
    out->first = out->last = 0;
    for (int i = 0; i < EV_LOCAL_MAX_STRETCH && x <= end; i++) {
        int32_t off;
        int64_t hi, cand;

        local_stretch(tz, x, &off, &hi);
        cand = local_s - off;
        if (cand >= x && cand < hi) {
            if (out->n == 0)
                out->first = cand;
            out->last = cand;
            out->n++;
        }
        /* A change at x skipped local_s when the reading before it falls at or after x
         * and the reading after it falls before x. */
        if (have_prev && !have_gap && prev_cand >= x && cand < x) {
            gap_at = x;
            have_gap = 1;
        }
        prev_cand = cand;
        have_prev = 1;
        if (hi == INT64_MAX || hi <= x)
            break;
        x = hi;
    }
    if (out->n == 0)
        out->first = out->last = have_gap ? gap_at : ev_tz_local_to_utc(tz, local_s);
}

void
ev_tz_local_map_span(const ev_tz *tz, int64_t local_s, ev_tz_span *span, ev_local_map *out)
{
    int64_t t = ev_tz_local_to_utc_span(tz, local_s, span);

    /* One offset for every instant that could show local_s: it exists exactly once. */
    if (span->valid && ev_sat_add(local_s, -EV_LOCAL_SPAN_S) >= span->lo &&
        ev_sat_add(local_s, EV_LOCAL_SPAN_S) < span->hi) {
        out->n = 1;
        out->first = out->last = t;
        return;
    }
    ev_tz_local_map(tz, local_s, out);
}

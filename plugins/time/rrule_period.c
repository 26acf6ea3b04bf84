/* The rule's periods (a year, a month, a week from WKST or a day, numbered from DTSTART's),
 * BYSETPOS over one period, and counting occurrences without libical (see rrule_impl.h).
 *
 * Why count without libical: a rule with COUNT must know how many occurrences come before a
 * window, and its endTs is its last occurrence. Walking libical from DTSTART costs about 2 us
 * per candidate date (ICU), and rules the API accepts can have hundreds of candidates per
 * occurrence and start in the year 1: a second of CPU per expansion. Here the occurrences of
 * a period are taken from dateutil's per-day filter (rr_norm_match, the same filter every
 * libical candidate passes) and BYSETPOS, directly over the period's days; a period's result
 * depends only on its calendar shape (a year: leap year or not, the previous year's, the
 * weekday of January 1; a month: which, its length, the weekday of its 1st; a week: the
 * month of its days), so it is computed once per shape and remembered (daily rules with
 * interval 1 are counted a year at a time, by the year's shape); and the calendar
 * repeats every 400 years, so once a whole cycle of periods has been counted, further cycles
 * are added arithmetically. The walk that then emits the occurrences of the window (or of
 * the last periods, for endTs) still runs on libical, starting at that period.
 */
#include "rrule_impl.h"

#include <stdlib.h>
#include <string.h>

int
rr_mod7(int v)
{
    return ((v % 7) + 7) % 7;
}

int
rr_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

int64_t
rr_period_of(const rr_walk *w, int64_t day)
{
    const rr_norm *n = w->n;
    int64_t y;
    int m, d;

    switch (n->freq) {
    case EV_YEARLY:
        ev_civil_from_days(day, &y, &m, &d);
        return y - n->y0;
    case EV_MONTHLY:
        ev_civil_from_days(day, &y, &m, &d);
        return (y * 12 + m) - (n->y0 * 12 + n->m0);
    case EV_WEEKLY:
        return ev_floor_div(day - w->w0, 7);
    default:
        return day - n->d0;
    }
}

int64_t
rr_period_start(const rr_walk *w, int64_t k)
{
    const rr_norm *n = w->n;
    int64_t mi;

    switch (n->freq) {
    case EV_YEARLY:
        return ev_days_from_civil(n->y0 + k, 1, 1);
    case EV_MONTHLY:
        mi = n->y0 * 12 + (n->m0 - 1) + k;
        return ev_days_from_civil(ev_floor_div(mi, 12), (int)(mi - ev_floor_div(mi, 12) * 12) + 1,
                                  1);
    case EV_WEEKLY:
        return w->w0 + 7 * k;
    default:
        return n->d0 + k;
    }
}

/* The greatest common divisor of a and b (both > 0). */
static int64_t
rr_gcd(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Periods in 400 years of the calendar: years, months, weeks, days. */
static int64_t
rr_periods_per_cycle(const rr_norm *n)
{
    switch (n->freq) {
    case EV_YEARLY:
        return 400;
    case EV_MONTHLY:
        return 4800;
    case EV_WEEKLY:
        return RR_CYCLE_DAYS / 7;
    default:
        return RR_CYCLE_DAYS;
    }
}

int64_t
rr_cycle_days(const rr_norm *n)
{
    int64_t i = n->interval;

    return i / rr_gcd(i, rr_periods_per_cycle(n)) * RR_CYCLE_DAYS;
}

size_t
rr_setpos(const rr_norm *n, int64_t *days, size_t nb)
{
    int64_t pick[RR_PERIOD_MAX];
    size_t np = 0;

    if (n->n_setpos == 0)
        return nb;
    for (int k = 0; k < n->n_setpos; k++) {
        int64_t idx = n->setpos[k] > 0 ? n->setpos[k] - 1 : (int64_t)nb + n->setpos[k];
        size_t j;
        if (idx < 0 || idx >= (int64_t)nb)
            continue;
        for (j = 0; j < np && pick[j] != days[idx]; j++)
            ;
        if (j == np)
            pick[np++] = days[idx];
    }
    qsort(pick, np, sizeof(*pick), rr_cmp_i64);
    memcpy(days, pick, np * sizeof(*pick));
    return np;
}

/* ---- occurrences of one period, directly ------------------------------------------------- */

/* The key of period k's calendar shape in the memo (0..RR_MEMO_KEYS-1): everything the
 * filter and BYSETPOS can see of its days. Valid for periods after DTSTART's whose days all
 * lie before 9999-12-31 (see rr_period_occ). */
static int
rr_shape(const rr_walk *w, int64_t start)
{
    const rr_norm *n = w->n;
    int64_t y;
    int m, d, dim;

    ev_civil_from_days(start, &y, &m, &d);
    switch (n->freq) {
    case EV_YEARLY: /* week numbers look at the previous year's length too */
        return ev_is_leap(y) << 4 | ev_is_leap(y - 1) << 3 | ev_weekday(start);
    case EV_MONTHLY:
        return (m - 1) << 4 | (m == 2 && ev_is_leap(y)) << 3 | ev_weekday(start);
    case EV_WEEKLY: /* the weekdays are fixed; which of the 7 days are still in month m */
        dim = ev_days_in_month(y, m);
        return (m - 1) << 3 | (dim - d + 1 < 7 ? dim - d + 1 : 7);
    default:
        return 0; /* daily periods are single days: never memoised */
    }
}

size_t
rr_period_days(rr_walk *w, int64_t k, int64_t *days)
{
    const rr_norm *n = w->n;
    int64_t from = rr_period_start(w, k), to = rr_period_start(w, k + 1), day;
    size_t nb = 0, keep = 0;

    if (n->freq == EV_WEEKLY && k == 0)
        from = n->d0;
    if (to > RR_MAX_DAY + 1)
        to = RR_MAX_DAY + 1;
    /* About as much work as one libical candidate per 32 days filtered: charged so that the
     * budget's caps and hook are looked at while new shapes are evaluated. The charge's
     * verdict sticks in the budget; rr_count_walk and rr_tail read it for every period. */
    (void)ev_budget_charge(w->gen.budget, (uint64_t)(to - from) / 32 + 1);
    for (day = from; day < to && nb < RR_PERIOD_MAX; day++)
        if (rr_norm_match(n, &w->wc, day))
            days[nb++] = day;
    nb = rr_setpos(n, days, nb);
    for (size_t i = 0; i < nb; i++)
        if (days[i] >= n->d0)
            days[keep++] = days[i];
    return keep;
}

int
rr_period_occ(rr_walk *w, int64_t k)
{
    int64_t start = rr_period_start(w, k);
    int key;

    if (w->n->freq == EV_DAILY) { /* one day: the filter, and BYSETPOS over one day */
        if (!rr_norm_match(w->n, &w->wc, start))
            return 0;
        return (int)rr_setpos(w->n, &start, 1);
    }
    if (k < 1 || rr_period_start(w, k + 1) > RR_MAX_DAY)
        return (int)rr_period_days(w, k, w->buf);
    key = rr_shape(w, start);
    if (w->memo[key] == 0)
        w->memo[key] = (int16_t)(rr_period_days(w, k, w->buf) + 1);
    return w->memo[key] - 1;
}

/* Daily rules with interval 1 are counted a year at a time when a whole year lies between
 * the walk and k_end: the days of a year that pass the filter depend only on the year's shape
 * (w->memo, unused by daily periods otherwise), and a day passes BYSETPOS alone iff 1 or -1
 * is listed. Returns the year's count, or -1 when the year must be walked day by day. */
static int
rr_year_block(rr_walk *w, int64_t day, int64_t k_end, int64_t *next)
{
    const rr_norm *n = w->n;
    int64_t y, d0 = n->d0, end;
    int m, d, key, count = 0;

    if (n->freq != EV_DAILY || n->interval != 1)
        return -1;
    ev_civil_from_days(day, &y, &m, &d);
    end = ev_days_from_civil(y + 1, 1, 1);
    if (m != 1 || d != 1 || end > RR_MAX_DAY + 1 || end - d0 > k_end)
        return -1;
    *next = end;
    key = ev_is_leap(y) << 4 | ev_is_leap(y - 1) << 3 | ev_weekday(day);
    if (w->memo[key] != 0)
        return w->memo[key] - 1;
    (void)ev_budget_charge(w->gen.budget, (uint64_t)(end - day) / 32 + 1);
    for (int64_t x = day; x < end; x++) {
        int64_t one = x;
        count += rr_norm_match(n, &w->wc, x) && rr_setpos(n, &one, 1) == 1;
    }
    w->memo[key] = (int16_t)(count + 1);
    return count;
}

/* The last day of [from, to) that passes the filter (and BYSETPOS over a single day). */
static int64_t
rr_last_day(rr_walk *w, int64_t from, int64_t to)
{
    for (int64_t x = to - 1; x >= from; x--) {
        int64_t one = x;
        if (rr_norm_match(w->n, &w->wc, x) && rr_setpos(w->n, &one, 1) == 1)
            return x;
    }
    return -1;
}

int
rr_count_walk(rr_walk *w, int64_t k_end, int target, int64_t *k_at, int *before, int *ended,
              int64_t *k_last)
{
    const rr_norm *n = w->n;
    int64_t per = rr_periods_per_cycle(n), i = n->interval;
    int64_t cycle = i / rr_gcd(i, per) * per; /* periods after which the pattern repeats */
    int64_t cycle_days = rr_cycle_days(n), last_hit = rr_period_start(w, 0), hit_k = -1;
    int64_t k = 0, mark_k = -1, safe = rr_period_of(w, RR_MAX_DAY) - 2 * i;
    int64_t total = 0, mark_total = 0, block_hit = -1, next;
    uint64_t pending = 0;
    int c;

    *ended = 0;
    while (k < k_end) {
        int64_t start = rr_period_start(w, k);
        if (start > RR_MAX_DAY || start - last_hit > cycle_days) {
            *ended = 1; /* the end of the calendar, or a whole cycle without an occurrence */
            break;
        }
        /* One step per EV_BUDGET_EVERY periods; every period reads the budget's verdict. */
        if (ev_budget_charge(w->gen.budget, ++pending % EV_BUDGET_EVERY == 0) != EV_GO)
            return RR_STOPPED;
        c = rr_year_block(w, start, k_end, &next);
        if (c >= 0 && total + c < target) { /* a whole year of a daily rule */
            if (mark_k < 0) {               /* cycles are counted from a January 1st */
                mark_k = k;
                mark_total = total;
            }
            if (c > 0) {
                block_hit = start;
                last_hit = next - 1;
            }
            total += c;
            k = next - n->d0;
        } else {
            c = rr_period_occ(w, k);
            if (c > 0) {
                hit_k = k;
                block_hit = -1;
            }
            if (total + c >= target) {
                *k_at = k;
                *before = (int)total;
                *k_last = hit_k;
                return 0;
            }
            if (c > 0)
                last_hit = start;
            total += c;
            k += i;
            if (k == i && !(n->freq == EV_DAILY && i == 1)) {
                mark_k = k; /* from period i on, periods repeat every `cycle` */
                mark_total = total;
            }
        }
        /* Count one cycle, skip the ones after it. */
        if (mark_k >= 0 && k - mark_k == cycle) {
            int64_t t = total - mark_total, m = 0;
            if (t > 0) {
                m = (target - 1 - total) / t;
                if (m > (k_end - k) / cycle)
                    m = (k_end - k) / cycle;
                if (m > (safe - k) / cycle)
                    m = (safe - k) / cycle;
            }
            if (m > 0) {
                k += m * cycle;
                total += m * t;
                last_hit += m * cycle_days;
                hit_k += m * cycle;
                if (block_hit >= 0)
                    block_hit += m * cycle_days;
            }
            mark_k = k;
            mark_total = total;
        }
    }
    *k_at = k_end;
    *before = (int)(total > target ? target : total);
    *k_last = hit_k;
    if (block_hit >= 0) { /* the last occurrence lies in a year counted as a whole */
        int64_t y, day;
        int m, d;
        ev_civil_from_days(block_hit, &y, &m, &d);
        day = rr_last_day(w, block_hit, ev_days_from_civil(y + 1, 1, 1));
        if (day >= 0)
            *k_last = day - n->d0;
    }
    return 0;
}

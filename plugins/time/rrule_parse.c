/* The recurrence object: reading and validating it (with the compat input
 * forms the published client sends) and printing it back (all ten keys, null when unset).
 */
#include "rrule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const rr_freq_names[4] = {"yearly", "monthly", "weekly", "daily"};
static const char *const rr_day3[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const rr_day2[7] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
static const char *const rr_day_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday"};
static const char *const rr_months[12] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

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

/* The value of key, NULL when absent or JSON null. */
static const json_t *
rr_get(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

/* Adds v to the list unless it is there already. 0, or -1 when the list is full. */
static int
rr_add16(int16_t *list, int *n, int cap, int v)
{
    for (int i = 0; i < *n; i++)
        if (list[i] == v)
            return 0;
    if (*n >= cap)
        return -1;
    list[(*n)++] = (int16_t)v;
    return 0;
}

/* Reads an optional list of integers in [-max, max] (0 allowed only when zero_ok). */
static int
rr_int_list(const json_t *obj, const char *key, int max, int zero_ok, int16_t *list, int *n,
            int cap, char *err, size_t errlen)
{
    const json_t *arr = rr_get(obj, key), *e;
    size_t i;

    *n = 0;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return rr_fail(err, errlen, "recurrence.%s: expected an array of integers or null", key);
    json_array_foreach(arr, i, e)
    {
        json_int_t v;
        if (!json_is_integer(e))
            return rr_fail(err, errlen, "recurrence.%s: expected integers", key);
        v = json_integer_value(e);
        if (v < -max || v > max || (v == 0 && !zero_ok))
            return rr_fail(err, errlen,
                           "recurrence.%s: %lld is out of range (expected -%d..-1 or 1..%d%s)", key,
                           (long long)v, max, max, zero_ok ? ", or 0" : "");
        if (rr_add16(list, n, cap, (int)v) != 0)
            return rr_fail(err, errlen, "recurrence.%s: too many values", key);
    }
    return 0;
}

/* Reads bymonth: integers 1..12 or English month names (full or three letters). */
static int
rr_months_list(const json_t *obj, ev_rrule *r, char *err, size_t errlen)
{
    const json_t *arr = rr_get(obj, "bymonth"), *e;
    size_t i;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return rr_fail(err, errlen, "recurrence.bymonth: expected an array or null");
    json_array_foreach(arr, i, e)
    {
        int m = 0;
        if (json_is_integer(e) && json_integer_value(e) >= 1 && json_integer_value(e) <= 12) {
            m = (int)json_integer_value(e);
        } else if (json_is_string(e)) {
            const char *s = json_string_value(e);
            for (int k = 0; k < 12 && m == 0; k++)
                if (strcasecmp(s, rr_months[k]) == 0 ||
                    (strlen(s) == 3 && strncasecmp(s, rr_months[k], 3) == 0))
                    m = k + 1;
        }
        if (m == 0)
            return rr_fail(err, errlen,
                           "recurrence.bymonth: expected months 1..12 or month names such as "
                           "\"January\" or \"Jan\"");
        if (rr_add16(r->month, &r->n_month, EV_MONTH_MAX, m) != 0)
            return rr_fail(err, errlen, "recurrence.bymonth: too many values");
    }
    return 0;
}

/* Parses a weekday token: [+-]n? followed by a three-letter, two-letter or long English day
 * name, any case. 0 or -1. */
static int
rr_wday_token(const char *s, ev_wday *out)
{
    int sign = 1, n = 0, digits = 0, has_sign = 0;

    if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
        has_sign = 1;
    }
    while (*s >= '0' && *s <= '9') {
        if (++digits > 3)
            return -1;
        n = n * 10 + (*s++ - '0');
    }
    if (has_sign && digits == 0)
        return -1;
    if (digits > 0 && (n < 1 || n > EV_ORDINAL_MAX))
        return -1;
    for (int d = 0; d < 7; d++) {
        if (strcasecmp(s, rr_day3[d]) == 0 || strcasecmp(s, rr_day2[d]) == 0 ||
            strcasecmp(s, rr_day_long[d]) == 0) {
            out->n = (int16_t)(sign * n);
            out->day = (int8_t)d;
            return 0;
        }
    }
    return -1;
}

/* Reads byweekday: integers 0..6 (0 = Monday) or weekday tokens. */
static int
rr_wday_list(const json_t *obj, ev_rrule *r, char *err, size_t errlen)
{
    const json_t *arr = rr_get(obj, "byweekday"), *e;
    size_t i;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return rr_fail(err, errlen, "recurrence.byweekday: expected an array or null");
    json_array_foreach(arr, i, e)
    {
        ev_wday w = {0, 0};
        int k, ok = 0;
        if (json_is_integer(e) && json_integer_value(e) >= 0 && json_integer_value(e) <= 6) {
            w.day = (int8_t)json_integer_value(e);
            ok = 1;
        } else if (json_is_string(e)) {
            ok = rr_wday_token(json_string_value(e), &w) == 0;
        }
        if (!ok)
            return rr_fail(err, errlen,
                           "recurrence.byweekday: expected weekdays such as \"Mon\", \"1Mon\", "
                           "\"-1Fri\", \"MO\" or 0..6 (0 = Monday), ordinals 1..%d",
                           EV_ORDINAL_MAX);
        for (k = 0; k < r->n_wday; k++)
            if (r->wday[k].n == w.n && r->wday[k].day == w.day)
                break;
        if (k < r->n_wday)
            continue;
        if (r->n_wday >= EV_WDAY_MAX)
            return rr_fail(err, errlen, "recurrence.byweekday: at most %d distinct values",
                           EV_WDAY_MAX);
        r->wday[r->n_wday++] = w;
    }
    return 0;
}

/* Reads freq, interval, count and until. */
static int
rr_scalars(const json_t *v, int64_t start_ts, ev_rrule *r, char *err, size_t errlen)
{
    const json_t *freq = rr_get(v, "freq"), *interval = rr_get(v, "interval");
    const json_t *count = rr_get(v, "count"), *until = rr_get(v, "until");

    if (freq == NULL)
        return rr_fail(err, errlen, "recurrence.freq: required");
    r->freq = -1;
    for (int i = 0; i < 4 && json_is_string(freq); i++)
        if (strcasecmp(json_string_value(freq), rr_freq_names[i]) == 0)
            r->freq = i;
    if (r->freq < 0)
        return rr_fail(err, errlen,
                       "recurrence.freq: expected one of daily, weekly, monthly, yearly");
    if (interval == NULL)
        return rr_fail(err, errlen, "recurrence.interval: required");
    if (!json_is_integer(interval) || json_integer_value(interval) < 1 ||
        json_integer_value(interval) > EV_INTERVAL_MAX)
        return rr_fail(err, errlen, "recurrence.interval: expected an integer from 1 to %d",
                       EV_INTERVAL_MAX);
    r->interval = (int)json_integer_value(interval);
    if (count != NULL) {
        if (!json_is_integer(count) || json_integer_value(count) < 1 ||
            json_integer_value(count) > EV_COUNT_MAX)
            return rr_fail(err, errlen, "recurrence.count: expected an integer from 1 to %d",
                           EV_COUNT_MAX);
        r->count = (int)json_integer_value(count);
    }
    if (until != NULL) {
        int64_t u;
        if (!json_is_integer(until))
            return rr_fail(err, errlen, "recurrence.until: expected a timestamp in ms");
        u = json_integer_value(until);
        if (u < start_ts || u > ev_sat_add(start_ts, EV_UNTIL_SPAN))
            return rr_fail(err, errlen,
                           "recurrence.until: must be between startTs (%lld) and startTs + "
                           "%lld ms (2 x 366 days)",
                           (long long)start_ts, (long long)EV_UNTIL_SPAN);
        r->has_until = 1;
        r->until = u;
    }
    return 0;
}

/* The combinations RFC 5545 (3.3.10) forbids, which libical refuses to iterate: BYWEEKNO
 * outside YEARLY, BYYEARDAY with DAILY, WEEKLY or MONTHLY, BYMONTHDAY with WEEKLY, and BYDAY
 * ordinals with BYWEEKNO. (Ordinals in DAILY and WEEKLY rules, also outside RFC 5545, stay
 * accepted and mean the plain weekday, as in python-dateutil.) */
static int
rr_combinations(const ev_rrule *r, char *err, size_t errlen)
{
    static const char *const names[4] = {"yearly", "monthly", "weekly", "daily"};

    if (r->n_wno > 0 && r->freq != EV_YEARLY)
        return rr_fail(err, errlen,
                       "recurrence.byweekno: only allowed with freq yearly (RFC 5545), not %s",
                       names[r->freq]);
    if (r->n_yday > 0 && r->freq != EV_YEARLY)
        return rr_fail(err, errlen,
                       "recurrence.byyearday: not allowed with freq %s (RFC 5545: not with "
                       "daily, weekly or monthly)",
                       names[r->freq]);
    if (r->n_mday > 0 && r->freq == EV_WEEKLY)
        return rr_fail(err, errlen,
                       "recurrence.bymonthday: not allowed with freq weekly (RFC 5545)");
    for (int i = 0; r->n_wno > 0 && i < r->n_wday; i++)
        if (r->wday[i].n != 0)
            return rr_fail(err, errlen,
                           "recurrence.byweekday: ordinals such as \"1Mon\" are not allowed "
                           "together with byweekno (RFC 5545)");
    return 0;
}

int
ev_rrule_parse(const json_t *v, int64_t start_ts, ev_rrule *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (!json_is_object(v))
        return rr_fail(err, errlen, "recurrence: expected an object or null");
    if (start_ts < EV_RECUR_START_MIN || start_ts > EV_RECUR_START_MAX)
        return rr_fail(err, errlen,
                       "recurrence: a recurring event must start between the years 1 and 9999 "
                       "(startTs %lld..%lld)",
                       EV_RECUR_START_MIN, EV_RECUR_START_MAX);
    if (rr_scalars(v, start_ts, r, err, errlen) != 0 ||
        rr_int_list(v, "bysetpos", 366, 0, r->setpos, &r->n_setpos, EV_SETPOS_MAX, err, errlen) !=
            0 ||
        rr_int_list(v, "bymonthday", 31, 1, r->mday, &r->n_mday, EV_MDAY_MAX, err, errlen) != 0 ||
        rr_int_list(v, "byyearday", 366, 0, r->yday, &r->n_yday, EV_YDAY_MAX, err, errlen) != 0 ||
        rr_int_list(v, "byweekno", 53, 0, r->wno, &r->n_wno, EV_WNO_MAX, err, errlen) != 0 ||
        rr_months_list(v, r, err, errlen) != 0 || rr_wday_list(v, r, err, errlen) != 0)
        return -1;
    if (r->n_setpos > 0 && r->n_mday == 0 && r->n_month == 0 && r->n_yday == 0 && r->n_wno == 0 &&
        r->n_wday == 0)
        return rr_fail(err, errlen,
                       "recurrence.bysetpos: needs another non-empty by* list (byweekday, "
                       "bymonthday, bymonth, byyearday or byweekno)");
    return rr_combinations(r, err, errlen);
}

/* An integer list as JSON, or null when empty. */
static json_t *
rr_list_json(const int16_t *v, int n)
{
    json_t *arr;

    if (n == 0)
        return json_null();
    arr = json_array();
    for (int i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, json_integer(v[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* byweekday as printed: "Mon", "1Sun", "-1Fri"; null when empty. */
static json_t *
rr_wday_json(const ev_rrule *r)
{
    json_t *arr;

    if (r->n_wday == 0)
        return json_null();
    arr = json_array();
    for (int i = 0; arr != NULL && i < r->n_wday; i++) {
        char buf[16];
        if (r->wday[i].n != 0)
            snprintf(buf, sizeof(buf), "%d%s", r->wday[i].n, rr_day3[r->wday[i].day]);
        else
            snprintf(buf, sizeof(buf), "%s", rr_day3[r->wday[i].day]);
        if (json_array_append_new(arr, json_string(buf)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *
ev_rrule_json(const ev_rrule *r)
{
    json_t *count = r->count > 0 ? json_integer(r->count) : json_null();
    json_t *until = r->has_until ? json_integer(r->until) : json_null();

    return json_pack("{s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "freq", rr_freq_names[r->freq],
                     "interval", r->interval, "count", count, "until", until, "bysetpos",
                     rr_list_json(r->setpos, r->n_setpos), "byweekday", rr_wday_json(r),
                     "bymonthday", rr_list_json(r->mday, r->n_mday), "bymonth",
                     rr_list_json(r->month, r->n_month), "byyearday",
                     rr_list_json(r->yday, r->n_yday), "byweekno", rr_list_json(r->wno, r->n_wno));
}

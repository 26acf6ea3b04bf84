/* Schedule rules: reading them from JSON with messages that name the
 * field, the default week, the normalisation and printing. Pure code over JSON.
 */
#include "ntc.h"
#include "sch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCH_PATH 64 /* "rules[123456].intervals[123456]" and room to spare */

/* Writes a message into err (when there is room) and returns NT_EINVAL. */
static int rules_err(char *err, size_t errlen, const char *fmt, ...) NT_PRINTF(3, 4);

static int
rules_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NT_EINVAL;
}

void
sch_rules_clear(sch_rules *r)
{
    if (r == NULL)
        return;
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads obj[key] as an integer in [0, max] into *out; `path` names obj in messages. */
static int
parse_part(const json_t *obj, const char *key, int max, const char *path, int *out, char *err,
           size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    json_int_t n;

    if (v == NULL || json_is_null(v))
        return rules_err(err, errlen, "%s.%s: required", path, key);
    if (!json_is_integer(v))
        return rules_err(err, errlen, "%s.%s: expected an integer 0..%d", path, key, max);
    n = json_integer_value(v);
    if (n < 0 || n > max)
        return rules_err(err, errlen, "%s.%s: expected 0..%d", path, key, max);
    *out = (int)n;
    return NT_OK;
}

/* Reads iv[key] as a Time {hours, minutes} into minutes since midnight. */
static int
parse_time(const json_t *iv, const char *key, const char *path, int *minutes, char *err,
           size_t errlen)
{
    const json_t *t = json_object_get(iv, key);
    char sub[SCH_PATH + 48]; /* path, ".intervals[n]", ".start" */
    int hours = 0, mins = 0, rc;

    snprintf(sub, sizeof(sub), "%s.%s", path, key);
    if (t == NULL || json_is_null(t))
        return rules_err(err, errlen, "%s: required", sub);
    if (!json_is_object(t))
        return rules_err(err, errlen, "%s: expected an object {hours, minutes}", sub);
    rc = parse_part(t, "hours", 23, sub, &hours, err, errlen);
    if (rc == NT_OK)
        rc = parse_part(t, "minutes", 59, sub, &mins, err, errlen);
    if (rc == NT_OK)
        *minutes = hours * 60 + mins;
    return rc;
}

/* Reads rule[i].intervals: every element is checked, the first SCH_MAX_INTERVALS kept. */
static int
parse_intervals(const json_t *rule, const char *path, sch_rule *out, char *err, size_t errlen)
{
    const json_t *list = json_object_get(rule, "intervals");
    char sub[SCH_PATH + 32]; /* path, ".intervals[n]" */
    size_t i;
    json_t *iv;

    out->n = 0;
    if (list == NULL || json_is_null(list))
        return rules_err(err, errlen, "%s.intervals: required", path);
    if (!json_is_array(list))
        return rules_err(err, errlen, "%s.intervals: expected an array", path);
    json_array_foreach(list, i, iv)
    {
        sch_interval v = {0, 0};
        int rc;

        snprintf(sub, sizeof(sub), "%s.intervals[%zu]", path, i);
        if (!json_is_object(iv))
            return rules_err(err, errlen, "%s: expected an object {start, end}", sub);
        rc = parse_time(iv, "start", sub, &v.start, err, errlen);
        if (rc == NT_OK)
            rc = parse_time(iv, "end", sub, &v.end, err, errlen);
        if (rc != NT_OK)
            return rc;
        if (out->n < SCH_MAX_INTERVALS)
            out->iv[out->n++] = v;
    }
    return NT_OK;
}

/* Reads one decimal group of 1..6 digits; NULL when there is none. */
static const char *
date_group(const char *p, int *out)
{
    int v = 0, digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 6) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || (*p >= '0' && *p <= '9'))
        return NULL;
    *out = v;
    return p;
}

/* Parses "Y-M-D" (three groups of digits, zero padding optional) with a year 1970..2100
 * and a real month and day into days since 1970-01-01. NT_OK or NT_EINVAL. */
static int
parse_date(const char *s, int64_t *day)
{
    int y = 0, m = 0, d = 0;
    const char *p = date_group(s, &y);

    if (p == NULL || *p++ != '-' || (p = date_group(p, &m)) == NULL || *p++ != '-' ||
        (p = date_group(p, &d)) == NULL || *p != '\0')
        return NT_EINVAL;
    if (y < 1970 || y > 2100 || m < 1 || m > 12 || d < 1 || d > ev_days_in_month(y, m))
        return NT_EINVAL;
    *day = ev_days_from_civil(y, m, d);
    return NT_OK;
}

/* Reads rule[i].variant into out. */
static int
parse_variant(const json_t *rule, const char *path, sch_rule *out, char *err, size_t errlen)
{
    const json_t *variant = json_object_get(rule, "variant");
    const json_t *type, *value;
    const char *t;

    if (variant == NULL || json_is_null(variant))
        return rules_err(err, errlen, "%s.variant: required", path);
    if (!json_is_object(variant))
        return rules_err(err, errlen, "%s.variant: expected an object {type, value}", path);
    type = json_object_get(variant, "type");
    value = json_object_get(variant, "value");
    t = json_string_value(type);
    if (t != NULL && strcmp(t, "WDay") == 0) {
        out->kind = SCH_WDAY;
        if (ntc_weekday_parse(value, &out->weekday) != NT_OK)
            return rules_err(err, errlen,
                             "%s.variant.value: expected a weekday name (Mon..Sun or "
                             "Monday..Sunday) or an integer 0..6 (0 = Monday)",
                             path);
        return NT_OK;
    }
    if (t != NULL && strcmp(t, "Date") == 0) {
        const char *s = json_string_value(value);
        out->kind = SCH_DATE;
        if (s == NULL || strlen(s) >= sizeof(out->date) || parse_date(s, &out->day) != NT_OK)
            return rules_err(err, errlen,
                             "%s.variant.value: expected a date Y-M-D (e.g. 2030-12-24) with "
                             "a year 1970..2100, a month 1..12 and a day of that month",
                             path);
        memcpy(out->date, s, strlen(s) + 1);
        return NT_OK;
    }
    return rules_err(err, errlen, "%s.variant.type: expected \"WDay\" or \"Date\"", path);
}

int
sch_rules_parse(const json_t *rules, sch_rules *out, char *err, size_t errlen)
{
    char path[SCH_PATH];
    size_t i, n;
    json_t *rule;
    int rc;

    sch_rules_clear(out);
    if (!json_is_array(rules))
        return rules_err(err, errlen, "rules: expected an array");
    n = json_array_size(rules);
    if (n == 0)
        return NT_OK;
    out->v = calloc(n, sizeof(*out->v));
    if (out->v == NULL)
        return NT_ENOMEM;
    json_array_foreach(rules, i, rule)
    {
        sch_rule *r = &out->v[i];

        snprintf(path, sizeof(path), "rules[%zu]", i);
        if (!json_is_object(rule)) {
            rc = rules_err(err, errlen, "%s: expected an object {variant, intervals}", path);
            goto fail;
        }
        rc = parse_variant(rule, path, r, err, errlen);
        if (rc == NT_OK)
            rc = parse_intervals(rule, path, r, err, errlen);
        if (rc != NT_OK)
            goto fail;
        out->n++;
    }
    return NT_OK;
fail:
    sch_rules_clear(out);
    return rc;
}

int
sch_rules_default(sch_rules *out)
{
    sch_rules_clear(out);
    out->v = calloc(7, sizeof(*out->v));
    if (out->v == NULL)
        return NT_ENOMEM;
    for (int d = 0; d < 7; d++) {
        sch_rule *r = &out->v[d];
        r->kind = SCH_WDAY;
        r->weekday = d;
        if (d < 5) { /* Monday to Friday, 09:00-17:30 */
            r->iv[0].start = 9 * 60;
            r->iv[0].end = 17 * 60 + 30;
            r->n = 1;
        }
    }
    out->n = 7;
    return NT_OK;
}

/* ---- normalisation ----------------------------------------------------------------------- */

/* Sorts by start (stable), drops start > end, merges overlapping or touching intervals. */
static void
normalise_intervals(sch_rule *r)
{
    size_t i, j, kept = 0;

    for (i = 1; i < r->n; i++) { /* insertion sort: at most 10, stable */
        sch_interval v = r->iv[i];
        for (j = i; j > 0 && r->iv[j - 1].start > v.start; j--)
            r->iv[j] = r->iv[j - 1];
        r->iv[j] = v;
    }
    for (i = 0; i < r->n; i++) {
        sch_interval v = r->iv[i];
        if (v.start > v.end)
            continue;
        if (kept > 0 && v.start <= r->iv[kept - 1].end) {
            if (v.end > r->iv[kept - 1].end)
                r->iv[kept - 1].end = v.end;
            continue;
        }
        r->iv[kept++] = v;
    }
    r->n = kept;
}

void
sch_rules_normalise(sch_rules *r, const ev_tz *tz, int64_t now_ms)
{
    int64_t today = ev_floor_div(ev_tz_utc_to_local(tz, ev_floor_div(now_ms, 1000)), EV_DAY_S);
    int64_t lo = today - 2, hi, y;
    size_t i, kept = 0;
    int m, d;

    ev_civil_from_days(lo, &y, &m, &d);
    hi = ev_days_from_civil(y + 5, 1, 1);
    for (i = 0; i < r->n; i++) {
        if (r->v[i].kind == SCH_DATE && !(r->v[i].day > lo && r->v[i].day < hi))
            continue;
        if (kept != i)
            r->v[kept] = r->v[i];
        normalise_intervals(&r->v[kept]);
        kept++;
    }
    r->n = kept;
}

/* ---- printing ---------------------------------------------------------------------------- */

/* {"hours": h, "minutes": m} of minutes since midnight. */
static json_t *
time_json(int minutes)
{
    return json_pack("{s:i, s:i}", "hours", minutes / 60, "minutes", minutes % 60);
}

/* One rule as {"variant": {type, value}, "intervals": [...]}. */
static json_t *
rule_json(const sch_rule *r)
{
    json_t *intervals = json_array(), *out = NULL;

    if (intervals == NULL)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (json_array_append_new(intervals,
                                  json_pack("{s:o, s:o}", "start", time_json(r->iv[i].start), "end",
                                            time_json(r->iv[i].end))) != 0)
            goto out;
    }
    if (r->kind == SCH_WDAY)
        out = json_pack("{s:{s:s, s:s}, s:O}", "variant", "type", "WDay", "value",
                        ntc_weekday_name(r->weekday), "intervals", intervals);
    else
        out = json_pack("{s:{s:s, s:s}, s:O}", "variant", "type", "Date", "value", r->date,
                        "intervals", intervals);
out:
    json_decref(intervals);
    return out;
}

json_t *
sch_rules_json(const sch_rules *r)
{
    json_t *list = json_array();

    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (json_array_append_new(list, rule_json(&r->v[i])) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* Request parsing for the event routes: the type checks of create/update bodies,
 * reminders with the compat `reminder` form, integer query
 * parameters, and the ISO-8601 UTC times of the multi-user free/busy body.
 */
#include "ev.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ev_body_clear(ev_body *b)
{
    if (b == NULL)
        return;
    free(b->exdates);
    memset(b, 0, sizeof(*b));
}

int
ev_check_ts(const nt_host_api *api, nt_req *req, const char *name, int64_t ts)
{
    if (ts < EV_TS_MIN || ts > EV_TS_MAX)
        return api->fail(req, NT_EINVAL,
                         "%s: must be a time between the years 1 and 9999 (%lld..%lld ms)", name,
                         (long long)EV_TS_MIN, (long long)EV_TS_MAX);
    return NT_OK;
}

/* Reads `exdates`: an array of integers; null counts as absent. */
static int
ev_body_exdates(const nt_host_api *api, nt_req *req, const json_t *body, ev_body *b)
{
    const json_t *arr = json_object_get(body, "exdates"), *x;
    size_t i;

    if (arr == NULL || json_is_null(arr))
        return NT_OK;
    if (!json_is_array(arr))
        return api->fail(req, NT_EINVAL, "exdates: expected an array of timestamps");
    b->has_exdates = 1;
    if (json_array_size(arr) == 0)
        return NT_OK;
    b->exdates = malloc(json_array_size(arr) * sizeof(*b->exdates));
    if (b->exdates == NULL)
        return NT_ENOMEM;
    json_array_foreach(arr, i, x)
    {
        char name[32];
        int rc;
        if (!json_is_integer(x))
            return api->fail(req, NT_EINVAL, "exdates: expected an array of timestamps");
        b->exdates[i] = json_integer_value(x);
        snprintf(name, sizeof(name), "exdates[%zu]", i);
        rc = ev_check_ts(api, req, name, b->exdates[i]);
        if (rc != NT_OK)
            return rc;
    }
    b->n_exdates = json_array_size(arr);
    return NT_OK;
}

/* Reads `serviceId`: a UUID; on update a present null clears it. */
static int
ev_body_service(const nt_host_api *api, nt_req *req, const json_t *body, int create, ev_body *b)
{
    const json_t *v = json_object_get(body, "serviceId");

    if (v == NULL || (json_is_null(v) && create))
        return NT_OK;
    b->has_service = 1;
    if (json_is_null(v))
        return NT_OK;
    if (!json_is_string(v) || !api->uuid_valid(json_string_value(v)))
        return api->fail(req, NT_EINVAL, "serviceId: expected a UUID or null");
    b->service_id = json_string_value(v);
    return NT_OK;
}

int
ev_body_read(const nt_host_api *api, nt_req *req, const json_t *body, int create, ev_body *b)
{
    int rc;

    memset(b, 0, sizeof(*b));
    if (create) {
        rc = api->json_get_str(req, body, "calendarId", 1, &b->calendar_id, NULL);
        if (rc != NT_OK)
            return rc;
        if (!api->uuid_valid(b->calendar_id))
            return api->fail(req, NT_EINVAL, "calendarId: expected a UUID");
    }
    rc = api->json_get_int(req, body, "startTs", create, &b->start_ts, &b->has_start);
    if (rc == NT_OK && b->has_start)
        rc = ev_check_ts(api, req, "startTs", b->start_ts);
    if (rc == NT_OK)
        rc = api->json_get_int(req, body, "duration", create, &b->duration, &b->has_duration);
    if (rc == NT_OK && b->has_duration && (b->duration < 0 || b->duration > EV_DURATION_MAX))
        rc = api->fail(req, NT_EINVAL,
                       "duration: must be between 0 and %lld ms (10 years); negative durations "
                       "are refused",
                       (long long)EV_DURATION_MAX);
    if (rc == NT_OK)
        rc = api->json_get_bool(req, body, "busy", 0, &b->busy, &b->has_busy);
    if (rc == NT_OK)
        rc = api->json_get_metadata(req, body, "metadata", 0, &b->metadata, NULL);
    if (rc == NT_OK && !create)
        rc = ev_body_exdates(api, req, body, b);
    if (rc == NT_OK)
        rc = ev_body_service(api, req, body, create, b);
    if (rc != NT_OK)
        return rc;
    b->recurrence = json_object_get(body, "recurrence");
    if (b->recurrence != NULL && !json_is_null(b->recurrence) && !json_is_object(b->recurrence))
        return api->fail(req, NT_EINVAL, "recurrence: expected an object or null");
    return NT_OK;
}

static int __attribute__((format(printf, 3, 4)))
ev_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends a validated copy of reminder r (index i) to out. */
static int
ev_reminder_add(const json_t *r, size_t i, json_t *out, char *err, size_t errlen)
{
    const json_t *delta = json_object_get(r, "delta"), *ident = json_object_get(r, "identifier");
    json_int_t d;

    if (!json_is_object(r))
        return ev_fail(err, errlen, "reminders[%zu]: expected an object {delta, identifier}", i);
    if (!json_is_integer(delta))
        return ev_fail(err, errlen, "reminders[%zu].delta: required integer (minutes)", i);
    if (!json_is_string(ident))
        return ev_fail(err, errlen, "reminders[%zu].identifier: required string", i);
    d = json_integer_value(delta);
    if (d < -EV_REMINDER_DELTA_MAX || d > EV_REMINDER_DELTA_MAX)
        return ev_fail(err, errlen, "reminders[%zu].delta: must be between %d and %d minutes", i,
                       -EV_REMINDER_DELTA_MAX, EV_REMINDER_DELTA_MAX);
    if (json_array_append_new(
            out, json_pack("{s:I,s:s}", "delta", d, "identifier", json_string_value(ident))) != 0)
        return ev_fail(err, errlen, "out of memory");
    return 0;
}

int
ev_reminders_read(const json_t *body, json_t **out, int *present, char *err, size_t errlen)
{
    const json_t *list = json_object_get(body, "reminders");
    const json_t *one = json_object_get(body, "reminder"), *r;
    json_t *res = json_array();
    size_t i;

    *out = NULL;
    *present = 0;
    if (res == NULL)
        return ev_fail(err, errlen, "out of memory");
    if (list != NULL && !json_is_null(list)) {
        *present = 1;
        if (!json_is_array(list)) {
            json_decref(res);
            return ev_fail(err, errlen, "reminders: expected an array or null");
        }
        json_array_foreach(list, i, r)
        {
            if (ev_reminder_add(r, i, res, err, errlen) != 0) {
                json_decref(res);
                return -1;
            }
        }
    }
    if (one != NULL && !json_is_null(one)) {
        const json_t *m = json_object_get(one, "minutesBefore");
        json_int_t mb;
        *present = 1;
        if (!json_is_object(one) || !json_is_integer(m) || json_integer_value(m) < 0 ||
            json_integer_value(m) > EV_MINUTES_BEFORE_MAX) {
            json_decref(res);
            return ev_fail(err, errlen, "reminder.minutesBefore: expected an integer from 0 to %d",
                           EV_MINUTES_BEFORE_MAX);
        }
        mb = json_integer_value(m);
        if (json_array_append_new(
                res, json_pack("{s:I,s:s}", "delta", -mb, "identifier", "reminder")) != 0) {
            json_decref(res);
            return ev_fail(err, errlen, "out of memory");
        }
    }
    *out = res;
    return 0;
}

/* Parses a whole decimal integer ("-12", "34"); 0 or -1. */
static int
ev_parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (s == NULL || !((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int
ev_query_ts(const nt_host_api *api, nt_req *req, const char *name, int64_t *out)
{
    const char *v = api->req_query(req, name);

    if (v == NULL)
        return api->fail(req, NT_EINVAL, "%s: required query parameter is missing", name);
    if (ev_parse_int(v, out) != 0)
        return api->fail(req, NT_EINVAL, "%s: expected an integer timestamp in ms", name);
    return NT_OK;
}

/* Reads exactly n digits at *p into *out and advances *p. 0 or -1. */
static int
ev_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int
ev_iso_parse(const char *s, int64_t *ms)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, frac = 0, scale = 100;

    if (s == NULL || ev_digits(&p, 4, &y) != 0 || *p++ != '-' || ev_digits(&p, 2, &mo) != 0 ||
        *p++ != '-' || ev_digits(&p, 2, &d) != 0 || *p++ != 'T' || ev_digits(&p, 2, &h) != 0 ||
        *p++ != ':' || ev_digits(&p, 2, &mi) != 0 || *p++ != ':' || ev_digits(&p, 2, &sec) != 0)
        return -1;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++) {
            if (n < 3) {
                frac += (*p - '0') * scale;
                scale /= 10;
            }
        }
        if (n == 0 || n > 9)
            return -1;
    }
    if (p[0] != 'Z' || p[1] != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > ev_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;
    *ms = (ev_days_from_civil(y, mo, d) * EV_DAY_S + h * 3600 + mi * 60 + sec) * 1000 + frac;
    return 0;
}

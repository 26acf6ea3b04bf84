/* The event wire object and the JSON text of stored exdates. (The calendar's
 * wire object comes from the calendars service.)
 */
#include "ev.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

void
ev_event_clear(ev_event *e)
{
    if (e == NULL)
        return;
    free(e->rrule);
    free(e->exdates);
    json_decref(e->reminders);
    json_decref(e->metadata);
    memset(e, 0, sizeof(*e));
}

ev_series
ev_event_series(const ev_event *e)
{
    ev_series s = {.start_ts = e->start_ts,
                   .duration = e->duration,
                   .busy = e->busy,
                   .rrule = e->rrule,
                   .exdates = e->exdates,
                   .n_exdates = e->n_exdates};
    return s;
}

/* The compat single reminder: {minutesBefore: -delta} of the first reminder with delta <= 0,
 * else null. */
static json_t *
ev_reminder_view(const json_t *reminders)
{
    const json_t *r;
    size_t i;

    json_array_foreach(reminders, i, r)
    {
        json_int_t delta = json_integer_value(json_object_get(r, "delta"));
        if (delta <= 0)
            return json_pack("{s:I}", "minutesBefore", -delta);
    }
    return json_null();
}

/* exdates as a JSON array. */
static json_t *
ev_exdates_json(const int64_t *v, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, json_integer(v[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *
ev_event_json(const ev_event *e)
{
    json_t *rec = e->rrule != NULL ? ev_rrule_json(e->rrule) : json_null();
    json_t *service = e->has_service ? json_string(e->service_id) : json_null();
    json_t *reminders = e->reminders != NULL ? json_incref(e->reminders) : json_array();
    json_t *metadata = e->metadata != NULL ? json_incref(e->metadata) : json_object();

    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id", e->id,
                     "calendarId", e->calendar_id, "userId", e->user_id, "startTs",
                     (json_int_t)e->start_ts, "duration", (json_int_t)e->duration, "busy", e->busy,
                     "created", (json_int_t)e->created, "updated", (json_int_t)e->updated,
                     "recurrence", rec, "exdates", ev_exdates_json(e->exdates, e->n_exdates),
                     "reminders", reminders, "metadata", metadata, "serviceId", service, "reminder",
                     ev_reminder_view(e->reminders));
}

char *
ev_exdates_dump(const int64_t *v, size_t n)
{
    json_t *arr;
    char *s;

    if (n == 0)
        return strdup("[]");
    arr = ev_exdates_json(v, n);
    s = arr != NULL ? ntc_json_dump(arr, 0) : NULL;

    json_decref(arr);
    return s;
}

int
ev_exdates_parse(const char *text, int64_t **v, size_t *n)
{
    json_t *arr;
    const json_t *x;
    size_t i;
    int rc = -1;

    *v = NULL;
    *n = 0;
    if (text == NULL || strcmp(text, "[]") == 0) /* the usual case, without a parse */
        return 0;
    arr = json_loads(text, 0, NULL);
    if (!json_is_array(arr))
        goto out;
    if (json_array_size(arr) > 0) {
        *v = malloc(json_array_size(arr) * sizeof(**v));
        if (*v == NULL)
            goto out;
    }
    json_array_foreach(arr, i, x)
    {
        if (!json_is_integer(x)) {
            free(*v);
            *v = NULL;
            goto out;
        }
        (*v)[i] = json_integer_value(x);
    }
    *n = json_array_size(arr);
    rc = 0;
out:
    json_decref(arr);
    return rc;
}

/* Request bodies of the service routes without a host: MultiPerson,
 * TimePlan and the member fields, with the published client's names.
 */
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when s looks like a UUID (8-4-4-4-12 hex digits, any case). */
static int
svc_uuid_shape(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (i >= NT_UUID_LEN)
            return 0;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return i == NT_UUID_LEN;
}

/* Copies a UUID string lower-cased into out. */
static void
svc_uuid_copy(char out[NT_UUID_BUF], const char *s)
{
    size_t i;

    for (i = 0; i < NT_UUID_LEN && s[i] != '\0'; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    out[i] = '\0';
}

int
svc_multi_parse(const json_t *v, svc_multi *out, char *err, size_t errlen)
{
    const char *variant = json_string_value(json_object_get(v, "variant"));
    const json_t *data = json_object_get(v, "data");

    if (!json_is_object(v) || variant == NULL) {
        snprintf(err, errlen, "multiPerson: expected an object with a string variant");
        return NT_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (strcmp(variant, "roundRobinAlgorithm") == 0) {
        const char *d = json_string_value(data);
        if (data == NULL || json_is_null(data) || (d != NULL && strcmp(d, "availability") == 0))
            out->kind = SVC_RR_AVAILABILITY;
        else if (d != NULL && strcmp(d, "equalDistribution") == 0)
            out->kind = SVC_RR_EQUAL;
        else {
            snprintf(err, errlen,
                     "multiPerson.data: expected \"availability\" or "
                     "\"equalDistribution\"");
            return NT_EINVAL;
        }
        return NT_OK;
    }
    if (strcmp(variant, "collective") == 0) {
        out->kind = SVC_COLLECTIVE;
        return NT_OK;
    }
    if (strcmp(variant, "group") == 0) {
        if (!json_is_integer(data) || json_integer_value(data) < 0) {
            snprintf(err, errlen, "multiPerson.data: expected an integer >= 0");
            return NT_EINVAL;
        }
        out->kind = SVC_GROUP;
        out->group = json_integer_value(data);
        return NT_OK;
    }
    snprintf(err, errlen,
             "multiPerson.variant: expected roundRobinAlgorithm, collective or group, got '%.40s'",
             variant);
    return NT_EINVAL;
}

json_t *
svc_multi_json(const svc_multi *m)
{
    switch (m->kind) {
    case SVC_RR_EQUAL:
        return json_pack("{s:s,s:s}", "variant", "roundRobinAlgorithm", "data",
                         "equalDistribution");
    case SVC_COLLECTIVE:
        return json_pack("{s:s}", "variant", "collective");
    case SVC_GROUP:
        return json_pack("{s:s,s:I}", "variant", "group", "data", (json_int_t)m->group);
    case SVC_RR_AVAILABILITY:
    default:
        return json_pack("{s:s,s:s}", "variant", "roundRobinAlgorithm", "data", "availability");
    }
}

int
svc_multi_all(const svc_multi *m)
{
    return m->kind == SVC_COLLECTIVE || m->kind == SVC_GROUP;
}

json_t *
svc_plan_json(const svc_plan *p)
{
    if (p->kind == SVC_PLAN_CALENDAR)
        return json_pack("{s:s,s:s}", "variant", "Calendar", "id", p->id);
    if (p->kind == SVC_PLAN_SCHEDULE)
        return json_pack("{s:s,s:s}", "variant", "Schedule", "id", p->id);
    return json_pack("{s:s}", "variant", "Empty");
}

/* Parses a TimePlan named `name`. */
static int
svc_plan_parse(const char *name, const json_t *v, svc_plan *out, char *err, size_t errlen)
{
    const char *variant = json_string_value(json_object_get(v, "variant"));
    const char *id = json_string_value(json_object_get(v, "id"));

    memset(out, 0, sizeof(*out));
    if (!json_is_object(v) || variant == NULL) {
        snprintf(err, errlen, "%s: expected an object with a string variant", name);
        return NT_EINVAL;
    }
    if (strcmp(variant, "Empty") == 0)
        return NT_OK;
    if (strcmp(variant, "Calendar") == 0)
        out->kind = SVC_PLAN_CALENDAR;
    else if (strcmp(variant, "Schedule") == 0)
        out->kind = SVC_PLAN_SCHEDULE;
    else {
        snprintf(err, errlen, "%s.variant: expected Calendar, Schedule or Empty, got '%.40s'", name,
                 variant);
        return NT_EINVAL;
    }
    if (id == NULL || !svc_uuid_shape(id)) {
        snprintf(err, errlen, "%s.id: expected a UUID", name);
        return NT_EINVAL;
    }
    svc_uuid_copy(out->id, id);
    return NT_OK;
}

/* Reads minutes `name` (absent/null: *has = 0): an integer in [0, max] (max < 0: no cap). */
static int
svc_minutes(const json_t *body, const char *name, int64_t max, int *has, int64_t *out, char *err,
            size_t errlen)
{
    const json_t *v = json_object_get(body, name);

    if (v == NULL || json_is_null(v))
        return NT_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (max >= 0 && json_integer_value(v) > max)) {
        if (max >= 0)
            snprintf(err, errlen, "%s: expected an integer from 0 to %lld (minutes)", name,
                     (long long)max);
        else
            snprintf(err, errlen, "%s: expected an integer >= 0 (minutes)", name);
        return NT_EINVAL;
    }
    *has = 1;
    *out = json_integer_value(v);
    return NT_OK;
}

/* Reads `busy`: an array of calendar UUIDs, duplicates dropped. */
static int
svc_busy_parse(const json_t *v, svc_member_body *out, char *err, size_t errlen)
{
    size_t i, n = json_array_size(v);

    if (!json_is_array(v)) {
        snprintf(err, errlen, "busy: expected an array of calendar ids");
        return NT_EINVAL;
    }
    if (n > 100) {
        snprintf(err, errlen, "busy: at most 100 calendars");
        return NT_EINVAL;
    }
    out->busy = n > 0 ? calloc(n, sizeof(*out->busy)) : NULL;
    if (n > 0 && out->busy == NULL)
        return NT_ENOMEM;
    out->has_busy = 1;
    for (i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(v, i));
        char norm[NT_UUID_BUF];
        size_t k;
        if (id == NULL || !svc_uuid_shape(id)) {
            snprintf(err, errlen, "busy[%zu]: expected a calendar id (UUID)", i);
            return NT_EINVAL;
        }
        svc_uuid_copy(norm, id);
        for (k = 0; k < out->n_busy && strcmp(out->busy[k], norm) != 0; k++)
            ;
        if (k == out->n_busy)
            memcpy(out->busy[out->n_busy++], norm, NT_UUID_BUF);
    }
    return NT_OK;
}

int
svc_member_body_parse(const json_t *body, svc_member_body *out, char *err, size_t errlen)
{
    const json_t *plan = json_object_get(body, "availability");
    const char *plan_name = "availability";
    const json_t *furthest = json_object_get(body, "furthestBookingTime");
    const json_t *busy = json_object_get(body, "busy");
    int rc;

    memset(out, 0, sizeof(*out));
    out->furthest = -1;
    if (plan == NULL || json_is_null(plan)) {
        plan = json_object_get(body, "availibility");
        plan_name = "availibility";
    }
    if (plan != NULL && !json_is_null(plan)) {
        rc = svc_plan_parse(plan_name, plan, &out->plan, err, errlen);
        if (rc != NT_OK)
            return rc;
        out->has_plan = 1;
    }
    rc = svc_minutes(body, "bufferBefore", 720, &out->has_before, &out->before, err, errlen);
    if (rc == NT_OK)
        rc = svc_minutes(body, "bufferAfter", 720, &out->has_after, &out->after, err, errlen);
    if (rc == NT_OK && !out->has_after)
        rc = svc_minutes(body, "buffer", 720, &out->has_after, &out->after, err, errlen);
    if (rc == NT_OK)
        rc = svc_minutes(body, "closestBookingTime", -1, &out->has_closest, &out->closest, err,
                         errlen);
    if (rc == NT_OK && json_is_null(furthest))
        out->has_furthest = 1; /* an explicit null removes the limit */
    else if (rc == NT_OK)
        rc = svc_minutes(body, "furthestBookingTime", -1, &out->has_furthest, &out->furthest, err,
                         errlen);
    if (rc == NT_OK && busy != NULL && !json_is_null(busy))
        rc = svc_busy_parse(busy, out, err, errlen);
    if (rc != NT_OK)
        svc_member_body_clear(out);
    return rc;
}

void
svc_member_body_clear(svc_member_body *b)
{
    if (b == NULL)
        return;
    free(b->busy);
    b->busy = NULL;
    b->n_busy = 0;
}

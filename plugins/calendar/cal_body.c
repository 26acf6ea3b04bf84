/* Request bodies of the calendar routes: the settings of a create and of an
 * update, nested or flat. Pure functions over JSON so they can be tested alone, and
 * the request-side reader the handlers call.
 */
#include "cal.h"
#include "ntc.h"

#include <stdarg.h>
#include <stdio.h>

/* Writes a message into err (when there is room) and returns NT_EINVAL. */
static int body_err(char *err, size_t errlen, const char *fmt, ...) NT_PRINTF(3, 4);
static int
body_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NT_EINVAL;
}

/* Reads obj[key] as a time-zone name; `field` names it in messages. Absent or null leaves
 * *out unchanged. */
static int
body_timezone(const json_t *obj, const char *key, const char *field, const char **out, char *err,
              size_t errlen)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return NT_OK;
    if (!json_is_string(v))
        return body_err(err, errlen, "%s: expected a string (an IANA time-zone name)", field);
    if (!ntc_tz_valid(json_string_value(v)))
        return body_err(err, errlen, "%s: unknown IANA time zone '%.100s'", field,
                        json_string_value(v));
    *out = json_string_value(v);
    return NT_OK;
}

/* Reads obj[key] as a weekday; `field` names it in messages. Absent or null leaves *out
 * unchanged. */
static int
body_weekday(const json_t *obj, const char *key, const char *field, int *out, char *err,
             size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    int day;

    if (v == NULL || json_is_null(v))
        return NT_OK;
    if (ntc_weekday_parse(v, &day) != NT_OK)
        return body_err(err, errlen,
                        "%s: expected a weekday name (Mon..Sun or Monday..Sunday) or an "
                        "integer 0..6 (0 = Monday)",
                        field);
    *out = day;
    return NT_OK;
}

int
cal_body_create(const json_t *body, cal_settings *s, char *err, size_t errlen)
{
    int rc;

    s->timezone = NULL;
    s->week_start = 0;
    if (!json_is_object(body))
        return body_err(err, errlen, "body: expected a JSON object");
    rc = body_timezone(body, "timezone", "timezone", &s->timezone, err, errlen);
    if (rc == NT_OK && s->timezone == NULL)
        rc = body_err(err, errlen, "timezone: required");
    if (rc == NT_OK)
        rc = body_weekday(body, "weekStart", "weekStart", &s->week_start, err, errlen);
    return rc;
}

int
cal_body_update(const json_t *body, cal_settings *s, char *err, size_t errlen)
{
    const json_t *settings;
    int rc;

    s->timezone = NULL;
    s->week_start = -1;
    if (!json_is_object(body))
        return body_err(err, errlen, "body: expected a JSON object");
    settings = json_object_get(body, "settings");
    if (json_is_null(settings))
        settings = NULL;
    if (settings != NULL && !json_is_object(settings))
        return body_err(err, errlen, "settings: expected an object");

    /* The nested form wins field by field; a top-level value it shadows is ignored like any
     * unknown field, as the original (which only reads `settings`) would. */
    rc = body_timezone(settings, "timezone", "settings.timezone", &s->timezone, err, errlen);
    if (rc == NT_OK && s->timezone == NULL)
        rc = body_timezone(body, "timezone", "timezone", &s->timezone, err, errlen);
    if (rc == NT_OK)
        rc = body_weekday(settings, "weekStart", "settings.weekStart", &s->week_start, err, errlen);
    if (rc == NT_OK && s->week_start < 0)
        rc = body_weekday(body, "weekStart", "weekStart", &s->week_start, err, errlen);
    return rc;
}

int
cal_body_read(const nt_host_api *api, nt_req *req, int create, cal_settings *s, json_t **metadata)
{
    const json_t *body = api->req_body(req);
    char err[256];
    int rc;

    *metadata = NULL;
    rc = create ? cal_body_create(body, s, err, sizeof(err))
                : cal_body_update(body, s, err, sizeof(err));
    if (rc != NT_OK)
        return api->fail(req, rc, "%s", err);
    return api->json_get_metadata(req, body, "metadata", 0, metadata, NULL);
}

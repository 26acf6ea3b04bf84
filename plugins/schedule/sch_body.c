/* Request bodies of the schedule routes: `timezone` and `rules` of a create or
 * an update. Pure functions over JSON so they can be tested alone.
 */
#include "ntc.h"
#include "sch.h"

#include <stdio.h>
#include <string.h>

void
sch_body_clear(sch_body *b)
{
    if (b == NULL)
        return;
    sch_rules_clear(&b->rules);
    memset(b, 0, sizeof(*b));
}

int
sch_body_parse(const json_t *body, int create, sch_body *out, char *err, size_t errlen)
{
    const json_t *tz, *rules;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(body)) {
        snprintf(err, errlen, "body: expected a JSON object");
        return NT_EINVAL;
    }
    tz = json_object_get(body, "timezone");
    if (tz != NULL && !json_is_null(tz)) {
        if (!json_is_string(tz)) {
            snprintf(err, errlen, "timezone: expected a string (an IANA time-zone name)");
            return NT_EINVAL;
        }
        if (!ntc_tz_valid(json_string_value(tz))) {
            snprintf(err, errlen, "timezone: unknown IANA time zone '%.100s'",
                     json_string_value(tz));
            return NT_EINVAL;
        }
        out->timezone = json_string_value(tz);
    } else if (create) {
        snprintf(err, errlen, "timezone: required");
        return NT_EINVAL;
    }
    rules = json_object_get(body, "rules");
    if (rules == NULL || json_is_null(rules))
        return NT_OK;
    out->has_rules = 1;
    return sch_rules_parse(rules, &out->rules, err, errlen);
}

/* Weekday names and numbers: 0 = Monday ... 6 = Sunday. */
#include "ntc.h"

#include <strings.h>

static const char *const wd_short[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const wd_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};

int
ntc_weekday_parse(const json_t *v, int *out)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > 6)
            return NT_EINVAL;
        *out = (int)n;
        return NT_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (int i = 0; i < 7; i++) {
            if (strcasecmp(s, wd_short[i]) == 0 || strcasecmp(s, wd_long[i]) == 0) {
                *out = i;
                return NT_OK;
            }
        }
    }
    return NT_EINVAL;
}

const char *
ntc_weekday_name(int day)
{
    return day >= 0 && day < 7 ? wd_short[day] : NULL;
}

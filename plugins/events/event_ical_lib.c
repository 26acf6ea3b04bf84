/* events: looks up in libical (opened by the time engine, ev_libical_open()) the functions of
 * the iCalendar export, once (event_ical_lib.h says why it is not linked).
 */
#define EV_ICAL_LIB_NO_MACROS
#include "event_ical_lib.h"

#include <dlfcn.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>

#include "rrule.h"

ev_ical_lib ev_ical_fn;

static pthread_once_t ev_ical_lib_once = PTHREAD_ONCE_INIT;
static int ev_ical_lib_ok;

/* Looks `name` up in h into *fn; 0, or -1 when it is missing. */
static int
ev_ical_sym(void *h, const char *name, void *fn)
{
    void *p = dlsym(h, name);

    if (p == NULL)
        return -1;
    memcpy(fn, &p, sizeof(p)); /* ISO C has no object-to-function pointer conversion */
    return 0;
}

/* Runs once: fills ev_ical_fn. */
static void
ev_ical_lib_init(void)
{
    static const struct {
        const char *name;
        size_t offset;
    } syms[] = {
        {"icalcomponent_add_property", offsetof(ev_ical_lib, component_add_property)},
        {"icalcomponent_as_ical_string_r", offsetof(ev_ical_lib, component_as_ical_string_r)},
        {"icalcomponent_free", offsetof(ev_ical_lib, component_free)},
        {"icalcomponent_get_first_property", offsetof(ev_ical_lib, component_get_first_property)},
        {"icalcomponent_new_vevent", offsetof(ev_ical_lib, component_new_vevent)},
        {"icaldurationtype_null_duration", offsetof(ev_ical_lib, durationtype_null_duration)},
        {"icalparameter_new_tzid", offsetof(ev_ical_lib, parameter_new_tzid)},
        {"icalproperty_add_parameter", offsetof(ev_ical_lib, property_add_parameter)},
        {"icalproperty_as_ical_string_r", offsetof(ev_ical_lib, property_as_ical_string_r)},
        {"icalproperty_free", offsetof(ev_ical_lib, property_free)},
        {"icalproperty_new_calscale", offsetof(ev_ical_lib, property_new_calscale)},
        {"icalproperty_new_created", offsetof(ev_ical_lib, property_new_created)},
        {"icalproperty_new_dtend", offsetof(ev_ical_lib, property_new_dtend)},
        {"icalproperty_new_dtstamp", offsetof(ev_ical_lib, property_new_dtstamp)},
        {"icalproperty_new_dtstart", offsetof(ev_ical_lib, property_new_dtstart)},
        {"icalproperty_new_duration", offsetof(ev_ical_lib, property_new_duration)},
        {"icalproperty_new_exdate", offsetof(ev_ical_lib, property_new_exdate)},
        {"icalproperty_new_lastmodified", offsetof(ev_ical_lib, property_new_lastmodified)},
        {"icalproperty_new_prodid", offsetof(ev_ical_lib, property_new_prodid)},
        {"icalproperty_new_rrule", offsetof(ev_ical_lib, property_new_rrule)},
        {"icalproperty_new_transp", offsetof(ev_ical_lib, property_new_transp)},
        {"icalproperty_new_uid", offsetof(ev_ical_lib, property_new_uid)},
        {"icalproperty_new_version", offsetof(ev_ical_lib, property_new_version)},
        {"icalproperty_set_tzid", offsetof(ev_ical_lib, property_set_tzid)},
        {"icalrecurrencetype_clear", offsetof(ev_ical_lib, recurrencetype_clear)},
        {"icaltime_null_time", offsetof(ev_ical_lib, time_null_time)},
        {"icaltimezone_get_utc_timezone", offsetof(ev_ical_lib, timezone_get_utc_timezone)},
        {"icaltzutil_fetch_timezone", offsetof(ev_ical_lib, tzutil_fetch_timezone)},
    };
    void *h = ev_libical_open();

    if (h == NULL)
        return;
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
        if (ev_ical_sym(h, syms[i].name, (char *)&ev_ical_fn + syms[i].offset) != 0)
            return;
    ev_ical_lib_ok = 1;
}

int
ev_ical_lib_load(void)
{
    (void)pthread_once(&ev_ical_lib_once, ev_ical_lib_init);
    return ev_ical_lib_ok ? 0 : -1;
}

/* events: libical for the iCalendar export (event_ical*.c). libical is not linked into the
 * plugin (an idle server would map libical, ICU and libstdc++ for nothing): the time engine
 * opens it at its first use (ev_libical_open()) and the export's functions are looked up in
 * it, once, into ev_ical_fn. Sources that include this header call libical by its own names,
 * which the macros below send through the table; call ev_ical_lib_load() first.
 */
#ifndef EV_ICAL_LIB_H
#define EV_ICAL_LIB_H

#include <libical/ical.h>

/* The libical functions the export uses (libical 3's signatures). */
typedef struct ev_ical_lib {
    void (*component_add_property)(icalcomponent *, icalproperty *);
    char *(*component_as_ical_string_r)(icalcomponent *);
    void (*component_free)(icalcomponent *);
    icalproperty *(*component_get_first_property)(icalcomponent *, icalproperty_kind);
    icalcomponent *(*component_new_vevent)(void);
    struct icaldurationtype (*durationtype_null_duration)(void);
    icalparameter *(*parameter_new_tzid)(const char *);
    void (*property_add_parameter)(icalproperty *, icalparameter *);
    char *(*property_as_ical_string_r)(icalproperty *);
    void (*property_free)(icalproperty *);
    icalproperty *(*property_new_calscale)(const char *);
    icalproperty *(*property_new_created)(struct icaltimetype);
    icalproperty *(*property_new_dtend)(struct icaltimetype);
    icalproperty *(*property_new_dtstamp)(struct icaltimetype);
    icalproperty *(*property_new_dtstart)(struct icaltimetype);
    icalproperty *(*property_new_duration)(struct icaldurationtype);
    icalproperty *(*property_new_exdate)(struct icaltimetype);
    icalproperty *(*property_new_lastmodified)(struct icaltimetype);
    icalproperty *(*property_new_prodid)(const char *);
    icalproperty *(*property_new_rrule)(struct icalrecurrencetype);
    icalproperty *(*property_new_transp)(enum icalproperty_transp);
    icalproperty *(*property_new_uid)(const char *);
    icalproperty *(*property_new_version)(const char *);
    void (*property_set_tzid)(icalproperty *, const char *);
    void (*recurrencetype_clear)(struct icalrecurrencetype *);
    struct icaltimetype (*time_null_time)(void);
    icaltimezone *(*timezone_get_utc_timezone)(void);
    icalcomponent *(*tzutil_fetch_timezone)(const char *);
} ev_ical_lib;

/* Filled by ev_ical_lib_load(); read-only afterwards. */
extern ev_ical_lib ev_ical_fn;

/* Opens libical and looks up every member of ev_ical_fn, once per process (thread-safe).
 * 0, or -1 when libical or one of the functions cannot be found. */
int ev_ical_lib_load(void);

#ifndef EV_ICAL_LIB_NO_MACROS
#define icalcomponent_add_property ev_ical_fn.component_add_property
#define icalcomponent_as_ical_string_r ev_ical_fn.component_as_ical_string_r
#define icalcomponent_free ev_ical_fn.component_free
#define icalcomponent_get_first_property ev_ical_fn.component_get_first_property
#define icalcomponent_new_vevent ev_ical_fn.component_new_vevent
#define icaldurationtype_null_duration ev_ical_fn.durationtype_null_duration
#define icalparameter_new_tzid ev_ical_fn.parameter_new_tzid
#define icalproperty_add_parameter ev_ical_fn.property_add_parameter
#define icalproperty_as_ical_string_r ev_ical_fn.property_as_ical_string_r
#define icalproperty_free ev_ical_fn.property_free
#define icalproperty_new_calscale ev_ical_fn.property_new_calscale
#define icalproperty_new_created ev_ical_fn.property_new_created
#define icalproperty_new_dtend ev_ical_fn.property_new_dtend
#define icalproperty_new_dtstamp ev_ical_fn.property_new_dtstamp
#define icalproperty_new_dtstart ev_ical_fn.property_new_dtstart
#define icalproperty_new_duration ev_ical_fn.property_new_duration
#define icalproperty_new_exdate ev_ical_fn.property_new_exdate
#define icalproperty_new_lastmodified ev_ical_fn.property_new_lastmodified
#define icalproperty_new_prodid ev_ical_fn.property_new_prodid
#define icalproperty_new_rrule ev_ical_fn.property_new_rrule
#define icalproperty_new_transp ev_ical_fn.property_new_transp
#define icalproperty_new_uid ev_ical_fn.property_new_uid
#define icalproperty_new_version ev_ical_fn.property_new_version
#define icalproperty_set_tzid ev_ical_fn.property_set_tzid
#define icalrecurrencetype_clear ev_ical_fn.recurrencetype_clear
#define icaltime_null_time ev_ical_fn.time_null_time
#define icaltimezone_get_utc_timezone ev_ical_fn.timezone_get_utc_timezone
#define icaltzutil_fetch_timezone ev_ical_fn.tzutil_fetch_timezone
#endif

#endif /* EV_ICAL_LIB_H */

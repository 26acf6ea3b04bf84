/* ical_expand: reads an iCalendar file with libical and prints the instances of every VEVENT
 * that start in [from_ms, to_ms) as lines "uid start_ms end_ms" (ascending per event), for
 * the iCalendar export test (tests/e2e/ical.test.mjs). DTSTART;TZID= and EXDATE;TZID= are
 * read with the file's own VTIMEZONE, RRULE with libical's icalrecur_iterator, DURATION or
 * DTEND for the end. A test tool, not part of the server.
 *
 * Usage: ical_expand FILE FROM_MS TO_MS
 */
#include <libical/ical.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 1000000 /* occurrences looked at per event */

/* The whole file as a NUL-terminated string (malloc'd), or NULL. */
static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* The zone of a date-time property: its TZID's VTIMEZONE in cal, UTC for a UTC value, NULL
 * (floating) otherwise. Exits when a TZID has no VTIMEZONE. */
static icaltimezone *
prop_zone(icalcomponent *cal, icalproperty *p, struct icaltimetype t)
{
    icalparameter *tzp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    icaltimezone *z;

    if (tzp == NULL)
        return icaltime_is_utc(t) ? icaltimezone_get_utc_timezone() : NULL;
    z = icalcomponent_get_timezone(cal, icalparameter_get_tzid(tzp));
    if (z == NULL) {
        fprintf(stderr, "ical_expand: no VTIMEZONE for TZID '%s'\n", icalparameter_get_tzid(tzp));
        exit(2);
    }
    return z;
}

/* Milliseconds since the epoch of t in zone z. */
static int64_t
to_ms(struct icaltimetype t, icaltimezone *z)
{
    t.zone = NULL;
    return (int64_t)icaltime_as_timet_with_zone(t, z) * 1000;
}

/* Prints the instances of one VEVENT in [from, to). */
static void
expand_event(icalcomponent *cal, icalcomponent *ev, int64_t from, int64_t to)
{
    icalproperty *p = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    icalproperty *rp = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
    icalproperty *dp = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY);
    const char *uid = icalcomponent_get_uid(ev);
    struct icaltimetype start;
    icaltimezone *zone;
    int64_t dur, *ex = NULL;
    size_t n_ex = 0;

    if (p == NULL || uid == NULL) {
        fprintf(stderr, "ical_expand: VEVENT without DTSTART or UID\n");
        exit(2);
    }
    start = icalproperty_get_dtstart(p);
    zone = prop_zone(cal, p, start);
    if (dp != NULL) {
        dur = (int64_t)icaldurationtype_as_int(icalproperty_get_duration(dp)) * 1000;
    } else {
        icalproperty *ep = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
        struct icaltimetype end = icalproperty_get_dtend(ep);

        dur = to_ms(end, prop_zone(cal, ep, end)) - to_ms(start, zone);
    }
    for (icalproperty *x = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); x != NULL;
         x = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY)) {
        struct icaltimetype t = icalproperty_get_exdate(x);

        ex = realloc(ex, (n_ex + 1) * sizeof(*ex));
        if (ex == NULL)
            exit(3);
        ex[n_ex++] = to_ms(t, prop_zone(cal, x, t));
    }
    if (rp == NULL) {
        int64_t s = to_ms(start, zone);

        if (s >= from && s < to)
            printf("%s %" PRId64 " %" PRId64 "\n", uid, s, s + dur);
    } else {
        struct icalrecurrencetype r = icalproperty_get_rrule(rp);
        struct icaltimetype st = start;
        icalrecur_iterator *it;
        struct icaltimetype t;

        st.zone = zone; /* libical compares a UTC UNTIL with local times in this zone */
        it = icalrecur_iterator_new(r, st);
        if (it == NULL) {
            fprintf(stderr, "ical_expand: libical cannot iterate the RRULE of %s\n", uid);
            exit(2);
        }
        for (long k = 0; k < MAX_STEPS; k++) {
            int64_t s;
            size_t i;

            t = icalrecur_iterator_next(it);
            if (icaltime_is_null_time(t))
                break;
            s = to_ms(t, zone);
            if (s >= to)
                break;
            for (i = 0; i < n_ex && ex[i] != s; i++)
                ;
            if (i == n_ex && s >= from)
                printf("%s %" PRId64 " %" PRId64 "\n", uid, s, s + dur);
        }
        icalrecur_iterator_free(it);
    }
    free(ex);
}

int
main(int argc, char **argv)
{
    icalcomponent *cal;
    char *text;
    int64_t from, to;

    if (argc != 4) {
        fprintf(stderr, "usage: ical_expand FILE FROM_MS TO_MS\n");
        return 2;
    }
    text = read_file(argv[1]);
    if (text == NULL) {
        perror(argv[1]);
        return 2;
    }
    from = strtoll(argv[2], NULL, 10);
    to = strtoll(argv[3], NULL, 10);
    cal = icalparser_parse_string(text);
    if (cal == NULL || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
        fprintf(stderr, "ical_expand: not a VCALENDAR\n");
        return 2;
    }
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
         ev != NULL; ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT))
        expand_event(cal, ev, from, to);
    icalcomponent_free(cal);
    free(text);
    return 0;
}

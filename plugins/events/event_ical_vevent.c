/* iCalendar export, one event: the VEVENT of a stored event, built with libical
 * (which escapes, folds at 75 octets and writes CRLF). A non-recurring event has DTSTART and
 * DTEND in UTC; a recurring one DTSTART;TZID=<zone> in local time (from ev_tz, the zone data
 * the expansion uses), an exact DURATION (hours, minutes, seconds: never days, which RFC 5545
 * readers stretch across DST changes), its RRULE and EXDATE;TZID=. Metadata is not exported.
 *
 * The RRULE is the stored rule written the way the server reads it (python-dateutil), so that RFC
 * 5545 readers get the same days: ordinals in daily and weekly rules mean the plain weekday;
 * plain and ordinal weekdays together keep the ordinals whose day is also plain (dateutil
 * wants both); bymonthday 0 is left out. BYHOUR/BYMINUTE/BYSECOND are DTSTART's own, which is
 * RFC 5545's default, so they are not written.
 */
#include "ev.h"

#include <stdlib.h>
#include <string.h>

#include "event_ical_lib.h"

/* A UTC (utc = 1: zone = libical's UTC zone) or floating date-time from seconds since the
 * epoch (or since 1970-01-01T00:00 local). */
static struct icaltimetype
ev_ical_time(int64_t secs, int utc)
{
    struct icaltimetype t = icaltime_null_time();
    int64_t days = ev_floor_div(secs, EV_DAY_S), y;
    int64_t tod = secs - days * EV_DAY_S;
    int m, d;

    ev_civil_from_days(days, &y, &m, &d);
    t.year = (int)y;
    t.month = m;
    t.day = d;
    t.hour = (int)(tod / 3600);
    t.minute = (int)(tod / 60 % 60);
    t.second = (int)(tod % 60);
    t.is_date = 0;
    t.zone = utc ? icaltimezone_get_utc_timezone() : NULL;
    return t;
}

/* libical's weekday (1 = Sunday .. 7 = Saturday) of ours (0 = Monday). */
static short
ev_ical_wday(int d)
{
    return (short)((d + 1) % 7 + 1);
}

/* Copies n values of v (skipping zeros when skip_zero) into dst[cap] and terminates it.
 * 0, or -1 when they do not fit. */
static int
ev_ical_list(short *dst, size_t cap, const int16_t *v, int n, int skip_zero)
{
    size_t k = 0;

    for (int i = 0; i < n; i++) {
        if (skip_zero && v[i] == 0)
            continue;
        if (k + 1 >= cap)
            return -1;
        dst[k++] = v[i];
    }
    dst[k] = ICAL_RECURRENCE_ARRAY_MAX;
    return 0;
}

/* BYDAY as dateutil means it (see the file comment). Returns 0; 1 when no day can ever match
 * (plain and ordinal weekdays with no ordinal on a plain day); -1 when it does not fit. */
static int
ev_ical_days(struct icalrecurrencetype *r, const ev_rrule *rr)
{
    int plain_only = rr->freq == EV_DAILY || rr->freq == EV_WEEKLY;
    unsigned plain = 0, seen = 0;
    int has_ord = 0;
    size_t k = 0;

    for (int i = 0; i < rr->n_wday; i++) {
        if (rr->wday[i].n == 0 || plain_only)
            plain |= 1u << rr->wday[i].day;
        else
            has_ord = 1;
    }
    for (int i = 0; i < rr->n_wday; i++) {
        const ev_wday *w = &rr->wday[i];
        int n = plain_only ? 0 : w->n;
        int code;

        if (plain != 0 && has_ord && (n == 0 || !(plain & (1u << w->day))))
            continue; /* both kinds: only ordinals on a plain day */
        if (n == 0) {
            if (seen & (1u << w->day))
                continue;
            seen |= 1u << w->day;
        }
        if (k + 1 >= ICAL_BY_DAY_SIZE)
            return -1;
        code = (n < 0 ? -n : n) * 8 + ev_ical_wday(w->day);
        r->by_day[k++] = (short)(n < 0 ? -code : code);
    }
    r->by_day[k] = ICAL_RECURRENCE_ARRAY_MAX;
    return rr->n_wday > 0 && k == 0 ? 1 : 0;
}

/* The RRULE of rr with week start wkst. 0; 1 when the rule never matches; -1 when a list
 * does not fit libical's (err says which). */
static int
ev_ical_rule(struct icalrecurrencetype *r, const ev_rrule *rr, int wkst, char *err, size_t errlen)
{
    static const icalrecurrencetype_frequency freqs[] = {[EV_YEARLY] = ICAL_YEARLY_RECURRENCE,
                                                         [EV_MONTHLY] = ICAL_MONTHLY_RECURRENCE,
                                                         [EV_WEEKLY] = ICAL_WEEKLY_RECURRENCE,
                                                         [EV_DAILY] = ICAL_DAILY_RECURRENCE};
    const char *what = NULL;
    int rc;

    icalrecurrencetype_clear(r);
    r->freq = freqs[rr->freq];
    r->interval = (short)(rr->interval > 32767 ? 32767 : rr->interval);
    if (rr->interval > 32767)
        what = "interval (libical holds at most 32767)";
    r->week_start = (icalrecurrencetype_weekday)ev_ical_wday(wkst);
    r->count = rr->count;
    if (rr->has_until)
        r->until = ev_ical_time(ev_floor_div(rr->until, 1000), 1);
    if (ev_ical_list(r->by_month, ICAL_BY_MONTH_SIZE, rr->month, rr->n_month, 0) != 0)
        what = "bymonth";
    if (ev_ical_list(r->by_month_day, ICAL_BY_MONTHDAY_SIZE, rr->mday, rr->n_mday, 1) != 0)
        what = "bymonthday";
    if (ev_ical_list(r->by_year_day, ICAL_BY_YEARDAY_SIZE, rr->yday, rr->n_yday, 0) != 0)
        what = "byyearday";
    if (ev_ical_list(r->by_week_no, ICAL_BY_WEEKNO_SIZE, rr->wno, rr->n_wno, 0) != 0)
        what = "byweekno";
    if (ev_ical_list(r->by_set_pos, ICAL_BY_SETPOS_SIZE, rr->setpos, rr->n_setpos, 0) != 0)
        what = "bysetpos";
    rc = ev_ical_days(r, rr);
    if (rc < 0)
        what = "byweekday";
    if (what != NULL) {
        snprintf(err, errlen, "recurrence.%s has more values than an RRULE can carry here", what);
        return -1;
    }
    return rc;
}

/* Adds date-time property p (a floating time) to c with the parameter TZID=tzid. */
static void
ev_ical_add_local(icalcomponent *c, icalproperty *p, const char *tzid)
{
    icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
    icalcomponent_add_property(c, p);
}

/* An exact duration (no days or weeks, which are nominal in RFC 5545); a negative one (stored
 * before durations were checked) is written as zero. */
static struct icaldurationtype
ev_ical_duration(int64_t ms)
{
    struct icaldurationtype d = icaldurationtype_null_duration();
    int64_t s = ms > 0 ? ms / 1000 : 0;

    d.hours = (unsigned int)(s / 3600);
    d.minutes = (unsigned int)(s / 60 % 60);
    d.seconds = (unsigned int)(s % 60);
    return d;
}

/* 1 when exdate x (ms) may remove an occurrence: its second, read as local time in tz, maps
 * back to the same instant (occurrences always do). */
static int
ev_ical_exdate_useful(const ev_tz *tz, int64_t x)
{
    int64_t s = ev_floor_div(x, 1000);

    return ev_tz_local_to_utc(tz, ev_tz_utc_to_local(tz, s)) == s;
}

/* For a DTSTART that is not an occurrence (expansion follows dateutil, which does not add it;
 * RFC 5545 readers may count it as the first instance): a COUNT becomes the UNTIL of the last
 * occurrence (exdates aside), so readers of either kind stop at the same one. Returns 0, 1
 * when the rule has no occurrence at all, or an engine error. */
static int
ev_ical_count_to_until(const ev_event *e, const ev_ical_ctx *x, struct icalrecurrencetype *r,
                       char *err, size_t errlen)
{
    ev_series s = ev_event_series(e);
    int64_t end = 0;
    int rc;

    s.exdates = NULL;
    s.n_exdates = 0;
    rc = ev_end_ts(&s, x->tz, x->wkst, x->max_instances, x->budget, &end, err, errlen);
    if (rc != 0)
        return rc;
    if (end == 0)
        return 1;
    r->count = 0;
    r->until = ev_ical_time(ev_floor_div(end - e->duration, 1000), 1);
    return 0;
}

/* The recurrence part of a recurring event. 0; 1 when it has no instances; -1 (err) when
 * its rule cannot be written; another engine error (ev_expand()). */
static int
ev_ical_recurring(icalcomponent *c, const ev_event *e, const ev_ical_ctx *x, char *err,
                  size_t errlen)
{
    struct icalrecurrencetype r;
    int64_t start = ev_floor_div(e->start_ts, 1000);
    int rc, synced = 1;

    if ((e->rrule->count > 0 || e->rrule->has_until) && e->end_ts == 0)
        return 1; /* bounded, and every occurrence is exdated */
    rc = ev_ical_rule(&r, e->rrule, x->wkst, err, errlen);
    if (rc == 0) {
        ev_series ser = ev_event_series(e);

        rc = ev_starts_on_rule(&ser, x->tz, x->wkst, x->budget, &synced, err, errlen);
    }
    if (rc == 0 && !synced && r.count > 0)
        rc = ev_ical_count_to_until(e, x, &r, err, errlen);
    if (rc != 0)
        return rc;
    ev_ical_add_local(
        c, icalproperty_new_dtstart(ev_ical_time(ev_tz_utc_to_local(x->tz, start), 0)), x->tzid);
    icalcomponent_add_property(c, icalproperty_new_duration(ev_ical_duration(e->duration)));
    icalcomponent_add_property(c, icalproperty_new_rrule(r));
    if (!synced) /* readers that count DTSTART as an instance drop it again */
        ev_ical_add_local(
            c, icalproperty_new_exdate(ev_ical_time(ev_tz_utc_to_local(x->tz, start), 0)), x->tzid);
    for (size_t i = 0; i < e->n_exdates; i++) {
        int64_t s = ev_floor_div(e->exdates[i], 1000);

        if (!ev_ical_exdate_useful(x->tz, e->exdates[i]) || (!synced && s == start))
            continue;
        ev_ical_add_local(c, icalproperty_new_exdate(ev_ical_time(ev_tz_utc_to_local(x->tz, s), 0)),
                          x->tzid);
    }
    return 0;
}

int
ev_ical_vevent(const ev_event *e, const ev_ical_ctx *x, char **text, char *err, size_t errlen)
{
    icalcomponent *c = NULL;
    int rc = 0;

    *text = NULL;
    if (e->rrule == NULL) {
        for (size_t i = 0; i < e->n_exdates; i++)
            if (e->exdates[i] == e->start_ts)
                return 1; /* exdated, no instance */
    }
    c = icalcomponent_new_vevent();
    if (c == NULL)
        return -2;
    icalcomponent_add_property(c, icalproperty_new_uid(e->id));
    icalcomponent_add_property(
        c, icalproperty_new_dtstamp(ev_ical_time(ev_floor_div(e->updated, 1000), 1)));
    icalcomponent_add_property(
        c, icalproperty_new_created(ev_ical_time(ev_floor_div(e->created, 1000), 1)));
    icalcomponent_add_property(
        c, icalproperty_new_lastmodified(ev_ical_time(ev_floor_div(e->updated, 1000), 1)));
    if (e->rrule == NULL) {
        int64_t s = ev_floor_div(e->start_ts, 1000);
        int64_t d = e->duration > 0 ? e->duration : 0; /* see ev_ical_duration() */

        icalcomponent_add_property(c, icalproperty_new_dtstart(ev_ical_time(s, 1)));
        icalcomponent_add_property(c, icalproperty_new_dtend(ev_ical_time(
                                          ev_floor_div(ev_sat_add(e->start_ts, d), 1000), 1)));
    } else {
        rc = ev_ical_recurring(c, e, x, err, errlen);
    }
    if (rc == 0) {
        icalcomponent_add_property(
            c, icalproperty_new_transp(e->busy ? ICAL_TRANSP_OPAQUE : ICAL_TRANSP_TRANSPARENT));
        *text = icalcomponent_as_ical_string_r(c);
        if (*text == NULL)
            rc = -2;
    }
    icalcomponent_free(c);
    return rc;
}

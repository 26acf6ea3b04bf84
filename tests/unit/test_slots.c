/* Booking slots without a host (plugins/service: svc_slots.c, svc_body.c; schedules through
 * plugins/schedule's sch_avail.c): dates, the query span in its zone (23 and 25 hour days),
 * booking-time limits, free time = availability - busy (buffers, touching busy intervals),
 * the slot walk over several hosts (any and all), grouping by local date, and the 89-slot
 * worked example of README "Services and booking slots" (89 slots).
 *
 * Every expected instant was computed outside this code, with Python's zoneinfo
 * (datetime(..., tzinfo=ZoneInfo(zone)).timestamp() * 1000); every slot list by hand (the
 * reasoning is written beside each).
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_time.h"
#include "sch.h"
#include "svc.h"

#define M 60000LL
#define H 3600000LL
#define D 86400000LL
#define T_UTC 1917820800000LL     /* 2030-10-10T00:00Z */
#define T_MAR31 1901142000000LL   /* 2030-03-31T00:00 Europe/Berlin = 2030-03-30T23:00Z */
#define T_APR1 1901224800000LL    /* 2030-04-01T00:00 Europe/Berlin */
#define T_OCT27 1919282400000LL   /* 2030-10-27T00:00 Europe/Berlin (+02:00) */
#define T_OCT28 1919372400000LL   /* 2030-10-28T00:00 Europe/Berlin (+01:00) */
#define T_NY_JAN5 1893819600000LL /* 2030-01-05T00:00 America/New_York */
#define DAY_2030_10_10 22197
#define DAY_2030_03_31 22004

static const ev_tz *
zone(const char *name)
{
    const ev_tz *tz = ev_tz_get(name);

    ck_assert_msg(tz != NULL, "zone %s", name);
    return tz;
}

static void
push(ev_ilist *l, int64_t a, int64_t b)
{
    ck_assert_int_eq(ev_ilist_push(l, a, b, 0), 0);
}

/* The free time of a schedule whose every day is 00:00-23:59 in `tzname`, in [s, e]. */
static void
all_day_schedule(const char *tzname, int64_t s, int64_t e, ev_ilist *out)
{
    static const char rules_text[] =
        "[{\"variant\":{\"type\":\"WDay\",\"value\":\"Mon\"},\"intervals\":[{\"start\":{\"hours\":"
        "0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Tue\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Wed\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Thu\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Fri\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Sat\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]},"
        "{\"variant\":{\"type\":\"WDay\",\"value\":\"Sun\"},\"intervals\":[{\"start\":{\"hours\":0,"
        "\"minutes\":0},\"end\":{\"hours\":23,\"minutes\":59}}]}]";
    json_t *j = json_loads(rules_text, 0, NULL);
    sch_rules rules = {0};
    nt_intervals iv = {0};
    char err[256] = "";

    ck_assert_ptr_nonnull(j);
    ck_assert_msg(sch_rules_parse(j, &rules, err, sizeof(err)) == NT_OK, "%s", err);
    ck_assert_int_eq(sch_avail(&rules, zone(tzname), s, e, NULL, NULL, &iv), NT_OK);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < iv.n; i++)
        push(out, iv.v[i].start, iv.v[i].end);
    free(iv.v);
    sch_rules_clear(&rules);
    json_decref(j);
}

/* Checks slot i: its start and its host indexes (terminated by -1). */
static void
slot_is(const svc_slots *sl, size_t i, int64_t start, const int *hosts)
{
    size_t k = 0;

    ck_assert_msg(i < sl->n, "slot %zu of %zu", i, sl->n);
    ck_assert_msg(sl->start[i] == start, "slot %zu starts %lld, expected %lld", i,
                  (long long)sl->start[i], (long long)start);
    for (; hosts[k] >= 0; k++) {
        ck_assert_msg(sl->first[i] + k < sl->first[i + 1], "slot %zu lacks host %d", i, hosts[k]);
        ck_assert_uint_eq(sl->host[sl->first[i] + k], (size_t)hosts[k]);
    }
    ck_assert_uint_eq(sl->first[i + 1] - sl->first[i], k);
}

/* ---- dates and spans ---------------------------------------------------------------------- */

START_TEST(test_date_parse)
{
    int64_t d = 0;

    ck_assert_int_eq(svc_date_parse("2030-10-10", &d), NT_OK);
    ck_assert_int_eq(d, DAY_2030_10_10);
    ck_assert_int_eq(svc_date_parse("2030-3-31", &d), NT_OK);
    ck_assert_int_eq(d, DAY_2030_03_31);
    ck_assert_int_eq(svc_date_parse("2030-03-031", &d), NT_OK);
    ck_assert_int_eq(d, DAY_2030_03_31);
    ck_assert_int_eq(svc_date_parse("2032-2-29", &d), NT_OK);
    ck_assert_int_eq(svc_date_parse("1970-1-1", &d), NT_OK);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(svc_date_parse("2100-12-31", &d), NT_OK);
    const char *bad[] = {"1969-12-31", "2101-1-1",  "2030-2-29", "2030-13-1",
                         "2030-0-1",   "2030-1-0",  "2030-1",    "2030-1-5-1",
                         "x",          "",          "2030--1",   "+2030-1-1",
                         "2030-1-1 ",  "-2030-1-1", "2030-1-1-", "20300-1-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(svc_date_parse(bad[i], &d) == NT_EINVAL, "accepted '%s'", bad[i]);
    ck_assert_int_eq(svc_date_parse(NULL, &d), NT_EINVAL);
}
END_TEST

START_TEST(test_span)
{
    int64_t s, e;

    svc_span(NULL, DAY_2030_10_10, DAY_2030_10_10, &s, &e);
    ck_assert_int_eq(s, T_UTC);
    ck_assert_int_eq(e, T_UTC + D);
    svc_span(zone("UTC"), DAY_2030_10_10, DAY_2030_10_10 + 2, &s, &e);
    ck_assert_int_eq(e - s, 3 * D);
    /* Spring forward: 23 hours; fall back: 25 hours. */
    svc_span(zone("Europe/Berlin"), DAY_2030_03_31, DAY_2030_03_31, &s, &e);
    ck_assert_int_eq(s, T_MAR31);
    ck_assert_int_eq(e, T_APR1);
    ck_assert_int_eq(e - s, 23 * H);
    svc_span(zone("Europe/Berlin"), DAY_2030_10_10 + 17, DAY_2030_10_10 + 17, &s, &e);
    ck_assert_int_eq(s, T_OCT27);
    ck_assert_int_eq(e, T_OCT28);
    ck_assert_int_eq(e - s, 25 * H);
}
END_TEST

START_TEST(test_adjust)
{
    int64_t s = T_UTC, e = T_UTC + D;

    /* now + closest after the start moves it; furthest before the end cuts it. */
    ck_assert_int_eq(svc_adjust(T_UTC + 10 * H, 60, 180, &s, &e), 1);
    ck_assert_int_eq(s, T_UTC + 11 * H);
    ck_assert_int_eq(e, T_UTC + 13 * H);
    /* Limits outside the span change nothing. */
    s = T_UTC;
    e = T_UTC + D;
    ck_assert_int_eq(svc_adjust(T_UTC - 5 * D, 60, -1, &s, &e), 1);
    ck_assert_int_eq(s, T_UTC);
    ck_assert_int_eq(e, T_UTC + D);
    ck_assert_int_eq(svc_adjust(T_UTC - 5 * D, 0, 10 * 24 * 60, &s, &e), 1);
    ck_assert_int_eq(e, T_UTC + D);
    /* furthest at or before the adjusted start: no free time. */
    s = T_UTC;
    e = T_UTC + D;
    ck_assert_int_eq(svc_adjust(T_UTC + 10 * H, 120, 60, &s, &e), 0);
    /* A span in the past (a query for 1980-1-1): nothing left. */
    svc_span(NULL, 3652, 3652, &s, &e);
    ck_assert_int_eq(svc_adjust(T_UTC, 0, -1, &s, &e), 0);
    /* Huge minutes do not overflow. */
    s = T_UTC;
    e = T_UTC + D;
    ck_assert_int_eq(svc_adjust(T_UTC, INT64_MAX, -1, &s, &e), 0);
    s = T_UTC;
    e = T_UTC + D;
    ck_assert_int_eq(svc_adjust(T_UTC, 0, INT64_MAX, &s, &e), 1);
    ck_assert_int_eq(e, T_UTC + D);
}
END_TEST

/* ---- free time ---------------------------------------------------------------------------- */

START_TEST(test_free_time_buffers)
{
    ev_ilist avail = {0}, busy = {0};
    nt_interval ev[1] = {{T_UTC + 10 * H, T_UTC + 10 * H + 30 * M, 1}};

    push(&avail, T_UTC + 9 * H, T_UTC + 12 * H);
    /* 10:00-10:30 with 15 minutes before and after: busy 09:45-10:45. */
    ck_assert_int_eq(svc_busy_widen(&busy, ev, 1, 15, 15), 0);
    ck_assert_int_eq(busy.n, 1);
    ck_assert_int_eq(busy.v[0].start, T_UTC + 9 * H + 45 * M);
    ck_assert_int_eq(busy.v[0].end, T_UTC + 10 * H + 45 * M);
    ck_assert_int_eq(svc_free_time(&avail, &busy, T_UTC, T_UTC + D), 0);
    ck_assert_int_eq(avail.n, 2);
    ck_assert_int_eq(avail.v[0].start, T_UTC + 9 * H);
    ck_assert_int_eq(avail.v[0].end, T_UTC + 9 * H + 45 * M);
    ck_assert_int_eq(avail.v[1].start, T_UTC + 10 * H + 45 * M);
    ck_assert_int_eq(avail.v[1].end, T_UTC + 12 * H);
    ev_ilist_free(&avail);
    ev_ilist_free(&busy);
}
END_TEST

START_TEST(test_free_time_touch_and_clip)
{
    ev_ilist avail = {0}, busy = {0};
    nt_interval ev[3] = {{T_UTC + 11 * H + 30 * M, T_UTC + 12 * H, 1},
                         {T_UTC + 9 * H, T_UTC + 9 * H + 30 * M, 1},
                         {T_UTC + 9 * H + 15 * M, T_UTC + 9 * H + 20 * M, 1}};

    push(&avail, T_UTC + 14 * H, T_UTC + 20 * H);
    push(&avail, T_UTC + 9 * H, T_UTC + 11 * H + 30 * M);
    ck_assert_int_eq(svc_busy_widen(&busy, ev, 3, 0, 0), 0);
    /* Busy 09:00-09:30 (merged with the one inside it) cuts the start; 11:30-12:00 only
     * touches the end and leaves it; the span [10:00, 15:00] clips both intervals. */
    ck_assert_int_eq(svc_free_time(&avail, &busy, T_UTC + 10 * H, T_UTC + 15 * H), 0);
    ck_assert_int_eq(avail.n, 2);
    ck_assert_int_eq(avail.v[0].start, T_UTC + 10 * H);
    ck_assert_int_eq(avail.v[0].end, T_UTC + 11 * H + 30 * M);
    ck_assert_int_eq(avail.v[1].start, T_UTC + 14 * H);
    ck_assert_int_eq(avail.v[1].end, T_UTC + 15 * H);
    ev_ilist_free(&avail);
    ev_ilist_free(&busy);
}
END_TEST

/* ---- the slot walk ------------------------------------------------------------------------ */

/* The 89-slot example: Berlin schedule 00:00-23:59 every day, 2030-10-10 queried in UTC,
 * duration 1 h, interval 15 min. Free [00:00Z, 21:59Z] and [22:00Z, 24:00Z]: starts
 * 00:00..20:45 (84) and 22:00..23:00 (5) = 89. */
START_TEST(test_worked_example_89)
{
    ev_ilist free_l = {0}, busy = {0};
    const char *ids[1] = {"u0"};
    svc_slots sl;
    int64_t s, e;
    json_t *j, *dates, *slots;

    svc_span(zone("UTC"), DAY_2030_10_10, DAY_2030_10_10, &s, &e);
    ck_assert_int_eq(svc_adjust(T_UTC - 400 * D, 0, -1, &s, &e), 1);
    all_day_schedule("Europe/Berlin", s, e, &free_l);
    ck_assert_int_eq(free_l.n, 2);
    ck_assert_int_eq(free_l.v[0].start, T_UTC);
    ck_assert_int_eq(free_l.v[0].end, T_UTC + 21 * H + 59 * M);
    ck_assert_int_eq(free_l.v[1].start, T_UTC + 22 * H);
    ck_assert_int_eq(free_l.v[1].end, T_UTC + 24 * H);
    ck_assert_int_eq(svc_free_time(&free_l, &busy, s, e), 0);
    ck_assert_int_eq(svc_slots_walk(&free_l, 1, s, e, 15 * M, H, 0, NULL, NULL, &sl), 0);
    ck_assert_uint_eq(sl.n, 89);
    for (size_t i = 0; i < 84; i++)
        slot_is(&sl, i, T_UTC + (int64_t)i * 15 * M, (const int[]){0, -1});
    for (size_t i = 0; i < 5; i++)
        slot_is(&sl, 84 + i, T_UTC + 22 * H + (int64_t)i * 15 * M, (const int[]){0, -1});
    j = svc_slots_json(&sl, ids, zone("UTC"), H);
    dates = json_object_get(j, "dates");
    ck_assert_uint_eq(json_array_size(dates), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(dates, 0), "date")),
                     "2030-10-10");
    slots = json_object_get(json_array_get(dates, 0), "slots");
    ck_assert_uint_eq(json_array_size(slots), 89);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(slots, 0), "start")), T_UTC);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(slots, 0), "duration")), H);
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(json_array_get(slots, 88), "userIds"), 0)),
        "u0");
    json_decref(j);
    svc_slots_clear(&sl);
    ev_ilist_free(&free_l);
}
END_TEST

/* Two hosts, 2030-10-10 UTC, interval 15 min, duration 30 min.
 *   host 0: available 09:00-12:00, a service event 10:00-10:30 with 15 min buffers on both
 *           sides -> free 09:00-09:45, 10:45-12:00 -> 09:00, 09:15, 10:45, 11:00, 11:15, 11:30
 *   host 1: available 09:00-11:30, busy 09:00-09:30 and 11:30-12:00 (touching the end)
 *           -> free 09:30-11:30 -> 09:30, 09:45, 10:00, 10:15, 10:30, 10:45, 11:00
 * Any host: 11 slots (10:45 and 11:00 with both); all hosts: 10:45 and 11:00 only. */
START_TEST(test_two_hosts_busy_and_buffers)
{
    ev_ilist free_l[2] = {{0}, {0}}, busy[2] = {{0}, {0}};
    nt_interval ev0[1] = {{T_UTC + 10 * H, T_UTC + 10 * H + 30 * M, 1}};
    nt_interval ev1[2] = {{T_UTC + 9 * H, T_UTC + 9 * H + 30 * M, 1},
                          {T_UTC + 11 * H + 30 * M, T_UTC + 12 * H, 1}};
    const int64_t m15 = 15 * M;
    svc_slots sl;

    push(&free_l[0], T_UTC + 9 * H, T_UTC + 12 * H);
    push(&free_l[1], T_UTC + 9 * H, T_UTC + 11 * H + 30 * M);
    ck_assert_int_eq(svc_busy_widen(&busy[0], ev0, 1, 15, 15), 0);
    ck_assert_int_eq(svc_busy_widen(&busy[1], ev1, 2, 0, 0), 0);
    for (int h = 0; h < 2; h++)
        ck_assert_int_eq(svc_free_time(&free_l[h], &busy[h], T_UTC, T_UTC + D), 0);

    ck_assert_int_eq(svc_slots_walk(free_l, 2, T_UTC, T_UTC + D, m15, 30 * M, 0, NULL, NULL, &sl),
                     0);
    ck_assert_uint_eq(sl.n, 11);
    slot_is(&sl, 0, T_UTC + 9 * H, (const int[]){0, -1});
    slot_is(&sl, 1, T_UTC + 9 * H + m15, (const int[]){0, -1});
    slot_is(&sl, 2, T_UTC + 9 * H + 2 * m15, (const int[]){1, -1});
    slot_is(&sl, 3, T_UTC + 9 * H + 3 * m15, (const int[]){1, -1});
    slot_is(&sl, 4, T_UTC + 10 * H, (const int[]){1, -1});
    slot_is(&sl, 5, T_UTC + 10 * H + m15, (const int[]){1, -1});
    slot_is(&sl, 6, T_UTC + 10 * H + 2 * m15, (const int[]){1, -1});
    slot_is(&sl, 7, T_UTC + 10 * H + 3 * m15, (const int[]){0, 1, -1});
    slot_is(&sl, 8, T_UTC + 11 * H, (const int[]){0, 1, -1});
    slot_is(&sl, 9, T_UTC + 11 * H + m15, (const int[]){0, -1});
    slot_is(&sl, 10, T_UTC + 11 * H + 2 * m15, (const int[]){0, -1});
    svc_slots_clear(&sl);

    ck_assert_int_eq(svc_slots_walk(free_l, 2, T_UTC, T_UTC + D, m15, 30 * M, 1, NULL, NULL, &sl),
                     0);
    ck_assert_uint_eq(sl.n, 2);
    slot_is(&sl, 0, T_UTC + 10 * H + 3 * m15, (const int[]){0, 1, -1});
    slot_is(&sl, 1, T_UTC + 11 * H, (const int[]){0, 1, -1});
    svc_slots_clear(&sl);

    /* No duration, or a duration longer than the span: no slots. */
    ck_assert_int_eq(svc_slots_walk(free_l, 2, T_UTC, T_UTC + D, m15, 0, 0, NULL, NULL, &sl), 0);
    ck_assert_uint_eq(sl.n, 0);
    ck_assert_int_eq(svc_slots_walk(free_l, 2, T_UTC, T_UTC + D, m15, D + 1, 0, NULL, NULL, &sl),
                     0);
    ck_assert_uint_eq(sl.n, 0);
    for (int h = 0; h < 2; h++) {
        ev_ilist_free(&free_l[h]);
        ev_ilist_free(&busy[h]);
    }
}
END_TEST

/* closest 60 min and furthest 180 min at now = 10:00Z: the span becomes [11:00, 13:00];
 * available 09:00-17:00, interval 30 min from 00:00, duration 1 h -> 11:00, 11:30, 12:00. */
START_TEST(test_closest_furthest)
{
    ev_ilist free_l = {0}, busy = {0};
    int64_t s = T_UTC, e = T_UTC + D;
    svc_slots sl;

    ck_assert_int_eq(svc_adjust(T_UTC + 10 * H, 60, 180, &s, &e), 1);
    push(&free_l, T_UTC + 9 * H, T_UTC + 17 * H);
    ck_assert_int_eq(svc_free_time(&free_l, &busy, s, e), 0);
    ck_assert_int_eq(svc_slots_walk(&free_l, 1, T_UTC, T_UTC + D, 30 * M, H, 0, NULL, NULL, &sl),
                     0);
    ck_assert_uint_eq(sl.n, 3);
    slot_is(&sl, 0, T_UTC + 11 * H, (const int[]){0, -1});
    slot_is(&sl, 1, T_UTC + 11 * H + 30 * M, (const int[]){0, -1});
    slot_is(&sl, 2, T_UTC + 12 * H, (const int[]){0, -1});
    svc_slots_clear(&sl);
    ev_ilist_free(&free_l);
}
END_TEST

/* Berlin's spring-forward day queried in Berlin: span 23 h from 2030-03-30T23:00Z; schedule
 * 00:00-23:59 -> free [23:00Z, 21:59Z]; hourly 1 h slots 23:00Z .. 20:00Z = 22, all on the
 * local date 2030-3-31 (the first is 2030-3-30 in UTC). */
START_TEST(test_dst_spring_day)
{
    ev_ilist free_l = {0}, busy = {0};
    const char *ids[1] = {"u0"};
    svc_slots sl;
    int64_t s, e;
    json_t *j, *dates;

    svc_span(zone("Europe/Berlin"), DAY_2030_03_31, DAY_2030_03_31, &s, &e);
    all_day_schedule("Europe/Berlin", s, e, &free_l);
    ck_assert_int_eq(svc_free_time(&free_l, &busy, s, e), 0);
    ck_assert_int_eq(svc_slots_walk(&free_l, 1, s, e, H, H, 0, NULL, NULL, &sl), 0);
    ck_assert_uint_eq(sl.n, 22);
    for (size_t i = 0; i < 22; i++)
        slot_is(&sl, i, T_MAR31 + (int64_t)i * H, (const int[]){0, -1});
    j = svc_slots_json(&sl, ids, zone("Europe/Berlin"), H);
    dates = json_object_get(j, "dates");
    ck_assert_uint_eq(json_array_size(dates), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(dates, 0), "date")),
                     "2030-3-31");
    json_decref(j);
    /* The same slots grouped by UTC date: the first on 2030-3-30. */
    j = svc_slots_json(&sl, ids, NULL, H);
    dates = json_object_get(j, "dates");
    ck_assert_uint_eq(json_array_size(dates), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(dates, 0), "date")),
                     "2030-3-30");
    ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(dates, 0), "slots")), 1);
    json_decref(j);
    svc_slots_clear(&sl);
    ev_ilist_free(&free_l);
}
END_TEST

/* Berlin's fall-back day: 25 h; schedule 00:00-23:59 local -> free [22:00Z (26th), 22:59Z];
 * hourly 1 h slots: start + k h with (k + 1) h <= 24 h 59 min -> k = 0..23, 24 slots. */
START_TEST(test_dst_fall_day)
{
    ev_ilist free_l = {0}, busy = {0};
    svc_slots sl;
    int64_t s, e;

    svc_span(zone("Europe/Berlin"), DAY_2030_10_10 + 17, DAY_2030_10_10 + 17, &s, &e);
    all_day_schedule("Europe/Berlin", s, e, &free_l);
    ck_assert_int_eq(free_l.n, 1);
    ck_assert_int_eq(free_l.v[0].end, T_OCT28 - M);
    ck_assert_int_eq(svc_free_time(&free_l, &busy, s, e), 0);
    ck_assert_int_eq(svc_slots_walk(&free_l, 1, s, e, H, H, 0, NULL, NULL, &sl), 0);
    ck_assert_uint_eq(sl.n, 24);
    slot_is(&sl, 23, T_OCT27 + 23 * H, (const int[]){0, -1});
    svc_slots_clear(&sl);
    ev_ilist_free(&free_l);
}
END_TEST

/* Grouping in New York: free [Jan 5 23:00, Jan 6 01:00] local; hourly 1 h slots over two
 * days -> 23:00 on "2030-1-5" and 00:00 on "2030-1-6" (unpadded dates). */
START_TEST(test_group_by_local_date)
{
    ev_ilist free_l = {0};
    const char *ids[2] = {"a", "b"};
    svc_slots sl;
    int64_t s, e;
    json_t *j, *dates;

    svc_span(zone("America/New_York"), ev_days_from_civil(2030, 1, 5),
             ev_days_from_civil(2030, 1, 6), &s, &e);
    ck_assert_int_eq(s, T_NY_JAN5);
    ck_assert_int_eq(e, T_NY_JAN5 + 2 * D);
    push(&free_l, T_NY_JAN5 + 23 * H, T_NY_JAN5 + 25 * H);
    ck_assert_int_eq(svc_slots_walk(&free_l, 1, s, e, H, H, 0, NULL, NULL, &sl), 0);
    ck_assert_uint_eq(sl.n, 2);
    j = svc_slots_json(&sl, ids + 1, zone("America/New_York"), H);
    dates = json_object_get(j, "dates");
    ck_assert_uint_eq(json_array_size(dates), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(dates, 0), "date")),
                     "2030-1-5");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(dates, 1), "date")),
                     "2030-1-6");
    ck_assert_str_eq(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(json_array_get(dates, 1), "slots"), 0),
                            "userIds"),
            0)),
        "b");
    json_decref(j);
    svc_slots_clear(&sl);
    ev_ilist_free(&free_l);
}
END_TEST

/* The walk stops with the check's code. */
static int
stop_now(void *ctx)
{
    (void)ctx;
    return NT_EBUDGET;
}

START_TEST(test_walk_budget)
{
    ev_ilist free_l = {0};
    svc_slots sl;

    push(&free_l, T_UTC, T_UTC + 100 * D);
    ck_assert_int_eq(
        svc_slots_walk(&free_l, 1, T_UTC, T_UTC + 100 * D, 5 * M, 5 * M, 0, stop_now, NULL, &sl),
        NT_EBUDGET);
    ck_assert_uint_eq(sl.n, 0);
    ck_assert_ptr_null(sl.start);
    ev_ilist_free(&free_l);
}
END_TEST

/* ---- bodies ------------------------------------------------------------------------------- */

static int
multi_of(const char *text, svc_multi *m)
{
    json_t *j = json_loads(text, 0, NULL);
    char err[160];
    int rc;

    ck_assert_ptr_nonnull(j);
    rc = svc_multi_parse(j, m, err, sizeof(err));
    json_decref(j);
    return rc;
}

START_TEST(test_multi_person)
{
    svc_multi m;
    json_t *j;

    ck_assert_int_eq(
        multi_of("{\"variant\":\"roundRobinAlgorithm\",\"data\":\"availability\"}", &m), NT_OK);
    ck_assert_int_eq(m.kind, SVC_RR_AVAILABILITY);
    ck_assert_int_eq(
        multi_of("{\"variant\":\"roundRobinAlgorithm\",\"data\":\"equalDistribution\"}", &m),
        NT_OK);
    ck_assert_int_eq(m.kind, SVC_RR_EQUAL);
    ck_assert_int_eq(multi_of("{\"variant\":\"collective\"}", &m), NT_OK);
    ck_assert_int_eq(m.kind, SVC_COLLECTIVE);
    ck_assert(svc_multi_all(&m));
    ck_assert_int_eq(multi_of("{\"variant\":\"group\",\"data\":3}", &m), NT_OK);
    ck_assert_int_eq(m.kind, SVC_GROUP);
    ck_assert_int_eq(m.group, 3);
    j = svc_multi_json(&m);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "data")), 3);
    json_decref(j);
    ck_assert_int_eq(multi_of("{\"variant\":\"group\",\"data\":-1}", &m), NT_EINVAL);
    ck_assert_int_eq(multi_of("{\"variant\":\"group\"}", &m), NT_EINVAL);
    ck_assert_int_eq(multi_of("{\"variant\":\"roundRobinAlgorithm\",\"data\":\"x\"}", &m),
                     NT_EINVAL);
    ck_assert_int_eq(multi_of("{\"variant\":\"solo\"}", &m), NT_EINVAL);
    ck_assert_int_eq(multi_of("[]", &m), NT_EINVAL);
}
END_TEST

static int
member_of(const char *text, svc_member_body *b, char *err, size_t errlen)
{
    json_t *j = json_loads(text, 0, NULL);
    int rc;

    ck_assert_ptr_nonnull(j);
    rc = svc_member_body_parse(j, b, err, errlen);
    json_decref(j);
    return rc;
}

START_TEST(test_member_body_names)
{
    const char *cal = "0b5f9d4e-8f1a-4c2b-9d3e-4f5a6b7c8d9e";
    svc_member_body b;
    char err[200], text[512];

    /* The published client's names: availibility, buffer, busy. */
    snprintf(text, sizeof(text),
             "{\"availibility\":{\"variant\":\"Calendar\",\"id\":\"%s\"},\"buffer\":10,"
             "\"busy\":[\"%s\",\"%s\"],\"closestBookingTime\":60}",
             cal, cal, cal);
    ck_assert_int_eq(member_of(text, &b, err, sizeof(err)), NT_OK);
    ck_assert(b.has_plan && b.plan.kind == SVC_PLAN_CALENDAR);
    ck_assert_str_eq(b.plan.id, cal);
    ck_assert(b.has_after && b.after == 10 && !b.has_before);
    ck_assert(b.has_busy && b.n_busy == 1);
    ck_assert(b.has_closest && b.closest == 60 && !b.has_furthest);
    svc_member_body_clear(&b);
    /* The original's names win when both are given. */
    ck_assert_int_eq(member_of("{\"availability\":{\"variant\":\"Empty\"},\"availibility\":"
                               "{\"variant\":\"Schedule\",\"id\":\"x\"},\"bufferAfter\":5,"
                               "\"buffer\":9,\"bufferBefore\":720,\"furthestBookingTime\":null}",
                               &b, err, sizeof(err)),
                     NT_OK);
    ck_assert(b.has_plan && b.plan.kind == SVC_PLAN_EMPTY);
    ck_assert(b.after == 5 && b.before == 720);
    ck_assert(b.has_furthest && b.furthest == -1);
    svc_member_body_clear(&b);
    ck_assert_int_eq(member_of("{\"bufferBefore\":721}", &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "bufferBefore: expected an integer from 0 to 720 (minutes)");
    ck_assert_int_eq(member_of("{\"closestBookingTime\":-1}", &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_int_eq(member_of("{\"furthestBookingTime\":1.5}", &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_int_eq(
        member_of("{\"availability\":{\"variant\":\"Calendar\"}}", &b, err, sizeof(err)),
        NT_EINVAL);
    ck_assert_str_eq(err, "availability.id: expected a UUID");
    ck_assert_int_eq(member_of("{\"busy\":[1]}", &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "busy[0]: expected a calendar id (UUID)");
}
END_TEST

static Suite *
slots_suite(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_date_parse);
    tcase_add_test(tc, test_span);
    tcase_add_test(tc, test_adjust);
    tcase_add_test(tc, test_free_time_buffers);
    tcase_add_test(tc, test_free_time_touch_and_clip);
    tcase_add_test(tc, test_worked_example_89);
    tcase_add_test(tc, test_two_hosts_busy_and_buffers);
    tcase_add_test(tc, test_closest_furthest);
    tcase_add_test(tc, test_dst_spring_day);
    tcase_add_test(tc, test_dst_fall_day);
    tcase_add_test(tc, test_group_by_local_date);
    tcase_add_test(tc, test_walk_budget);
    tcase_add_test(tc, test_multi_person);
    tcase_add_test(tc, test_member_body_names);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(slots_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ev_tz_cache_clear();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Schedule rules and availability without a host (plugins/schedule: sch_rules.c, sch_body.c,
 * sch_avail.c; plugins/time/ev_local.c): parsing with field-named messages, the default
 * week, the normalisation of rules, and the free time of a schedule across DST changes.
 *
 * Every expected instant below was computed outside this code, with Python's zoneinfo
 * (datetime(..., tzinfo=ZoneInfo(zone), fold=0/1).timestamp()) and checked against
 * `TZ=<zone> date -d`; the UTC time is written beside each value.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_time.h"
#include "sch.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* Parses rules JSON text that must be valid. */
static void
rules_of(const char *text, sch_rules *out)
{
    json_t *j = json_loads(text, 0, NULL);
    char err[256] = "";

    ck_assert_msg(j != NULL, "bad test JSON: %s", text);
    ck_assert_msg(sch_rules_parse(j, out, err, sizeof(err)) == NT_OK, "%s: %s", text, err);
    json_decref(j);
}

/* Parses rules JSON text that must be refused; returns the message. */
static const char *
rules_error(const char *text)
{
    static char err[256];
    json_t *j = json_loads(text, 0, NULL);
    sch_rules r = {0};

    err[0] = '\0';
    ck_assert_msg(j != NULL, "bad test JSON: %s", text);
    ck_assert_msg(sch_rules_parse(j, &r, err, sizeof(err)) == NT_EINVAL, "accepted: %s", text);
    ck_assert_int_eq(r.n, 0);
    ck_assert_ptr_null(r.v);
    json_decref(j);
    return err;
}

static const ev_tz *
zone(const char *name)
{
    const ev_tz *tz = ev_tz_get(name);

    ck_assert_msg(tz != NULL, "zone %s", name);
    return tz;
}

/* Computes the free time of `rules` (JSON text) in `tzname` for [ws, we] and compares it
 * with the n expected [start, end] pairs. */
static void
expect_avail(const char *tzname, const char *rules_text, int64_t ws, int64_t we,
             const int64_t (*want)[2], size_t n)
{
    sch_rules r = {0};
    nt_intervals out;

    rules_of(rules_text, &r);
    ck_assert_int_eq(sch_avail(&r, zone(tzname), ws, we, NULL, NULL, &out), NT_OK);
    for (size_t i = 0; i < out.n && i < n; i++) {
        ck_assert_msg(out.v[i].start == want[i][0] && out.v[i].end == want[i][1],
                      "%s #%zu: got [%lld, %lld], want [%lld, %lld]", tzname, i,
                      (long long)out.v[i].start, (long long)out.v[i].end, (long long)want[i][0],
                      (long long)want[i][1]);
        ck_assert_int_eq(out.v[i].busy, 0);
    }
    ck_assert_msg(out.n == n, "%s: %zu intervals, want %zu", tzname, out.n, n);
    free(out.v);
    sch_rules_clear(&r);
}

#define EXPECT(tz, rules, ws, we, ...)                                                             \
    do {                                                                                           \
        static const int64_t want_[][2] = {__VA_ARGS__};                                           \
        expect_avail(tz, rules, ws, we, want_, sizeof(want_) / sizeof(want_[0]));                  \
    } while (0)

#define EXPECT_NONE(tz, rules, ws, we) expect_avail(tz, rules, ws, we, NULL, 0)

/* A rule JSON text: variant type and value (JSON), then intervals "[h,m,h,m],..." */
#define IV(sh, sm, eh, em)                                                                         \
    "{\"start\":{\"hours\":" #sh ",\"minutes\":" #sm "},\"end\":{\"hours\":" #eh                   \
    ",\"minutes\":" #em "}}"
#define WDAY(d, ivs) "{\"variant\":{\"type\":\"WDay\",\"value\":\"" d "\"},\"intervals\":[" ivs "]}"
#define DATE(d, ivs) "{\"variant\":{\"type\":\"Date\",\"value\":\"" d "\"},\"intervals\":[" ivs "]}"
#define EVERY_DAY(ivs)                                                                             \
    "[" WDAY("Mon", ivs) "," WDAY("Tue", ivs) "," WDAY("Wed", ivs) "," WDAY("Thu", ivs) "," WDAY(  \
        "Fri", ivs) "," WDAY("Sat", ivs) "," WDAY("Sun", ivs) "]"

#define H 3600000LL
#define M 60000LL

/* ---- the time engine: local times near changes ------------------------------------------- */

START_TEST(test_local_map)
{
    ev_local_map m;

    /* America/New_York 2030-03-10 02:30 was skipped: the change is 07:00Z (03:00 EDT). */
    ev_tz_local_map(zone("America/New_York"), ev_days_from_civil(2030, 3, 10) * 86400 + 9000, &m);
    ck_assert_int_eq(m.n, 0);
    ck_assert_int_eq(m.first, 1899356400); /* 2030-03-10T07:00Z */
    /* 2030-11-03 01:30 happened twice: 05:30Z (EDT) and 06:30Z (EST). */
    ev_tz_local_map(zone("America/New_York"), ev_days_from_civil(2030, 11, 3) * 86400 + 5400, &m);
    ck_assert_int_eq(m.n, 2);
    ck_assert_int_eq(m.first, 1919914200); /* 05:30Z */
    ck_assert_int_eq(m.last, 1919917800);  /* 06:30Z */
    /* 02:00 that day exists once (EST). */
    ev_tz_local_map(zone("America/New_York"), ev_days_from_civil(2030, 11, 3) * 86400 + 7200, &m);
    ck_assert_int_eq(m.n, 1);
    ck_assert_int_eq(m.first, 1919919600); /* 07:00Z */
    /* Lord Howe's half-hour overlap: 2030-04-07 01:45 at 14:45Z (+11) and 15:15Z (+10:30). */
    ev_tz_local_map(zone("Australia/Lord_Howe"), ev_days_from_civil(2030, 4, 7) * 86400 + 6300, &m);
    ck_assert_int_eq(m.n, 2);
    ck_assert_int_eq(m.first, 1901717100);
    ck_assert_int_eq(m.last, 1901718900);
    /* Its half-hour gap: 2030-10-06 02:15 skipped at the change 2030-10-05T15:30Z. */
    ev_tz_local_map(zone("Australia/Lord_Howe"), ev_days_from_civil(2030, 10, 6) * 86400 + 8100,
                    &m);
    ck_assert_int_eq(m.n, 0);
    ck_assert_int_eq(m.first, 1917444600);
    /* A zone without changes. */
    ev_tz_local_map(zone("Asia/Kolkata"), ev_days_from_civil(2030, 10, 7) * 86400 + 9 * 3600, &m);
    ck_assert_int_eq(m.n, 1);
    ck_assert_int_eq(m.first, 1917574200); /* 03:30Z */
}
END_TEST

/* Brute force over one local time: the distinct instants L - off, for every offset in force
 * somewhere within 30 hours (sampled every 15 minutes), that show L again. */
static int
brute_count(const ev_tz *tz, int64_t local, int64_t *first)
{
    int64_t seen[16];
    int n = 0;

    for (int64_t x = local - 30 * 3600; x <= local + 30 * 3600; x += 900) {
        int64_t t = local - ev_tz_offset(tz, x);
        int dup = 0;
        if (ev_tz_utc_to_local(tz, t) != local)
            continue;
        for (int i = 0; i < n; i++)
            dup |= seen[i] == t;
        if (!dup && n < 16) {
            if (n == 0 || t < *first)
                *first = t;
            seen[n++] = t;
        }
    }
    return n;
}

START_TEST(test_local_map_zones)
{
    static const char *const zones[] = {
        "America/New_York", "Australia/Sydney", "America/Santiago", "Australia/Lord_Howe",
        "Europe/Berlin",    "Pacific/Chatham",  "America/St_Johns", "Asia/Kolkata",
        "Europe/London",    "Pacific/Auckland", "Asia/Tehran",      "UTC",
    };
    const int64_t from = ev_days_from_civil(2029, 1, 1) * 86400;
    const int64_t to = ev_days_from_civil(2032, 1, 1) * 86400;
    int changes = 0;

    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        const ev_tz *tz = zone(zones[z]);
        for (int64_t t = from; t < to; t += 3600) {
            int64_t mid;
            if (ev_tz_offset(tz, t) == ev_tz_offset(tz, t + 3600))
                continue;
            changes++;
            /* every 5 minutes of local time within 4 hours of the change */
            mid = ev_tz_utc_to_local(tz, t);
            for (int64_t l = mid - 4 * 3600; l <= mid + 4 * 3600; l += 300) {
                ev_local_map m;
                int64_t bf = 0;
                int n = brute_count(tz, l, &bf);
                ev_tz_local_map(tz, l, &m);
                ck_assert_msg(m.n == n, "%s local %lld: n %d, brute force %d", zones[z],
                              (long long)l, m.n, n);
                if (n > 0) {
                    ck_assert_int_eq(m.first, bf);
                    ck_assert_int_eq(ev_tz_utc_to_local(tz, m.last), l);
                } else { /* the change skipped l: just before it l is ahead, at it behind */
                    ck_assert_int_lt(ev_tz_utc_to_local(tz, m.first - 1), l);
                    ck_assert_int_gt(ev_tz_utc_to_local(tz, m.first), l);
                }
            }
        }
    }
    ck_assert_int_gt(changes, 50); /* the zones above change about 60 times in 3 years */
}
END_TEST

/* ---- parsing ----------------------------------------------------------------------------- */

START_TEST(test_parse_forms)
{
    sch_rules r = {0};
    json_t *printed;
    char *text;

    /* weekdays short and long in any case and as integers; dates with and without padding */
    rules_of("[{\"variant\":{\"type\":\"WDay\",\"value\":\"monday\"},\"intervals\":[]},"
             "{\"variant\":{\"type\":\"WDay\",\"value\":\"SUN\"},\"intervals\":[]},"
             "{\"variant\":{\"type\":\"WDay\",\"value\":2},\"intervals\":[" IV(
                 8, 5, 9,
                 0) "]},"
                    "{\"variant\":{\"type\":\"Date\",\"value\":\"2030-01-05\"},\"intervals\":[]},"
                    "{\"variant\":{\"type\":\"Date\",\"value\":\"2030-1-5\"},\"intervals\":[],"
                    "\"extra\":true}]",
             &r);
    ck_assert_int_eq(r.n, 5);
    ck_assert_int_eq(r.v[0].weekday, 0);
    ck_assert_int_eq(r.v[1].weekday, 6);
    ck_assert_int_eq(r.v[2].weekday, 2);
    ck_assert_int_eq(r.v[2].iv[0].start, 8 * 60 + 5);
    ck_assert_int_eq(r.v[3].day, ev_days_from_civil(2030, 1, 5));
    ck_assert_int_eq(r.v[4].day, r.v[3].day);
    printed = sch_rules_json(&r);
    text = json_dumps(printed, JSON_COMPACT);
    ck_assert_str_eq(text,
                     "[{\"variant\":{\"type\":\"WDay\",\"value\":\"Mon\"},\"intervals\":[]},"
                     "{\"variant\":{\"type\":\"WDay\",\"value\":\"Sun\"},\"intervals\":[]},"
                     "{\"variant\":{\"type\":\"WDay\",\"value\":\"Wed\"},\"intervals\":[{\"start\":"
                     "{\"hours\":8,\"minutes\":5},\"end\":{\"hours\":9,\"minutes\":0}}]},"
                     "{\"variant\":{\"type\":\"Date\",\"value\":\"2030-01-05\"},\"intervals\":[]},"
                     "{\"variant\":{\"type\":\"Date\",\"value\":\"2030-1-5\"},\"intervals\":[]}]");
    free(text);
    json_decref(printed);

    /* an empty list, and the first ten intervals kept (the eleventh is still checked) */
    rules_of("[]", &r);
    ck_assert_int_eq(r.n, 0);
    rules_of(
        "[" WDAY("Fri",
                 IV(0, 0, 0, 1) "," IV(1, 0, 1, 1) "," IV(2, 0, 2, 1) "," IV(3, 0, 3, 1) "," IV(
                     4, 0, 4, 1) "," IV(5, 0, 5,
                                        1) "," IV(6, 0, 6,
                                                  1) "," IV(7, 0, 7,
                                                            1) "," IV(8, 0, 8,
                                                                      1) "," IV(9, 0, 9,
                                                                                1) "," IV(10, 0, 10,
                                                                                          1)) "]",
        &r);
    ck_assert_int_eq(r.v[0].n, 10);
    ck_assert_int_eq(r.v[0].iv[9].start, 9 * 60);
    ck_assert_str_eq(
        rules_error("[" WDAY(
            "Fri",
            IV(0, 0, 0, 1) "," IV(1, 0, 1, 1) "," IV(2, 0, 2, 1) "," IV(3, 0, 3, 1) "," IV(
                4, 0, 4, 1) "," IV(5, 0, 5,
                                   1) "," IV(6, 0, 6,
                                             1) "," IV(7, 0, 7,
                                                       1) "," IV(8, 0, 8,
                                                                 1) "," IV(9, 0, 9,
                                                                           1) "," IV(24, 0, 10,
                                                                                     1)) "]"),
        "rules[0].intervals[10].start.hours: expected 0..23");
    sch_rules_clear(&r);
    sch_rules_clear(&r); /* twice is fine */
    sch_rules_clear(NULL);
}
END_TEST

START_TEST(test_parse_errors)
{
    static const struct {
        const char *rules, *message;
    } cases[] = {
        {"{}", "rules: expected an array"},
        {"[1]", "rules[0]: expected an object {variant, intervals}"},
        {"[{\"intervals\":[]}]", "rules[0].variant: required"},
        {"[{\"variant\":\"WDay\",\"intervals\":[]}]",
         "rules[0].variant: expected an object {type, value}"},
        {"[{\"variant\":{\"type\":\"wday\",\"value\":\"Mon\"},\"intervals\":[]}]",
         "rules[0].variant.type: expected \"WDay\" or \"Date\""},
        {"[" WDAY("Mon", "") ",{\"variant\":{\"type\":\"WDay\",\"value\":7},\"intervals\":[]}]",
         "rules[1].variant.value: expected a weekday name (Mon..Sun or Monday..Sunday) or an "
         "integer 0..6 (0 = Monday)"},
        {"[" WDAY("Mo", "") "]", "rules[0].variant.value: expected a weekday name (Mon..Sun or "
                                 "Monday..Sunday) or an integer 0..6 (0 = Monday)"},
        {"[" DATE("2030-2-29", "") "]",
         "rules[0].variant.value: expected a date Y-M-D (e.g. 2030-12-24) with a year "
         "1970..2100, a month 1..12 and a day of that month"},
        {"[" WDAY("Mon", "") "]", NULL}, /* a valid one between the refused ones */
        {"[{\"variant\":{\"type\":\"WDay\",\"value\":\"Mon\"}}]", "rules[0].intervals: required"},
        {"[{\"variant\":{\"type\":\"WDay\",\"value\":\"Mon\"},\"intervals\":{}}]",
         "rules[0].intervals: expected an array"},
        {"[" WDAY("Tue", "[]") "]", "rules[0].intervals[0]: expected an object {start, end}"},
        {"[" WDAY("Tue", "{\"start\":{\"hours\":1,\"minutes\":0}}") "]",
         "rules[0].intervals[0].end: required"},
        {"[" WDAY("Tue", "{\"start\":[1,0],\"end\":{\"hours\":1,\"minutes\":0}}") "]",
         "rules[0].intervals[0].start: expected an object {hours, minutes}"},
        {"[" WDAY("Tue", "{\"start\":{\"minutes\":0},\"end\":{\"hours\":1,\"minutes\":0}}") "]",
         "rules[0].intervals[0].start.hours: required"},
        {"[" WDAY("Tue", IV(1, 0, 2, 0) "," IV(1, 0, 2, 60)) "]",
         "rules[0].intervals[1].end.minutes: expected 0..59"},
        {"[" WDAY("Sat", IV(1, 0, 2, 0)) "," WDAY("Sun", IV(1, 0, 2, 0)) "," WDAY(
             "Mon", IV(1, 0, 2, 0)) "," WDAY("Tue", IV(1, 0, 2, 0) "," IV(-1, 0, 2, 0)) "]",
         "rules[3].intervals[1].start.hours: expected 0..23"},
        {"[" WDAY("Tue", "{\"start\":{\"hours\":1.5,\"minutes\":0},\"end\":{\"hours\":2,"
                         "\"minutes\":0}}") "]",
         "rules[0].intervals[0].start.hours: expected an integer 0..23"},
        {"[" WDAY("Tue", "{\"start\":{\"hours\":\"9\",\"minutes\":0},\"end\":{\"hours\":2,"
                         "\"minutes\":0}}") "]",
         "rules[0].intervals[0].start.hours: expected an integer 0..23"},
    };
    static const char *const bad_dates[] = {
        "2030-13-1", "2030-0-1",  "2030-4-31", "1969-12-31",  "2101-1-1", "2030--1-1",
        "2030-1-1x", " 2030-1-1", "2030-1",    "2030/1/1",    "",         "2030-1-1-1",
        "+2030-1-1", "2030-1-0",  "2030-1-1 ", "0002030-1-1",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].message == NULL) {
            sch_rules r = {0};
            rules_of(cases[i].rules, &r);
            sch_rules_clear(&r);
            continue;
        }
        ck_assert_str_eq(rules_error(cases[i].rules), cases[i].message);
    }
    for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "[" DATE("%s", "") "]", bad_dates[i]);
        ck_assert_msg(strncmp(rules_error(text), "rules[0].variant.value: expected a date", 39) ==
                          0,
                      "%s", bad_dates[i]);
    }
    /* a date given as a number */
    ck_assert_msg(strncmp(rules_error("[{\"variant\":{\"type\":\"Date\",\"value\":20300101},"
                                      "\"intervals\":[]}]"),
                          "rules[0].variant.value: expected a date", 39) == 0,
                  "number date");
    /* good edge dates */
    {
        sch_rules r = {0};
        rules_of("[" DATE("1970-1-1", "") "," DATE("2100-12-31", "") "," DATE(
                     "2028-2-29", "") "," DATE("2030-001-0002", "") "]",
                 &r);
        ck_assert_int_eq(r.n, 4);
        ck_assert_int_eq(r.v[3].day, ev_days_from_civil(2030, 1, 2));
        sch_rules_clear(&r);
    }
}
END_TEST

START_TEST(test_body)
{
    json_t *body;
    sch_body b;
    char err[256];

    body = json_loads("{\"timezone\":\"Europe/Oslo\",\"metadata\":{\"a\":\"b\"}}", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 1, &b, err, sizeof(err)), NT_OK);
    ck_assert_str_eq(b.timezone, "Europe/Oslo");
    ck_assert_int_eq(b.has_rules, 0);
    sch_body_clear(&b);
    json_decref(body);

    body = json_loads("{\"rules\":null}", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 1, &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "timezone: required");
    sch_body_clear(&b);
    ck_assert_int_eq(sch_body_parse(body, 0, &b, err, sizeof(err)), NT_OK);
    ck_assert_ptr_null(b.timezone);
    ck_assert_int_eq(b.has_rules, 0);
    sch_body_clear(&b);
    json_decref(body);

    body = json_loads("{\"timezone\":\"Mars/Olympus\"}", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 0, &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "timezone: unknown IANA time zone 'Mars/Olympus'");
    sch_body_clear(&b);
    json_decref(body);

    body = json_loads("{\"timezone\":\"europe/oslo\"}", 0, NULL); /* names are exact */
    ck_assert_int_eq(sch_body_parse(body, 0, &b, err, sizeof(err)), NT_EINVAL);
    sch_body_clear(&b);
    json_decref(body);

    body = json_loads("{\"timezone\":5}", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 1, &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "timezone: expected a string (an IANA time-zone name)");
    sch_body_clear(&b);
    json_decref(body);

    body =
        json_loads("{\"timezone\":\"UTC\",\"rules\":[" WDAY("Mon", IV(9, 0, 10, 0)) "]}", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 1, &b, err, sizeof(err)), NT_OK);
    ck_assert_int_eq(b.has_rules, 1);
    ck_assert_int_eq(b.rules.n, 1);
    sch_body_clear(&b);
    json_decref(body);

    body = json_loads("{\"timezone\":\"UTC\",\"rules\":\"all\"}", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 1, &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "rules: expected an array");
    sch_body_clear(&b);
    json_decref(body);

    body = json_loads("[]", 0, NULL);
    ck_assert_int_eq(sch_body_parse(body, 0, &b, err, sizeof(err)), NT_EINVAL);
    sch_body_clear(&b);
    json_decref(body);
    sch_body_clear(NULL);
}
END_TEST

/* ---- default rules and normalisation ----------------------------------------------------- */

START_TEST(test_default_rules)
{
    sch_rules r = {0};
    json_t *j;
    char *text;

    ck_assert_int_eq(sch_rules_default(&r), NT_OK);
    j = sch_rules_json(&r);
    text = json_dumps(j, JSON_COMPACT);
    ck_assert_str_eq(
        text,
        "[" WDAY("Mon", IV(9, 0, 17, 30)) "," WDAY("Tue", IV(9, 0, 17, 30)) "," WDAY(
            "Wed", IV(9, 0, 17,
                      30)) "," WDAY("Thu", IV(9, 0, 17,
                                              30)) "," WDAY("Fri",
                                                            IV(9, 0, 17,
                                                               30)) "," WDAY("Sat",
                                                                             "") "," WDAY("Sun",
                                                                                          "") "]");
    free(text);
    json_decref(j);
    sch_rules_clear(&r);
}
END_TEST

/* Normalises rules_text at now_ms in tzname and compares the printed result. */
static void
expect_normalised(const char *tzname, int64_t now_ms, const char *rules_text, const char *want)
{
    sch_rules r = {0};
    json_t *j, *w = json_loads(want, 0, NULL);

    ck_assert_msg(w != NULL, "bad want JSON %s", want);
    rules_of(rules_text, &r);
    sch_rules_normalise(&r, zone(tzname), now_ms);
    j = sch_rules_json(&r);
    ck_assert_msg(json_equal(j, w), "got %s", json_dumps(j, JSON_COMPACT));
    json_decref(j);
    json_decref(w);
    sch_rules_clear(&r);
}

START_TEST(test_normalise_intervals)
{
    const int64_t now = 1907755200000LL; /* 2030-06-15T12:00Z */

    /* sorted by start; start > end dropped; overlapping and touching merged (the original's
     * own example: 08:30-09:00, 10:30-12:30, 20:30-21:00 + 20:45-21:50 + 21:50-22:50) */
    expect_normalised(
        "UTC", now,
        "[" WDAY("Mon", IV(10, 30, 12, 30) "," IV(8, 30, 9, 0) "," IV(20, 30, 21, 0) "," IV(
                            20, 45, 21, 50) "," IV(21, 50, 22, 50)) "]",
        "[" WDAY("Mon", IV(8, 30, 9, 0) "," IV(10, 30, 12, 30) "," IV(20, 30, 22, 50)) "]");
    expect_normalised(
        "UTC", now,
        "[" WDAY("Tue",
                 IV(17, 0, 9, 0) "," IV(9, 0, 9, 0) "," IV(9, 0, 12, 0) "," IV(10, 0, 11, 0) "," IV(
                     12, 0, 12, 30) "," IV(13, 0, 14, 0) "," IV(12, 31, 12, 59)) "]",
        "[" WDAY("Tue", IV(9, 0, 12, 30) "," IV(12, 31, 12, 59) "," IV(13, 0, 14, 0)) "]");
    /* the first ten are kept before sorting: 00:00-00:30 (the eleventh) is gone */
    expect_normalised(
        "UTC", now,
        "[" WDAY("Wed",
                 IV(10, 0, 10, 1) "," IV(9, 0, 9, 1) "," IV(8, 0, 8, 1) "," IV(7, 0, 7, 1) "," IV(
                     6, 0, 6, 1) "," IV(5, 0, 5,
                                        1) "," IV(4, 0, 4,
                                                  1) "," IV(3, 0, 3,
                                                            1) "," IV(2, 0, 2,
                                                                      1) "," IV(1, 0, 1,
                                                                                1) "," IV(0, 0, 0,
                                                                                          30)) "]",
        "[" WDAY("Wed",
                 IV(1, 0, 1, 1) "," IV(2, 0, 2, 1) "," IV(3, 0, 3, 1) "," IV(4, 0, 4, 1) "," IV(
                     5, 0, 5, 1) "," IV(6, 0, 6, 1) "," IV(7, 0, 7,
                                                           1) "," IV(8, 0, 8,
                                                                     1) "," IV(9, 0, 9,
                                                                               1) "," IV(10, 0, 10,
                                                                                         1)) "]");
    /* only invalid intervals: an empty rule stays */
    expect_normalised("UTC", now, "[" WDAY("Thu", IV(12, 0, 11, 59)) "]", "[" WDAY("Thu", "") "]");
}
END_TEST

START_TEST(test_normalise_dates)
{
    /* now 2030-06-15T12:00Z in UTC: today 2030-06-15, L = 2030-06-13; kept when
     * 2030-06-13 < date < 2035-01-01 */
    expect_normalised(
        "UTC", 1907755200000LL,
        "[" DATE("2030-6-13", "") "," DATE("2030-06-14", "") "," WDAY("Mon", "") "," DATE(
            "2034-12-31", "") "," DATE("2035-1-1", "") "," DATE("1999-1-1", "") "]",
        "[" DATE("2030-06-14", "") "," WDAY("Mon", "") "," DATE("2034-12-31", "") "]");
    /* today is the schedule zone's: 2030-06-15T23:30Z is 2030-06-16 in Kiritimati (+14), so
     * L = 2030-06-14 and that date goes; in Honolulu (-10) it is 2030-06-15 and stays */
    expect_normalised("Pacific/Kiritimati", 1907796600000LL,
                      "[" DATE("2030-6-14", "") "," DATE("2030-6-15", "") "]",
                      "[" DATE("2030-6-15", "") "]");
    expect_normalised("Pacific/Honolulu", 1907796600000LL,
                      "[" DATE("2030-6-14", "") "," DATE("2030-6-15", "") "]",
                      "[" DATE("2030-6-14", "") "," DATE("2030-6-15", "") "]");
    /* L's year decides the end: 2030-01-01T12:00Z, L = 2029-12-30, end 2034-01-01 */
    expect_normalised("UTC", 1893499200000LL,
                      "[" DATE("2029-12-31", IV(1, 0, 2, 0) "," IV(1, 30, 3, 0)) "," DATE(
                          "2033-12-31", "") "," DATE("2034-1-1", "") "]",
                      "[" DATE("2029-12-31", IV(1, 0, 3, 0)) "," DATE("2033-12-31", "") "]");
}
END_TEST

/* ---- availability ------------------------------------------------------------------------ */

START_TEST(test_avail_new_york)
{
    /* Spring forward, Sunday 2030-03-10: 02:00 EST becomes 03:00 EDT at 07:00Z. */
    EXPECT("America/New_York",
           "[" DATE("2030-3-10", IV(1, 0, 2, 30) "," IV(2, 30, 5, 0)) "," DATE("2030-3-17",
                                                                               IV(2, 0, 2, 59)) "]",
           1899349200000LL /* 2030-03-10T05:00Z = 00:00 EST */,
           1900044000000LL /* 2030-03-18T06:00Z */,
           /* 01:00 EST .. end in the gap -> the change, 06:00Z..07:00Z */
           {1899352800000LL, 1899356400000LL},
           /* start in the gap -> 03:00 EDT 07:00Z .. 05:00 EDT 09:00Z */
           {1899356400000LL, 1899363600000LL},
           /* a week later (EDT, no change): 02:00..02:59 EDT = 06:00Z..06:59Z */
           {1899957600000LL, 1899957600000LL + 59 * M});
    /* Fall back, Sunday 2030-11-03: 02:00 EDT becomes 01:00 EST at 06:00Z. */
    EXPECT("America/New_York",
           "[" WDAY("Sun", IV(1, 0, 1, 45) "," IV(0, 30, 1, 30) "," IV(1, 30, 3, 0)) "]",
           1919908800000LL /* 2030-11-03T04:00Z */, 1919937600000LL /* 12:00Z */,
           /* 01:00 (ambiguous) moves to 02:00 EST 07:00Z, after its end 01:45 EDT 05:45Z:
            * dropped. 00:30 EDT 04:30Z .. 01:30 ambiguous -> the earlier, 05:30Z */
           {1919910600000LL, 1919914200000LL},
           /* 01:30 ambiguous -> 02:00 EST 07:00Z .. 03:00 EST 08:00Z */
           {1919919600000LL, 1919923200000LL});
}
END_TEST

START_TEST(test_avail_sydney)
{
    /* Fall back, Sunday 2030-04-07: 03:00 AEDT becomes 02:00 AEST at 2030-04-06T16:00Z. */
    EXPECT("Australia/Sydney", "[" DATE("2030-4-7", IV(0, 0, 2, 30) "," IV(2, 30, 3, 30)) "]",
           1901710800000LL /* 2030-04-06T13:00Z = 00:00 AEDT */,
           1901800800000LL /* 2030-04-07T14:00Z = 2030-04-08 00:00 AEST */,
           /* 00:00 AEDT 13:00Z .. 02:30 ambiguous -> the earlier (AEDT) 15:30Z */
           {1901710800000LL, 1901719800000LL},
           /* 02:30 ambiguous -> 03:00 AEST 17:00Z .. 03:30 AEST 17:30Z */
           {1901725200000LL, 1901727000000LL});
    /* Spring forward, Sunday 2030-10-06: 02:00 AEST becomes 03:00 AEDT at 2030-10-05T16:00Z. */
    EXPECT("Australia/Sydney", "[" WDAY("Sun", IV(1, 30, 2, 30) "," IV(2, 0, 9, 0)) "]",
           1917439200000LL /* 2030-10-05T14:00Z */, 1917482400000LL /* 2030-10-06T02:00Z */,
           /* 01:30 AEST 15:30Z .. end in the gap -> the change 16:00Z */
           {1917444600000LL, 1917446400000LL},
           /* 02:00 does not exist -> 03:00 AEDT 16:00Z .. 09:00 AEDT 22:00Z */
           {1917446400000LL, 1917468000000LL});
}
END_TEST

START_TEST(test_avail_santiago)
{
    /* Chile changes at local midnight. Spring forward: Saturday 2030-09-07 24:00 -04 becomes
     * Sunday 01:00 -03 at 2030-09-08T04:00Z, so Sunday's 00:00 does not exist. */
    EXPECT("America/Santiago", EVERY_DAY(IV(0, 0, 23, 59)),
           1914984000000LL /* 2030-09-07T04:00Z = Sat 00:00 -04 */,
           1915153200000LL /* 2030-09-09T03:00Z = Mon 00:00 -03 */,
           /* Sat 00:00 -04 .. 23:59 -04 = 04:00Z .. 2030-09-08T03:59Z */
           {1914984000000LL, 1915070340000LL},
           /* Sun 00:00 (skipped) -> 01:00 -03 = 04:00Z .. 23:59 -03 = 2030-09-09T02:59Z: the
            * one-minute gap at midnight stays, days are not joined */
           {1915070400000LL, 1915153140000LL});
    /* Monday's 00:00 -03 is the window's end: its interval is cut to nothing and dropped. */

    /* Fall back: Saturday 2030-04-06 24:00 -03 becomes 23:00 -04 at 2030-04-07T03:00Z, so
     * Saturday 23:00-24:00 happens twice. */
    EXPECT("America/Santiago", EVERY_DAY(IV(0, 0, 23, 59)),
           1901674800000LL /* 2030-04-06T03:00Z = Sat 00:00 -03 */,
           1901851140000LL /* 2030-04-08T03:59Z = Sun 23:59 -04 */,
           /* Sat 00:00 -03 03:00Z .. 23:59 ambiguous -> the earlier (-03) 2030-04-07T02:59Z */
           {1901674800000LL, 1901761140000LL},
           /* Sun 00:00 -04 04:00Z .. 23:59 -04 2030-04-08T03:59Z */
           {1901764800000LL, 1901851140000LL});
    /* Saturday 23:00-23:30, all of it ambiguous: the start moves to the next whole hour that
     * exists once, Sunday 00:00 -04 (04:00Z), after the end (23:30 -03, 02:30Z): nothing. */
    EXPECT_NONE("America/Santiago", "[" DATE("2030-4-6", IV(23, 0, 23, 30)) "]", 1901674800000LL,
                1901851140000LL);
}
END_TEST

START_TEST(test_avail_half_hours)
{
    /* Lord Howe moves its clocks by 30 minutes. Spring forward, Sunday 2030-10-06: 02:00
     * +10:30 becomes 02:30 +11 at 2030-10-05T15:30Z. */
    EXPECT("Australia/Lord_Howe", "[" WDAY("Sun", IV(1, 0, 2, 10) "," IV(2, 15, 4, 0)) "]",
           1917432000000LL /* 2030-10-05T12:00Z */, 1917475200000LL /* 2030-10-06T00:00Z */,
           /* 01:00 +10:30 14:30Z .. 02:10 skipped -> the change 15:30Z */
           {1917441000000LL, 1917444600000LL},
           /* 02:15 skipped -> the next whole hour 03:00 +11 16:00Z .. 04:00 +11 17:00Z */
           {1917446400000LL, 1917450000000LL});
    /* Fall back, Sunday 2030-04-07: 02:00 +11 becomes 01:30 +10:30 at 2030-04-06T15:00Z. */
    EXPECT("Australia/Lord_Howe", "[" WDAY("Sun", IV(0, 30, 1, 40) "," IV(1, 45, 3, 0)) "]",
           1901707200000LL /* 2030-04-06T12:00Z */, 1901750400000LL /* 2030-04-07T00:00Z */,
           /* 00:30 +11 13:30Z .. 01:40 ambiguous -> the earlier (+11) 14:40Z */
           {1901712600000LL, 1901716800000LL},
           /* 01:45 ambiguous -> 02:00 +10:30 (once) 15:30Z .. 03:00 +10:30 16:30Z */
           {1901719800000LL, 1901723400000LL});
    /* Kolkata (+05:30, no DST), the default week: Monday 2030-10-07 09:00-17:30 =
     * 03:30Z..12:00Z; Sunday 2030-10-06 is empty. */
    {
        sch_rules r = {0};
        nt_intervals out;
        ck_assert_int_eq(sch_rules_default(&r), NT_OK);
        ck_assert_int_eq(sch_avail(&r, zone("Asia/Kolkata"), 1917475200000LL /* 10-06T00:00Z */,
                                   1917648000000LL /* 10-08T00:00Z */, NULL, NULL, &out),
                         NT_OK);
        ck_assert_int_eq(out.n, 1);
        ck_assert_int_eq(out.v[0].start, 1917574200000LL); /* 2030-10-07T03:30Z */
        ck_assert_int_eq(out.v[0].end, 1917604800000LL);   /* 12:00Z */
        free(out.v);
        sch_rules_clear(&r);
    }
}
END_TEST

START_TEST(test_avail_midnight_gap)
{
    /* The 89-slot example (README): Europe/Berlin (UTC+2), every day 00:00-23:59, window
     * 2030-10-10T00:00Z..2030-10-11T00:00Z: [00:00Z, 21:59Z] and [22:00Z, 24:00Z]. */
    EXPECT("Europe/Berlin", EVERY_DAY(IV(0, 0, 23, 59)), 1917820800000LL, 1917907200000LL,
           {1917820800000LL, 1917899940000LL}, {1917900000000LL, 1917907200000LL});
}
END_TEST

START_TEST(test_avail_dates_and_clipping)
{
    /* UTC, weekdays 09:00-17:00; Monday 2030-10-07 overridden empty; Saturday 2030-10-12
     * given 10:00-12:00; the last rule given for a day wins (Wednesday 13:00-14:00). */
    const char *rules = "[" WDAY("Mon", IV(9, 0, 17, 0)) "," WDAY("Tue", IV(9, 0, 17, 0)) "," WDAY(
        "Wed",
        IV(9, 0, 17,
           0)) "," WDAY("Thu",
                        IV(9, 0, 17,
                           0)) "," WDAY("Fri",
                                        IV(9, 0, 17,
                                           0)) "," DATE("2030-10-7",
                                                        "") "," DATE("2030-10-12",
                                                                     IV(10, 0, 12,
                                                                        0)) "," WDAY("Wed",
                                                                                     IV(13, 0, 14,
                                                                                        0)) "]";
    const int64_t mon = 1917561600000LL; /* 2030-10-07T00:00Z */
    const int64_t day = 86400000LL;

    EXPECT("UTC", rules, mon, mon + 7 * day, {mon + day + 9 * H, mon + day + 17 * H},
           {mon + 2 * day + 13 * H, mon + 2 * day + 14 * H},
           {mon + 3 * day + 9 * H, mon + 3 * day + 17 * H},
           {mon + 4 * day + 9 * H, mon + 4 * day + 17 * H},
           {mon + 5 * day + 10 * H, mon + 5 * day + 12 * H});
    /* clipping: Tuesday cut at both ends, Thursday cut at the start only */
    EXPECT("UTC", rules, mon + day + 10 * H, mon + day + 11 * H,
           {mon + day + 10 * H, mon + day + 11 * H});
    EXPECT("UTC", rules, mon + 3 * day + 16 * H + 30 * M, mon + 4 * day,
           {mon + 3 * day + 16 * H + 30 * M, mon + 3 * day + 17 * H});
    /* a window between intervals, one ending where an interval starts, one that is a point
     * inside an interval: nothing is left of the interval in the last two (as the original's
     * remove_all_after drops an interval starting at the window's end) */
    EXPECT_NONE("UTC", rules, mon + day + 17 * H + 1, mon + 2 * day + 13 * H - 1);
    EXPECT_NONE("UTC", rules, mon + day + 8 * H, mon + day + 9 * H);
    EXPECT_NONE("UTC", rules, mon + day + 12 * H, mon + day + 12 * H);
    /* a window starting where an interval ends keeps nothing of it either */
    EXPECT("UTC", rules, mon + day + 17 * H, mon + 2 * day + 13 * H + 30 * M,
           {mon + 2 * day + 13 * H, mon + 2 * day + 13 * H + 30 * M});
    /* rules as stored are normalised; given as they are, an interval that overlaps the one
     * before it is dropped (not merged), one that touches it kept */
    EXPECT("UTC",
           "[" WDAY("Tue", IV(9, 0, 12, 0) "," IV(10, 0, 11, 0) "," IV(11, 30, 13, 0) "," IV(
                               12, 0, 12, 30)) "]",
           mon, mon + 7 * day, {mon + day + 9 * H, mon + day + 12 * H},
           {mon + day + 12 * H, mon + day + 12 * H + 30 * M});
    /* an empty week, and end before start */
    EXPECT_NONE("UTC", "[]", mon, mon + 7 * day);
    EXPECT_NONE("UTC", rules, mon + 7 * day, mon);
}
END_TEST

static int budget_calls;

/* A check that stops the work on its third call. */
static int
budget_check(void *ctx)
{
    (void)ctx;
    return ++budget_calls >= 3 ? NT_EBUDGET : NT_OK;
}

START_TEST(test_avail_limits)
{
    sch_rules r = {0};
    nt_intervals out;
    const int64_t t0 = 1917561600000LL, day = 86400000LL;

    rules_of(EVERY_DAY(IV(9, 0, 10, 0)), &r);
    /* the longest window, and one millisecond more */
    ck_assert_int_eq(sch_avail(&r, zone("UTC"), t0, t0 + 400 * day, NULL, NULL, &out), NT_OK);
    ck_assert_int_eq(out.n, 400);
    free(out.v);
    ck_assert_int_eq(sch_avail(&r, zone("UTC"), t0, t0 + 400 * day + 1, NULL, NULL, &out),
                     NT_EINVAL);
    ck_assert_int_eq(out.n, 0);
    ck_assert_ptr_null(out.v);
    /* bounds outside years 1..9999 */
    ck_assert_int_eq(sch_avail(&r, zone("UTC"), INT64_MIN, INT64_MIN + day, NULL, NULL, &out),
                     NT_EINVAL);
    ck_assert_int_eq(sch_avail(&r, zone("UTC"), INT64_MAX - day, INT64_MAX, NULL, NULL, &out),
                     NT_EINVAL);
    /* the check is asked every few days and its code ends the work */
    budget_calls = 0;
    ck_assert_int_eq(sch_avail(&r, zone("UTC"), t0, t0 + 100 * day, budget_check, NULL, &out),
                     NT_EBUDGET);
    ck_assert_int_eq(budget_calls, 3);
    ck_assert_int_eq(out.n, 0);
    ck_assert_ptr_null(out.v);
    budget_calls = -1000;
    ck_assert_int_eq(sch_avail(&r, zone("UTC"), t0, t0 + 100 * day, budget_check, NULL, &out),
                     NT_OK);
    ck_assert_int_gt(budget_calls, -1000 + 4);
    ck_assert_int_eq(out.n, 100);
    free(out.v);
    sch_rules_clear(&r);
}
END_TEST

static Suite *
schedule_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *tc = tcase_create("rules");

    tcase_add_test(tc, test_local_map);
    tcase_add_test(tc, test_local_map_zones);
    tcase_add_test(tc, test_parse_forms);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_body);
    tcase_add_test(tc, test_default_rules);
    tcase_add_test(tc, test_normalise_intervals);
    tcase_add_test(tc, test_normalise_dates);
    suite_add_tcase(s, tc);
    tc = tcase_create("availability");
    tcase_add_test(tc, test_avail_new_york);
    tcase_add_test(tc, test_avail_sydney);
    tcase_add_test(tc, test_avail_santiago);
    tcase_add_test(tc, test_avail_half_hours);
    tcase_add_test(tc, test_avail_midnight_gap);
    tcase_add_test(tc, test_avail_dates_and_clipping);
    tcase_add_test(tc, test_avail_limits);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(schedule_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ev_tz_cache_clear();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Unit tests of the time-zone layer under event expansion: civil dates, loading zones (link
 * names such as US/Eastern and UTC included), UTC offsets compared with glibc's reading of the
 * same files for every zone, and RFC 5545 local-to-UTC resolution in gaps and overlaps.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ev_time.h"

START_TEST(test_civil)
{
    int64_t y;
    int m, d;

    ck_assert_int_eq(ev_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(ev_days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(ev_days_from_civil(1, 1, 1), -719162);
    ck_assert_int_eq(ev_days_from_civil(9999, 12, 31), 2932896);
    ck_assert_int_eq(ev_weekday(0), 3);     /* 1970-01-01: Thursday */
    ck_assert_int_eq(ev_weekday(-1), 2);    /* Wednesday */
    ck_assert_int_eq(ev_weekday(18631), 0); /* 2021-01-04: Monday */
    for (int64_t days = -800000; days < 3000000; days += 17) {
        ev_civil_from_days(days, &y, &m, &d);
        ck_assert_int_eq(ev_days_from_civil(y, m, d), days);
        ck_assert(d >= 1 && d <= ev_days_in_month(y, m));
    }
    ck_assert_int_eq(ev_days_in_month(2024, 2), 29);
    ck_assert_int_eq(ev_days_in_month(2100, 2), 28);
    ck_assert_int_eq(ev_days_in_month(2000, 2), 29);
    ck_assert_int_eq(ev_floor_div(-1, 1000), -1);
    ck_assert_int_eq(ev_floor_div(-1000, 1000), -1);
    ck_assert_int_eq(ev_floor_div(999, 1000), 0);
    ck_assert_int_eq(ev_sat_add(INT64_MAX, 1), INT64_MAX);
    ck_assert_int_eq(ev_sat_add(INT64_MIN, -1), INT64_MIN);
}
END_TEST

START_TEST(test_load)
{
    static const char *const good[] = {
        "UTC", "Etc/UTC", "GMT", "US/Eastern", "America/New_York", "Europe/Oslo", "Asia/Kolkata"};
    static const char *const bad[] = {"Mars/Olympus", "../etc/passwd",  "posix/Europe/Oslo", "",
                                      "europe/oslo",  "/etc/localtime", "right/Europe/Oslo"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(ev_tz_get(good[i]) != NULL, "%s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ev_tz_get(bad[i]) == NULL, "%s", bad[i]);
    ck_assert_ptr_null(ev_tz_get(NULL));
    /* cached: the same object twice */
    ck_assert_ptr_eq(ev_tz_get("Europe/Oslo"), ev_tz_get("Europe/Oslo"));
    ck_assert_int_eq(ev_tz_offset(ev_tz_get("UTC"), 1700000000), 0);
    for (int64_t t = 0; t < 5000000000LL; t += 86400 * 7 + 3601)
        ck_assert_int_eq(ev_tz_offset(ev_tz_get("US/Eastern"), t),
                         ev_tz_offset(ev_tz_get("America/New_York"), t));
}
END_TEST

/* Compares offsets with glibc between 1900 and 2200 for zone `name`. */
static long
compare_glibc(const char *name, int64_t step)
{
    ev_tz *tz = ev_tz_load(name);
    long bad = 0;

    ck_assert_msg(tz != NULL, "%s does not load", name);
    setenv("TZ", name, 1);
    tzset();
    for (time_t t = -2208988800LL; t < 7258118400LL; t += step) {
        struct tm tm;
        localtime_r(&t, &tm);
        if (tm.tm_gmtoff != ev_tz_offset(tz, t)) {
            if (bad++ == 0)
                fprintf(stderr, "%s: at %lld glibc %ld, ours %d\n", name, (long long)t,
                        tm.tm_gmtoff, ev_tz_offset(tz, t));
        }
    }
    ev_tz_free(tz);
    return bad;
}

/* Zones with unusual rules (30-minute and 2-hour DST, negative DST, abolished DST, the POSIX
 * footer after 2037), several of which libical 3.0.16 converts wrongly. */
START_TEST(test_offsets_fine)
{
    static const char *const zones[] = {"Europe/Oslo",
                                        "America/New_York",
                                        "America/St_Johns",
                                        "Australia/Lord_Howe",
                                        "Antarctica/Troll",
                                        "Europe/Dublin",
                                        "America/Sao_Paulo",
                                        "Asia/Tehran",
                                        "Asia/Jerusalem",
                                        "Pacific/Chatham",
                                        "Pacific/Apia",
                                        "America/Santiago",
                                        "Africa/Casablanca",
                                        "Asia/Gaza",
                                        "America/Nuuk",
                                        "Europe/Moscow",
                                        "Australia/Sydney",
                                        "Asia/Kathmandu",
                                        "UTC",
                                        "US/Eastern"};

    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
        ck_assert_msg(compare_glibc(zones[i], 3 * 3600 + 17) == 0, "%s differs", zones[i]);
}
END_TEST

static long sweep_zones, sweep_bad;

static int
sweep_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    const char *dir = getenv("TZDIR") != NULL ? getenv("TZDIR") : "/usr/share/zoneinfo";
    const char *name = path + strlen(dir) + 1;
    FILE *f;
    char magic[4] = {0};

    (void)sb;
    (void)ftw;
    if (type != FTW_F || strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0 ||
        strcmp(name, "posixrules") == 0 || strcmp(name, "localtime") == 0)
        return 0;
    f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "TZif", 4) != 0) {
        fclose(f);
        return 0;
    }
    fclose(f);
    sweep_zones++;
    if (compare_glibc(name, 5 * 86400 + 3 * 3600 + 11) != 0)
        sweep_bad++;
    return 0;
}

/* Every zone of the system database, coarsely. */
START_TEST(test_offsets_all_zones)
{
    const char *dir = getenv("TZDIR") != NULL ? getenv("TZDIR") : "/usr/share/zoneinfo";

    ck_assert_int_eq(nftw(dir, sweep_one, 16, FTW_PHYS), 0);
    ck_assert_msg(sweep_zones > 300, "only %ld zones found", sweep_zones);
    ck_assert_msg(sweep_bad == 0, "%ld of %ld zones differ from glibc", sweep_bad, sweep_zones);
}
END_TEST

struct l2u_case {
    const char *zone;
    int64_t local, utc; /* local wall-clock seconds, expected instant */
    const char *what;
};

/* Expected instants from python zoneinfo (fold=0) and `TZ=<zone> date -d @<utc>`. */
static const struct l2u_case l2u_cases[] = {
    {"Europe/Oslo", 1717243200, 1717236000, "2024-06-01 12:00 -> 12:00 CEST"},
    {"America/New_York", 1710037800, 1710055800, "2024-03-10 02:30 (gap) -> 03:30 EDT"},
    {"Europe/Oslo", 1711852200, 1711848600, "2024-03-31 02:30 (gap) -> 03:30 CEST"},
    {"Europe/Oslo", 1729996200, 1729989000, "2024-10-27 02:30 (twice) -> first, CEST"},
    {"America/New_York", 1730597400, 1730611800, "2024-11-03 01:30 (twice) -> first, EDT"},
    {"Pacific/Apia", 1325235600, 1325271600, "2011-12-30 09:00 (skipped day) -> 12-31 +14"},
    {"Europe/Oslo", 5380419600, 5380412400, "2140-07-01 09:00 -> CEST (footer rule)"},
    {"Australia/Lord_Howe", 2233188900, 2233151100, "2040-10-07 02:15 (30 min gap) -> 02:45"},
    {"UTC", 1700000000, 1700000000, "UTC"},
};

START_TEST(test_local_to_utc)
{
    const struct l2u_case *c = &l2u_cases[_i];
    const ev_tz *tz = ev_tz_get(c->zone);

    ck_assert_ptr_nonnull(tz);
    ck_assert_msg(ev_tz_local_to_utc(tz, c->local) == c->utc, "%s %s: %lld", c->zone, c->what,
                  (long long)ev_tz_local_to_utc(tz, c->local));
}
END_TEST

/* Away from transitions, local -> UTC -> local is the identity. */
START_TEST(test_round_trip)
{
    const ev_tz *tz = ev_tz_get("America/New_York");

    ck_assert_ptr_nonnull(tz);
    for (int64_t utc = 0; utc < 4000000000LL; utc += 86400 * 3 + 7) {
        int64_t local = ev_tz_utc_to_local(tz, utc);
        int64_t back = ev_tz_local_to_utc(tz, local);
        /* an instant in a repeated hour maps back to the first of the two */
        ck_assert(back == utc || (back < utc && ev_tz_utc_to_local(tz, back) == local));
    }
}
END_TEST

/* The span cache gives the same answers as the plain resolver, across transitions too. */
START_TEST(test_span_cache)
{
    static const char *const zones[] = {"Europe/Oslo", "America/New_York", "Australia/Lord_Howe",
                                        "Pacific/Apia", "UTC"};

    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        const ev_tz *tz = ev_tz_get(zones[z]);
        ev_tz_span span = {0};
        ck_assert_ptr_nonnull(tz);
        /* 09:30 local every day (and 02:30, inside most gaps) from 2000 to 2060 */
        for (int64_t day = 10957; day < 32874; day++) {
            int64_t a = day * 86400 + 9 * 3600 + 1800, b = day * 86400 + 2 * 3600 + 1800;
            ck_assert_int_eq(ev_tz_local_to_utc_span(tz, a, &span), ev_tz_local_to_utc(tz, a));
            ck_assert_int_eq(ev_tz_local_to_utc_span(tz, b, &span), ev_tz_local_to_utc(tz, b));
        }
    }
}
END_TEST

static Suite *
tz_suite(void)
{
    Suite *s = suite_create("expand_tz");
    TCase *tc = tcase_create("tz");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_civil);
    tcase_add_test(tc, test_load);
    tcase_add_test(tc, test_offsets_fine);
    tcase_add_test(tc, test_offsets_all_zones);
    tcase_add_loop_test(tc, test_local_to_utc, 0, sizeof(l2u_cases) / sizeof(l2u_cases[0]));
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_span_cache);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tz_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ev_tz_cache_clear();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

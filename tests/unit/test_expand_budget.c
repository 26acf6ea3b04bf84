/* Unit tests of the time engine's work budget (budget.h) and of what keeps expansions cheap:
 * the caps and the caller's hook stop an expansion with distinct codes (limit, budget, gone);
 * rules with count that used to cost a second (hundreds of candidate dates per occurrence,
 * DTSTART in the year 1) now reach any window, and their endTs, in a few milliseconds, with
 * the same instances as a full walk from DTSTART; numbers at the edges of what was once
 * stored (a duration of INT64_MIN) expand without overflow (the sanitizer build checks).
 *
 * Expected dates were computed with python-dateutil 2.9.0 (UTC, DTSTART 0001-01-01 09:00).
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rrule.h"

#define DAY 86400000LL
#define Y1 (-62135564400000LL) /* 0001-01-01T09:00:00Z */
#define SPAN (62 * DAY)
/* CPU limits are for optimised code; a ThreadSanitizer build (NETTU_TSAN) runs about ten
 * times slower. */
#ifdef NETTU_TSAN
#define TIME_FACTOR 10
#else
#define TIME_FACTOR 1
#endif
#define T0 1609750800000LL /* 2021-01-04T09:00:00Z, a Monday */

/* byyearday 1..366, every weekday, and bysetpos `pos`, with count 739 (the attack's rule) or
 * without count (counted = 0). */
static char *
attack_rule(int pos, int counted)
{
    const char *head = counted ? "{\"freq\":\"yearly\",\"interval\":1,\"count\":739,\"byweekday\":"
                                 "[\"Mon\",\"Tue\",\"Wed\",\"Thu\",\"Fri\",\"Sat\",\"Sun\"],"
                                 "\"byyearday\":["
                               : "{\"freq\":\"yearly\",\"interval\":1,\"byweekday\":"
                                 "[\"Mon\",\"Tue\",\"Wed\",\"Thu\",\"Fri\",\"Sat\",\"Sun\"],"
                                 "\"byyearday\":[";
    char *s = malloc(strlen(head) + 366 * 4 + 64);
    size_t n;

    ck_assert_ptr_nonnull(s);
    n = (size_t)sprintf(s, "%s", head);
    for (int d = 1; d <= 366; d++)
        n += (size_t)sprintf(s + n, d == 1 ? "%d" : ",%d", d);
    sprintf(s + n, "],\"bysetpos\":[%d]}", pos);
    return s;
}

static ev_rrule *
rule(const char *text, int64_t start)
{
    ev_rrule *r = malloc(sizeof(*r));
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    char err[256] = "";

    ck_assert_ptr_nonnull(r);
    ck_assert_msg(j != NULL, "bad JSON: %s", e.text);
    ck_assert_msg(ev_rrule_parse(j, start, r, err, sizeof(err)) == 0, "%s", err);
    json_decref(j);
    return r;
}

static ev_expand_opts
window(int64_t ws, ev_budget *b)
{
    ev_expand_opts o = {.tz = ev_tz_get("UTC"),
                        .wkst = 0,
                        .windowed = 1,
                        .ws = ws,
                        .we = ws + SPAN,
                        .max_instances = 100000,
                        .budget = b};
    ck_assert_ptr_nonnull(o.tz);
    return o;
}

/* ---- ev_budget ------------------------------------------------------------------------- */

static int hook_calls, hook_answer, hook_after;

static int
hook(void *arg)
{
    (void)arg;
    hook_calls++;
    return hook_calls > hook_after ? hook_answer : EV_GO;
}

START_TEST(test_budget_basics)
{
    ev_budget b;
    char buf[64];

    ck_assert_int_eq(ev_budget_charge(NULL, 1000), EV_GO);
    ev_budget_init(&b, 100, 0, NULL, NULL);
    ck_assert_int_eq(ev_budget_charge(&b, 100), EV_GO);
    ck_assert_int_eq(ev_budget_charge(&b, 1), EV_STOP_LIMIT);
    ck_assert_int_eq(ev_budget_charge(&b, 0), EV_STOP_LIMIT); /* sticky */
    ev_budget_describe(&b, buf, sizeof(buf));
    ck_assert_str_eq(buf, "more than 100 steps");
    /* The hook is asked every EV_BUDGET_EVERY steps, and its answer sticks. */
    hook_calls = 0;
    hook_after = 2;
    hook_answer = EV_STOP_GONE;
    ev_budget_init(&b, 0, 0, hook, NULL);
    ck_assert_int_eq(ev_budget_charge(&b, EV_BUDGET_EVERY - 1), EV_GO);
    ck_assert_int_eq(hook_calls, 0);
    ck_assert_int_eq(ev_budget_charge(&b, 1), EV_GO);
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_int_eq(ev_budget_charge(&b, EV_BUDGET_EVERY), EV_GO);
    ck_assert_int_eq(ev_budget_charge(&b, EV_BUDGET_EVERY), EV_STOP_GONE);
    ck_assert_int_eq(ev_budget_charge(&b, 1), EV_STOP_GONE);
    ck_assert_int_eq(hook_calls, 3);
    /* Any other answer of the hook counts as the caller's budget. */
    hook_calls = 0;
    hook_after = 0;
    hook_answer = 42;
    ev_budget_init(&b, 0, 0, hook, NULL);
    ck_assert_int_eq(ev_budget_charge(&b, EV_BUDGET_EVERY), EV_STOP_BUDGET);
    /* A CPU cap. */
    ev_budget_init(&b, 0, 1500, NULL, NULL);
    ev_budget_describe(&b, buf, sizeof(buf));
    ck_assert_str_eq(buf, "more than 1500 us of CPU");
}
END_TEST

/* The three ways an expansion is stopped, each with its own result. */
START_TEST(test_expand_stops)
{
    /* Without count: a window walks its year's 366 candidates (366 steps). */
    char *text = attack_rule(1, 0);
    ev_rrule *r = rule(text, 1609750800000LL);
    ev_series s = {.start_ts = 1609750800000LL, .duration = 1000, .rrule = r};
    ev_budget b;
    ev_expand_opts o;
    ev_ilist l = {0};
    char err[256] = "";

    ev_budget_init(&b, 10, 0, NULL, NULL);
    o = window(1609750800000LL + 400 * DAY, &b);
    ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), EV_EXPAND_ELIMIT);
    ck_assert_msg(strstr(err, "more than 10 steps") != NULL, "%s", err);
    ev_ilist_free(&l);

    hook_calls = 0;
    hook_after = 0;
    hook_answer = EV_STOP_BUDGET;
    ev_budget_init(&b, 0, 0, hook, NULL);
    o = window(1609750800000LL + 400 * DAY, &b);
    ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), EV_EXPAND_EBUDGET);
    ck_assert_int_eq(hook_calls, 1);
    ev_ilist_free(&l);

    hook_calls = 0;
    hook_answer = EV_STOP_GONE;
    ev_budget_init(&b, 0, 0, hook, NULL);
    o = window(1609750800000LL + 400 * DAY, &b);
    ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), EV_EXPAND_EGONE);
    ev_ilist_free(&l);

    /* Without a budget of its own an expansion still ends: the default cap. */
    o = window(1609750800000LL + 400 * DAY, NULL);
    ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 0); /* 2022-02-08 .. 2022-04-11: no January 1st */
    ev_ilist_free(&l);
    free(r);
    free(text);
}
END_TEST

/* One budget across many expansions (a request): single events count too, so the hook is
 * asked while a long list of rows is expanded. */
START_TEST(test_shared_budget)
{
    ev_series s = {.start_ts = 1609750800000LL, .duration = 1000};
    ev_budget b;
    ev_ilist l = {0};
    char err[256] = "";
    int rc = 0, i;

    hook_calls = 0;
    hook_after = 3;
    hook_answer = EV_STOP_BUDGET;
    ev_budget_init(&b, 0, 0, hook, NULL);
    for (i = 0; i < 100000 && rc == 0; i++) {
        ev_expand_opts o = window(1609750800000LL, &b);
        rc = ev_expand(&s, &o, &l, err, sizeof(err));
    }
    ck_assert_int_eq(rc, EV_EXPAND_EBUDGET);
    ck_assert_int_eq(i, 4 * EV_BUDGET_EVERY);
    ev_ilist_free(&l);
}
END_TEST

/* Opening libical at the first expansion of a process (about 12 ms of CPU) is not charged
 * to that expansion's CPU cap: a cheap rule (140 occurrences: the budget looks at its clock
 * once, after 128 steps) under a 5 ms cap passes in a new process. Runs
 * without warm_libical (its own test case). */
START_TEST(test_first_open_not_charged)
{
    ev_rrule *r = rule("{\"freq\":\"weekly\",\"interval\":1,\"count\":140,"
                       "\"byweekday\":[\"Mon\",\"Thu\"]}",
                       T0);
    ev_series s = {.start_ts = T0, .duration = 1000, .rrule = r};
    ev_expand_opts o = window(0, NULL);
    ev_budget b;
    ev_ilist l = {0};
    char err[256] = "";

    o.windowed = 0;
    o.budget = &b;
    ev_budget_init(&b, 0, 5000 * TIME_FACTOR, NULL, NULL);
    ck_assert_msg(ev_expand(&s, &o, &l, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(l.n, 140);
    ev_ilist_free(&l);
    free(r);
}
END_TEST

/* A CPU cap stops a full walk from DTSTART of a rule that costs about a second with libical. */
START_TEST(test_cpu_cap)
{
    char *text = attack_rule(1, 1);
    ev_rrule *r = rule(text, Y1);
    ev_series s = {.start_ts = Y1, .duration = 1000, .rrule = r};
    ev_expand_opts o = window(0, NULL);
    ev_budget b;
    ev_ilist l = {0};
    char err[256] = "";
    int64_t t0;

    o.windowed = 0;
    o.budget = &b;
    t0 = ev_thread_cpu_us();
    ev_budget_init(&b, 0, 5000, NULL, NULL);
    ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), EV_EXPAND_ELIMIT);
    ck_assert_msg(strstr(err, "more than 5 ms of CPU") != NULL, "%s", err);
    ck_assert_msg(ev_thread_cpu_us() - t0 < 50000 * TIME_FACTOR, "stopped after %lld us",
                  (long long)(ev_thread_cpu_us() - t0));
    ev_ilist_free(&l);
    free(r);
    free(text);
}
END_TEST

/* ---- rules with count far from DTSTART --------------------------------------------------- */

struct far_case {
    const char *name;
    const char *rule; /* NULL: attack_rule(pos) */
    int pos;
    int64_t end;   /* endTs with duration 1000 */
    int64_t probe; /* an occurrence far from DTSTART */
};

static const struct far_case far_cases[] = {
    /* Every January 1st from 0001 to 0739. */
    {"byyearday 1..366, all weekdays, bysetpos 1", NULL, 1, -38846617200000LL + 1000,
     -40077298800000LL /* 0700-01-01 09:00 */},
    /* Every December 31st from 0001 to 0739. */
    {"byyearday 1..366, all weekdays, bysetpos -1", NULL, -1, -38815167600000LL + 1000,
     -43169986800000LL /* 0601-12-31 09:00 */},
    /* Every February 29th: the 739th is in 3048. */
    {"daily, February 29",
     "{\"freq\":\"daily\",\"interval\":1,\"count\":739,\"bymonth\":[2],"
     "\"bymonthday\":[29]}",
     0, 34023488400000LL + 1000, 2845270800000LL /* 2060-02-29 09:00, the 500th */},
    /* February 29th on a Monday: only 375 up to 9999. */
    {"yearly, Monday February 29",
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":739,"
     "\"bymonth\":[2],\"bymonthday\":[29],\"byweekday\":[\"Mon\"]}",
     0, 253028739600000LL + 1000, 107235651600000LL /* 5368-02-29 09:00 */},
};

/* endTs and far windows: the same instances as the full walk from DTSTART, at a fraction of
 * its cost. */
START_TEST(test_far_count)
{
    const struct far_case *c = &far_cases[_i];
    char *text = c->rule != NULL ? NULL : attack_rule(c->pos, 1);
    ev_rrule *r = rule(c->rule != NULL ? c->rule : text, Y1);
    ev_series s = {.start_ts = Y1, .duration = 1000, .rrule = r};
    ev_expand_opts all = window(0, NULL);
    ev_budget b;
    ev_ilist full = {0}, l = {0};
    char err[256] = "";
    int64_t end = -1, t0, used;
    size_t hits = 0;

    ev_budget_init(&b, 0, 0, NULL, NULL);
    t0 = ev_thread_cpu_us();
    ck_assert_int_eq(ev_end_ts(&s, ev_tz_get("UTC"), 0, 100000, &b, &end, err, sizeof(err)), 0);
    used = ev_thread_cpu_us() - t0;
    ck_assert_msg(end == c->end, "%s: endTs %lld, expected %lld", c->name, (long long)end,
                  (long long)c->end);
    ck_assert_msg(used < 20000 * TIME_FACTOR, "%s: endTs took %lld us of CPU", c->name,
                  (long long)used);

    /* The reference: every occurrence, walked from DTSTART with libical. */
    all.windowed = 0;
    all.budget = &b;
    ev_budget_init(&b, 0, 0, NULL, NULL);
    ck_assert_int_eq(ev_expand(&s, &all, &full, err, sizeof(err)), 0);
    ck_assert_int_eq(full.v[full.n - 1].end, c->end);
    for (int k = 0; k < 12; k++) {
        /* Windows around the probe, around the last occurrence, and in between. */
        int64_t ws = k < 4   ? c->probe - k * 20 * DAY
                     : k < 8 ? c->end - (k - 4) * 20 * DAY
                             : full.v[(full.n - 1) * (size_t)(k - 7) / 5].start - 3 * DAY;
        ev_expand_opts o = window(ws, &b);
        size_t m = 0;
        ev_budget_init(&b, 0, 0, NULL, NULL);
        t0 = ev_thread_cpu_us();
        ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), 0);
        used = ev_thread_cpu_us() - t0;
        ck_assert_msg(used < 20000 * TIME_FACTOR, "%s: window %d took %lld us of CPU", c->name, k,
                      (long long)used);
        for (size_t i = 0; i < full.n; i++) {
            if (full.v[i].start < ws - 1 || full.v[i].end > ws + SPAN)
                continue;
            ck_assert_msg(m < l.n && l.v[m].start == full.v[i].start, "%s: window %d misses %lld",
                          c->name, k, (long long)full.v[i].start);
            m++;
        }
        ck_assert_msg(m == l.n, "%s: window %d has %zu instances, expected %zu", c->name, k, l.n,
                      m);
        hits += m;
        ev_ilist_free(&l);
    }
    ck_assert_msg(hits > 0, "%s: no window held an instance", c->name);
    ev_ilist_free(&full);
    free(r);
    free(text);
}
END_TEST

/* endTs is the last occurrence that no exdate removes, also when exdates remove the last few
 * and the count ends in the middle of a period. */
START_TEST(test_tail_exdates)
{
    ev_rrule *r = rule("{\"freq\":\"monthly\",\"interval\":1,\"count\":10,\"byweekday\":[\"Mon\","
                       "\"Tue\",\"Wed\",\"Thu\",\"Fri\"]}",
                       1609750800000LL);
    int64_t ex[3] = {1609750800000LL + 11 * DAY, 1609750800000LL + 10 * DAY + 500, 0};
    ev_series s = {.start_ts = 1609750800000LL, .duration = 1000, .rrule = r, .exdates = ex};
    char err[256] = "";
    int64_t end = -1;

    /* 2021-01-04 (Mon) 09:00 + 10 weekdays: the last is Friday 01-15. */
    ck_assert_int_eq(ev_end_ts(&s, ev_tz_get("UTC"), 0, 100000, NULL, &end, err, sizeof(err)), 0);
    ck_assert_int_eq(end, 1609750800000LL + 11 * DAY + 1000);
    s.n_exdates = 1; /* Friday removed: Thursday 01-14 */
    ck_assert_int_eq(ev_end_ts(&s, ev_tz_get("UTC"), 0, 100000, NULL, &end, err, sizeof(err)), 0);
    ck_assert_int_eq(end, 1609750800000LL + 10 * DAY + 1000);
    s.n_exdates = 2; /* and Thursday (an exdate in the same second): Wednesday 01-13 */
    ck_assert_int_eq(ev_end_ts(&s, ev_tz_get("UTC"), 0, 100000, NULL, &end, err, sizeof(err)), 0);
    ck_assert_int_eq(end, 1609750800000LL + 9 * DAY + 1000);
    free(r);
}
END_TEST

/* ---- numbers at the edges (stored before the routes checked them) ------------------------ */

START_TEST(test_extreme_numbers)
{
    static const int64_t durations[] = {INT64_MIN, -1, 0, INT64_MAX};
    ev_rrule *r = rule("{\"freq\":\"daily\",\"interval\":1}", 1609750800000LL);
    char err[256] = "";

    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        ev_series s = {.start_ts = 1609750800000LL, .duration = durations[i], .rrule = r};
        ev_expand_opts o = window(1609750800000LL, NULL);
        ev_ilist l = {0};
        int64_t end = 0;
        int rc = ev_expand(&s, &o, &l, err, sizeof(err));
        /* A duration of INT64_MIN fits every occurrence into any window: the cap ends it. */
        ck_assert_msg(rc == 0 || (rc == -1 && durations[i] == INT64_MIN), "rc %d: %s", rc, err);
        ev_ilist_free(&l);
        /* windows at the ends of the 64-bit range */
        o.ws = INT64_MIN;
        o.we = INT64_MIN + SPAN;
        ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), 0);
        ck_assert_uint_eq(l.n, 0);
        o.ws = INT64_MAX - SPAN;
        o.we = INT64_MAX;
        ck_assert_int_eq(ev_expand(&s, &o, &l, err, sizeof(err)), 0);
        ev_ilist_free(&l);
        s.rrule = NULL;
        s.start_ts = durations[i];
        ck_assert_int_eq(ev_end_ts(&s, NULL, 0, 100000, NULL, &end, err, sizeof(err)), 0);
    }
    free(r);
}
END_TEST

/* Opens libical before a test times anything: it is opened at the first expansion (not
 * linked), and each test runs in a process of its own. */
static void
warm_libical(void)
{
    ck_assert_ptr_nonnull(ev_libical_open());
}

static Suite *
budget_suite(void)
{
    Suite *s = suite_create("expand_budget");
    TCase *tc = tcase_create("budget");

    tcase_add_checked_fixture(tc, warm_libical, NULL);

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_budget_basics);
    tcase_add_test(tc, test_expand_stops);
    tcase_add_test(tc, test_shared_budget);
    tcase_add_test(tc, test_cpu_cap);
    tcase_add_loop_test(tc, test_far_count, 0, sizeof(far_cases) / sizeof(far_cases[0]));
    tcase_add_test(tc, test_tail_exdates);
    tcase_add_test(tc, test_extreme_numbers);
    suite_add_tcase(s, tc);
    tc = tcase_create("first_open");
    tcase_add_test(tc, test_first_open_not_charged);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(budget_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ev_tz_cache_clear();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

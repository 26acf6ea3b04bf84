/* Unit tests of the events plugin's instance lists and their merge: touching,
 * contained, identical and disjoint intervals, unsorted input, and busy flags kept apart.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intervals.h"

#define MAXI 8

struct merge_case {
    const char *name;
    ev_inst in[MAXI];
    size_t n_in;
    ev_inst out[MAXI];
    size_t n_out;
};

static const struct merge_case merge_cases[] = {
    {"empty", {{0, 0, 0}}, 0, {{0, 0, 0}}, 0},
    {"single", {{5, 10, 1}}, 1, {{5, 10, 1}}, 1},
    {"touching", {{0, 10, 1}, {10, 20, 1}}, 2, {{0, 20, 1}}, 1},
    {"contained", {{0, 100, 1}, {10, 20, 1}}, 2, {{0, 100, 1}}, 1},
    {"identical", {{5, 10, 1}, {5, 10, 1}}, 2, {{5, 10, 1}}, 1},
    {"disjoint", {{0, 10, 1}, {11, 20, 1}}, 2, {{0, 10, 1}, {11, 20, 1}}, 2},
    {"overlapping chain", {{0, 10, 1}, {5, 15, 1}, {14, 30, 1}}, 3, {{0, 30, 1}}, 1},
    {"unsorted", {{20, 30, 1}, {0, 10, 1}, {5, 25, 1}}, 3, {{0, 30, 1}}, 1},
    {"contained after longer",
     {{0, 50, 1}, {10, 20, 1}, {30, 40, 1}, {60, 70, 1}},
     4,
     {{0, 50, 1}, {60, 70, 1}},
     2},
    {"different flags overlap", {{0, 10, 1}, {5, 15, 0}}, 2, {{0, 10, 1}, {5, 15, 0}}, 2},
    {"different flags touching", {{0, 10, 0}, {10, 20, 1}}, 2, {{0, 10, 0}, {10, 20, 1}}, 2},
    {"flags interleaved",
     {{0, 10, 1}, {2, 3, 0}, {5, 12, 1}, {3, 4, 0}},
     4,
     {{0, 12, 1}, {2, 4, 0}},
     2},
    {"free only", {{0, 5, 0}, {5, 6, 0}, {7, 8, 0}}, 3, {{0, 6, 0}, {7, 8, 0}}, 2},
    {"negative times", {{-20, -10, 1}, {-10, 0, 1}}, 2, {{-20, 0, 1}}, 1},
};

START_TEST(test_merge)
{
    const struct merge_case *c = &merge_cases[_i];
    ev_ilist l = {0};

    for (size_t i = 0; i < c->n_in; i++)
        ck_assert_int_eq(ev_ilist_push(&l, c->in[i].start, c->in[i].end, c->in[i].busy), 0);
    ck_assert_int_eq(ev_ilist_merge(&l), 0);
    ck_assert_msg(l.n == c->n_out, "%s: %zu intervals, expected %zu", c->name, l.n, c->n_out);
    for (size_t i = 0; i < c->n_out; i++) {
        ck_assert_msg(l.v[i].start == c->out[i].start && l.v[i].end == c->out[i].end &&
                          l.v[i].busy == c->out[i].busy,
                      "%s: [%zu] = [%lld, %lld, %d], expected [%lld, %lld, %d]", c->name, i,
                      (long long)l.v[i].start, (long long)l.v[i].end, l.v[i].busy,
                      (long long)c->out[i].start, (long long)c->out[i].end, c->out[i].busy);
    }
    ev_ilist_free(&l);
}
END_TEST

START_TEST(test_push_grows_and_free)
{
    ev_ilist l = {0};

    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(ev_ilist_push(&l, 1000 - i, 1001 - i, i % 2), 0);
    ck_assert_uint_eq(l.n, 1000);
    ev_ilist_sort(&l);
    for (size_t i = 1; i < l.n; i++)
        ck_assert(l.v[i - 1].start <= l.v[i].start);
    ev_ilist_free(&l);
    ck_assert_ptr_null(l.v);
    ck_assert_uint_eq(l.n, 0);
    ev_ilist_free(NULL);
}
END_TEST

START_TEST(test_json)
{
    ev_ilist l = {0};
    json_t *j;
    char *s;

    ck_assert_int_eq(ev_ilist_push(&l, 86400000, 90000000, 1), 0);
    ck_assert_int_eq(ev_ilist_push(&l, 1, 2, 0), 0);
    j = ev_ilist_json(&l);
    ck_assert_ptr_nonnull(j);
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(s, "[{\"busy\":true,\"endTs\":90000000,\"startTs\":86400000},"
                        "{\"busy\":false,\"endTs\":2,\"startTs\":1}]");
    free(s);
    json_decref(j);
    ev_ilist_free(&l);
}
END_TEST

/* The text writer gives the bytes json_dumpb(JSON_COMPACT) writes of ev_ilist_json(), for
 * empty lists, extreme values, every digit count (its own integer writer) and both flags. */
START_TEST(test_json_text)
{
    ev_ilist l = {0};
    const int64_t v[][2] = {{INT64_MIN, INT64_MAX}, {-1, 0}, {1700000000000, 1700000900000}};
    char *text, *want, *with;
    size_t len = 0;
    json_t *j;

    for (int round = 0; round < 3; round++) {
        j = ev_ilist_json(&l);
        want = json_dumps(j, JSON_COMPACT);
        with = malloc(strlen(want) + 16);
        ck_assert_ptr_nonnull(with);
        sprintf(with, "{\"a\":%s,\"b\":1}", want);
        text = ev_ilist_json_text(&l, "{\"a\":", ",\"b\":1}", &len);
        ck_assert_ptr_nonnull(text);
        ck_assert_str_eq(text, with);
        ck_assert_uint_eq(len, strlen(with));
        free(text);
        free(with);
        free(want);
        json_decref(j);
        if (round == 0) {
            for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                ck_assert_int_eq(ev_ilist_push(&l, v[i][0], v[i][1], (int)(i % 2)), 0);
        } else { /* 9, 10, 99, 100, ... and their negatives, up to INT64_MAX - 1 */
            int64_t p = 1;
            for (int d = 1; d <= 18; d++) {
                p *= 10;
                ck_assert_int_eq(ev_ilist_push(&l, p - 1, -(p - 1), d % 2), 0);
                ck_assert_int_eq(ev_ilist_push(&l, -p, p, 0), 0);
            }
            ck_assert_int_eq(ev_ilist_push(&l, INT64_MAX - 1, INT64_MIN + 1, 1), 0);
        }
    }
    ev_ilist_free(&l);
}
END_TEST

static Suite *
intervals_suite(void)
{
    Suite *s = suite_create("intervals");
    TCase *tc = tcase_create("merge");

    tcase_add_loop_test(tc, test_merge, 0, sizeof(merge_cases) / sizeof(merge_cases[0]));
    tcase_add_test(tc, test_push_grows_and_free);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_json_text);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(intervals_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

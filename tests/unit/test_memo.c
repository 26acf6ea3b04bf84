/* The memo of a group commit (core/memo.c): values by key, the caller keeps what the memo
 * refused, and memo_clear frees every value once. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include <nettu/plugin.h>

#include "memo.h"

static int freed;

static void
count_free(void *v)
{
    freed++;
    free(v);
}

START_TEST(test_put_get_clear)
{
    group_memo m = {0};
    char key[32];
    int *v;

    ck_assert_ptr_null(memo_get(&m, "a"));
    for (int i = 0; i < MEMO_MAX; i++) {
        snprintf(key, sizeof(key), "test/%d", i);
        v = malloc(sizeof(*v));
        ck_assert_ptr_nonnull(v);
        *v = i;
        ck_assert_int_eq(memo_put(&m, key, v, count_free), NT_OK);
    }
    for (int i = MEMO_MAX - 1; i >= 0; i--) {
        snprintf(key, sizeof(key), "test/%d", i);
        v = memo_get(&m, key);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(*v, i);
    }
    ck_assert_ptr_null(memo_get(&m, "test/"));
    ck_assert_ptr_null(memo_get(&m, "test/320"));
    /* refused: the caller keeps its value */
    v = malloc(sizeof(*v));
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(memo_put(&m, "test/3", v, count_free), NT_ECONFLICT);
    ck_assert_int_eq(memo_put(&m, "test/new", v, count_free), NT_EUNAVAIL);
    ck_assert_int_eq(memo_put(&m, NULL, v, count_free), NT_ERR);
    ck_assert_int_eq(memo_put(NULL, "k", v, count_free), NT_ERR);
    ck_assert_int_eq(memo_put(&m, "k", NULL, count_free), NT_ERR);
    free(v);
    freed = 0;
    memo_clear(&m);
    ck_assert_int_eq(freed, MEMO_MAX);
    ck_assert_uint_eq(m.n, 0);
    ck_assert_ptr_null(memo_get(&m, "test/3"));
    /* reusable; a NULL free_fn frees nothing */
    ck_assert_int_eq(memo_put(&m, "static", "text", NULL), NT_OK);
    ck_assert_str_eq(memo_get(&m, "static"), "text");
    memo_clear(&m);
    memo_clear(&m);
    memo_clear(NULL);
    ck_assert_int_eq(freed, MEMO_MAX);
}
END_TEST

static Suite *
memo_suite(void)
{
    Suite *s = suite_create("memo");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_put_get_clear);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(memo_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

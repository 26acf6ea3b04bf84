/* json_out_compact (core/json_out.c) writes what json_dumpb(JSON_COMPACT) writes: fixed
 * documents with every kind of value and escape, and many random ones, compared byte for
 * byte; reals and deep nesting are refused (the caller then uses jansson). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

#include "json_out.h"

/* Asserts that json_out_compact(v) equals jansson's compact dump of v. */
static void
assert_same(const json_t *v)
{
    bytebuf b = {0};
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    ck_assert_ptr_nonnull(want);
    ck_assert_int_eq(json_out_compact(v, &b), NT_OK);
    ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
                  "json_out: %.*s\njansson:  %s", (int)b.len, b.data, want);
    free(want);
    bytebuf_free(&b);
}

START_TEST(test_fixed)
{
    char all[128];
    json_t *v;

    for (int i = 0; i < 127; i++)
        all[i] = (char)(i + 1); /* every ASCII byte but NUL */
    all[127] = '\0';
    v = json_pack("{s:s, s:i, s:I, s:I, s:b, s:b, s:n, s:[], s:{}, s:[i,s,{s:[]}], s:s, s:s#}",
                  "plain", "hello", "zero", 0, "min", (json_int_t)INT64_MIN, "max",
                  (json_int_t)INT64_MAX, "t", 1, "f", 0, "nil", "empty", "obj", "mixed", -7, "x/y",
                  "in", "utf8", "Gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", "all", all,
                  (size_t)127);
    ck_assert_ptr_nonnull(v);
    /* keys that need escapes, and one with a NUL byte */
    json_object_set_new(v, "k\"\\\n\x01\x7f/", json_string("v"));
    json_object_setn_new(v, "nul\0key", 7, json_string("x"));
    json_object_set_new(v, "bin", json_stringn("a\0b", 3));
    assert_same(v);
    assert_same(json_object_get(v, "empty"));
    assert_same(json_object_get(v, "plain"));
    json_decref(v);
}
END_TEST

/* A random document of depth at most `depth` (deterministic generator). */
static uint32_t seed = 12345;
static uint32_t
rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static json_t *
random_value(int depth)
{
    static const char *const pieces[] = {"a",    "\"",       "\\", "\n", "\t",
                                         "\x1f", "\xc3\xa9", " ",  "/",  "\x7f",
                                         "\r\n", "\b\f",     "id", "{}", "\xe2\x80\xa8"};
    json_t *v;
    char s[64];
    size_t n = 0;

    switch (depth > 0 ? rnd() % 8 : 2 + rnd() % 6) {
    case 0:
        v = json_object();
        for (int k = (int)(rnd() % 5); k > 0; k--) {
            snprintf(s, sizeof(s), "k%u%s", rnd() % 50, pieces[rnd() % 15]);
            json_object_set_new(v, s, random_value(depth - 1));
        }
        return v;
    case 1:
        v = json_array();
        for (int k = (int)(rnd() % 5); k > 0; k--)
            json_array_append_new(v, random_value(depth - 1));
        return v;
    case 2:
        for (int k = (int)(rnd() % 6); k > 0; k--) {
            const char *p = pieces[rnd() % 15];
            if (n + strlen(p) < sizeof(s)) {
                memcpy(s + n, p, strlen(p));
                n += strlen(p);
            }
        }
        return json_stringn(s, n);
    case 3:
        return json_integer((json_int_t)(int32_t)rnd() * (json_int_t)(rnd() % 100000));
    case 4:
        return json_true();
    case 5:
        return json_false();
    case 6:
        return json_null();
    default:
        return json_integer(-(json_int_t)(rnd() % 1000));
    }
}

START_TEST(test_random)
{
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_value(1 + i % 6);
        ck_assert_ptr_nonnull(v);
        assert_same(v);
        json_decref(v);
    }
}
END_TEST

START_TEST(test_refused)
{
    bytebuf b = {0};
    json_t *v = json_pack("{s:[i, f]}", "a", 1, 1.5);
    json_t *deep = json_array(), *cur = deep;

    ck_assert_int_eq(json_out_compact(v, &b), NT_EINVAL);
    ck_assert_int_eq(json_out_compact(NULL, &b), NT_EINVAL);
    for (int i = 1; i < JSON_OUT_MAX_DEPTH; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    assert_same(deep); /* exactly the limit */
    json_array_append_new(cur, json_array());
    b.len = 0;
    ck_assert_int_eq(json_out_compact(deep, &b), NT_EINVAL);
    json_decref(deep);
    json_decref(v);
    bytebuf_free(&b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("json_out");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_fixed);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

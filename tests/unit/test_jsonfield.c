/* Tests of the JSON field readers behind json_get_int/str/bool/metadata (core/jsonfield.c),
 * shared by the host and the fake host: types, required fields, and the metadata caps.
 */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonfield.h"

static char last_msg[512];
static int last_code;

static int test_fail(nt_req *r, int code, const char *fmt, ...) NT_PRINTF(3, 4);

/* The fail() the readers are given: records the message and code. */
static int
test_fail(nt_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    (void)r;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

static void
reset(void)
{
    last_msg[0] = '\0';
    last_code = 0;
}

/* Reads body["metadata"] of the JSON text `text`. */
static int
read_meta(const char *text, json_t **out, int *present)
{
    json_t *body = json_loads(text, 0, NULL);
    int rc;

    ck_assert_msg(body != NULL, "bad test JSON: %s", text);
    reset();
    rc = jsonfield_metadata(test_fail, NULL, body, "metadata", 0, out, present);
    json_decref(body); /* *out is borrowed from body: only compared by the caller before */
    return rc;
}

/* A body {"metadata": {k0: v, ...}} with n keys of key_len bytes and values of val_len. */
static json_t *
meta_body(size_t n, size_t key_len, size_t val_len)
{
    json_t *m = json_object(), *body;
    char key[256], *val = malloc(val_len + 1);

    ck_assert(val != NULL && key_len < sizeof(key) && key_len >= 8);
    memset(val, 'v', val_len);
    val[val_len] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%08zu", i);
        memset(key + 8, 'k', key_len - 8);
        key[key_len] = '\0';
        ck_assert_int_eq(json_object_set_new(m, key, json_string(val)), 0);
    }
    free(val);
    body = json_pack("{s:o}", "metadata", m);
    ck_assert(body != NULL);
    return body;
}

static int
read_body(const json_t *body)
{
    json_t *out = NULL;

    reset();
    return jsonfield_metadata(test_fail, NULL, body, "metadata", 0, &out, NULL);
}

START_TEST(test_types)
{
    json_t *body = json_loads("{\"i\":5,\"s\":\"x\",\"b\":true,\"n\":null,\"f\":1.5}", 0, NULL);
    int64_t i = 0;
    const char *str = NULL;
    int b = 0, present = -1;

    ck_assert_int_eq(jsonfield_int(test_fail, NULL, body, "i", 1, &i, &present), NT_OK);
    ck_assert_int_eq(i, 5);
    ck_assert_int_eq(present, 1);
    ck_assert_int_eq(jsonfield_str(test_fail, NULL, body, "s", 1, &str, NULL), NT_OK);
    ck_assert_str_eq(str, "x");
    ck_assert_int_eq(jsonfield_bool(test_fail, NULL, body, "b", 1, &b, NULL), NT_OK);
    ck_assert_int_eq(b, 1);
    /* null and absent: not present; an error only when required */
    ck_assert_int_eq(jsonfield_int(test_fail, NULL, body, "n", 0, &i, &present), NT_OK);
    ck_assert_int_eq(present, 0);
    reset();
    ck_assert_int_eq(jsonfield_int(test_fail, NULL, body, "zz", 1, &i, &present), NT_EINVAL);
    ck_assert_str_eq(last_msg, "zz: required");
    reset();
    ck_assert_int_eq(jsonfield_int(test_fail, NULL, body, "f", 0, &i, NULL), NT_EINVAL);
    ck_assert_str_eq(last_msg, "f: expected an integer");
    ck_assert_int_eq(jsonfield_str(test_fail, NULL, body, "i", 0, &str, NULL), NT_EINVAL);
    ck_assert_int_eq(jsonfield_bool(test_fail, NULL, body, "s", 0, &b, NULL), NT_EINVAL);
    json_decref(body);
}
END_TEST

START_TEST(test_metadata_shape)
{
    json_t *out = NULL;
    int present = -1;

    ck_assert_int_eq(read_meta("{\"metadata\":{\"a\":\"1\",\"\":\"empty key\"}}", &out, &present),
                     NT_OK);
    ck_assert_int_eq(present, 1);
    ck_assert_int_eq(read_meta("{}", &out, &present), NT_OK);
    ck_assert_int_eq(present, 0);
    ck_assert_int_eq(read_meta("{\"metadata\":[\"a\"]}", &out, NULL), NT_EINVAL);
    ck_assert_str_eq(last_msg, "metadata: expected an object of strings");
    ck_assert_int_eq(read_meta("{\"metadata\":{\"n\":1}}", &out, NULL), NT_EINVAL);
    ck_assert_str_eq(last_msg, "metadata: the value of 'n' must be a string");
}
END_TEST

/* Exactly at every cap is accepted; one past each is 400 with the limit named. */
START_TEST(test_metadata_caps)
{
    json_t *body;

    body = meta_body(JSONFIELD_META_MAX_KEYS, JSONFIELD_META_MAX_KEY_BYTES,
                     JSONFIELD_META_MAX_VALUE_BYTES);
    ck_assert_int_eq(read_body(body), NT_OK);
    json_decref(body);

    body = meta_body(JSONFIELD_META_MAX_KEYS + 1, 8, 1);
    ck_assert_int_eq(read_body(body), NT_EINVAL);
    ck_assert_int_eq(last_code, NT_EINVAL);
    ck_assert_str_eq(last_msg, "metadata: at most 50 keys (got 51)");
    json_decref(body);

    body = meta_body(1, JSONFIELD_META_MAX_KEY_BYTES + 1, 1);
    ck_assert_int_eq(read_body(body), NT_EINVAL);
    ck_assert_msg(strstr(last_msg, "metadata: the key '00000000kk") == last_msg &&
                      strstr(last_msg, "longer than 64 bytes") != NULL,
                  "%s", last_msg);
    json_decref(body);

    body = meta_body(1, 8, JSONFIELD_META_MAX_VALUE_BYTES + 1);
    ck_assert_int_eq(read_body(body), NT_EINVAL);
    ck_assert_str_eq(last_msg, "metadata: the value of '00000000' is longer than 512 bytes (513)");
    json_decref(body);

    /* multi-byte UTF-8 counts in bytes: 300 x "é" is 600 bytes */
    {
        char text[1024] = "{\"metadata\":{\"k\":\"";
        json_t *out = NULL;
        for (int i = 0; i < 300; i++)
            strcat(text, "\xc3\xa9");
        strcat(text, "\"}}");
        ck_assert_int_eq(read_meta(text, &out, NULL), NT_EINVAL);
        ck_assert_msg(strstr(last_msg, "(600)") != NULL, "%s", last_msg);
    }
}
END_TEST

/* 100k keys are refused by their count, before anything walks them. */
START_TEST(test_metadata_many_keys_fast)
{
    json_t *body = meta_body(100000, 8, 1);
    struct timespec t0, t1;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(read_body(body), NT_EINVAL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_str_eq(last_msg, "metadata: at most 50 keys (got 100000)");
    ck_assert_msg(ms < 50.0, "refusing 100k keys took %.1f ms", ms);
    json_decref(body);
}
END_TEST

static Suite *
jsonfield_suite(void)
{
    Suite *s = suite_create("jsonfield");
    TCase *tc = tcase_create("readers");

    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_metadata_shape);
    tcase_add_test(tc, test_metadata_caps);
    tcase_add_test(tc, test_metadata_many_keys_fast);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(jsonfield_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

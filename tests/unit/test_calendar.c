/* Unit tests of the calendar plugin's pure parts: create and update bodies (nested, flat and
 * both; timezones; weekdays as names and as 0..6) and the calendar wire object.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cal.h"

/* Parses a JSON literal of the test tables; aborts the test on a typo. */
static json_t *
parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    ck_assert_msg(v != NULL, "bad test JSON '%s': %s", text, e.text);
    return v;
}

struct body_case {
    const char *body;
    int rc;
    const char *timezone; /* expected on success; NULL = not given */
    int week_start;       /* expected on success */
    const char *msg;      /* expected message prefix on failure */
};

static const struct body_case create_cases[] = {
    {"{\"timezone\":\"UTC\"}", NT_OK, "UTC", 0, NULL},
    {"{\"timezone\":\"Europe/Oslo\",\"weekStart\":\"Sun\"}", NT_OK, "Europe/Oslo", 6, NULL},
    {"{\"timezone\":\"US/Eastern\",\"weekStart\":null}", NT_OK, "US/Eastern", 0, NULL},
    {"{\"timezone\":\"Etc/UTC\",\"weekStart\":\"monday\"}", NT_OK, "Etc/UTC", 0, NULL},
    {"{\"timezone\":\"GMT\",\"weekStart\":\"WEDNESDAY\"}", NT_OK, "GMT", 2, NULL},
    {"{\"timezone\":\"UTC\",\"weekStart\":\"tue\"}", NT_OK, "UTC", 1, NULL},
    {"{\"timezone\":\"UTC\",\"weekStart\":0}", NT_OK, "UTC", 0, NULL},
    {"{\"timezone\":\"UTC\",\"weekStart\":3}", NT_OK, "UTC", 3, NULL},
    {"{\"timezone\":\"UTC\",\"weekStart\":6}", NT_OK, "UTC", 6, NULL},
    {"{\"timezone\":\"UTC\",\"metadata\":{\"a\":\"b\"},\"extra\":1}", NT_OK, "UTC", 0, NULL},
    {"{}", NT_EINVAL, NULL, 0, "timezone: required"},
    {"{\"timezone\":null}", NT_EINVAL, NULL, 0, "timezone: required"},
    {"{\"timezone\":5}", NT_EINVAL, NULL, 0, "timezone: expected a string"},
    {"{\"timezone\":\"Mars/Olympus\"}", NT_EINVAL, NULL, 0,
     "timezone: unknown IANA time zone 'Mars/Olympus'"},
    {"{\"timezone\":\"utc\"}", NT_EINVAL, NULL, 0, "timezone: unknown IANA time zone 'utc'"},
    {"{\"timezone\":\"\"}", NT_EINVAL, NULL, 0, "timezone: unknown IANA time zone ''"},
    {"{\"timezone\":\"../../etc/passwd\"}", NT_EINVAL, NULL, 0, "timezone: unknown"},
    {"{\"timezone\":\"UTC\",\"weekStart\":\"Mo\"}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"timezone\":\"UTC\",\"weekStart\":7}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"timezone\":\"UTC\",\"weekStart\":-1}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"timezone\":\"UTC\",\"weekStart\":1.0}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"timezone\":\"UTC\",\"weekStart\":\"1\"}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"timezone\":\"UTC\",\"weekStart\":true}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"[]", NT_EINVAL, NULL, 0, "body: expected a JSON object"},
};

static const struct body_case update_cases[] = {
    /* nothing given: nothing changes */
    {"{}", NT_OK, NULL, -1, NULL},
    {"{\"settings\":null,\"metadata\":{}}", NT_OK, NULL, -1, NULL},
    {"{\"settings\":{}}", NT_OK, NULL, -1, NULL},
    /* the original nested form, weekStart as a name or a number (published client forms) */
    {"{\"settings\":{\"timezone\":\"Europe/Berlin\",\"weekStart\":2}}", NT_OK, "Europe/Berlin", 2,
     NULL},
    {"{\"settings\":{\"timezone\":\"UTC\",\"weekStart\":\"Sat\"}}", NT_OK, "UTC", 5, NULL},
    {"{\"settings\":{\"weekStart\":\"sunday\"}}", NT_OK, NULL, 6, NULL},
    {"{\"settings\":{\"timezone\":\"Asia/Tokyo\",\"weekStart\":null}}", NT_OK, "Asia/Tokyo", -1,
     NULL},
    /* the flat form of the end-user client */
    {"{\"timezone\":\"UTC\",\"weekStart\":\"Fri\"}", NT_OK, "UTC", 4, NULL},
    {"{\"timezone\":\"America/New_York\"}", NT_OK, "America/New_York", -1, NULL},
    {"{\"weekStart\":0}", NT_OK, NULL, 0, NULL},
    {"{\"weekStart\":\"monday\",\"timezone\":null}", NT_OK, NULL, 0, NULL},
    /* both: settings wins field by field, the rest comes from the top level */
    {"{\"settings\":{\"timezone\":\"Asia/Tokyo\"},\"timezone\":\"UTC\",\"weekStart\":3}", NT_OK,
     "Asia/Tokyo", 3, NULL},
    {"{\"settings\":{\"weekStart\":1},\"weekStart\":5,\"timezone\":\"UTC\"}", NT_OK, "UTC", 1,
     NULL},
    {"{\"settings\":{\"timezone\":null,\"weekStart\":null},\"timezone\":\"GMT\",\"weekStart\":6}",
     NT_OK, "GMT", 6, NULL},
    {"{\"settings\":{\"timezone\":\"UTC\"},\"timezone\":\"Mars/Olympus\"}", NT_OK, "UTC", -1, NULL},
    {"{\"settings\":{\"weekStart\":\"Tue\"},\"weekStart\":\"Mo\"}", NT_OK, NULL, 1, NULL},
    /* errors */
    {"{\"settings\":\"UTC\"}", NT_EINVAL, NULL, 0, "settings: expected an object"},
    {"{\"settings\":[]}", NT_EINVAL, NULL, 0, "settings: expected an object"},
    {"{\"settings\":{\"timezone\":\"Mars/Olympus\"}}", NT_EINVAL, NULL, 0,
     "settings.timezone: unknown IANA time zone 'Mars/Olympus'"},
    {"{\"settings\":{\"timezone\":1}}", NT_EINVAL, NULL, 0, "settings.timezone: expected a string"},
    {"{\"timezone\":\"Mars/Olympus\"}", NT_EINVAL, NULL, 0,
     "timezone: unknown IANA time zone 'Mars/Olympus'"},
    {"{\"settings\":{},\"timezone\":\"Mars/Olympus\"}", NT_EINVAL, NULL, 0,
     "timezone: unknown IANA time zone 'Mars/Olympus'"},
    {"{\"settings\":{\"weekStart\":7}}", NT_EINVAL, NULL, 0, "settings.weekStart: expected"},
    {"{\"settings\":{\"weekStart\":\"Mo\"}}", NT_EINVAL, NULL, 0, "settings.weekStart: expected"},
    {"{\"weekStart\":7}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"weekStart\":\"Mo\"}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"weekStart\":-1,\"timezone\":\"UTC\"}", NT_EINVAL, NULL, 0, "weekStart: expected"},
    {"{\"settings\":{\"timezone\":\"UTC\",\"weekStart\":9}}", NT_EINVAL, NULL, 0,
     "settings.weekStart: expected"},
    {"\"x\"", NT_EINVAL, NULL, 0, "body: expected a JSON object"},
};

/* Runs one table row through `fn` and checks code, settings and message. */
static void
check_body_case(int (*fn)(const json_t *, cal_settings *, char *, size_t),
                const struct body_case *c)
{
    json_t *body = parse(c->body);
    cal_settings s;
    char err[256] = "";
    int rc = fn(body, &s, err, sizeof(err));

    ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d (%s)", c->body, rc, c->rc, err);
    if (rc == NT_OK) {
        if (c->timezone == NULL)
            ck_assert_msg(s.timezone == NULL, "%s: timezone '%s'", c->body, s.timezone);
        else
            ck_assert_msg(s.timezone != NULL && strcmp(s.timezone, c->timezone) == 0,
                          "%s: timezone '%s', expected '%s'", c->body,
                          s.timezone ? s.timezone : "(null)", c->timezone);
        ck_assert_msg(s.week_start == c->week_start, "%s: weekStart %d, expected %d", c->body,
                      s.week_start, c->week_start);
    } else {
        ck_assert_msg(strncmp(err, c->msg, strlen(c->msg)) == 0,
                      "%s: message '%s', expected '%s...'", c->body, err, c->msg);
    }
    json_decref(body);
}

START_TEST(test_create_body)
{
    check_body_case(cal_body_create, &create_cases[_i]);
}
END_TEST

START_TEST(test_update_body)
{
    check_body_case(cal_body_update, &update_cases[_i]);
}
END_TEST

START_TEST(test_error_buffer_small)
{
    json_t *body = parse("{\"timezone\":\"Mars/Olympus\"}");
    cal_settings s;
    char err[8];

    ck_assert_int_eq(cal_body_create(body, &s, err, sizeof(err)), NT_EINVAL);
    ck_assert_str_eq(err, "timezon");
    ck_assert_int_eq(cal_body_create(body, &s, NULL, 0), NT_EINVAL);
    json_decref(body);
}
END_TEST

START_TEST(test_row_json)
{
    cal_row row = {0};
    json_t *got, *want, *reply = NULL;

    row.id = strdup("5f1c1a36-3b8e-4a43-9d7c-2a1f0a0c0b01");
    row.user_id = strdup("0b0c0a0f-1f2a-4c7d-9e3a-8e3b6a3c1f5e");
    row.timezone = strdup("Europe/Oslo");
    row.week_start = 6;
    row.metadata = parse("{\"team\":\"red\"}");
    got = cal_row_json(&row);
    want = parse("{\"id\":\"5f1c1a36-3b8e-4a43-9d7c-2a1f0a0c0b01\","
                 "\"userId\":\"0b0c0a0f-1f2a-4c7d-9e3a-8e3b6a3c1f5e\","
                 "\"settings\":{\"weekStart\":\"Sun\",\"timezone\":\"Europe/Oslo\"},"
                 "\"metadata\":{\"team\":\"red\"}}");
    ck_assert(got != NULL);
    ck_assert(json_equal(got, want));
    /* the wire object holds a copy of the metadata, not the row's */
    ck_assert(json_object_get(got, "metadata") != row.metadata);

    ck_assert_int_eq(cal_row_reply(&row, 201, &reply), 201);
    ck_assert(json_equal(json_object_get(reply, "calendar"), want));
    ck_assert_int_eq(json_object_size(reply), 1);
    json_decref(reply);
    json_decref(got);

    /* no metadata object prints {} */
    json_decref(row.metadata);
    row.metadata = NULL;
    row.week_start = 0;
    got = cal_row_json(&row);
    ck_assert(got != NULL);
    ck_assert_int_eq(json_object_size(json_object_get(got, "metadata")), 0);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(got, "settings"), "weekStart")), "Mon");
    json_decref(got);

    /* a week start out of range is refused */
    row.week_start = 7;
    ck_assert(cal_row_json(&row) == NULL);
    reply = NULL;
    ck_assert_int_eq(cal_row_reply(&row, 200, &reply), NT_ENOMEM);
    ck_assert(reply == NULL);
    row.week_start = -1;
    ck_assert(cal_row_json(&row) == NULL);

    cal_row_clear(&row);
    ck_assert(row.id == NULL && row.metadata == NULL);
    cal_row_clear(&row);
    cal_row_clear(NULL);
    json_decref(want);
}
END_TEST

static Suite *
calendar_suite(void)
{
    Suite *s = suite_create("calendar");
    TCase *tc = tcase_create("body");

    tcase_add_loop_test(tc, test_create_body, 0, sizeof(create_cases) / sizeof(create_cases[0]));
    tcase_add_loop_test(tc, test_update_body, 0, sizeof(update_cases) / sizeof(update_cases[0]));
    tcase_add_test(tc, test_error_buffer_small);
    suite_add_tcase(s, tc);
    tc = tcase_create("row");
    tcase_add_test(tc, test_row_json);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(calendar_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

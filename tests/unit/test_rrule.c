/* Unit tests of the recurrence object (and the published client's input forms): accepted input
 * forms and their printed form, and every validation error naming its field; also the other
 * pure body parsers of the events plugin: reminders with the compat `reminder` (the client's
 * row 6) and the ISO-8601 times of the multi-user free/busy body.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "rrule.h"

#define START 1609750800000LL /* 2021-01-04T09:00:00Z */

static json_t *
parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    ck_assert_msg(v != NULL, "bad test JSON '%s': %s", text, e.text);
    return v;
}

struct ok_case {
    const char *in;
    const char *out; /* printed form, keys sorted */
};

#define NULLS_AFTER_FREQ                                                                           \
    "\"bymonth\":null,\"bymonthday\":null,\"bysetpos\":null,\"byweekday\":null,"                   \
    "\"byweekno\":null,\"byyearday\":null"

static const struct ok_case ok_cases[] = {
    {"{\"freq\":\"daily\",\"interval\":1}",
     "{" NULLS_AFTER_FREQ ",\"count\":null,\"freq\":\"daily\",\"interval\":1,\"until\":null}"},
    {"{\"freq\":\"WEEKLY\",\"interval\":2,\"count\":739}",
     "{" NULLS_AFTER_FREQ ",\"count\":739,\"freq\":\"weekly\",\"interval\":2,\"until\":null}"},
    {"{\"freq\":\"Monthly\",\"interval\":1,\"until\":1609750800000}",
     "{" NULLS_AFTER_FREQ ",\"count\":null,\"freq\":\"monthly\",\"interval\":1,"
     "\"until\":1609750800000}"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"until\":1672995600000}",
     "{" NULLS_AFTER_FREQ ",\"count\":null,\"freq\":\"yearly\",\"interval\":1,"
     "\"until\":1672995600000}"},
    /* every optional key null (clients echo the printed object back) */
    {"{\"freq\":\"daily\",\"interval\":1,\"count\":null,\"until\":null,\"bysetpos\":null,"
     "\"byweekday\":null,\"bymonthday\":null,\"bymonth\":null,\"byyearday\":null,"
     "\"byweekno\":null,\"unknownKey\":5}",
     "{" NULLS_AFTER_FREQ ",\"count\":null,\"freq\":\"daily\",\"interval\":1,\"until\":null}"},
    /* weekday forms: names, ordinals, RFC codes, integers, long names; duplicates dropped */
    {"{\"freq\":\"monthly\",\"interval\":1,\"byweekday\":[\"Mon\",\"1Mon\",\"+2Tue\","
     "\"-1Fri\",\"MO\",\"1MO\",\"-1FR\",0,6,\"sunday\",\"we\",\"499sat\",\"-499SU\"]}",
     "{\"bymonth\":null,\"bymonthday\":null,\"bysetpos\":null,\"byweekday\":[\"Mon\","
     "\"1Mon\",\"2Tue\",\"-1Fri\",\"Sun\",\"Wed\",\"499Sat\",\"-499Sun\"],\"byweekno\":null,"
     "\"byyearday\":null,\"count\":null,\"freq\":\"monthly\",\"interval\":1,\"until\":null}"},
    /* months as numbers and names */
    {"{\"freq\":\"yearly\",\"interval\":1,\"bymonth\":[1,\"February\",\"mar\",\"DEC\",1]}",
     "{\"bymonth\":[1,2,3,12],\"bymonthday\":null,\"bysetpos\":null,\"byweekday\":null,"
     "\"byweekno\":null,\"byyearday\":null,\"count\":null,\"freq\":\"yearly\",\"interval\":1,"
     "\"until\":null}"},
    /* ranges at their limits; bymonthday 0 is accepted (and ignored when expanding) */
    {"{\"freq\":\"yearly\",\"interval\":65535,\"bymonthday\":[31,-31,0],\"byyearday\":[366,"
     "-366],\"byweekno\":[53,-53],\"bysetpos\":[366,-366]}",
     "{\"bymonth\":null,\"bymonthday\":[31,-31,0],\"bysetpos\":[366,-366],\"byweekday\":null,"
     "\"byweekno\":[53,-53],\"byyearday\":[366,-366],\"count\":null,\"freq\":\"yearly\","
     "\"interval\":65535,\"until\":null}"},
    /* ordinals in weekly and daily rules are accepted (dateutil reads them as plain days) */
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"1Mon\",\"-1FR\"]}",
     "{\"bymonth\":null,\"bymonthday\":null,\"bysetpos\":null,\"byweekday\":[\"1Mon\","
     "\"-1Fri\"],\"byweekno\":null,\"byyearday\":null,\"count\":null,\"freq\":\"weekly\","
     "\"interval\":1,\"until\":null}"},
    /* empty lists are "not set" */
    {"{\"freq\":\"daily\",\"interval\":1,\"bymonth\":[],\"byweekday\":[]}",
     "{" NULLS_AFTER_FREQ ",\"count\":null,\"freq\":\"daily\",\"interval\":1,\"until\":null}"},
};

START_TEST(test_ok)
{
    const struct ok_case *c = &ok_cases[_i];
    json_t *in = parse(c->in), *out, *again;
    ev_rrule r, r2;
    char err[256] = "", *s;

    ck_assert_msg(ev_rrule_parse(in, START, &r, err, sizeof(err)) == 0, "%s: %s", c->in, err);
    out = ev_rrule_json(&r);
    ck_assert_ptr_nonnull(out);
    s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(s, c->out);
    /* the printed form reads back to the same rule */
    ck_assert_int_eq(ev_rrule_parse(out, START, &r2, err, sizeof(err)), 0);
    again = ev_rrule_json(&r2);
    ck_assert(json_equal(out, again));
    free(s);
    json_decref(again);
    json_decref(out);
    json_decref(in);
}
END_TEST

struct bad_case {
    const char *in;
    const char *field; /* the message must start with this */
};

static const struct bad_case bad_cases[] = {
    {"[]", "recurrence:"},
    {"\"daily\"", "recurrence:"},
    {"{\"interval\":1}", "recurrence.freq:"},
    {"{\"freq\":null,\"interval\":1}", "recurrence.freq:"},
    {"{\"freq\":\"hourly\",\"interval\":1}", "recurrence.freq:"},
    {"{\"freq\":1,\"interval\":1}", "recurrence.freq:"},
    {"{\"freq\":\"daily\"}", "recurrence.interval:"},
    {"{\"freq\":\"daily\",\"interval\":0}", "recurrence.interval:"},
    {"{\"freq\":\"daily\",\"interval\":-1}", "recurrence.interval:"},
    {"{\"freq\":\"daily\",\"interval\":1.5}", "recurrence.interval:"},
    {"{\"freq\":\"daily\",\"interval\":\"1\"}", "recurrence.interval:"},
    {"{\"freq\":\"daily\",\"interval\":65536}", "recurrence.interval:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"count\":0}", "recurrence.count:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"count\":740}", "recurrence.count:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"count\":\"5\"}", "recurrence.count:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"until\":1609750799999}", "recurrence.until:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"until\":1672995600001}", "recurrence.until:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"until\":1.5}", "recurrence.until:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bysetpos\":[1]}", "recurrence.bysetpos:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bysetpos\":[1],\"byweekday\":[]}",
     "recurrence.bysetpos:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bysetpos\":[0],\"byweekday\":[0]}",
     "recurrence.bysetpos:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bysetpos\":[367],\"byweekday\":[0]}",
     "recurrence.bysetpos:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"bymonth\":[0]}", "recurrence.bymonth:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"bymonth\":[13]}", "recurrence.bymonth:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"bymonth\":[\"Foo\"]}", "recurrence.bymonth:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"bymonth\":3}", "recurrence.bymonth:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bymonthday\":[32]}", "recurrence.bymonthday:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bymonthday\":[-32]}", "recurrence.bymonthday:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"bymonthday\":[\"1\"]}", "recurrence.bymonthday:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"byyearday\":[0]}", "recurrence.byyearday:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"byyearday\":[367]}", "recurrence.byyearday:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"byweekno\":[0]}", "recurrence.byweekno:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"byweekno\":[54]}", "recurrence.byweekno:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"byweekno\":[-54]}", "recurrence.byweekno:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"Xyz\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[7]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[-1]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"0Mon\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"500Mon\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"+Mon\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"1\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[true]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":[\"M\"]}", "recurrence.byweekday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekday\":\"Mon\"}", "recurrence.byweekday:"},
    /* combinations RFC 5545 (3.3.10) forbids, which libical cannot iterate */
    {"{\"freq\":\"monthly\",\"interval\":1,\"byweekno\":[1]}", "recurrence.byweekno:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byweekno\":[1]}", "recurrence.byweekno:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"byweekno\":[-1]}", "recurrence.byweekno:"},
    {"{\"freq\":\"monthly\",\"interval\":1,\"byyearday\":[1]}", "recurrence.byyearday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"byyearday\":[1]}", "recurrence.byyearday:"},
    {"{\"freq\":\"daily\",\"interval\":1,\"byyearday\":[-1]}", "recurrence.byyearday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"bymonthday\":[1]}", "recurrence.bymonthday:"},
    {"{\"freq\":\"weekly\",\"interval\":1,\"bymonthday\":[0]}", "recurrence.bymonthday:"},
    {"{\"freq\":\"yearly\",\"interval\":1,\"byweekno\":[20],\"byweekday\":[\"1Mon\"]}",
     "recurrence.byweekday:"},
};

START_TEST(test_bad)
{
    const struct bad_case *c = &bad_cases[_i];
    json_t *in = parse(c->in);
    ev_rrule r;
    char err[256] = "";

    ck_assert_msg(ev_rrule_parse(in, START, &r, err, sizeof(err)) == -1, "%s: accepted", c->in);
    ck_assert_msg(strncmp(err, c->field, strlen(c->field)) == 0, "%s: message '%s'", c->in, err);
    json_decref(in);
}
END_TEST

/* until is checked against the start it is given: the same rule fails for a later start. */
START_TEST(test_until_follows_start)
{
    json_t *in = parse("{\"freq\":\"daily\",\"interval\":1,\"until\":1609837200000}");
    ev_rrule r;
    char err[256];

    ck_assert_int_eq(ev_rrule_parse(in, START, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.has_until, 1);
    ck_assert_int_eq(ev_rrule_parse(in, START + 2 * 86400000LL, &r, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "recurrence.until: must be between startTs (1609923600000) and "
                          "startTs + 63244800000 ms (2 x 366 days)");
    json_decref(in);
}
END_TEST

/* Recurring events start within the years 1..9999. */
START_TEST(test_start_range)
{
    json_t *in = parse("{\"freq\":\"daily\",\"interval\":1,\"count\":3}");
    ev_rrule r;
    char err[256];

    ck_assert_int_eq(ev_rrule_parse(in, -62135596800000LL, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(ev_rrule_parse(in, 253402300799999LL, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(ev_rrule_parse(in, -62135596800001LL, &r, err, sizeof(err)), -1);
    ck_assert_int_eq(strncmp(err, "recurrence: a recurring event must start", 40), 0);
    ck_assert_int_eq(ev_rrule_parse(in, 253402300800000LL, &r, err, sizeof(err)), -1);
    ck_assert_int_eq(ev_rrule_parse(in, INT64_MIN, &r, err, sizeof(err)), -1);
    json_decref(in);
}
END_TEST

/* A small error buffer truncates, never overflows. */
START_TEST(test_small_err)
{
    json_t *in = parse("{\"freq\":\"daily\",\"interval\":0}");
    ev_rrule r;
    char err[8];

    ck_assert_int_eq(ev_rrule_parse(in, START, &r, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "recurre");
    json_decref(in);
}
END_TEST

struct rem_case {
    const char *body;
    int rc, present;
    const char *out; /* compact JSON of the result, or the message prefix on failure */
};

static const struct rem_case rem_cases[] = {
    {"{}", 0, 0, "[]"},
    {"{\"reminders\":null,\"reminder\":null}", 0, 0, "[]"},
    {"{\"reminders\":[]}", 0, 1, "[]"},
    {"{\"reminders\":[{\"delta\":-15,\"identifier\":\"email\",\"x\":1}]}", 0, 1,
     "[{\"delta\":-15,\"identifier\":\"email\"}]"},
    {"{\"reminders\":[{\"delta\":535680,\"identifier\":\"a\"},{\"delta\":-535680,"
     "\"identifier\":\"b\"}]}",
     0, 1, "[{\"delta\":535680,\"identifier\":\"a\"},{\"delta\":-535680,\"identifier\":\"b\"}]"},
    {"{\"reminder\":{\"minutesBefore\":15}}", 0, 1,
     "[{\"delta\":-15,\"identifier\":\"reminder\"}]"},
    {"{\"reminder\":{\"minutesBefore\":0}}", 0, 1, "[{\"delta\":0,\"identifier\":\"reminder\"}]"},
    {"{\"reminders\":[{\"delta\":5,\"identifier\":\"a\"}],\"reminder\":{\"minutesBefore\":"
     "1440}}",
     0, 1, "[{\"delta\":5,\"identifier\":\"a\"},{\"delta\":-1440,\"identifier\":\"reminder\"}]"},
    {"{\"reminders\":{}}", -1, 0, "reminders:"},
    {"{\"reminders\":[1]}", -1, 0, "reminders[0]:"},
    {"{\"reminders\":[{\"identifier\":\"a\"}]}", -1, 0, "reminders[0].delta:"},
    {"{\"reminders\":[{\"delta\":1.5,\"identifier\":\"a\"}]}", -1, 0, "reminders[0].delta:"},
    {"{\"reminders\":[{\"delta\":1}]}", -1, 0, "reminders[0].identifier:"},
    {"{\"reminders\":[{\"delta\":1,\"identifier\":\"a\"},{\"delta\":535681,"
     "\"identifier\":\"b\"}]}",
     -1, 0, "reminders[1].delta:"},
    {"{\"reminders\":[{\"delta\":-535681,\"identifier\":\"b\"}]}", -1, 0, "reminders[0].delta:"},
    {"{\"reminder\":{\"minutesBefore\":1441}}", -1, 0, "reminder.minutesBefore:"},
    {"{\"reminder\":{\"minutesBefore\":-1}}", -1, 0, "reminder.minutesBefore:"},
    {"{\"reminder\":{}}", -1, 0, "reminder.minutesBefore:"},
    {"{\"reminder\":15}", -1, 0, "reminder.minutesBefore:"},
};

START_TEST(test_reminders)
{
    const struct rem_case *c = &rem_cases[_i];
    json_t *body = parse(c->body), *out = NULL;
    char err[256] = "", *s;
    int present = -1;

    ck_assert_int_eq(ev_reminders_read(body, &out, &present, err, sizeof(err)), c->rc);
    if (c->rc == 0) {
        ck_assert_int_eq(present, c->present);
        s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_str_eq(s, c->out);
        free(s);
    } else {
        ck_assert_ptr_null(out);
        ck_assert_msg(strncmp(err, c->out, strlen(c->out)) == 0, "%s: '%s'", c->body, err);
    }
    json_decref(out);
    json_decref(body);
}
END_TEST

struct iso_case {
    const char *in;
    int rc;
    int64_t ms;
};

/* Expected values from python: datetime(...).timestamp() * 1000. */
static const struct iso_case iso_cases[] = {
    {"2030-01-01T00:00:00Z", 0, 1893456000000LL},
    {"2030-01-01T00:00:00.5Z", 0, 1893456000500LL},
    {"2030-01-01T00:00:00.123456789Z", 0, 1893456000123LL},
    {"2024-02-29T23:59:59.999Z", 0, 1709251199999LL},
    {"1970-01-01T00:00:00Z", 0, 0},
    {"1969-12-31T23:59:59Z", 0, -1000},
    {"2023-02-29T00:00:00Z", -1, 0},
    {"2030-01-01T00:00:00", -1, 0},
    {"2030-01-01T00:00:00+00:00", -1, 0},
    {"2030-01-01 00:00:00Z", -1, 0},
    {"2030-01-01T24:00:00Z", -1, 0},
    {"2030-01-01T00:60:00Z", -1, 0},
    {"2030-13-01T00:00:00Z", -1, 0},
    {"2030-01-01T00:00:00.Z", -1, 0},
    {"2030-01-01T00:00:00.1234567891Z", -1, 0},
    {"2030-1-01T00:00:00Z", -1, 0},
    {"2030-01-01T00:00:00Zjunk", -1, 0},
    {"", -1, 0},
};

START_TEST(test_iso)
{
    const struct iso_case *c = &iso_cases[_i];
    int64_t ms = 42;

    ck_assert_msg(ev_iso_parse(c->in, &ms) == c->rc, "%s", c->in);
    if (c->rc == 0)
        ck_assert_msg(ms == c->ms, "%s: %lld", c->in, (long long)ms);
}
END_TEST

static Suite *
rrule_suite(void)
{
    Suite *s = suite_create("rrule");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_ok, 0, sizeof(ok_cases) / sizeof(ok_cases[0]));
    tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_until_follows_start);
    tcase_add_test(tc, test_start_range);
    tcase_add_test(tc, test_small_err);
    suite_add_tcase(s, tc);
    tc = tcase_create("body");
    tcase_add_loop_test(tc, test_reminders, 0, sizeof(rem_cases) / sizeof(rem_cases[0]));
    tcase_add_loop_test(tc, test_iso, 0, sizeof(iso_cases) / sizeof(iso_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rrule_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

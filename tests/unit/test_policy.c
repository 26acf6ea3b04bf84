/* Unit tests of the policy plugin: the plugin's init on the shared fake host (tests/support), the
 * allow/reject truth table through the provided service ops, and policy validation.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/services.h>

#include "fakehost.h"
#include "policy_rules.h"

const nt_plugin_desc *nt_plugin_entry(void);

/* The shared fake host (tests/support) runs the plugin's init; fk holds the last service
 * the plugin provided. */
static fh_host *host;

static struct {
    int provided;
    const char *kind, *name;
    uint32_t version;
    const nt_policy_v1 *ops;
    void *state;
} fk;

/* Runs the plugin's init on a new host with a section holding `keys`; returns its result. */
static int
fk_run_init(const char *const *keys)
{
    const fh_service *s;
    fh_plugin *p;
    int rc;

    fh_free(host);
    host = fh_new();
    ck_assert_ptr_nonnull(host);
    memset(&fk, 0, sizeof(fk));
    for (size_t i = 0; keys[i] != NULL; i++)
        ck_assert_int_eq(fh_config_set(host, "policy", keys[i], "x"), NT_OK);
    p = fh_adopt(host, nt_plugin_entry());
    ck_assert_ptr_nonnull(p);
    rc = fh_init(p);
    fk.provided = fh_service_count(host);
    if (fk.provided > 0) {
        s = fh_service_at(host, fk.provided - 1);
        fk.kind = s->kind;
        fk.name = s->name;
        fk.version = s->version;
        fk.ops = s->ops;
        fk.state = s->state;
    }
    return rc;
}

/* Frees the host of the test (and the plugin's state with it). */
static void
fk_teardown(void)
{
    fh_free(host);
    host = NULL;
}

/* Parses JSON text for a test; NULL text gives NULL. */
static json_t *
js(const char *text)
{
    json_t *v;

    if (text == NULL)
        return NULL;
    v = json_loads(text, JSON_DECODE_ANY, NULL);
    ck_assert_msg(v != NULL, "bad test JSON: %s", text);
    return v;
}

START_TEST(test_descriptor)
{
    const nt_plugin_desc *d = nt_plugin_entry();

    ck_assert_uint_eq(d->magic, NT_ABI_MAGIC);
    ck_assert_uint_eq(d->abi_major, NT_ABI_MAJOR);
    ck_assert_uint_eq(d->abi_minor, NT_ABI_MINOR);
    ck_assert_uint_eq(d->size, sizeof(nt_plugin_desc));
    ck_assert_str_eq(d->name, "policy");
    ck_assert_ptr_nonnull(d->init);
}
END_TEST

START_TEST(test_init_provides_service)
{
    static const char *const none[] = {NULL};

    ck_assert_int_eq(fk_run_init(none), NT_OK);
    ck_assert_int_eq(fk.provided, 1);
    ck_assert_str_eq(fk.kind, NT_SERVICE_POLICY);
    ck_assert_str_eq(fk.name, "nettu");
    ck_assert_uint_eq(fk.version, NT_POLICY_V1);
    ck_assert_ptr_nonnull(fk.ops);
    ck_assert_uint_eq(fk.ops->size, sizeof(nt_policy_v1));
    ck_assert_ptr_nonnull(fk.ops->validate);
    ck_assert_ptr_nonnull(fk.ops->check);
}
END_TEST

START_TEST(test_init_rejects_unknown_key)
{
    static const char *const keys[] = {"allow", NULL};

    ck_assert_int_eq(fk_run_init(keys), NT_EINVAL);
    ck_assert_int_eq(fk.provided, 0);
}
END_TEST

/* The truth table of the allow/reject algorithm (policy_rules.h). NULL = the list is absent. */
struct tt_row {
    const char *allow, *reject;
    const char *required[4];
    int granted;
};

static const struct tt_row truth[] = {
    /* 1 */ {NULL, NULL, {NULL}, 1},
    /* 2 */ {NULL, NULL, {"CreateCalendar", NULL}, 0},
    /* 3 */ {"[\"*\"]", NULL, {"CreateCalendar", NULL}, 1},
    /* 4 */ {"[\"*\"]", "[\"CreateCalendar\"]", {"CreateCalendar", NULL}, 0},
    /* 5 */ {"[\"*\"]", "[\"UpdateCalendar\"]", {"CreateCalendar", NULL}, 1},
    /* 6 */ {"[\"CreateCalendar\"]", "[]", {"CreateCalendar", NULL}, 1},
    /* 7 */ {"[\"CreateCalendar\"]", "[\"CreateCalendar\"]", {"CreateCalendar", NULL}, 0},
    /* 8 */ {"[\"CreateCalendar\"]", "[\"*\"]", {"CreateCalendar", NULL}, 0},
    /* 9 */ {"[\"UpdateCalendar\"]", NULL, {"CreateCalendar", NULL}, 0},
    /* 10 */ {"[]", NULL, {"CreateCalendar", NULL}, 0},
    /* 11 */ {NULL, "[\"UpdateCalendar\"]", {"CreateCalendar", NULL}, 0},
    /* 12 */ {NULL, "[\"*\"]", {NULL}, 1},
    /* 13 */
    {"[\"CreateCalendar\",\"UpdateCalendar\"]",
     "[\"UpdateCalendar\"]",
     {"CreateCalendar", NULL},
     1},
    /* 14 */
    {"[\"CreateCalendar\",\"UpdateCalendar\"]",
     "[\"UpdateCalendar\"]",
     {"CreateCalendar", "UpdateCalendar", NULL},
     0},
    /* 15 */
    {"[\"*\"]", "[\"UpdateCalendar\"]", {"CreateCalendar", "DeleteCalendar", NULL}, 1},
    /* 16 */
    {"[\"*\"]",
     "[\"UpdateCalendar\"]",
     {"CreateCalendar", "DeleteCalendar", "UpdateCalendar", NULL},
     0},
};

/* Builds the policy object of a row: NULL when both lists are absent (no schedulerPolicy). */
static json_t *
tt_policy(const struct tt_row *row)
{
    json_t *p;

    if (row->allow == NULL && row->reject == NULL)
        return NULL;
    p = json_object();
    ck_assert_ptr_nonnull(p);
    if (row->allow != NULL)
        ck_assert_int_eq(json_object_set_new(p, "allow", js(row->allow)), 0);
    if (row->reject != NULL)
        ck_assert_int_eq(json_object_set_new(p, "reject", js(row->reject)), 0);
    return p;
}

START_TEST(test_truth_table)
{
    static const char *const none[] = {NULL};
    const struct tt_row *row = &truth[_i];
    json_t *p = tt_policy(row), *empty = json_object(), *nul = json_null();
    int want = row->granted ? NT_OK : NT_EUNAUTH;

    ck_assert_int_eq(fk_run_init(none), NT_OK);
    ck_assert_int_eq(fk.ops->validate(fk.state, p), NT_OK);
    ck_assert_msg(fk.ops->check(fk.state, p, row->required) == want, "row %d", _i + 1);
    if (p == NULL) { /* absent lists: no policy, {} and JSON null all mean the default */
        ck_assert_int_eq(fk.ops->check(fk.state, empty, row->required), want);
        ck_assert_int_eq(fk.ops->check(fk.state, nul, row->required), want);
    } else { /* absent and null lists are the same */
        json_t *q = json_deep_copy(p);
        if (row->allow == NULL)
            ck_assert_int_eq(json_object_set_new(q, "allow", json_null()), 0);
        if (row->reject == NULL)
            ck_assert_int_eq(json_object_set_new(q, "reject", json_null()), 0);
        ck_assert_int_eq(fk.ops->check(fk.state, q, row->required), want);
        json_decref(q);
    }
    json_decref(p);
    json_decref(empty);
    json_decref(nul);
}
END_TEST

START_TEST(test_required_null_granted)
{
    json_t *p = js("{\"reject\":[\"*\"]}");

    ck_assert_int_eq(policy_rules_check(NULL, NULL), NT_OK);
    ck_assert_int_eq(policy_rules_check(p, NULL), NT_OK);
    json_decref(p);
}
END_TEST

START_TEST(test_every_permission_allowed)
{
    static const char *const perms[] = {
        "CreateCalendar",      "DeleteCalendar",      "UpdateCalendar",
        "CreateCalendarEvent", "DeleteCalendarEvent", "UpdateCalendarEvent",
        "CreateSchedule",      "UpdateSchedule",      "DeleteSchedule",
    };
    json_t *all = js("{\"allow\":[\"*\"]}");

    for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++) {
        const char *req[] = {perms[i], NULL};
        json_t *one = json_pack("{s:[s]}", "allow", perms[i]);
        json_t *rej = json_pack("{s:[s],s:[s]}", "allow", "*", "reject", perms[i]);

        ck_assert(policy_perm_known(perms[i]));
        ck_assert_int_eq(policy_rules_validate(one), NT_OK);
        ck_assert_int_eq(policy_rules_check(all, req), NT_OK);
        ck_assert_int_eq(policy_rules_check(one, req), NT_OK);
        ck_assert_int_eq(policy_rules_check(rej, req), NT_EUNAUTH);
        ck_assert_int_eq(policy_rules_check(NULL, req), NT_EUNAUTH);
        json_decref(one);
        json_decref(rej);
    }
    json_decref(all);
}
END_TEST

/* Validation cases: policy JSON text ("null" = JSON null) and the expected result. */
static const struct {
    const char *text;
    int ok;
} vcases[] = {
    {"null", 1},
    {"{}", 1},
    {"{\"allow\":null,\"reject\":null}", 1},
    {"{\"allow\":[],\"reject\":[]}", 1},
    {"{\"allow\":[\"*\"],\"reject\":[\"DeleteCalendar\"]}", 1},
    {"{\"allow\":[\"*\",\"CreateCalendar\",\"DeleteCalendar\",\"UpdateCalendar\","
     "\"CreateCalendarEvent\",\"DeleteCalendarEvent\",\"UpdateCalendarEvent\","
     "\"CreateSchedule\",\"UpdateSchedule\",\"DeleteSchedule\"]}",
     1},
    {"{\"allow\":[\"CreateCalendar\",\"CreateCalendar\"]}", 1},
    {"{\"other\":5,\"allow\":[\"*\"]}", 1},
    {"[]", 0},
    {"[\"*\"]", 0},
    {"\"*\"", 0},
    {"5", 0},
    {"true", 0},
    {"{\"allow\":\"*\"}", 0},
    {"{\"allow\":{}}", 0},
    {"{\"allow\":5}", 0},
    {"{\"allow\":true}", 0},
    {"{\"reject\":\"DeleteCalendar\"}", 0},
    {"{\"allow\":[\"createCalendar\"]}", 0},
    {"{\"allow\":[\"CREATECALENDAR\"]}", 0},
    {"{\"allow\":[\"All\"]}", 0},
    {"{\"allow\":[\"\"]}", 0},
    {"{\"allow\":[\" *\"]}", 0},
    {"{\"allow\":[\"*\",\"Bogus\"]}", 0},
    {"{\"allow\":[null]}", 0},
    {"{\"allow\":[1]}", 0},
    {"{\"allow\":[[\"*\"]]}", 0},
    {"{\"allow\":[{\"p\":\"*\"}]}", 0},
    {"{\"allow\":[\"*\"],\"reject\":[\"Bogus\"]}", 0},
    {"{\"reject\":[\"CreateCalendar\",5]}", 0},
    {"{\"reject\":[\"CreateService\"]}", 0},
};

START_TEST(test_validate)
{
    static const char *const none[] = {NULL};
    static const char *const req[] = {"CreateCalendar", NULL};
    json_t *p = js(vcases[_i].text);
    int want = vcases[_i].ok ? NT_OK : NT_EINVAL;

    ck_assert_int_eq(fk_run_init(none), NT_OK);
    ck_assert_msg(fk.ops->validate(fk.state, p) == want, "%s", vcases[_i].text);
    /* a malformed policy grants nothing but what needs nothing */
    if (!vcases[_i].ok)
        ck_assert_int_eq(fk.ops->check(fk.state, p, req), NT_EUNAUTH);
    ck_assert_int_eq(fk.ops->check(fk.state, p, NULL), NT_OK);
    json_decref(p);
}
END_TEST

START_TEST(test_validate_null_pointer)
{
    ck_assert_int_eq(policy_rules_validate(NULL), NT_OK);
    ck_assert(!policy_perm_known(NULL));
    ck_assert(!policy_perm_known("createcalendar"));
    ck_assert(policy_perm_known("*"));
}
END_TEST

static Suite *
policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("plugin");

    tcase_add_checked_fixture(tc, NULL, fk_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_init_provides_service);
    tcase_add_test(tc, test_init_rejects_unknown_key);
    suite_add_tcase(s, tc);
    tc = tcase_create("algorithm");
    tcase_add_checked_fixture(tc, NULL, fk_teardown);
    tcase_add_loop_test(tc, test_truth_table, 0, (int)(sizeof(truth) / sizeof(truth[0])));
    tcase_add_test(tc, test_required_null_granted);
    tcase_add_test(tc, test_every_permission_allowed);
    suite_add_tcase(s, tc);
    tc = tcase_create("validate");
    tcase_add_checked_fixture(tc, NULL, fk_teardown);
    tcase_add_loop_test(tc, test_validate, 0, (int)(sizeof(vcases) / sizeof(vcases[0])));
    tcase_add_test(tc, test_validate_null_pointer);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Unit tests of the router: {param} capture, literal-before-param precedence with
 * backtracking, 404 for unknown paths and methods, percent-decoding, conflicts. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "router.h"

static int
h_dummy(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    (void)out;
    return 200;
}

static router *rt;

static void
add(const char *method, const char *path, void *tag)
{
    char err[256];
    nt_route r = {.size = sizeof(nt_route),
                  .method = method,
                  .path = path,
                  .auth = NT_AUTH_PUBLIC,
                  .handler = h_dummy,
                  .state = tag};

    ck_assert_msg(router_add(rt, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
}

static void
setup(void)
{
    rt = router_new();
    add("GET", "/api/v1/", "health");
    add("GET", "/api/v1/user/meta", "user_meta");
    add("GET", "/api/v1/user/{userId}", "user_get");
    add("PUT", "/api/v1/user/{userId}", "user_put");
    add("GET", "/api/v1/user/{userId}/freebusy", "freebusy");
    add("GET", "/api/v1/user/calendar/{calendarId}", "admin_cal");
    add("GET", "/api/v1/user/calendar/{calendarId}/events", "admin_cal_events");
    add("POST", "/api/v1/user/{userId}/calendar", "admin_cal_create");
    add("GET", "/api/v1/calendar/meta", "cal_meta");
    add("GET", "/api/v1/calendar/{calendarId}", "cal_get");
    ck_assert_int_eq(router_compile(rt), NT_OK);
}

static void
teardown(void)
{
    router_free(rt);
}

static const char *
match(const char *method, const char *path, const char **param)
{
    char scratch[512];
    static char value[256];
    router_result m;

    if (router_match(rt, method, path, scratch, sizeof(scratch), &m) != NT_OK)
        return NULL;
    if (param != NULL) {
        *param = NULL;
        if (m.route->nparams > 0) {
            snprintf(value, sizeof(value), "%s", m.values[0]);
            *param = value;
        }
    }
    return m.route->state;
}

static const struct {
    const char *method, *path, *want, *param;
} cases[] = {
    {"GET", "/api/v1/", "health", NULL},
    {"GET", "/api/v1/user/meta", "user_meta", NULL},
    {"GET", "/api/v1/user/abc", "user_get", "abc"},
    {"PUT", "/api/v1/user/abc", "user_put", "abc"},
    /* PUT /user/meta has no literal route, so the param route takes it. */
    {"PUT", "/api/v1/user/meta", "user_put", "meta"},
    {"GET", "/api/v1/user/u1/freebusy", "freebusy", "u1"},
    /* "calendar" is a literal child of /user, but POST /user/{userId}/calendar must still
     * match by backtracking into the param branch. */
    {"POST", "/api/v1/user/calendar/calendar", "admin_cal_create", "calendar"},
    {"GET", "/api/v1/user/calendar/c1", "admin_cal", "c1"},
    {"GET", "/api/v1/user/calendar/c1/events", "admin_cal_events", "c1"},
    {"GET", "/api/v1/calendar/meta", "cal_meta", NULL},
    {"GET", "/api/v1/calendar/c%2D1", "cal_get", "c-1"},
    {"GET", "/api/v1/calendar/a%2Fb", "cal_get", "a/b"},
    {"GET", "/api/v1/user/a+b", "user_get", "a+b"},
    /* Not found: */
    {"GET", "/api/v1", NULL, NULL},
    {"GET", "/api/v1/user/", NULL, NULL},
    {"GET", "/api/v1/user/u1/", NULL, NULL},
    {"GET", "/api/v1/unknown", NULL, NULL},
    {"DELETE", "/api/v1/user/u1", NULL, NULL},
    {"HEAD", "/api/v1/", NULL, NULL},
    {"GET", "/api/v1/calendar/%zz", NULL, NULL},
    {"GET", "/api/v1/calendar/%00", NULL, NULL},
    {"GET", "api/v1/", NULL, NULL},
    {"GET", "/api/v1/user/u1/freebusy/extra", NULL, NULL},
    {"GET", "//api/v1/", NULL, NULL},
};

START_TEST(test_match_table)
{
    const char *param = NULL;
    const char *got = match(cases[_i].method, cases[_i].path, &param);

    if (cases[_i].want == NULL) {
        ck_assert_msg(got == NULL, "%s %s matched %s", cases[_i].method, cases[_i].path, got);
        return;
    }
    ck_assert_msg(got != NULL && strcmp(got, cases[_i].want) == 0, "%s %s: got %s want %s",
                  cases[_i].method, cases[_i].path, got ? got : "(none)", cases[_i].want);
    if (cases[_i].param == NULL)
        ck_assert_ptr_null(param);
    else
        ck_assert_str_eq(param, cases[_i].param);
}
END_TEST

START_TEST(test_conflicts_and_bad_paths)
{
    router *r = router_new();
    char err[256];
    nt_route a = {
        .size = sizeof(nt_route), .method = "GET", .path = "/x/{aId}", .handler = h_dummy};
    nt_route b = a;

    ck_assert_int_eq(router_add(r, NULL, &a, err, sizeof(err)), NT_OK);
    b.path = "/x/{bId}"; /* same shape, other name */
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_ECONFLICT);
    b.method = "POST";
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_OK);
    b.method = "BREW";
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_EINVAL);
    b.method = "GET";
    b.path = "x/y";
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_EINVAL);
    b.path = "/x/a{b}";
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_EINVAL);
    b.path = "/x//y";
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_EINVAL);
    b.path = "/{a}/{a}";
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "used twice"));
    b.path = "/y";
    b.handler = NULL;
    ck_assert_int_eq(router_add(r, NULL, &b, err, sizeof(err)), NT_EINVAL);
    ck_assert_uint_eq(router_count(r), 2);
    router_free(r);
}
END_TEST

START_TEST(test_remove_plugin)
{
    router *r = router_new();
    char err[256], scratch[128];
    nt_route a = {.size = sizeof(nt_route), .method = "GET", .path = "/a", .handler = h_dummy};
    nt_route b = {.size = sizeof(nt_route), .method = "GET", .path = "/b", .handler = h_dummy};
    router_result m;
    int owner_a, owner_b;

    ck_assert_int_eq(router_add(r, (nt_plugin *)&owner_a, &a, err, sizeof(err)), NT_OK);
    ck_assert_int_eq(router_add(r, (nt_plugin *)&owner_b, &b, err, sizeof(err)), NT_OK);
    router_remove_plugin(r, (nt_plugin *)&owner_a);
    ck_assert_int_eq(router_compile(r), NT_OK);
    ck_assert_int_eq(router_match(r, "GET", "/a", scratch, sizeof(scratch), &m), NT_ENOTFOUND);
    ck_assert_int_eq(router_match(r, "GET", "/b", scratch, sizeof(scratch), &m), NT_OK);
    router_free(r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_match_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_conflicts_and_bad_paths);
    tcase_add_test(tc, test_remove_plugin);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

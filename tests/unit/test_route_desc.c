/* Unit tests of the host's route descriptions (ABI 1.4 nt_route members): route_add copies
 * them and refuses a schema that is not a JSON object or a status outside 2xx, naming the
 * route and the member; route_get reports them to a 1.4-sized nt_route_info and leaves a
 * 1.1-sized one alone; a route of the 1.0 size has none, whatever follows it in memory.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostapi.h"
#include "loader.h"
#include "router.h"

static int
dummy_handler(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    *out = NULL;
    return 200;
}

static nt_plugin *plugin;
static const nt_host_api *api;

static void
setup(void)
{
    api = hostapi_table();
    plugin = calloc(1, sizeof(*plugin));
    ck_assert_ptr_nonnull(plugin);
    snprintf(plugin->name, sizeof(plugin->name), "desc");
}

static void
teardown(void)
{
    router_remove_plugin(hostapi_router(), plugin);
    free(plugin);
    hostapi_shutdown();
}

/* A described route of the current size. */
static nt_route
described(const char *path)
{
    nt_route r = {.size = sizeof(nt_route),
                  .method = "POST",
                  .path = path,
                  .auth = NT_AUTH_ADMIN,
                  .handler = dummy_handler,
                  .summary = "Make a thing",
                  .query_schema = "{\"type\": \"object\"}",
                  .request_schema = "{\"type\": \"object\", \"required\": [\"name\"]}",
                  .response_schema = "{\"type\": \"object\"}",
                  .response_type = "application/json",
                  .response_status = 201};
    return r;
}

START_TEST(test_copied_and_reported)
{
    char path[] = "/d/things";
    nt_route r = described(path);
    nt_route_info ri = {.size = sizeof(nt_route_info)};
    nt_route_info old = {.size = NT_ROUTE_INFO_SIZE_1_1, .summary = "untouched"};

    ck_assert_int_eq(api->route_add(plugin, &r), NT_OK);
    path[1] = 'x'; /* the host keeps its own copies */
    ck_assert_int_eq(api->route_get(0, &ri), NT_OK);
    ck_assert_str_eq(ri.path, "/d/things");
    ck_assert_str_eq(ri.summary, "Make a thing");
    ck_assert_ptr_ne(ri.summary, r.summary);
    ck_assert_str_eq(ri.query_schema, "{\"type\": \"object\"}");
    ck_assert_str_eq(ri.request_schema, "{\"type\": \"object\", \"required\": [\"name\"]}");
    ck_assert_str_eq(ri.response_schema, "{\"type\": \"object\"}");
    ck_assert_str_eq(ri.response_type, "application/json");
    ck_assert_int_eq(ri.response_status, 201);
    ck_assert_int_eq(api->route_get(0, &old), NT_OK);
    ck_assert_str_eq(old.path, "/d/things");
    ck_assert_str_eq(old.summary, "untouched"); /* beyond its size: not written */
}
END_TEST

START_TEST(test_old_size_has_none)
{
    nt_route r = described("/d/old");
    nt_route_info ri = {.size = sizeof(nt_route_info)};

    r.size = NT_ROUTE_SIZE_1_0; /* built before 1.4: the members are not read */
    r.request_schema = "not JSON either";
    ck_assert_int_eq(api->route_add(plugin, &r), NT_OK);
    ck_assert_int_eq(api->route_get(0, &ri), NT_OK);
    ck_assert_ptr_null(ri.summary);
    ck_assert_ptr_null(ri.request_schema);
    ck_assert_ptr_null(ri.response_schema);
    ck_assert_int_eq(ri.response_status, 0);
}
END_TEST

START_TEST(test_bad_descriptions_refused)
{
    static const struct {
        const char *query, *request, *response;
        int status;
        const char *want;
    } cases[] = {
        {NULL, "{\"type\": ", NULL, 0, "request_schema: not JSON"},
        {"[1, 2]", NULL, NULL, 0, "query_schema: expected a JSON Schema object"},
        {NULL, NULL, "\"a string\"", 0, "response_schema: expected a JSON Schema object"},
        {NULL, NULL, NULL, 302, "response_status: expected 0 or 200..299, got 302"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nt_route r = described("/d/bad");
        r.query_schema = cases[i].query;
        r.request_schema = cases[i].request;
        r.response_schema = cases[i].response;
        r.response_status = cases[i].status;
        plugin->err[0] = '\0';
        ck_assert_int_eq(api->route_add(plugin, &r), NT_EINVAL);
        ck_assert_msg(strstr(plugin->err, cases[i].want) != NULL, "case %zu: %s", i, plugin->err);
        ck_assert_msg(strstr(plugin->err, "POST /d/bad") != NULL, "case %zu: %s", i, plugin->err);
    }
    ck_assert_uint_eq(api->route_count(), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("route_desc");
    TCase *tc = tcase_create("desc");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_copied_and_reported);
    tcase_add_test(tc, test_old_size_has_none);
    tcase_add_test(tc, test_bad_descriptions_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

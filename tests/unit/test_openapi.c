/* Unit tests of the openapi plugin's path conversion and document (plugins/openapi): path
 * parameters with uuid formats for *Id names, operation ids, security per auth kind,
 * permissions, plugin tags, that every route of the list appears exactly once, and the
 * routes' descriptions (ABI 1.4): summaries, query parameters, Idempotency-Key, request and
 * reply schemas, media types and error replies.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "oa.h"

static const char *const perm_create[] = {"CreateCalendar", NULL};
static const char *const perm_two[] = {"UpdateCalendar", "DeleteCalendar", NULL};

/* A route as the host reports it, without a description (as before ABI 1.4). */
#define RI(m, p, a, pe, pl)                                                                        \
    {                                                                                              \
        .size = sizeof(nt_route_info), .method = m, .path = p, .auth = a, .perms = pe,             \
        .plugin = pl                                                                               \
    }

#define THING_QUERY                                                                                \
    "{\"type\": \"object\", \"required\": [\"from\"], \"properties\": {\"from\": "                 \
    "{\"type\": \"integer\", \"description\": \"ms\"}, \"limit\": {\"type\": \"integer\"}}}"
#define THING_REQUEST                                                                              \
    "{\"type\": \"object\", \"required\": [\"name\"], \"properties\": {\"name\": "                 \
    "{\"type\": \"string\"}}}"
#define THING_REPLY "{\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"string\"}}}"

static const nt_route_info routes[] = {
    RI("GET", "/api/v1/", NT_AUTH_PUBLIC, NULL, "core"),
    RI("GET", "/api/v1", NT_AUTH_PUBLIC, NULL, "core"),
    RI("POST", "/api/v1/calendar", NT_AUTH_USER, perm_create, "calendar"),
    RI("GET", "/api/v1/user/{userId}", NT_AUTH_ADMIN, NULL, "user"),
    RI("PUT", "/api/v1/user/{userId}", NT_AUTH_ADMIN, NULL, "user"),
    RI("GET", "/api/v1/user/calendar/{calendarId}/events", NT_AUTH_ADMIN_OR_USER, NULL, "events"),
    RI("GET", "/api/v1/user/{userId}/freebusy", NT_AUTH_PUBLIC_ACCOUNT, NULL, "events"),
    RI("DELETE", "/api/v1/x/{provider}", NT_AUTH_USER, perm_two, NULL),
    RI("POST", "/api/v1/account", NT_AUTH_PUBLIC, NULL, "user"),
    /* described routes (ABI 1.4) */
    {.size = sizeof(nt_route_info),
     .method = "POST",
     .path = "/api/v1/thing",
     .auth = NT_AUTH_ADMIN,
     .plugin = "calendar",
     .summary = "Make a thing",
     .query_schema = THING_QUERY,
     .request_schema = THING_REQUEST,
     .response_schema = THING_REPLY,
     .response_status = 201},
    {.size = sizeof(nt_route_info),
     .method = "GET",
     .path = "/api/v1/thing/{thingId}/ics",
     .auth = NT_AUTH_USER,
     .plugin = "calendar",
     .summary = "A thing as iCalendar",
     .response_schema = "{\"type\": \"string\"}",
     .response_type = "text/calendar"},
    /* reported by a host older than 1.4: the description members are not read */
    {.size = NT_ROUTE_INFO_SIZE_1_1,
     .method = "GET",
     .path = "/api/v1/old",
     .auth = NT_AUTH_ADMIN,
     .plugin = "user",
     .summary = "not read",
     .response_schema = THING_REPLY},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const oa_plugin_def plugins[] = {
    {"store_sqlite", "1.0.0"}, {"user", "1.0.0"},    {"calendar", "1.1.0"},
    {"events", "0.9.0"},       {"openapi", "1.0.0"},
};

static json_t *doc;

static void
setup(void)
{
    doc = oa_doc_build(routes, NROUTES, plugins, 5, "9.9.9");
    ck_assert_ptr_nonnull(doc);
}

static void
teardown(void)
{
    json_decref(doc);
}

/* doc.paths[path][method] or NULL. */
static json_t *
op_of(const char *path, const char *method)
{
    return json_object_get(json_object_get(json_object_get(doc, "paths"), path), method);
}

/* The JSON text of v (for comparisons); the caller frees it. */
static char *
dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    ck_assert_ptr_nonnull(s);
    return s;
}

static void
assert_json(const json_t *v, const char *want)
{
    char *got = dump(v);

    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_path_params)
{
    json_t *p = oa_path_params("/api/v1/user/{userId}/oauth/{provider}");

    ck_assert_ptr_nonnull(p);
    assert_json(p, "[{\"in\":\"path\",\"name\":\"userId\",\"required\":true,\"schema\":"
                   "{\"format\":\"uuid\",\"type\":\"string\"}},"
                   "{\"in\":\"path\",\"name\":\"provider\",\"required\":true,\"schema\":"
                   "{\"type\":\"string\"}}]");
    json_decref(p);

    p = oa_path_params("/api/v1/");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(json_array_size(p), 0);
    json_decref(p);

    p = oa_path_params("/{Id}/{id}/{xId}");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(p, 0), "schema"), "format")),
                     "uuid");
    ck_assert_ptr_null(json_object_get(json_object_get(json_array_get(p, 1), "schema"), "format"));
    ck_assert_ptr_nonnull(
        json_object_get(json_object_get(json_array_get(p, 2), "schema"), "format"));
    json_decref(p);
}
END_TEST

START_TEST(test_path_params_malformed)
{
    static const char *const bad[] = {"api/v1", "/a/{}", "/a/x{y}", "/a/{y}z", "/a/{b{c}}", ""};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(oa_path_params(bad[i]) == NULL, "accepted %s", bad[i]);
    ck_assert_ptr_null(oa_path_params(NULL));
}
END_TEST

START_TEST(test_operation_ids)
{
    static const struct {
        const char *method, *path, *want;
    } cases[] = {
        {"GET", "/api/v1/user/{userId}", "getApiV1UserByUserId"},
        {"POST", "/api/v1/user/{userId}/calendar", "postApiV1UserByUserIdCalendar"},
        {"GET", "/api/v1/", "getApiV1"},
        {"GET", "/metrics", "getMetrics"},
        {"GET", "/api/v1/openapi.json", "getApiV1OpenapiJson"},
        {"PUT", "/api/v1/account/pubkey", "putApiV1AccountPubkey"},
        {"DELETE", "/api/v1/user/events/{eventId}/booking-intend",
         "deleteApiV1UserEventsByEventIdBookingIntend"},
        {"GET", "/", "get"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *id = oa_operation_id(cases[i].method, cases[i].path);
        ck_assert_ptr_nonnull(id);
        ck_assert_str_eq(id, cases[i].want);
        free(id);
    }
    ck_assert_ptr_null(oa_operation_id(NULL, "/"));
}
END_TEST

START_TEST(test_document_header)
{
    json_t *schemes = json_object_get(json_object_get(doc, "components"), "securitySchemes");

    ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "info"), "version")),
                     "9.9.9");
    assert_json(json_object_get(schemes, "apiKey"),
                "{\"description\":\"an account's secret API key (admin routes)\",\"in\":\"header\","
                "\"name\":\"x-api-key\",\"type\":\"apiKey\"}");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(schemes, "nettuAccount"), "name")),
        "nettu-account");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(schemes, "bearerJwt"), "scheme")),
        "bearer");
    ck_assert_ptr_nonnull(
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "Error"));
}
END_TEST

/* Every route is one operation, and there is nothing else. */
START_TEST(test_every_route_once)
{
    json_t *paths = json_object_get(doc, "paths"), *item, *op;
    const char *path, *method;
    size_t count = 0;

    json_object_foreach(paths, path, item)
    {
        json_object_foreach(item, method, op)
        {
            int found = 0;
            for (size_t i = 0; i < NROUTES; i++) {
                char lower[16];
                size_t k;
                for (k = 0; routes[i].method[k] != '\0'; k++)
                    lower[k] = (char)(routes[i].method[k] - 'A' + 'a');
                lower[k] = '\0';
                found += strcmp(routes[i].path, path) == 0 && strcmp(lower, method) == 0;
            }
            ck_assert_msg(found == 1, "%s %s found %d times", method, path, found);
            count++;
        }
    }
    ck_assert_uint_eq(count, NROUTES);
    /* the two health paths get distinct operation ids */
    ck_assert_str_eq(json_string_value(json_object_get(op_of("/api/v1/", "get"), "operationId")),
                     "getApiV1");
    ck_assert_str_eq(json_string_value(json_object_get(op_of("/api/v1", "get"), "operationId")),
                     "getApiV1_2");
}
END_TEST

START_TEST(test_security_by_auth)
{
    static const struct {
        const char *path, *method, *security, *auth;
    } cases[] = {
        {"/api/v1/", "get", "[]", "public"},
        {"/api/v1/user/{userId}", "get", "[{\"apiKey\":[]}]", "admin"},
        {"/api/v1/calendar", "post", "[{\"bearerJwt\":[],\"nettuAccount\":[]}]", "user"},
        {"/api/v1/user/calendar/{calendarId}/events", "get",
         "[{\"apiKey\":[]},{\"bearerJwt\":[],\"nettuAccount\":[]}]", "admin_or_user"},
        {"/api/v1/user/{userId}/freebusy", "get", "[{\"nettuAccount\":[]},{\"apiKey\":[]}]",
         "public_account"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *op = op_of(cases[i].path, cases[i].method);
        ck_assert_ptr_nonnull(op);
        assert_json(json_object_get(op, "security"), cases[i].security);
        ck_assert_str_eq(json_string_value(json_object_get(op, "x-nettu-auth")), cases[i].auth);
        ck_assert_int_eq(json_object_get(json_object_get(op, "responses"), "401") != NULL,
                         strcmp(cases[i].auth, "public") != 0);
    }
}
END_TEST

START_TEST(test_permissions_plugin_tags)
{
    json_t *op = op_of("/api/v1/calendar", "post");

    assert_json(json_object_get(op, "x-nettu-permissions"), "[\"CreateCalendar\"]");
    ck_assert_str_eq(json_string_value(json_object_get(op, "x-nettu-plugin")), "calendar");
    assert_json(json_object_get(op, "tags"), "[\"calendar\"]");
    ck_assert_ptr_nonnull(json_object_get(op, "requestBody"));
    /* a POST with credentials: the Idempotency-Key header, and no other parameter */
    ck_assert_uint_eq(json_array_size(json_object_get(op, "parameters")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(op, "parameters"), 0), "name")),
                     "Idempotency-Key");

    op = op_of("/api/v1/x/{provider}", "delete");
    assert_json(json_object_get(op, "x-nettu-permissions"),
                "[\"UpdateCalendar\",\"DeleteCalendar\"]");
    ck_assert_str_eq(json_string_value(json_object_get(op, "x-nettu-plugin")), "core");
    ck_assert_ptr_null(json_object_get(op, "requestBody"));

    op = op_of("/api/v1/user/{userId}", "get");
    assert_json(json_object_get(op, "x-nettu-permissions"), "[]");
    ck_assert_uint_eq(json_array_size(json_object_get(op, "parameters")), 1);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"), "404"));

    /* tags: core first, then plugins with routes in load order */
    json_t *tags = json_object_get(doc, "tags");
    ck_assert_uint_eq(json_array_size(tags), 4);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 0), "name")), "core");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 1), "name")), "user");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 2), "name")),
                     "calendar");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 2), "description")),
                     "routes of the plugin calendar 1.1.0");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 3), "name")), "events");
}
END_TEST

/* The Error schema's reference of responses[code], or NULL. */
static const char *
error_ref(json_t *op, const char *code)
{
    json_t *r = json_object_get(json_object_get(op, "responses"), code);
    json_t *s = json_object_get(json_object_get(json_object_get(r, "content"), "application/json"),
                                "schema");

    return json_string_value(json_object_get(s, "$ref"));
}

/* A described route: its summary, query parameters, the Idempotency-Key header, the request
 * schema, the reply under its own status, and the error replies. */
START_TEST(test_described_route)
{
    json_t *op = op_of("/api/v1/thing", "post"), *params, *res, *p;

    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(json_string_value(json_object_get(op, "summary")), "Make a thing");
    params = json_object_get(op, "parameters");
    ck_assert_uint_eq(json_array_size(params), 3);
    p = json_array_get(params, 0);
    assert_json(p, "{\"description\":\"ms\",\"in\":\"query\",\"name\":\"from\",\"required\":true,"
                   "\"schema\":{\"description\":\"ms\",\"type\":\"integer\"}}");
    p = json_array_get(params, 1);
    assert_json(p, "{\"in\":\"query\",\"name\":\"limit\",\"required\":false,\"schema\":"
                   "{\"type\":\"integer\"}}");
    p = json_array_get(params, 2);
    ck_assert_str_eq(json_string_value(json_object_get(p, "name")), "Idempotency-Key");
    ck_assert_str_eq(json_string_value(json_object_get(p, "in")), "header");
    ck_assert(json_is_false(json_object_get(p, "required")));
    assert_json(json_object_get(op, "requestBody"),
                "{\"content\":{\"application/json\":{\"schema\":{\"properties\":{\"name\":"
                "{\"type\":\"string\"}},\"required\":[\"name\"],\"type\":\"object\"}}},"
                "\"required\":true}");
    res = json_object_get(op, "responses");
    ck_assert_ptr_null(json_object_get(res, "2XX"));
    ck_assert_ptr_null(json_object_get(res, "200"));
    assert_json(json_object_get(json_object_get(json_object_get(res, "201"), "content"),
                                "application/json"),
                "{\"schema\":{\"properties\":{\"id\":{\"type\":\"string\"}},\"type\":\"object\"}}");
    static const char *const errors[] = {"400", "401", "409", "default"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(error_ref(op, errors[i]) != NULL &&
                          strcmp(error_ref(op, errors[i]), "#/components/schemas/Error") == 0,
                      "error response %s", errors[i]);
    ck_assert_ptr_null(json_object_get(res, "404")); /* no path parameters */

    /* a reply of another media type; a GET without query has no 400 */
    op = op_of("/api/v1/thing/{thingId}/ics", "get");
    res = json_object_get(op, "responses");
    assert_json(json_object_get(json_object_get(res, "200"), "content"),
                "{\"text/calendar\":{\"schema\":{\"type\":\"string\"}}}");
    ck_assert_ptr_null(json_object_get(res, "400"));
    ck_assert_ptr_nonnull(error_ref(op, "404"));
    ck_assert_ptr_null(json_object_get(op, "requestBody"));

    /* a host before 1.4: the members beyond its size are not read */
    op = op_of("/api/v1/old", "get");
    ck_assert_str_eq(json_string_value(json_object_get(op, "summary")), "GET /api/v1/old");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"), "2XX"));
    ck_assert_ptr_null(json_object_get(json_object_get(op, "responses"), "200"));

    /* undescribed: a generic optional body; a public POST has no Idempotency-Key */
    op = op_of("/api/v1/user/{userId}", "put");
    assert_json(json_object_get(op, "requestBody"),
                "{\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\"}}},"
                "\"required\":false}");
    op = op_of("/api/v1/account", "post");
    ck_assert_ptr_null(json_object_get(op, "parameters"));
    ck_assert_ptr_null(json_object_get(json_object_get(op, "responses"), "401"));
    ck_assert_ptr_null(json_object_get(json_object_get(op, "responses"), "409"));
    ck_assert_ptr_nonnull(error_ref(op, "400"));
}
END_TEST

START_TEST(test_bad_route)
{
    nt_route_info bad = routes[3];

    bad.path = "/api/v1/user/x{userId}";
    ck_assert_ptr_null(oa_doc_build(&bad, 1, plugins, 5, "1"));
    bad = routes[3];
    bad.auth = (nt_auth_kind)42;
    ck_assert_ptr_null(oa_doc_build(&bad, 1, plugins, 5, "1"));
    ck_assert_str_eq(oa_auth_name(NT_AUTH_PUBLIC_ACCOUNT), "public_account");
    ck_assert_ptr_null(oa_auth_name((nt_auth_kind)42));
}
END_TEST

static Suite *
openapi_suite(void)
{
    Suite *s = suite_create("openapi");
    TCase *paths = tcase_create("paths");
    TCase *document = tcase_create("document");

    tcase_add_test(paths, test_path_params);
    tcase_add_test(paths, test_path_params_malformed);
    tcase_add_test(paths, test_operation_ids);
    tcase_add_test(paths, test_bad_route);
    tcase_add_checked_fixture(document, setup, teardown);
    tcase_add_test(document, test_document_header);
    tcase_add_test(document, test_every_route_once);
    tcase_add_test(document, test_security_by_auth);
    tcase_add_test(document, test_permissions_plugin_tags);
    tcase_add_test(document, test_described_route);
    suite_add_tcase(s, paths);
    suite_add_tcase(s, document);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(openapi_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

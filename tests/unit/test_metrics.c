/* Unit tests of the metrics plugin's counter table and Prometheus text (plugins/metrics):
 * label escaping, route lookup by template pointer, bounded labels for unmatched requests and
 * odd statuses, cumulative histogram buckets, the in-flight gauge, storage error causes,
 * plugin info lines, and that every line is valid text exposition 0.0.4.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"

static const mx_route_def routes[] = {
    {"GET", "/api/v1/user/{userId}"},
    {"POST", "/api/v1/user"},
    {"GET", "/metrics"},
};
static const mx_plugin_def plugins[] = {
    {"store_sqlite", "1.0.0"},
    {"odd", "1.\"2\"\\x"},
};

static mx_table *t;
static mx_buf b;

static void
setup(void)
{
    t = mx_table_new(routes, 3, plugins, 2);
    ck_assert_ptr_nonnull(t);
    memset(&b, 0, sizeof(b));
}

static void
teardown(void)
{
    mx_table_free(t);
    mx_buf_free(&b);
}

/* Renders t into b (fresh) and returns the text. */
static const char *
render(void)
{
    mx_buf_free(&b);
    ck_assert_int_eq(mx_text_render(t, &b), NT_OK);
    ck_assert_ptr_nonnull(b.data);
    return b.data;
}

/* Asserts that `line` is a whole line of the rendered text. */
static void
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    ck_abort_msg("missing line: %s\n--- text ---\n%s", line, text);
}

static void
lacks(const char *text, const char *part)
{
    ck_assert_msg(strstr(text, part) == NULL, "unexpected: %s\n--- text ---\n%s", part, text);
}

START_TEST(test_buf_label_escapes)
{
    mx_buf_label(&b, "a\\b\"c\nd");
    ck_assert_str_eq(b.data, "a\\\\b\\\"c\\nd");
    mx_buf_free(&b);
    mx_buf_label(&b, "");
    ck_assert_uint_eq(b.len, 0);
    mx_buf_printf(&b, "%s-%d", "x", 7);
    ck_assert_str_eq(b.data, "x-7");
    mx_buf_free(NULL);
}
END_TEST

START_TEST(test_buf_grows)
{
    for (int i = 0; i < 5000; i++)
        mx_buf_printf(&b, "%04d\n", i % 10000);
    ck_assert_int_eq(b.failed, 0);
    ck_assert_uint_eq(b.len, 5000 * 5);
    ck_assert_int_eq(strncmp(b.data + 4999 * 5, "4999\n", 5), 0);
}
END_TEST

START_TEST(test_counts_by_template_pointer)
{
    const char *text;

    mx_table_begin(t);
    mx_table_end(t, routes[0].path, "GET", 200, 150, NULL);
    mx_table_begin(t);
    mx_table_end(t, routes[0].path, "GET", 200, 150, NULL);
    mx_table_begin(t);
    mx_table_end(t, routes[0].path, "GET", 404, 3, NULL);
    text = render();
    has_line(text, "nettu_http_requests_total{route=\"/api/v1/user/{userId}\",method=\"GET\","
                   "status=\"200\"} 2");
    has_line(text, "nettu_http_requests_total{route=\"/api/v1/user/{userId}\",method=\"GET\","
                   "status=\"404\"} 1");
    lacks(text, "route=\"/api/v1/user\",");
    lacks(text, "route=\"unmatched\"");
}
END_TEST

START_TEST(test_counts_by_template_text)
{
    char copy[64];
    const char *text;

    /* a host handing out a copy of the template still lands on the route */
    strcpy(copy, routes[1].path);
    mx_table_begin(t);
    mx_table_end(t, copy, "POST", 201, 10, NULL);
    text = render();
    has_line(text,
             "nettu_http_requests_total{route=\"/api/v1/user\",method=\"POST\",status=\"201\"} 1");
}
END_TEST

START_TEST(test_unmatched_is_bounded)
{
    const char *text;

    mx_table_begin(t);
    mx_table_end(t, NULL, "GET", 404, 5, NULL);
    mx_table_begin(t);
    mx_table_end(t, NULL, "BREW", 404, 5, NULL);
    mx_table_begin(t);
    mx_table_end(t, "/api/v1/nope/x", "GET", 404, 5, NULL);
    mx_table_begin(t);
    mx_table_end(t, NULL, "OPTIONS", 204, 5, NULL);
    text = render();
    has_line(text,
             "nettu_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 2");
    has_line(text,
             "nettu_http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"404\"} 1");
    has_line(text,
             "nettu_http_requests_total{route=\"unmatched\",method=\"OPTIONS\",status=\"204\"} 1");
    lacks(text, "nope");
    lacks(text, "BREW");
}
END_TEST

START_TEST(test_status_labels)
{
    static const struct {
        int status;
        const char *label;
    } cases[] = {{200, "200"},  {201, "201"},   {204, "204"}, {400, "400"}, {401, "401"},
                 {404, "404"},  {409, "409"},   {413, "413"}, {500, "500"}, {503, "503"},
                 {101, "1xx"},  {202, "2xx"},   {302, "3xx"}, {418, "4xx"}, {502, "5xx"},
                 {99, "other"}, {600, "other"}, {-1, "other"}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(mx_status_label[mx_status_index(cases[i].status)], cases[i].label);
    ck_assert_str_eq(mx_method_label[mx_method_index("PATCH")], "PATCH");
    ck_assert_str_eq(mx_method_label[mx_method_index("get")], "OTHER");
    ck_assert_str_eq(mx_method_label[mx_method_index(NULL)], "OTHER");
}
END_TEST

START_TEST(test_histogram_cumulative)
{
    static const int64_t lat[] = {50, 100, 101, 2000, 999999, 1000000, 20000000, -5};
    static const char *const want[] = {
        "le=\"0.0001\"} 3", /* 50, 100 and -5 (clamped to 0) */
        "le=\"0.00025\"} 4", "le=\"0.0005\"} 4", "le=\"0.001\"} 4", "le=\"0.0025\"} 5",
        "le=\"0.5\"} 5",     "le=\"1\"} 7",      "le=\"10\"} 7",    "le=\"+Inf\"} 8",
    };
    const char *prefix = "nettu_http_request_duration_seconds_bucket{route=\"/api/v1/user/"
                         "{userId}\",method=\"GET\",";
    const char *text;
    char line[256];

    for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
        mx_table_begin(t);
        mx_table_end(t, routes[0].path, "GET", 200, lat[i], NULL);
    }
    text = render();
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(line, sizeof(line), "%s%s", prefix, want[i]);
        has_line(text, line);
    }
    has_line(text, "nettu_http_request_duration_seconds_count{route=\"/api/v1/user/{userId}\","
                   "method=\"GET\"} 8");
    /* 50 + 100 + 101 + 2000 + 999999 + 1000000 + 20000000 + 0 us */
    has_line(text, "nettu_http_request_duration_seconds_sum{route=\"/api/v1/user/{userId}\","
                   "method=\"GET\"} 22.002250");
    /* routes nothing was counted for have no histogram */
    lacks(text, "duration_seconds_bucket{route=\"/metrics\"");
}
END_TEST

START_TEST(test_in_flight)
{
    mx_table_begin(t);
    mx_table_begin(t);
    mx_table_begin(t);
    mx_table_end(t, NULL, "GET", 404, 1, NULL);
    has_line(render(), "nettu_http_requests_in_flight 2");
    mx_table_end(t, NULL, "GET", 404, 1, NULL);
    mx_table_end(t, NULL, "GET", 404, 1, NULL);
    has_line(render(), "nettu_http_requests_in_flight 0");
}
END_TEST

START_TEST(test_storage_causes)
{
    static const struct {
        const char *msg;
        const char *cause;
    } cases[] = {
        {"step: database is read-only (injected by fault_file)", "readonly"},
        {"step: database is read-only (attempt to write a readonly database)", "readonly"},
        {"exec: disk is full (database or disk is full)", "full"},
        {"begin: database is locked (database is locked)", "locked"},
        {"step: disk I/O error (disk I/O error)", "io"},
        {"prepare: database file is corrupt", "corrupt"},
        {"open: cannot open the database file", "cantopen"},
        {"step: SQL error (no such table: x)", "other"},
        {"", "other"},
        {NULL, "other"},
    };
    const char *text;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(mx_cause_label[mx_cause_index(cases[i].msg)], cases[i].cause);

    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 503, 10, cases[0].msg);
    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 503, 10, cases[3].msg);
    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 503, 10, "");
    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 500, 10, cases[5].msg);
    /* a 500 without a storage message is not a storage error; a 200 never is */
    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 500, 10, "");
    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 201, 10, cases[0].msg);
    text = render();
    has_line(text, "nettu_storage_errors_total{status=\"503\",cause=\"readonly\"} 1");
    has_line(text, "nettu_storage_errors_total{status=\"503\",cause=\"locked\"} 1");
    has_line(text, "nettu_storage_errors_total{status=\"503\",cause=\"other\"} 1");
    has_line(text, "nettu_storage_errors_total{status=\"500\",cause=\"corrupt\"} 1");
    lacks(text, "status=\"500\",cause=\"other\"");
    has_line(text,
             "nettu_http_requests_total{route=\"/api/v1/user\",method=\"POST\",status=\"500\"} 2");
}
END_TEST

START_TEST(test_plugin_info)
{
    const char *text = render();

    has_line(text, "nettu_plugin_info{name=\"store_sqlite\",version=\"1.0.0\"} 1");
    has_line(text, "nettu_plugin_info{name=\"odd\",version=\"1.\\\"2\\\"\\\\x\"} 1");
}
END_TEST

/* Every line is a HELP/TYPE comment or a sample `name{labels} value`; every family has HELP
 * and TYPE before its samples and appears once. */
START_TEST(test_exposition_syntax)
{
    static const char *const families[] = {
        "nettu_http_requests_total", "nettu_http_request_duration_seconds",
        "nettu_http_requests_in_flight", "nettu_storage_errors_total", "nettu_plugin_info"};
    regex_t sample, comment;
    char *copy, *line, *save = NULL;
    const char *text;

    mx_table_begin(t);
    mx_table_end(t, routes[0].path, "GET", 200, 1234, NULL);
    mx_table_begin(t);
    mx_table_end(t, NULL, "DELETE", 404, 12, NULL);
    mx_table_begin(t);
    mx_table_end(t, routes[1].path, "POST", 503, 12, "step: database is locked");
    text = render();
    ck_assert_int_eq(regcomp(&sample,
                             "^[a-zA-Z_:][a-zA-Z0-9_:]*"
                             "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
                             "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
                             "[0-9]+(\\.[0-9]+)?$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    ck_assert_int_eq(regcomp(&comment,
                             "^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge|histogram))$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    ck_assert_int_eq(text[strlen(text) - 1], '\n');
    copy = strdup(text);
    ck_assert_ptr_nonnull(copy);
    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        int ok = line[0] == '#' ? regexec(&comment, line, 0, NULL, 0) == 0
                                : regexec(&sample, line, 0, NULL, 0) == 0;
        ck_assert_msg(ok, "bad exposition line: %s", line);
    }
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char help[128], type[128];
        const char *h, *ty;
        snprintf(help, sizeof(help), "# HELP %s ", families[i]);
        snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
        h = strstr(text, help);
        ty = strstr(text, type);
        ck_assert_msg(h != NULL && ty != NULL && h < ty, "family %s lacks HELP/TYPE", families[i]);
        ck_assert_ptr_null(strstr(h + 1, help));
    }
    free(copy);
    regfree(&sample);
    regfree(&comment);
}
END_TEST

/* A table without routes or plugins still works: everything is unmatched. */
START_TEST(test_empty_table)
{
    mx_table *e = mx_table_new(NULL, 0, NULL, 0);
    mx_buf eb = {0};

    ck_assert_ptr_nonnull(e);
    mx_table_begin(e);
    mx_table_end(e, "/x", "GET", 404, 1, NULL);
    ck_assert_int_eq(mx_text_render(e, &eb), NT_OK);
    ck_assert_ptr_nonnull(
        strstr(eb.data,
               "nettu_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"));
    mx_buf_free(&eb);
    mx_table_free(e);
    mx_table_free(NULL);
    mx_table_begin(NULL);
    mx_table_end(NULL, NULL, NULL, 0, 0, NULL);
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("table");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_buf_label_escapes);
    tcase_add_test(tc, test_buf_grows);
    tcase_add_test(tc, test_counts_by_template_pointer);
    tcase_add_test(tc, test_counts_by_template_text);
    tcase_add_test(tc, test_unmatched_is_bounded);
    tcase_add_test(tc, test_status_labels);
    tcase_add_test(tc, test_histogram_cumulative);
    tcase_add_test(tc, test_in_flight);
    tcase_add_test(tc, test_storage_causes);
    tcase_add_test(tc, test_plugin_info);
    tcase_add_test(tc, test_exposition_syntax);
    tcase_add_test(tc, test_empty_table);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

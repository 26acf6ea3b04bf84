/* Unit tests of the built-in plugins' route descriptions (plugins/<plugin>/<p>_schemas.c, ABI
 * 1.4): every entry has a summary and a reply schema, bodies of POST and PUT routes a request
 * schema, and every schema is JSON text of an object whose "required" names are properties.
 * That each registered route has its entry is checked end to end (tests/ops, e2e_ops).
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acct_schemas.h"
#include "cal_schemas.h"
#include "event_schemas.h"
#include "sch_schemas.h"
#include "svc_schemas.h"
#include "user_schemas.h"
#include "wh_schemas.h"

static const struct {
    const char *plugin;
    const ntc_route_doc *docs;
    const size_t *n;
} tables[] = {
    {"account", acct_route_docs, &acct_route_docs_n},
    {"user", usr_route_docs, &usr_route_docs_n},
    {"calendar", cal_route_docs, &cal_route_docs_n},
    {"events", ev_route_docs, &ev_route_docs_n},
    {"schedule", sch_route_docs, &sch_route_docs_n},
    {"service", svc_route_docs, &svc_route_docs_n},
    {"webhooks", wh_route_docs, &wh_route_docs_n},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* POST routes that take no body. */
static const char *const bodyless[] = {"POST /api/v1/account/webhook/test", NULL};

/* Checks that "required" of every object schema in s names its properties; recursive. */
static void
check_required(const json_t *s, const char *what)
{
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    const char *k;
    json_t *v;
    size_t i;

    json_array_foreach(req, i, v)
    {
        ck_assert_msg(json_is_string(v), "%s: required holds a non-string", what);
        if (props != NULL)
            ck_assert_msg(json_object_get(props, json_string_value(v)) != NULL,
                          "%s: required %s is not a property", what, json_string_value(v));
    }
    json_object_foreach((json_t *)props, k, v) check_required(v, what);
    if (json_object_get(s, "items") != NULL)
        check_required(json_object_get(s, "items"), what);
    json_array_foreach(json_object_get(s, "oneOf"), i, v) check_required(v, what);
}

/* The schema text parses as a JSON object with a type or alternatives. */
static void
check_schema(const char *text, const char *what)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    ck_assert_msg(v != NULL, "%s: not JSON: %s (column %d)", what, e.text, e.column);
    ck_assert_msg(json_is_object(v), "%s: not an object", what);
    ck_assert_msg(json_object_get(v, "type") != NULL || json_object_get(v, "oneOf") != NULL,
                  "%s: no type", what);
    check_required(v, what);
    json_decref(v);
}

START_TEST(test_every_entry_described)
{
    size_t total = 0;

    for (size_t t = 0; t < NTABLES; t++) {
        for (size_t i = 0; i < *tables[t].n; i++) {
            const ntc_route_doc *d = &tables[t].docs[i];
            char what[256];
            int takes_body = strcmp(d->method, "POST") == 0 || strcmp(d->method, "PUT") == 0;

            snprintf(what, sizeof(what), "%s %s", d->method, d->path);
            for (size_t k = 0; bodyless[k] != NULL; k++)
                takes_body &= strcmp(bodyless[k], what) != 0;
            ck_assert_msg(strncmp(d->path, "/api/v1/", 8) == 0, "%s: path", what);
            ck_assert_msg(d->summary != NULL && strlen(d->summary) >= 8, "%s: summary", what);
            ck_assert_msg(d->response != NULL, "%s: reply schema", what);
            check_schema(d->response, what);
            if (d->query != NULL)
                check_schema(d->query, what);
            ck_assert_msg(!takes_body || d->request != NULL, "%s: request schema", what);
            if (d->request != NULL) {
                check_schema(d->request, what);
                ck_assert_msg(strstr(d->request, "\"type\": \"object\"") == d->request + 1,
                              "%s: a body is an object", what);
            }
            ck_assert_msg(d->status == 0 || (d->status >= 200 && d->status <= 299), "%s: status",
                          what);
            ck_assert_msg(d->status != 201 || strcmp(d->method, "POST") == 0, "%s: 201 on POST",
                          what);
            ck_assert_msg(d->type == NULL || strstr(d->path, "/ical") != NULL, "%s: media type",
                          what);
            for (size_t j = 0; j < i; j++)
                ck_assert_msg(strcmp(tables[t].docs[j].method, d->method) != 0 ||
                                  strcmp(tables[t].docs[j].path, d->path) != 0,
                              "%s: described twice", what);
            total++;
        }
    }
    ck_assert_uint_ge(total, 60);
}
END_TEST

/* The iCalendar routes answer text/calendar; everything else JSON. */
START_TEST(test_ical_media_type)
{
    int found = 0;

    for (size_t i = 0; i < ev_route_docs_n; i++) {
        if (strstr(ev_route_docs[i].path, "/ical") == NULL)
            continue;
        ck_assert_str_eq(ev_route_docs[i].type, "text/calendar");
        found++;
    }
    ck_assert_int_eq(found, 2);
}
END_TEST

/* ntc_route_doc_find and ntc_route_doc_apply: a route of the current size gets every member,
 * one of the 1.0 size none. */
START_TEST(test_find_apply)
{
    const ntc_route_doc *d =
        ntc_route_doc_find(usr_route_docs, usr_route_docs_n, "POST", "/api/v1/user");
    nt_route r = {.size = sizeof(nt_route), .method = "POST", .path = "/api/v1/user"};
    nt_route old = {.size = NT_ROUTE_SIZE_1_0, .method = "POST", .path = "/api/v1/user"};

    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(ntc_route_doc_find(usr_route_docs, usr_route_docs_n, "GET", "/nope"));
    ntc_route_doc_apply(&r, d);
    ck_assert_str_eq(r.summary, d->summary);
    ck_assert_ptr_eq(r.request_schema, d->request);
    ck_assert_ptr_eq(r.response_schema, d->response);
    ck_assert_int_eq(r.response_status, 201);
    ntc_route_doc_apply(&old, d);
    ck_assert_ptr_null(old.summary);
    ck_assert_int_eq(old.response_status, 0);
    ntc_route_doc_apply(&r, NULL); /* nothing to apply */
    ck_assert_str_eq(r.summary, d->summary);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("route_docs");
    TCase *tc = tcase_create("docs");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_every_entry_described);
    tcase_add_test(tc, test_ical_media_type);
    tcase_add_test(tc, test_find_apply);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

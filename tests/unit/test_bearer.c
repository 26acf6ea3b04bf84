/* Unit tests of the Authorization header parser of auth_nettu. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bearer.h"

/* Header value and the token it must give (NULL: refused). */
static const struct {
    const char *value, *token;
} cases[] = {
    {"Bearer x", "x"},
    {"bearer x", "x"},
    {"Bearer   x ", "x"},
    {"BEARER x", "x"},
    {"bEaReR x", "x"},
    {"Bearerx", "x"}, /* the original only looks at the first 6 characters */
    {"Bearer\tx\t", "x"},
    {"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"},
    {"Bearer a b", "a b"}, /* inner white space is kept; verification refuses it later */
    {"Bearer", NULL},
    {"Bearer ", NULL},
    {"Bearer      ", NULL},
    {"Bear", NULL},
    {"", NULL},
    {"      ", NULL},
    {"Basic x", NULL},
    {"Basic dXNlcjpwYXNz", NULL},
    {" Bearer x", NULL}, /* the first 6 characters are " Beare" */
    {"Token x", NULL},
    {"x", NULL},
    {"Bearex x", NULL},
};

START_TEST(test_bearer_table)
{
    size_t len = 99;
    const char *tok = bearer_token(cases[_i].value, &len);

    if (cases[_i].token == NULL) {
        ck_assert_msg(tok == NULL, "'%s' must be refused", cases[_i].value);
        ck_assert_uint_eq(len, 0);
    } else {
        ck_assert_msg(tok != NULL, "'%s' must give a token", cases[_i].value);
        ck_assert_uint_eq(len, strlen(cases[_i].token));
        ck_assert_msg(memcmp(tok, cases[_i].token, len) == 0, "'%s'", cases[_i].value);
        /* the token points into the header value */
        ck_assert(tok >= cases[_i].value && tok + len <= cases[_i].value + strlen(cases[_i].value));
    }
}
END_TEST

START_TEST(test_bearer_null)
{
    size_t len = 7;

    ck_assert_ptr_null(bearer_token(NULL, &len));
    ck_assert_uint_eq(len, 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("bearer");
    TCase *tc = tcase_create("parse");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, test_bearer_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_bearer_null);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Unit tests of the webhooks plugin's pure parts: the retry schedule, the signature
 * (checked against a value computed independently with Python's hmac module) and the
 * target check (non-public ranges refused unless allowed, the curl resolve pin).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wh.h"

START_TEST(test_backoff_schedule)
{
    const int64_t want[] = {10, 30, 120, 600, 1800, 3600, 3600, 3600};

    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(wh_backoff_units(i + 1), want[i]);
}
END_TEST

START_TEST(test_next_attempt_window)
{
    const int64_t first = 1000000, unit = 1000;

    /* after the first failure: 10 s later */
    ck_assert_int_eq(wh_next_attempt(1, first, first + 50, unit), first + 50 + 10000);
    /* a small unit scales the whole schedule */
    ck_assert_int_eq(wh_next_attempt(2, first, first, 10), first + 300);
    /* an hourly attempt that would land past 24 h after the first: failed */
    ck_assert_int_eq(wh_next_attempt(30, first, first + 86000 * unit, unit), -1);
    ck_assert_int_eq(wh_next_attempt(30, first, first + 82800 * unit, unit), first + 86400 * unit);
}
END_TEST

START_TEST(test_signature_known_value)
{
    char sig[128];

    ck_assert_int_eq(
        wh_signature("sk_key", 1700000000, "{\"type\":\"ping\"}", 15, sig, sizeof(sig)), NT_OK);
    ck_assert_str_eq(sig, "t=1700000000,v1="
                          "79c7d2872eefc171ca2d551b3bc4d5800297762f9078c090972be78fa6b6edda");
    /* too small a buffer is an error, not a truncated signature */
    ck_assert_int_eq(wh_signature("sk_key", 1700000000, "{}", 2, sig, 40), NT_ERR);
}
END_TEST

/* 16-byte key of an address literal. */
static void
key_of(const char *text, unsigned char out[16])
{
    ck_assert_int_eq(cidr_addr_parse(text, out), 0);
}

START_TEST(test_private_ranges)
{
    const char *const priv[] = {"127.0.0.1",        "10.1.2.3",      "172.16.0.1",
                                "172.31.255.255",   "192.168.1.1",   "169.254.169.254",
                                "100.64.0.1",       "0.0.0.0",       "224.0.0.1",
                                "255.255.255.255",  "::1",           "::",
                                "fe80::1",          "fd00::1",       "ff02::1",
                                "::ffff:127.0.0.1", "64:ff9b::a00:1"};
    const char *const pub[] = {"8.8.8.8", "172.32.0.1",           "192.169.0.1",
                               "1.1.1.1", "2001:4860:4860::8888", "100.128.0.1"};
    unsigned char k[16];

    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        key_of(priv[i], k);
        ck_assert_msg(wh_addr_private(k), "%s should be private", priv[i]);
    }
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
        key_of(pub[i], k);
        ck_assert_msg(!wh_addr_private(k), "%s should be public", pub[i]);
    }
}
END_TEST

START_TEST(test_target_check)
{
    cidr_list none = {.n = 0}, loop;
    char pin[600], err[512];

    ck_assert_int_eq(cidr_list_parse("127.0.0.0/8, ::1/128", &loop, err, sizeof(err)), 0);
    ck_assert_int_eq(
        wh_target_check("http://127.0.0.1:9/hook", &none, pin, sizeof(pin), err, sizeof(err)),
        NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "127.0.0.1"));
    ck_assert_int_eq(wh_target_check("http://10.0.0.1/", &loop, pin, sizeof(pin), err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_int_eq(
        wh_target_check("http://127.0.0.1:9/hook", &loop, pin, sizeof(pin), err, sizeof(err)),
        NT_OK);
    ck_assert_str_eq(pin, ""); /* an address literal needs no pin */
    ck_assert_int_eq(wh_target_check("http://[::1]:9/", &loop, pin, sizeof(pin), err, sizeof(err)),
                     NT_OK);
    ck_assert_int_eq(
        wh_target_check("http://localhost:8080/x", &none, pin, sizeof(pin), err, sizeof(err)),
        NT_EINVAL);
    ck_assert_int_eq(
        wh_target_check("http://localhost:8080/x", &loop, pin, sizeof(pin), err, sizeof(err)),
        NT_OK);
    ck_assert_msg(strcmp(pin, "localhost:8080:127.0.0.1") == 0 ||
                      strcmp(pin, "localhost:8080:[::1]") == 0,
                  "pin %s", pin);
    ck_assert_int_eq(wh_target_check("not a url", &loop, pin, sizeof(pin), err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_int_eq(wh_target_check("http://does-not-resolve.invalid/", &loop, pin, sizeof(pin),
                                     err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "does not resolve"));
}
END_TEST

static Suite *
webhooks_suite(void)
{
    Suite *s = suite_create("webhooks");
    TCase *tc = tcase_create("pure");

    tcase_add_test(tc, test_backoff_schedule);
    tcase_add_test(tc, test_next_attempt_window);
    tcase_add_test(tc, test_signature_known_value);
    tcase_add_test(tc, test_private_ranges);
    tcase_add_test(tc, test_target_check);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(webhooks_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

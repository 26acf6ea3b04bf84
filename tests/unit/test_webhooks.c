/* Unit tests of the webhooks plugin's pure parts: the retry schedule, the signature
 * (checked against a value computed independently with Python's hmac module) and the
 * target checks (non-public ranges refused unless allowed, URL form, the address check of
 * each connection) and the bounded lookup (slow lookups given up, threads bounded).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

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
    char err[512], long_url[WH_URL_MAX + 32];

    ck_assert_int_eq(cidr_list_parse("127.0.0.0/8, ::1/128", &loop, err, sizeof(err)), 0);
    ck_assert_int_eq(wh_target_check("http://127.0.0.1:9/hook", &none, 2000, err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "127.0.0.1"));
    ck_assert_ptr_nonnull(strstr(err, "allow_private"));
    ck_assert_int_eq(wh_target_check("http://10.0.0.1/", &loop, 2000, err, sizeof(err)), NT_EINVAL);
    ck_assert_int_eq(wh_target_check("https://169.254.169.254/x", &loop, 2000, err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_int_eq(wh_target_check("http://224.0.0.1/", &loop, 2000, err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_int_eq(wh_target_check("http://[::1]:9/", &none, 2000, err, sizeof(err)), NT_EINVAL);
    ck_assert_int_eq(wh_target_check("http://127.0.0.1:9/hook", &loop, 2000, err, sizeof(err)),
                     NT_OK);
    ck_assert_int_eq(wh_target_check("http://[::1]:9/", &loop, 2000, err, sizeof(err)), NT_OK);
    /* a public literal needs no lookup */
    ck_assert_int_eq(wh_target_check("https://93.184.215.14/h", &none, 2000, err, sizeof(err)),
                     NT_OK);
    /* names are resolved: localhost is loopback */
    ck_assert_int_eq(wh_target_check("http://localhost:8080/x", &none, 2000, err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "resolves to"));
    ck_assert_int_eq(wh_target_check("http://localhost:8080/x", &loop, 2000, err, sizeof(err)),
                     NT_OK);
    /* form: scheme, userinfo, length */
    ck_assert_int_eq(wh_target_check("not a url", &loop, 2000, err, sizeof(err)), NT_EINVAL);
    ck_assert_int_eq(wh_target_check("ftp://127.0.0.1/", &loop, 2000, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "http or https"));
    ck_assert_int_eq(wh_target_check("http://u:p@127.0.0.1/", &loop, 2000, err, sizeof(err)),
                     NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "user name"));
    ck_assert_int_eq(wh_target_check("http://u@127.0.0.1/", &loop, 2000, err, sizeof(err)),
                     NT_EINVAL);
    memset(long_url, 'a', sizeof(long_url) - 1);
    long_url[sizeof(long_url) - 1] = '\0';
    memcpy(long_url, "http://127.0.0.1/", 17);
    ck_assert_int_eq(wh_target_check(long_url, &loop, 2000, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "longer than"));
    ck_assert_int_eq(
        wh_target_check("http://does-not-resolve.invalid/", &loop, 2000, err, sizeof(err)),
        NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "could not be resolved"));
}
END_TEST

START_TEST(test_sockaddr_allowed)
{
    cidr_list none = {.n = 0}, loop;
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    struct sockaddr un = {.sa_family = AF_UNIX};
    char err[128], text[INET6_ADDRSTRLEN];

    ck_assert_int_eq(cidr_list_parse("127.0.0.0/8", &loop, err, sizeof(err)), 0);
    ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &in.sin_addr), 1);
    ck_assert_int_eq(wh_sockaddr_allowed((struct sockaddr *)&in, &none, text, sizeof(text)), 0);
    ck_assert_str_eq(text, "127.0.0.1");
    ck_assert_int_eq(wh_sockaddr_allowed((struct sockaddr *)&in, &loop, text, sizeof(text)), 1);
    ck_assert_int_eq(inet_pton(AF_INET, "8.8.8.8", &in.sin_addr), 1);
    ck_assert_int_eq(wh_sockaddr_allowed((struct sockaddr *)&in, &none, text, sizeof(text)), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr), 1);
    ck_assert_int_eq(wh_sockaddr_allowed((struct sockaddr *)&in6, &loop, text, sizeof(text)), 0);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:4860:4860::8888", &in6.sin6_addr), 1);
    ck_assert_int_eq(wh_sockaddr_allowed((struct sockaddr *)&in6, &none, text, sizeof(text)), 1);
    ck_assert_int_eq(wh_sockaddr_allowed(&un, &loop, text, sizeof(text)), 0);
    ck_assert_str_eq(text, "?");
}
END_TEST

static atomic_int slow_calls;

/* A getaddrinfo that answers 127.0.0.1 after 1.5 s. */
static int
slow_gai(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    struct timespec ts = {1, 500000000L};

    (void)node;
    (void)service;
    (void)hints;
    atomic_fetch_add(&slow_calls, 1);
    nanosleep(&ts, NULL);
    return getaddrinfo("127.0.0.1", NULL, hints, res);
}

/* A getaddrinfo that fails at once. */
static int
failing_gai(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    return EAI_NONAME;
}

/* Milliseconds of the monotonic clock. */
static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_resolve_bounded)
{
    struct addrinfo *res = NULL;
    int gai = 0;
    int64_t t0 = mono_ms(), waited;

    /* a slow lookup is given up after the bound, and its thread ends alone */
    ck_assert_int_eq(wh_resolve("slow.test", 200, slow_gai, &res, &gai), NT_EUNAVAIL);
    waited = mono_ms() - t0;
    ck_assert_ptr_null(res);
    ck_assert_msg(waited >= 190 && waited < 1400, "waited %lld ms", (long long)waited);
    ck_assert_int_eq(wh_resolve_running(), 1);
    /* a fast one answers at once, with the slow one still running */
    ck_assert_int_eq(wh_resolve("localhost", 5000, NULL, &res, &gai), NT_OK);
    ck_assert_ptr_nonnull(res);
    freeaddrinfo(res);
    ck_assert_int_eq(wh_resolve("x.test", 5000, failing_gai, &res, &gai), NT_EINVAL);
    ck_assert_int_eq(gai, EAI_NONAME);
    ck_assert_ptr_null(res);
    /* a lookup that finishes within the bound answers */
    ck_assert_int_eq(wh_resolve("slow.test", 10000, slow_gai, &res, &gai), NT_OK);
    ck_assert_ptr_nonnull(res);
    freeaddrinfo(res);
    for (int i = 0; i < 400 && wh_resolve_running() > 0; i++) {
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(wh_resolve_running(), 0);
    ck_assert_int_eq(atomic_load(&slow_calls), 2);
}
END_TEST

/* A caller that finds WH_RESOLVE_WAITERS others waiting is refused at once (a waiting request
 * worker stops its event loop: one slow name holds at most one worker). */
struct resolve_call {
    int rc;
};

static void *
resolve_slow_main(void *arg)
{
    struct resolve_call *c = arg;
    struct addrinfo *res = NULL;
    int gai = 0;

    c->rc = wh_resolve("slow.test", 5000, slow_gai, &res, &gai);
    if (res != NULL)
        freeaddrinfo(res);
    return NULL;
}

START_TEST(test_resolve_one_waiter)
{
    struct resolve_call first = {NT_ERR};
    struct addrinfo *res = NULL;
    int gai = 0, before = atomic_load(&slow_calls);
    int64_t t0;
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, resolve_slow_main, &first), 0);
    for (int i = 0; i < 500 && atomic_load(&slow_calls) == before; i++) {
        struct timespec ts = {0, 2000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_gt(atomic_load(&slow_calls), before);
    t0 = mono_ms();
    ck_assert_int_eq(wh_resolve("localhost", 5000, NULL, &res, &gai), NT_ECONFLICT);
    ck_assert_int_lt(mono_ms() - t0, 100);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(first.rc, NT_OK);
    ck_assert_int_eq(wh_resolve("localhost", 5000, NULL, &res, &gai), NT_OK);
    freeaddrinfo(res);
}
END_TEST

START_TEST(test_resolve_thread_limit)
{
    struct addrinfo *res = NULL;
    int gai = 0;

    /* WH_RESOLVE_THREADS abandoned slow lookups: the next one is refused at once */
    for (int i = 0; i < WH_RESOLVE_THREADS; i++)
        ck_assert_int_eq(wh_resolve("slow.test", 1, slow_gai, &res, &gai), NT_EUNAVAIL);
    ck_assert_int_eq(wh_resolve("localhost", 5000, NULL, &res, &gai), NT_EUNAVAIL);
    for (int i = 0; i < 400 && wh_resolve_running() > 0; i++) {
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(wh_resolve_running(), 0);
    ck_assert_int_eq(wh_resolve("localhost", 5000, NULL, &res, &gai), NT_OK);
    freeaddrinfo(res);
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
    tcase_add_test(tc, test_sockaddr_allowed);
    tcase_add_test(tc, test_resolve_bounded);
    tcase_add_test(tc, test_resolve_one_waiter);
    tcase_add_test(tc, test_resolve_thread_limit);
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

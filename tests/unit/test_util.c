/* core/util.c ids: util_uuid_new writes version-4 UUIDs whose first 48 bits are the creation
 * time in ms and whose other bits are random; util_uuid_valid accepts exactly the 8-4-4-4-12
 * hexadecimal form. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettu/plugin.h>

#include "util.h"

#define N_IDS 4096

/* The ms time in the first 12 hexadecimal digits of id. */
static int64_t
id_ms(const char *id)
{
    char hex[13];

    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    return strtoll(hex, NULL, 16);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_form)
{
    char id[NT_UUID_BUF];
    int64_t before = util_now_ms(), after;

    ck_assert_int_eq(util_uuid_new(id), NT_OK);
    after = util_now_ms();
    ck_assert_int_eq(strlen(id), NT_UUID_LEN);
    ck_assert(util_uuid_valid(id));
    ck_assert_int_eq(id[14], '4');                 /* version 4 */
    ck_assert_ptr_nonnull(strchr("89ab", id[19])); /* RFC 9562 variant */
    ck_assert_int_ge(id_ms(id), before);           /* the creation time */
    ck_assert_int_le(id_ms(id), after);
    for (const char *p = id; *p; p++)
        ck_assert_msg(*p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'),
                      "not lower-case hex: %s", id);
}
END_TEST

/* Ids made later sort later (by the time prefix); ids of the same ms differ in their
 * random part, and none repeats. */
START_TEST(test_order_and_unique)
{
    static char ids[N_IDS][NT_UUID_BUF];
    static char *sorted[N_IDS];
    struct timespec pause = {0, 3 * 1000 * 1000};
    char later[NT_UUID_BUF];

    for (int i = 0; i < N_IDS; i++) {
        ck_assert_int_eq(util_uuid_new(ids[i]), NT_OK);
        sorted[i] = ids[i];
    }
    qsort(sorted, N_IDS, sizeof(sorted[0]), cmp_str);
    for (int i = 1; i < N_IDS; i++)
        ck_assert_msg(strcmp(sorted[i - 1], sorted[i]) != 0, "repeated id %s", sorted[i]);
    /* Same ms: the 74 random bits differ (the first two made differ past the prefix). */
    ck_assert(strcmp(ids[0] + 14, ids[1] + 14) != 0);
    nanosleep(&pause, NULL);
    ck_assert_int_eq(util_uuid_new(later), NT_OK);
    ck_assert_int_gt(id_ms(later), id_ms(ids[N_IDS - 1]));
    ck_assert_int_gt(strcmp(later, sorted[N_IDS - 1]), 0);
}
END_TEST

/* Each thread draws from its own pool: ids made at once by two threads never repeat. */
static void *
make_ids(void *arg)
{
    char(*ids)[NT_UUID_BUF] = arg;

    for (int i = 0; i < N_IDS / 2; i++)
        if (util_uuid_new(ids[i]) != NT_OK)
            return arg;
    return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

START_TEST(test_threads_unique)
{
    static char ids[N_IDS][NT_UUID_BUF];
    static char *sorted[N_IDS];
    pthread_t t;
    void *failed = NULL;

    ck_assert_int_eq(pthread_create(&t, NULL, make_ids, ids[N_IDS / 2]), 0);
    ck_assert_ptr_null(make_ids(ids[0]));
    ck_assert_int_eq(pthread_join(t, &failed), 0);
    ck_assert_ptr_null(failed);
    for (int i = 0; i < N_IDS; i++) {
        ck_assert(util_uuid_valid(ids[i]));
        sorted[i] = ids[i];
    }
    qsort(sorted, N_IDS, sizeof(sorted[0]), cmp_str);
    for (int i = 1; i < N_IDS; i++)
        ck_assert_msg(strcmp(sorted[i - 1], sorted[i]) != 0, "repeated id %s", sorted[i]);
}
END_TEST

/* Small draws come from the thread's pool and large ones straight from the kernel, mixed
 * with ids that share the pool: 4000 draws of 8 bytes across several refills are all
 * different, none is zero, and zero bytes are as rare as chance makes them (a byte handed
 * out twice, or a used one, would show). */
START_TEST(test_random_draws)
{
    enum { DRAWS = 4000 };
    static uint64_t v[DRAWS];
    unsigned char big[64], zero[64] = {0};
    char id[NT_UUID_BUF];
    int zeros = 0;

    for (int i = 0; i < DRAWS; i++) {
        ck_assert_int_eq(util_random_bytes(&v[i], sizeof(v[i])), NT_OK);
        ck_assert(v[i] != 0);
        if (i % 7 == 0)
            ck_assert_int_eq(util_uuid_new(id), NT_OK);
        if (i % 101 == 0) {
            ck_assert_int_eq(util_random_bytes(big, sizeof(big)), NT_OK);
            ck_assert(memcmp(big, zero, sizeof(big)) != 0);
        }
    }
    /* about 125 of the 32000 bytes are 0 by chance; a byte handed out after it was used
     * (zeroed) would add one per draw */
    for (int i = 0; i < DRAWS; i++)
        for (int k = 0; k < 8; k++)
            zeros += ((v[i] >> (8 * k)) & 0xff) == 0;
    ck_assert_msg(zeros < 400, "%d zero bytes in %d draws", zeros, DRAWS);
    qsort(v, DRAWS, sizeof(v[0]), cmp_u64);
    for (int i = 1; i < DRAWS; i++)
        ck_assert_msg(v[i - 1] != v[i], "repeated draw %llx", (unsigned long long)v[i]);
    ck_assert_int_eq(util_random_bytes(big, 0), NT_OK);
}
END_TEST

START_TEST(test_valid)
{
    ck_assert(util_uuid_valid("0192f1a0-7c3e-4a1b-9c2d-0123456789ab"));
    ck_assert(util_uuid_valid("0192F1A0-7C3E-4A1B-9C2D-0123456789AB"));
    ck_assert(!util_uuid_valid(NULL));
    ck_assert(!util_uuid_valid(""));
    ck_assert(!util_uuid_valid("0192f1a0-7c3e-4a1b-9c2d-0123456789a"));   /* short */
    ck_assert(!util_uuid_valid("0192f1a0-7c3e-4a1b-9c2d-0123456789abc")); /* long */
    ck_assert(!util_uuid_valid("0192f1a0x7c3e-4a1b-9c2d-0123456789ab"));  /* separator */
    ck_assert(!util_uuid_valid("0192f1a0-7c3e-4a1b-9c2d-0123456789ag"));  /* not hex */
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("ids");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_form);
    tcase_add_test(tc, test_order_and_unique);
    tcase_add_test(tc, test_threads_unique);
    tcase_add_test(tc, test_random_draws);
    tcase_add_test(tc, test_valid);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Host utilities: UUIDs (creation time and getrandom(2), pooled per thread), clocks. */
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Fills buf with n bytes from getrandom(2). */
static int
util_getrandom(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return NT_ERR;
        }
        p += got;
        n -= (size_t)got;
    }
    return NT_OK;
}

/* Small draws (ids, round-robin ties) come from a per-thread pool filled by getrandom(2)
 * RAND_POOL bytes at a time: one system call per 51 ids instead of one per id. No lock; each
 * byte is handed out once and zeroed. */
#define RAND_POOL 510
#define RAND_POOL_TAKE 16 /* larger draws (keys, secrets) call getrandom themselves */
static _Thread_local struct {
    unsigned char b[RAND_POOL];
    size_t used;
} rand_pool = {.used = RAND_POOL};

/* Copies n <= RAND_POOL_TAKE bytes of the pool to out. */
static int
util_rand_take(unsigned char *out, size_t n)
{
    if (rand_pool.used + n > RAND_POOL) {
        if (util_getrandom(rand_pool.b, RAND_POOL) != NT_OK)
            return NT_ERR;
        rand_pool.used = 0;
    }
    memcpy(out, rand_pool.b + rand_pool.used, n);
    memset(rand_pool.b + rand_pool.used, 0, n);
    rand_pool.used += n;
    return NT_OK;
}

int
util_random_bytes(void *buf, size_t n)
{
    if (n <= RAND_POOL_TAKE)
        return util_rand_take(buf, n);
    return util_getrandom(buf, n);
}

int
util_uuid_new(char out[NT_UUID_BUF])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    int64_t ms = util_now_ms();
    char *o = out;

    if (util_rand_take(b + 6, 10) != NT_OK)
        return NT_ERR;
    if (ms < 0)
        ms = 0;
    for (int i = 5; i >= 0; i--) { /* the time, big-endian, so ids sort by it */
        b[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) { /* 8-4-4-4-12 */
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
    return NT_OK;
}

int
util_uuid_valid(const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 0; i < NT_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[NT_UUID_LEN] == '\0';
}

int64_t
util_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
util_thread_cpu_us(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

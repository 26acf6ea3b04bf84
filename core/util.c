/* Host utilities: UUIDs (creation time and getrandom(2)), clocks. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

int
util_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

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

int
util_uuid_new(char out[NT_UUID_BUF])
{
    unsigned char b[16];
    int64_t ms = util_now_ms();

    if (util_random_bytes(b + 6, sizeof(b) - 6) != NT_OK)
        return NT_ERR;
    if (ms < 0)
        ms = 0;
    for (int i = 5; i >= 0; i--) { /* the time, big-endian, so ids sort by it */
        b[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, NT_UUID_BUF,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
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

/* Small host utilities: UUIDs, randomness, clocks. */
#ifndef NETTU_UTIL_H
#define NETTU_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <nettu/plugin.h>

/* Writes a new id in lower case: a version-4 UUID (version and variant bits) whose first 48
 * bits are the wall-clock time in ms, big-endian, and whose other 74 bits come from the
 * kernel's CSPRNG, fetched 510 bytes at a time into a pool of the calling thread and each
 * byte used once (a "COMB" id). Ids made close in time sort next to each other, so an insert
 * into an id-keyed index lands on the page of the last one instead of a random page.
 * NT_OK or NT_ERR. */
int util_uuid_new(char out[NT_UUID_BUF]);
/* 1 when s is 8-4-4-4-12 hexadecimal digits (any case), else 0. */
int util_uuid_valid(const char *s);
/* Fills buf with n bytes from the kernel's CSPRNG: up to 16 from the calling thread's pool
 * (the one ids draw from; each byte handed out once), more straight from getrandom(2).
 * NT_OK or NT_ERR. */
int util_random_bytes(void *buf, size_t n);
/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms(void);
/* Monotonic clock in microseconds. */
int64_t util_mono_us(void);
/* CPU time used by the calling thread, in microseconds. */
int64_t util_thread_cpu_us(void);

#endif

/* Small host utilities: UUIDs, randomness, clocks. */
#ifndef NETTU_UTIL_H
#define NETTU_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <nettu/plugin.h>

/* Writes a random version-4 UUID in lower case. NT_OK or NT_ERR. */
int util_uuid_new(char out[NT_UUID_BUF]);
/* 1 when s is 8-4-4-4-12 hexadecimal digits (any case), else 0. */
int util_uuid_valid(const char *s);
/* Fills buf with n bytes from the kernel's CSPRNG. NT_OK or NT_ERR. */
int util_random_bytes(void *buf, size_t n);
/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms(void);
/* Monotonic clock in microseconds. */
int64_t util_mono_us(void);
/* CPU time used by the calling thread, in microseconds. */
int64_t util_thread_cpu_us(void);

#endif

/* Shared bits of the fuzz targets in tests/fuzz: the libFuzzer entry points each target
 * defines, and a check that aborts (a finding) with a message. */
#ifndef NETTU_FUZZ_H
#define NETTU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one input; always returns 0. Defined by every target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Optional one-time set-up; defined by the targets that need one. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with a message when cond is false: libFuzzer and the regression driver report it. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed: %s: ", #cond);                                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated malloc'd copy of the n bytes at d (the caller frees it); aborts when out
 * of memory. The text ends at the first NUL byte of the input, as C strings do. */
static inline char *
fuzz_text(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);

    FUZZ_CHECK(s != NULL, "out of memory");
    if (n > 0)
        memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

#endif /* NETTU_FUZZ_H */

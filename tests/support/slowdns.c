/* A test-only LD_PRELOAD shim: getaddrinfo of a name ending in ".slow.test" sleeps 4 s and
 * then answers as for 127.0.0.1; every other name goes to the real getaddrinfo. It stands in
 * for a slow DNS server in tests/e2e/webhooks.test.mjs (a slow name must hold up only its
 * own webhook attempt). Never loaded outside that test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <time.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res);

/* Interposes getaddrinfo (see above). */
int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
    static const char suffix[] = ".slow.test";
    const size_t sn = sizeof(suffix) - 1;
    size_t n = node != NULL ? strlen(node) : 0;
    gai_fn real;
    void *sym = dlsym(RTLD_NEXT, "getaddrinfo");

    if (sym == NULL)
        return EAI_SYSTEM;
    memcpy(&real, &sym, sizeof(real));
    if (n > sn && strcmp(node + n - sn, suffix) == 0) {
        struct timespec ts = {4, 0};
        while (nanosleep(&ts, &ts) != 0)
            ;
        return real("127.0.0.1", service, hints, res);
    }
    return real(node, service, hints, res);
}

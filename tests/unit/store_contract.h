/* The store contract suite (services.h C1..C8): backend-independent cases that every store
 * plugin passes. A backend's test binary (test_store_sqlite, test_store_pg) adds them to a
 * TCase whose fixture gives each test a fresh, empty database, and supplies the hooks below.
 */
#ifndef STORE_CONTRACT_H
#define STORE_CONTRACT_H

#include <check.h>
#include <nettu/services.h>

struct ct_backend {
    /* A new connection on the test's database (initialising the plugin on first use);
     * fails the test when it cannot. */
    nt_db *(*open)(void);
    /* The store ops and state of the initialised plugin (after the first open). */
    const nt_store_v1 *(*ops)(void);
    void *(*state)(void);
};

/* Adds every contract case to tc; b is kept by pointer (make it static). */
void ct_add_tests(TCase *tc, const struct ct_backend *b);

#endif /* STORE_CONTRACT_H */

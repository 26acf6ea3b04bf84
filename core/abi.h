/* What the host knows of the versioned structs plugins hand it: the smallest ops table of
 * each service kind it accepts (the frozen size of the minor that introduced the kind).
 * Shared with the fake host (tests/support), which checks plugins the same way.
 */
#ifndef NETTU_ABI_H
#define NETTU_ABI_H

#include <stddef.h>

/* The smallest ops table accepted for a service of `kind` (version 1), e.g.
 * NT_STORE_V1_SIZE_1_0 for "store"; 0 for a kind the host does not know (plugins' own
 * kinds: only their users read those). */
size_t abi_ops_min_size(const char *kind);

/* The minor that introduced `kind` (0 for 1.0 kinds and unknown ones), for messages. */
int abi_ops_minor(const char *kind);

#endif

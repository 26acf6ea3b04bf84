/* The service kinds of services.h and the smallest ops table of each the host accepts. */
#include "abi.h"

#include <string.h>

#include <nettu/services.h>

static const struct {
    const char *kind;
    size_t min;
    int minor;
} abi_kinds[] = {
    {NT_SERVICE_STORE, NT_STORE_V1_SIZE_1_0, 0},
    {NT_SERVICE_AUTHENTICATOR, NT_AUTHENTICATOR_V1_SIZE_1_0, 0},
    {NT_SERVICE_POLICY, NT_POLICY_V1_SIZE_1_0, 0},
    {NT_SERVICE_ACCOUNTS, NT_ACCOUNTS_V1_SIZE_1_0, 0},
    {NT_SERVICE_USERS, NT_USERS_V1_SIZE_1_0, 0},
    {NT_SERVICE_OBSERVER, NT_OBSERVER_V1_SIZE_1_1, 1},
    {NT_SERVICE_RELOADABLE, NT_RELOADABLE_V1_SIZE_1_1, 1},
};

/* The table row of `kind`, or -1. */
static int
abi_kind_row(const char *kind)
{
    for (size_t i = 0; kind != NULL && i < sizeof(abi_kinds) / sizeof(abi_kinds[0]); i++)
        if (strcmp(abi_kinds[i].kind, kind) == 0)
            return (int)i;
    return -1;
}

size_t
abi_ops_min_size(const char *kind)
{
    int row = abi_kind_row(kind);

    return row >= 0 ? abi_kinds[row].min : 0;
}

int
abi_ops_minor(const char *kind)
{
    int row = abi_kind_row(kind);

    return row >= 0 ? abi_kinds[row].minor : 0;
}

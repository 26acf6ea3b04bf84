/* Compiles the public headers alone (C11, -Wpedantic): they must need nothing else. The
 * size macros are constant expressions, and on LP64 the frozen sizes have the values the
 * structs had at the end of each minor, as builds against fixtures/abi-1.x measure them
 * (they must never change). */
#include <nettu/plugin.h>
#include <nettu/services.h>

#if defined(__LP64__)
_Static_assert(NT_PLUGIN_DESC_SIZE_1_0 == 64, "nt_plugin_desc 1.0");
_Static_assert(NT_ROUTE_SIZE_1_0 == 56, "nt_route 1.0");
_Static_assert(NT_MIGRATION_SIZE_1_0 == 16, "nt_migration 1.0");
_Static_assert(NT_ROUTE_INFO_SIZE_1_1 == 48, "nt_route_info 1.1");
_Static_assert(NT_HOST_API_SIZE_1_0 == 376, "nt_host_api 1.0");
_Static_assert(NT_HOST_API_SIZE_1_1 == 424, "nt_host_api 1.1");
_Static_assert(NT_HOST_API_SIZE_1_2 == 456, "nt_host_api 1.2");
_Static_assert(NT_HOST_API_SIZE_1_3 == 504, "nt_host_api 1.3");
_Static_assert(NT_HOST_API_SIZE_1_4 == 520, "nt_host_api 1.4");
_Static_assert(NT_STORE_V1_SIZE_1_0 == 160, "nt_store_v1 1.0");
_Static_assert(NT_STORE_V1_SIZE_1_1 == 176, "nt_store_v1 1.1");
_Static_assert(NT_STORE_V1_SIZE_1_2 == 184, "nt_store_v1 1.2");
_Static_assert(NT_STORE_V1_SIZE_1_3 == 192, "nt_store_v1 1.3");
_Static_assert(NT_STORE_V1_SIZE_1_4 == 208, "nt_store_v1 1.4");
_Static_assert(NT_ROUTE_SIZE_1_4 == 100, "nt_route 1.4");
_Static_assert(NT_USERS_V1_SIZE_1_0 == 16, "nt_users_v1 1.0");
_Static_assert(NT_USERS_V1_SIZE_1_2 == 24, "nt_users_v1 1.2");
_Static_assert(NT_OBSERVER_V1_SIZE_1_1 == 24, "nt_observer_v1 1.1");
_Static_assert(NT_RELOADABLE_V1_SIZE_1_1 == 16, "nt_reloadable_v1 1.1");
#endif
_Static_assert(NT_HOST_API_SIZE_1_6 == sizeof(nt_host_api), "1.6 is the current minor");
_Static_assert(NT_STORE_V1_SIZE_1_5 == sizeof(nt_store_v1), "no nt_store_v1 member since 1.5");
_Static_assert(NT_ROUTE_SIZE_1_5 == sizeof(nt_route), "no nt_route member since 1.5");

int abi_only_marker(void);

int
abi_only_marker(void)
{
    static const nt_store_v1 st = {.size = NT_STORE_V1_SIZE_1_0};

    return (int)sizeof(nt_host_api) + (int)sizeof(nt_plugin_desc) + NT_ABI_MAJOR +
           NT_HAS_MEMBER(&st, nt_store_v1, lock_schema);
}

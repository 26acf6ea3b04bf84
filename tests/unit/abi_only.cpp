// Compiles the public headers alone as C++: they must be usable from C++ plugins, size
// macros included.
#include <nettu/plugin.h>
#include <nettu/services.h>

static_assert(NT_HOST_API_SIZE_1_6 == sizeof(nt_host_api), "1.6 is the current minor");
static_assert(NT_STORE_V1_SIZE_1_5 == sizeof(nt_store_v1), "no nt_store_v1 member since 1.5");
static_assert(NT_ROUTE_SIZE_1_5 == sizeof(nt_route), "no nt_route member since 1.5");

extern "C" int abi_only_cxx_marker(const nt_host_api *api);

int
abi_only_cxx_marker(const nt_host_api *api)
{
    return static_cast<int>(sizeof(nt_host_api)) + NT_ABI_MINOR +
           NT_HAS_MEMBER(api, nt_host_api, req_check);
}

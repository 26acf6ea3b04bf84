// Compiles the public headers alone as C++: they must be usable from C++ plugins.
#include <nettu/plugin.h>
#include <nettu/services.h>

extern "C" int abi_only_cxx_marker();

int
abi_only_cxx_marker()
{
    return static_cast<int>(sizeof(nt_host_api)) + NT_ABI_MINOR;
}
